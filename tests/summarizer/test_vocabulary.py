"""The decoder's word constraint (summarizer/vocabulary.py): a summary's words are the paper's
or common ones, its numbers the paper's, and the rest of decoding is left alone."""

from __future__ import annotations

import pytest
import torch

from data.words import numbers, words
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


def test_the_last_token_the_length_allows_must_finish_its_word():
    generated = torch.tensor([[0, 9]])  # "<s> the"
    scores = torch.tensor([[0.0, 5.0, 0.0, 0.0, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0]])  # " nem", " cell"
    free = PaperWords(PIECES, ALLOWED, top_k=3, wide_k=len(PIECES), max_length=4)
    assert free(generated, scores.clone())[0].argmax().item() == 1  # " nem" can still finish
    last = PaperWords(PIECES, ALLOWED, top_k=3, wide_k=len(PIECES), max_length=3)
    assert last(generated, scores.clone())[0].argmax().item() == 4  # " cell" ends the text
    assert last.fits("nem", "atic", last=True) and not last.fits("", " nem", last=True)
    # Where no candidate can finish it, the text ends (token 0), and the word is cut off.
    generated = torch.tensor([[0, 1]])  # "<s> nem"
    scores = torch.tensor([[0.0, 0.0, 0.0, 5.0, 3.0, 0.0, 0.0, 0.0, 4.0, 0.0]])  # none finish it
    for max_length, best in ((None, 3), (3, 0)):  # left alone, or the end of text (token 0)
        constraint = PaperWords(PIECES, ALLOWED, max_length=max_length, top_k=3, wide_k=3)
        assert constraint(generated, scores.clone())[0].argmax().item() == best
    assert last.trim("The cell nem") == "The cell" and last.trim("the x - ra") == "the x"
    assert last.trim("The Nematic cell.") == "The Nematic cell."


def test_a_spaced_hyphen_joins_its_words_into_one_that_must_be_allowed(constraint):
    """Cohan's "x - ray" is shown as "x-ray", so it is checked as that one word."""
    assert words("an x - ray of the long - term cell") == [
        "an",
        "x-ray",
        "of",
        "the",
        "long-term",
        "cell",
    ]
    assert (
        constraint.fits("", " -") and constraint.fits("x", " -") and constraint.fits("x-", " ray")
    )
    assert not constraint.fits("cell", " -")  # no allowed word begins with "cell-"
    assert not constraint.fits("x-", " cell")  # "x-cell"
    assert constraint.fits("cell", " .")


def test_a_number_may_only_grow_into_one_of_the_papers_numbers():
    pieces = ("", " 5", "49", "4", ".", "54", " cases", "3", "d", " h")
    paper = "a total of 549 cases in 2010 ( 3.5 % )"
    constraint = PaperWords(pieces, {"cases", "total"}, numbers(paper))
    assert constraint.fits("", " 5") and constraint.fits("5", "49")  # on its way to 549
    assert not constraint.fits("5", "3")  # "53" begins none of them
    assert not constraint.fits("5", " cases")  # "5" is not the paper's
    assert constraint.fits("549", " cases") and constraint.fits("549", ".")  # ends a sentence
    assert constraint.fits("3", ".") and not constraint.fits("3.", "54")  # 3.5, not 3.554
    assert constraint.fits("3.5", ".") and not constraint.fits("3.5.", "5")  # nor "3.5.5"
    assert not constraint.fits("20", "")  # the text may not end on "20"
    assert not constraint.fits("h", "3")  # "h3" begins none of the paper's names
    named = PaperWords(pieces, {"cases", "total"}, {*numbers(paper), "h3africa"})
    assert named.fits("h", "3")  # digits inside a name ("h3africa") are not a number
    assert PaperWords(pieces, {"cases"}).fits("5", " cases")  # numbers unchecked without a list


def test_a_number_that_runs_into_letters_must_be_a_name_the_paper_writes():
    pieces = ("", " 2006", "t", "d", " 3", " in", "th")
    paper = "a 3d lattice built in 2006 , in 3 d"
    constraint = PaperWords.for_paper(pieces, paper)
    assert constraint.fits("3", "d") and constraint.fits("3d", " in")  # the paper's "3d"
    assert not constraint.fits("2006", "t")  # "2006t" is no name of the paper
    assert not constraint.fits("3", "dt")  # nor does any of its names begin with "3dt"
    assert constraint.fits("2006", " in")  # the number itself is the paper's
    assert constraint.fits("3d", "")  # the text may end on it


