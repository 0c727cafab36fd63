"""How much of a sentence's content must its sources hold before it counts as supported?

Chosen from data: each reference abstract sentence is matched against the sentences of its
own paper (it is supported there: an author wrote it about that paper) and against those of
paper i + 7 (it is not). The threshold that best separates the two (highest balanced
accuracy) is summarizer.sources.UNSUPPORTED_BELOW.

    python -m benchmarks.support_threshold \
        --data ../shared/data/arxiv/val.jsonl.gz ../shared/data/pubmed/val.jsonl.gz
"""

from __future__ import annotations

import argparse

import numpy as np

from data.dataset import load_documents
from data.sentences import split_sentences
from summarizer.sources import UNSUPPORTED_BELOW, find_sources, paper_passages

OFFSET = 7  # the other paper of paper i is paper i + OFFSET (mod n)


def supports(abstracts: list[str], articles: list[str], offset: int) -> np.ndarray:
    """Support of every abstract sentence of paper i among the sentences of paper i + offset."""
    n = len(articles)
    found = []
    for i, abstract in enumerate(abstracts):
        paper = paper_passages(split_sentences(articles[(i + offset) % n]))
        found += [sentence.support for sentence in find_sources(abstract, paper)]
    return np.asarray(found)


def best_threshold(own: np.ndarray, other: np.ndarray) -> tuple[float, float]:
    """The threshold (a multiple of 0.05) with the highest balanced accuracy, and that."""
    grid = np.round(np.arange(0.05, 1.0, 0.05), 2)
    accuracy = [((own >= t).mean() + (other < t).mean()) / 2 for t in grid]
    best = int(np.argmax(accuracy))
    return float(grid[best]), float(accuracy[best])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, nargs="+", help="Cohan files or folders")
    parser.add_argument("--limit", type=int, default=100, help="papers per --data")
    args = parser.parse_args(argv)
    abstracts, articles = [], []
    for source in args.data:
        docs, _ = load_documents(source, limit=args.limit)
        abstracts += docs["abstract"]
        articles += docs["article"]
    own, other = supports(abstracts, articles, 0), supports(abstracts, articles, OFFSET)
    threshold, accuracy = best_threshold(own, other)
    print(f"{len(articles)} papers, {len(own)} abstract sentences")
    print("support       own paper   paper i+7")
    for q in (10, 25, 50, 75, 90):
        print(f"  {q:>2}th pct.   {np.percentile(own, q):9.2f}   {np.percentile(other, q):9.2f}")
    print(
        f"best threshold {threshold:.2f}: supported {100 * (own >= threshold).mean():.1f}% with "
        f"the own paper, {100 * (other >= threshold).mean():.1f}% with another; balanced "
        f"accuracy {100 * accuracy:.1f}% (UNSUPPORTED_BELOW is {UNSUPPORTED_BELOW})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
