"""ROUGE on known strings, per-document scores and bootstrap intervals."""

import pytest

from eval.rouge import bootstrap_ci, rouge_f1, rouge_per_document


def test_identical_summaries_score_100_and_disjoint_ones_0():
    reference = "sparse layers decode fast .\nthey match dense perplexity ."
    assert rouge_f1([reference], [reference]) == pytest.approx(
        {"rouge1": 100.0, "rouge2": 100.0, "rougeL": 100.0, "rougeLsum": 100.0}
    )
    assert rouge_f1(["completely different words here"], [reference])["rouge1"] == 0.0


def test_known_partial_overlap():
    # 2 of 4 prediction unigrams match 2 of 3 reference unigrams: P = 0.5, R = 2/3.
    row = rouge_per_document(["the cat sat down"], ["a cat sat"])[0]
    assert row["rouge1"]["p"] == pytest.approx(50.0)
    assert row["rouge1"]["r"] == pytest.approx(200 / 3)
    assert row["rouge1"]["f"] == pytest.approx(100 * 2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))


def test_summary_level_rouge_l_uses_lines_as_sentences():
    reference = "a b c\nd e f"
    swapped = "d e f\na b c"
    scores = rouge_per_document([swapped], [reference])[0]
    assert scores["rougeLsum"]["f"] == pytest.approx(100.0)  # order of sentences is free
    assert scores["rougeL"]["f"] < 100.0  # one long sequence: order matters


def test_stemming_is_on():
    assert rouge_f1(["models decoded"], ["model decoding"])["rouge1"] == pytest.approx(100.0)


def test_bootstrap_interval_contains_the_mean_and_shrinks_with_more_data():
    values = [float(v % 10) for v in range(50)]
    low, high = bootstrap_ci(values)
    assert low < sum(values) / len(values) < high
    low_big, high_big = bootstrap_ci(values * 20)
    assert high_big - low_big < high - low
    assert bootstrap_ci([3.0, 3.0, 3.0]) == (3.0, 3.0)


def test_mismatched_or_empty_inputs_are_errors():
    with pytest.raises(ValueError, match="2 predictions for 1 references"):
        rouge_per_document(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="No summaries"):
        rouge_f1([], [])
    with pytest.raises(ValueError, match="No values"):
        bootstrap_ci([])


def test_the_scorer_is_made_once_not_once_per_document(caplog):
    import logging

    from eval import rouge

    rouge.scorer.cache_clear()
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            rouge.rouge_per_document(["the cat sat ."], ["the cat sat on the mat ."])
    assert sum("Using default tokenizer" in r.getMessage() for r in caplog.records) == 1