def test_a_word_that_runs_into_digits_must_be_a_name_the_paper_writes():
    pieces = ("", " her", "2", "3", " cells", " hematuria", " tlr", "4")
    paper = "her2 signalling in tlr4 cells , with gross hematuria ( 3 cm )"
    constraint = PaperWords.for_paper(pieces, paper)
    assert constraint.fits("her", "2") and constraint.fits("her2", " cells")  # the paper's
    assert not constraint.fits("her2", "2")  # "her22" is no name of the paper
    assert not constraint.fits("hematuria", "3")  # a stray digit joined to a word
    assert constraint.fits("hematuria", " 3")  # the paper's number, on its own
    assert constraint.fits("tlr", "4") and constraint.fits("tlr4", "")


def test_a_summary_gives_a_web_address_only_where_its_paper_gives_one(monkeypatch):
    pieces = ("", " available", " at", " https", "://", "github", ".", "com")
    common = frozenset({"available", "at", "https", "github", "com", "compare"})
    monkeypatch.setattr(vocabulary, "common_words", lambda: common)
    no_address = PaperWords.for_paper(pieces, "the code is available from the authors .")
    assert not no_address.fits("https", "://") and not no_address.fits("", "github.")
    assert not no_address.fits("e.g.com", "/")  # "e.g.com/": an address's last part
    assert no_address.fits("at", " the") and no_address.fits("", "com")  # on to "compare"
    with_address = PaperWords.for_paper(pieces, "code : https://github.com/lab/tool")
    assert with_address.fits("https", "://") and with_address.fits("", "github.")
    assert with_address.fits("github.com", "/")


def test_a_summary_claims_experiments_or_code_only_where_its_paper_does(monkeypatch):
    pieces = ("", " extensive", " experiments", " show", " our", " code", " is", " exp")
    common = frozenset({"extensive", "experiments", "show", "our", "code", "codes", "is"})
    monkeypatch.setattr(vocabulary, "common_words", lambda: common | {"expansion"})
    theory = PaperWords.for_paper(pieces, "we derive the expansion of the free energy .")
    assert not theory.fits("extensive", " experiments ") and not theory.fits("our", " code ")
    assert not theory.fits("our", " code")  # not even begun, as the prefix of "codes"
    assert theory.fits("", "extensive ") and theory.fits("our", " exp")  # on to "expansion"
    measured = PaperWords.for_paper(pieces, "two experiments ; the code is released .")
    assert measured.fits("extensive", " experiments ") and measured.fits("our", " code ")


def test_a_word_begun_as_the_papers_cannot_end_as_a_claim_it_does_not_make(monkeypatch):
    pieces = ("", " our", " exper", "imental", "ience", " results")
    monkeypatch.setattr(vocabulary, "common_words", lambda: frozenset({"our", "results"}))
    paper = "our experience with the free energy ."
    theory = PaperWords.for_paper(pieces, paper)
    theory.top_k = theory.wide_k = 2  # only "imental" and " results": neither fits
    generated = torch.tensor([[0, 1, 2]])  # "<s> our exper", on its way to "experience"
    scores = torch.tensor([[0.0, 0.0, 0.0, 5.0, -9.0, 4.0]])
    out = theory(generated, scores.clone())
    assert out[0, 3] == float("-inf")  # not "experimental", a claim the paper does not make
    assert torch.equal(out[0, [0, 1, 2, 4, 5]], scores[0, [0, 1, 2, 4, 5]])  # the rest alone
    lab = PaperWords.for_paper(pieces, paper + " experimental results .")
    lab.top_k = lab.wide_k = 2
    assert lab(generated, scores.clone())[0].argmax().item() == 3


