"""The decoder's word constraint (summarizer/vocabulary.py): a summary's words are the paper's
or common ones, and the rest of decoding is left alone."""

from __future__ import annotations

import pytest
import torch

from data.words import words
from summarizer import vocabulary
from summarizer.api import Summarizer
from summarizer.settings import GenerationSettings
from summarizer.vocabulary import PaperWords
from tests.model_fixtures import save_tiny_model

# Token id -> text, as token_pieces gives them: 0 is the end of text.
PIECES = ("", " nem", "atic", "emat", " cell", ".", " x", "-ray", "ic", " the")
ALLOWED = {"nematic", "cell", "x-ray", "the"}


@pytest.fixture
def constraint() -> PaperWords:
    return PaperWords(PIECES, ALLOWED, top_k=3, wide_k=len(PIECES))


def test_a_word_may_only_grow_into_an_allowed_word_and_end_as_one(constraint):
    assert constraint.fits("nem", "atic")  # on its way to "nematic"
    assert not constraint.fits("nem", "emat")  # "nememat" begins no allowed word
    assert not constraint.fits("nem", "")  # the text may not end on "nem"
    assert not constraint.fits("nem", " cell")  # nor may the word end there
    assert constraint.fits("nematic", " cell") and constraint.fits("nematic", ".")
    assert not constraint.fits("nematic", "ic")  # "nematicic"
    assert constraint.fits("x", "-ray") and constraint.fits("", " x")  # single letters pass


def test_banned_candidates_lose_to_the_best_allowed_one(constraint):
    generated = torch.tensor([[0, 1]])  # "<s> nem"
    scores = torch.tensor([[0.0, 1.0, 2.0, 5.0, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0]])
    out = constraint(generated, scores.clone())
    # "emat" (5) and " cell" (4) would leave "nem" a non-word; "atic" (2) is the best left.
    assert out[0].argmax().item() == 2
    assert out[0, 3] == float("-inf") and out[0, 4] == float("-inf")


def test_a_dead_end_looks_further_and_otherwise_leaves_the_row_alone(constraint):
    generated = torch.tensor([[0, 1]])
    # The top 3 ("emat", " cell", "ic") all fail; "atic" is found among the wider candidates.
    scores = torch.tensor([[0.0, 0.0, 1.0, 5.0, 4.0, 0.0, 0.0, 0.0, 3.0, 0.0]])
    assert constraint(generated, scores.clone())[0].argmax().item() == 2
    nothing = PaperWords(PIECES, {"cell"}, top_k=3, wide_k=3)
    assert torch.equal(nothing(generated, scores.clone()), scores)


def test_summaries_use_only_the_papers_words_and_common_ones(tmp_path, monkeypatch):
    """The tiny model copies its input's opening; with the constraint on and a paper holding
    only a few of those words, it writes no other word."""
    summarizer = Summarizer.from_pretrained(save_tiny_model(tmp_path / "model"))
    text = "sparse attention layers hash every token into buckets and decode the summary ."
    paper = "the sparse attention of the summary"
    allowed = {"the"} | set(words(paper))
    monkeypatch.setattr(vocabulary, "common_words", lambda: frozenset({"the"}))
    free = GenerationSettings(length=16, num_beams=1, paper_words=False)
    written, _ = summarizer.generate(text, free, lambda *a: None, 96, paper)
    assert set(words(written)) - allowed  # the model alone copies other words
    for beams in (1, 3):
        settings = GenerationSettings(length=16, num_beams=beams, paper_words=True)
        constrained, _ = summarizer.generate(text, settings, lambda *a: None, 96, paper)
        assert words(constrained) and set(words(constrained)) <= allowed


def test_the_setting_is_the_models_default_and_can_be_turned_off(tmp_path):
    from summarizer.settings import read_model_settings

    model = save_tiny_model(tmp_path / "model")
    assert read_model_settings(model).paper_words is True  # models saved before it existed
    config = model / "generation_config.json"
    config.write_text(config.read_text().replace("{", '{"paper_words": false,', 1))
    assert read_model_settings(model).paper_words is False
    with pytest.raises(ValueError, match="paper_words"):
        GenerationSettings(paper_words="yes").validate()
