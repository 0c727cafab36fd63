"""Does the batch CLI's memory stay flat over thousands of files?

    python -m benchmarks.batch_memory [--files 2000] [--model DIR] [--json PATH]

Writes `--files` small text papers into a temporary folder and runs the real batch command
over them in this process (one job), sampling the resident set size (RSS) after every
`--every` files through the progress callback of the index. With no --model, a tiny random
model is used: the point is the pipeline's memory, not the summaries. Prints RSS at the
start, at each sample and the growth from the first sample to the last.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

import summarizer.batch as batch
from summarizer.batch import BatchOptions, run_batch
from tests.model_fixtures import save_tiny_model

MiB = 2**20


def rss_bytes() -> int:
    """Current resident set size of this process."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def write_papers(folder: Path, n: int) -> None:
    rng = random.Random(0)
    words = [
        "the",
        "sparse",
        "model",
        "reads",
        "long",
        "papers",
        "and",
        "writes",
        "short",
        "summaries",
        "of",
        "them",
    ]
    for i in range(n):
        sentences = (" ".join(rng.choices(words, k=12)).capitalize() + "." for _ in range(6))
        (folder / f"paper-{i:05d}.txt").write_text(f"# Paper {i}\n\n" + " ".join(sentences))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--every", type=int, default=250, help="sample RSS every N files")
    parser.add_argument("--model", default=None, help="default: a tiny random model")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    samples: list[tuple[int, int]] = []
    original = batch.summarize_item

    def measured(item, options):
        rows = original(item, options)
        done = len(samples_done) + 1
        samples_done.append(done)
        if done % args.every == 0 or done == args.files:
            samples.append((done, rss_bytes()))
        return rows

    samples_done: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "papers").mkdir()
        write_papers(root / "papers", args.files)
        model = args.model
        if model is None:
            model = str(save_tiny_model(root / "model"))
        start = rss_bytes()
        batch.summarize_item = measured
        try:
            options = BatchOptions(
                out=root / "out", model=model, length=16, decoding={"num_beams": 1}
            )
            code = run_batch([str(root / "papers")], options).exit_code
        finally:
            batch.summarize_item = original
    print(f"{'files done':>10}  {'RSS MiB':>8}")
    print(f"{0:>10}  {start / MiB:8.1f}  (before the batch)")
    for done, rss in samples:
        print(f"{done:>10}  {rss / MiB:8.1f}")
    growth = (samples[-1][1] - samples[0][1]) / MiB if samples else 0.0
    print(f"growth from {samples[0][0]} to {samples[-1][0]} files: {growth:+.1f} MiB")
    if args.json:
        result = {"files": args.files, "exit_code": code, "start_rss": start,
                  "samples": samples, "growth_mib": growth}  # fmt: skip
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
