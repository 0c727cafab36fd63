"""ROUGE with rouge-score (Porter stemming). Summaries hold one sentence per line, which is
what summary-level ROUGE-L (ROUGE-Lsum) splits on; ROUGE-L is the sentence-level variant."""

from __future__ import annotations

from rouge_score import rouge_scorer

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")


def rouge_f1(predictions: list[str], references: list[str]) -> dict[str, float]:
    """Mean F1 of each ROUGE type on the 0-100 scale."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    if not predictions:
        raise ValueError("No summaries to score")
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    totals = dict.fromkeys(ROUGE_TYPES, 0.0)
    for prediction, reference in zip(predictions, references, strict=True):
        scores = scorer.score(reference, prediction)
        for kind in ROUGE_TYPES:
            totals[kind] += scores[kind].fmeasure
    return {kind: 100 * total / len(predictions) for kind, total in totals.items()}
