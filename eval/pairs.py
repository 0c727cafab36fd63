"""Sentence-rewriting pairs (Chen & Bansal 2018): each abstract sentence with the article
sentence that holds most of it, for training the Terraformer to rewrite one key sentence in
the style of an abstract.

    python -m eval.pairs ../shared/data/arxiv/train.jsonl.gz ../shared/data/pubmed/train.jsonl.gz \\
        --out ../runs/pairs/train.jsonl.gz [--min-recall 0.5] [--deletions]

"Holds most of it": the article sentence with the highest ROUGE-L recall of the abstract
sentence (longest common subsequence of rouge-score's stemmed tokens over the abstract
sentence's length), among the article sentences that share the most words with it. A pair is
kept when that recall reaches `--min-recall`; abstract sentences that fuse several article
sentences, or say what no one sentence says, have none. The pairs are written as Cohan-format
records, one source sentence as `article_text` and one abstract sentence as `abstract_text`, so
training and evaluation read them as they read papers.

`--deletions` keeps only the pairs whose abstract sentence is its source with words taken out
(`is_deletion`): a rewriter trained on them learns what an abstract leaves out of a sentence,
not how it rephrases one.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from data.cohan import find_files, read_records
from data.sentences import split_sentences
from eval.oracle import rouge_tokens

log = logging.getLogger(__name__)

MIN_TARGET_TOKENS = 5  # shorter abstract sentences ("results :") are not worth a rewrite
MAX_SOURCE_WORDS = 80  # longer "sentences" are mostly splitting failures (tables, lists)
CANDIDATES = 10  # article sentences, by shared words, whose LCS is computed

# A deletion pair (`is_deletion`), in whitespace words, case aside:
DELETION_FOUND = 0.9  # at least this share of the abstract sentence's words are its source's
DELETION_LENGTH = 0.85  # the abstract sentence is shorter than this share of its source
DELETION_MIN_WORDS = 20  # and the source has at least this many words to take some out of


@dataclass(frozen=True)
class Pair:
    source: str  # the article sentence
    target: str  # the abstract sentence
    recall: float  # ROUGE-L recall of the target by the source


def lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence of two token lists."""
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def sentence_pairs(article: str, abstract: str, min_recall: float = 0.5) -> list[Pair]:
    """The pairs of one paper: `article` one normalized line, `abstract` one sentence a line."""
    sentences = [s for s in split_sentences(article) if len(s.split()) <= MAX_SOURCE_WORDS]
    tokens = [rouge_tokens(s) for s in sentences]
    counts = [Counter(t) for t in tokens]
    pairs = []
    for target in abstract.splitlines():
        target_tokens = rouge_tokens(target)
        if len(target_tokens) < MIN_TARGET_TOKENS or not sentences:
            continue
        wanted = Counter(target_tokens)
        shared = [sum((c & wanted).values()) for c in counts]
        candidates = sorted(range(len(sentences)), key=lambda i: -shared[i])[:CANDIDATES]
        best = max(candidates, key=lambda i: lcs_length(target_tokens, tokens[i]))
        recall = lcs_length(target_tokens, tokens[best]) / len(target_tokens)
        if recall >= min_recall:
            pairs.append(Pair(sentences[best], target, recall))
    return pairs


def is_deletion(pair: Pair) -> bool:
    """Whether the abstract sentence is its (long enough) source with words taken out: nearly
    all its words are the source's, and it is clearly shorter."""
    source, target = pair.source.split(), pair.target.split()
    words = {w.lower() for w in source}
    found = sum(w.lower() in words for w in target) / max(1, len(target))
    return (
        len(source) >= DELETION_MIN_WORDS
        and len(target) < DELETION_LENGTH * len(source)
        and found >= DELETION_FOUND
    )


def paper_pairs(paths: list[Path], min_recall: float, deletions: bool = False) -> Iterator[dict]:
    """Cohan-format records, one per pair, of every usable paper in the files; with
    `deletions`, only the deletion pairs."""
    for path in paths:
        for record in read_records(path):
            if record["problem"]:
                continue
            pairs = sentence_pairs(record["article"], record["abstract"], min_recall)
            for k, pair in enumerate(pairs):  # k numbers every pair, kept or not
                if deletions and not is_deletion(pair):
                    continue
                yield {
                    "article_id": f"{record['id']}#{k}",
                    "article_text": [pair.source],
                    "abstract_text": [pair.target],
                    "source": record["source"],
                    "recall": round(pair.recall, 3),
                }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="+", help="Cohan-format files or folders of them")
    parser.add_argument("--out", required=True, help="a .jsonl or .jsonl.gz file to write")
    parser.add_argument("--min-recall", type=float, default=0.5)
    parser.add_argument(
        "--deletions",
        action="store_true",
        help="keep only pairs whose abstract sentence is its source with words taken out",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not 0.0 <= args.min_recall <= 1.0:
        parser.error(f"--min-recall must be between 0 and 1, got {args.min_recall}")
    try:
        paths = [f for source in args.data for f in find_files(Path(source))]
    except FileNotFoundError as error:
        parser.error(str(error))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")  # a stopped run leaves no half file at --out
    opener = gzip.open if out.name.endswith(".gz") else open
    n = 0
    with opener(partial, "wt", encoding="utf-8") as f:
        for n, record in enumerate(paper_pairs(paths, args.min_recall, args.deletions), start=1):
            f.write(json.dumps(record) + "\n")
            if n % 10_000 == 0:
                log.info("%d pairs", n)
    partial.replace(out)
    log.info("%d pairs from %d files -> %s", n, len(paths), out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
