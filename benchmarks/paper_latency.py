"""End-to-end time to summarize one typical paper with the default model.

    python -m benchmarks.paper_latency [--model DIR] [--words 6000] [--repeats 3]
        [--mode abstractive|extractive|rewritten] [--json PATH] [--default-allocator]

Takes the first arXiv validation paper with at least `--words` words, cut to that many and
written as Markdown with its section headings (what a user would upload), then times loading
the model once and `Summarizer.summarize` on the file (read, shorten, encode, decode with the
model's default beam search; or pick sentences, in extractive mode) `--repeats` times, in the
model's default mode unless `--mode` says otherwise. Prints the median of each stage.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from data.cohan import open_text
from summarizer.allocator import add_default_allocator_flag, keep_freed_memory
from summarizer.api import STAGES, Summarizer
from summarizer.paths import REPO_ROOT
from summarizer.settings import MODES

VAL = REPO_ROOT.parent / "shared" / "data" / "arxiv" / "val.jsonl.gz"


def typical_paper(path: Path, words: int) -> str:
    """Markdown of the first paper with >= `words` words, cut to `words`."""
    for line in open_text(path):
        record = json.loads(line)
        names = record.get("section_names") or []
        sections = record.get("sections") or []
        if sum(len(" ".join(s).split()) for s in sections) < words or len(names) < 3:
            continue
        out, left = [], words
        for name, sentences in zip(names, sections, strict=False):
            body = " ".join(" ".join(sentences).split()[:left])
            left -= len(body.split())
            out.append(f"## {name}\n\n{body}\n")
            if left <= 0:
                break
        return "# " + str(record.get("article_id", "paper")) + "\n\n" + "\n".join(out)
    raise ValueError(f"No paper with {words}+ words and sections in {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="default: the shipped model")
    parser.add_argument("--data", default=str(VAL))
    parser.add_argument("--words", type=int, default=6000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--mode", default=None, choices=MODES)
    parser.add_argument("--json", default=None)
    add_default_allocator_flag(parser)
    args = parser.parse_args(argv)
    if not args.default_allocator:
        keep_freed_memory()

    t0 = time.perf_counter()
    summarizer = Summarizer.from_pretrained(args.model)
    load_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        paper = Path(tmp) / "paper.md"
        paper.write_text(typical_paper(Path(args.data), args.words))
        mode = args.mode or summarizer.defaults.mode
        runs = [summarizer.summarize(paper, mode=mode) for _ in range(args.repeats)]
    stages = [k for k in (*STAGES, "total") if any(k in r.seconds for r in runs)]
    medians = {k: statistics.median(r.seconds.get(k, 0.0) for r in runs) for k in stages}
    last = runs[-1]
    print(f"model load (once): {load_s:.2f} s")
    print(f"paper: {args.words} words, {last.input_tokens} tokens, model read "
          f"{last.used_tokens} ({last.shortening or 'whole'})")  # fmt: skip
    how = "sentences picked" if mode == "extractive" else f"beams {summarizer.defaults.num_beams}"
    print(f"summary ({mode}): {len(last.summary.split())} words, {how}")
    for k in stages:
        print(f"  {k:>8}: {medians[k]:6.2f} s (median of {args.repeats})")
    if args.json:
        result = {"words": args.words, "mode": mode, "load_s": load_s, "median_s": medians,
                  "input_tokens": last.input_tokens, "used_tokens": last.used_tokens,
                  "allocator": "glibc defaults" if args.default_allocator else "kept"}  # fmt: skip
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
