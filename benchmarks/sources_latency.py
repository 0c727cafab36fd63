"""What finding and showing sources adds to a summary of a long paper (the sources issue asks
for at most 0.5 s on a 600-sentence paper).

The paper is built from real validation articles as pasted text, with a heading every 50
sentences, until it has `--sentences` sentences. Timed, median of `--repeat`:
- split: the paper's sentences as the models read them (needed for any summary);
- passages: the same, each with its heading and its text as the paper writes it;
- sources: the sources of an 8-sentence written summary (abstract sentences of another paper,
  so that most passages are scored), and the paper as HTML with those sources marked.

    python -m benchmarks.sources_latency --data ../shared/data/pubmed/val.jsonl.gz
"""

from __future__ import annotations

import argparse
import statistics
import time

from data.dataset import load_documents
from data.ingest import read_pasted
from data.sentences import split_sentences
from summarizer.readable import readable
from summarizer.sources import as_html, find_sources, passages, usable_sentences

HEADINGS = (
    "Introduction", "Background", "Methods", "Data", "Experiments", "Results",
    "Analysis", "Evaluation", "Discussion", "Related work", "Limitations", "Conclusion",
)  # fmt: skip


def paper_text(articles: list[str], n_sentences: int) -> str:
    """Pasted text: a title, then readable sentences with a heading every 50."""
    sentences = [s for a in articles for s in readable(a).splitlines()][:n_sentences]
    if len(sentences) < n_sentences:
        raise ValueError(f"the data holds only {len(sentences)} sentences")
    lines = ["A long paper"]
    for start in range(0, n_sentences, 50):
        number = start // 50 + 1
        lines += ["", f"{number} {HEADINGS[(number - 1) % len(HEADINGS)]}", ""]
        lines.append(" ".join(sentences[start : start + 50]))
    return "\n".join(lines) + "\n"


def median_seconds(call, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="a Cohan file")
    parser.add_argument("--sentences", type=int, default=600)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    docs, _ = load_documents(args.data, limit=60)
    wanted = args.sentences  # readable sentences merge a little when split again: add some
    document = read_pasted(paper_text(docs["article"], wanted))
    while len(passages(document)) < args.sentences:
        wanted += args.sentences - len(passages(document))
        document = read_pasted(paper_text(docs["article"], wanted))
    summary = readable("\n".join(split_sentences(docs["abstract"][-1])[:8]))
    paper = passages(document)

    def sources() -> None:
        as_html(paper, find_sources(summary, paper))

    def split_only() -> None:  # what the Summarizer did before it kept passages
        for section in document.sections:
            usable_sentences(split_sentences(document.model_text([section])))

    split = median_seconds(split_only, args.repeat)
    found = median_seconds(lambda: passages(document), args.repeat)
    marked = median_seconds(sources, args.repeat)
    print(f"{len(paper)} sentences in {len(document.sections)} sections; median of {args.repeat}")
    print(f"  sentences as the models read them   {split:.3f} s")
    print(f"  passages (heading, text as written)  {found:.3f} s")
    print(f"  sources of 8 sentences + HTML        {marked:.3f} s")
    print(f"  added by sources                     {found - split + marked:.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