def test_an_at_sign_only_begins_one_of_the_papers_placeholders(monkeypatch):
    """SumPubMed's "@xnum" taught the model to write "@" where a number goes; an "@" may only
    begin a placeholder its paper holds, which the readable text shows ("[math]") or drops."""
    pieces = ("", " a", " total", " of", " @", "if", "xmath", "3", "xnum", " cells", "@", "xcite")
    monkeypatch.setattr(vocabulary, "common_words", lambda: frozenset({"a", "total", "of", "if"}))
    plain = PaperWords.for_paper(pieces, "a total of 35 cells was counted .")
    assert not plain.fits("of", " @") and not plain.fits("lux", "@")  # no placeholder to begin
    assert not plain.fits("@", "if") and not plain.fits("@", "xnum")
    generated = torch.tensor([[0, 1, 2, 3]])  # "<s> a total of"
    scores = torch.full((1, len(pieces)), -5.0)
    scores[0, 4], scores[0, 9] = 5.0, 1.0  # " @" first, " cells" next
    assert plain(generated, scores.clone())[0].argmax().item() == 9
    math = PaperWords.for_paper(pieces, "a total of @xmath3 cells , as in @xcite .")
    assert math.fits("of", " @") and math.fits("@", "xmath") and math.fits("@xmath", "3")
    assert math.fits("@xmath3", " cells") and math.fits("@", "xcite") and math.fits("@xcite", "")
    assert not math.fits("@", "if") and not math.fits("@", "xnum")  # not the paper's
    assert not math.fits("@xmath", " cells")  # "@xmath" alone is none of them
    assert not math.fits("of", " @", last=True)  # nor may the text end on "@"
    assert math.trim("a total of @") == "a total of"
    # Where nothing fits (the search's repeat ban took "xmath" away), the "@" may stand alone,
    # and the readable text drops it; it may not become "@if".
    math.top_k = math.wide_k = 2  # only "if" and " cells" are looked at: neither fits
    generated = torch.tensor([[0, 1, 2, 3, 4]])  # "<s> a total of @"
    scores = torch.full((1, len(pieces)), -5.0)
    scores[0, 5], scores[0, 9] = 5.0, 4.0  # "if", then " cells"
    out = math(generated, scores.clone())
    assert out[0, 5] == float("-inf") and out[0].argmax().item() == 9


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
    """Alone, the tiny model writes words or numbers the paper does not hold (it copies its
    input's opening, or garbles it: what it writes of words it never saw depends on the CPU);
    with the constraint on and a paper holding only a few of those words and numbers, it
    writes no other word or number."""
    summarizer = Summarizer.from_pretrained(save_tiny_model(tmp_path / "model"))
    text = "4096 tokens in 12 layers hash sparse attention into 64 buckets and decode the summary ."
    paper = "the sparse attention of the summary in 12 layers"
    allowed = {"the"} | set(words(paper))
    monkeypatch.setattr(vocabulary, "common_words", lambda: frozenset({"the"}))
    free = GenerationSettings(length=16, num_beams=1, paper_words=False)
    written, _ = summarizer.generate(text, free, lambda *a: None, 96, paper)
    assert set(words(written)) - allowed or set(numbers(written)) - {"12"}
    for beams in (1, 3):
        settings = GenerationSettings(length=24, num_beams=beams, paper_words=True)
        constrained, _ = summarizer.generate(text, settings, lambda *a: None, 96, paper)
        assert words(constrained) and set(words(constrained)) <= allowed
        assert set(numbers(constrained)) <= {"12"}


def test_the_setting_is_the_models_default_and_can_be_turned_off(tmp_path):
    from summarizer.settings import read_model_settings

    model = save_tiny_model(tmp_path / "model")
    assert read_model_settings(model).paper_words is True  # models saved before it existed
    config = model / "generation_config.json"
    config.write_text(config.read_text().replace("{", '{"paper_words": false,', 1))
    assert read_model_settings(model).paper_words is False
    with pytest.raises(ValueError, match="paper_words"):
        GenerationSettings(paper_words="yes").validate()


def test_token_pieces_are_computed_once_per_tokenizer_and_again_when_it_grows():
    from summarizer.model.tokenizer import load_tokenizer
    from summarizer.paths import DEFAULT_MODEL_DIR

    tokenizer = load_tokenizer(DEFAULT_MODEL_DIR)
    pieces = vocabulary.token_pieces(tokenizer)
    assert vocabulary.token_pieces(tokenizer) is pieces and len(pieces) == len(tokenizer)
    assert pieces[tokenizer.eos_token_id] == ""
    tokenizer.add_tokens(["zqxjv"])
    grown = vocabulary.token_pieces(tokenizer)
    assert len(grown) == len(pieces) + 1 and grown[-1] == "zqxjv"
