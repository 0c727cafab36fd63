"""Evaluation: ROUGE scores, baselines and reports."""
