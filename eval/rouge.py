"""ROUGE with rouge-score (Porter stemming). Summaries hold one sentence per line, which is
what summary-level ROUGE-L (ROUGE-Lsum) splits on; ROUGE-L is the sentence-level variant."""

from __future__ import annotations

import functools

import numpy as np
from rouge_score import rouge_scorer

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")


@functools.cache
def scorer() -> rouge_scorer.RougeScorer:
    """One scorer for the process (making one logs "Using default tokenizer." each time)."""
    return rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)


def rouge_f1(predictions: list[str], references: list[str]) -> dict[str, float]:
    """Mean F1 of each ROUGE type on the 0-100 scale."""
    rows = rouge_per_document(predictions, references)
    if not rows:
        raise ValueError("No summaries to score")
    return {kind: sum(r[kind]["f"] for r in rows) / len(rows) for kind in ROUGE_TYPES}


def rouge_per_document(predictions: list[str], references: list[str]) -> list[dict[str, dict]]:
    """For each document, {type: {"p", "r", "f"}} on the 0-100 scale."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    rows = []
    for prediction, reference in zip(predictions, references, strict=True):
        scores = scorer().score(reference, prediction)
        rows.append(
            {
                kind: {"p": 100 * s.precision, "r": 100 * s.recall, "f": 100 * s.fmeasure}
                for kind, s in scores.items()
            }
        )
    return rows


def bootstrap_ci(
    values: list[float], n_resamples: int = 1000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean of `values`."""
    if not values:
        raise ValueError("No values to bootstrap")
    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), size=(n_resamples, len(data)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)
