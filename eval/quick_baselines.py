"""Mean ROUGE F1 of the extractive baselines on a Cohan file, with a word budget equal to the
median reference length. A stopgap until `python -m summarizer evaluate` exists.

    python -m eval.quick_baselines ../shared/data/arxiv/val.jsonl.gz [--limit N]
"""

from __future__ import annotations

import argparse
import statistics
import sys

import datasets

from data.dataset import load_documents
from eval.baselines import BASELINES
from eval.rouge import rouge_f1
from eval.sentences import split_sentences


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="a Cohan jsonl file or folder")
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args(argv)
    datasets.disable_progress_bars()
    docs, report = load_documents(args.data, limit=args.limit or None)
    references = list(docs["abstract"])
    budget = int(statistics.median(len(r.split()) for r in references))
    print(f"{report}; word budget {budget}")
    for name, method in BASELINES.items():
        predictions = ["\n".join(method(split_sentences(a), budget)) for a in docs["article"]]
        scores = rouge_f1(predictions, references)
        print(f"{name:<9} " + "  ".join(f"{k} {v:5.2f}" for k, v in scores.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
