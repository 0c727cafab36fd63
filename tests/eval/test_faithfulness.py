"""Faithfulness: the share of a summary's numbers and rare words that its paper holds."""

from data.words import common_words, numbers
from eval.faithfulness import Support, support

COMMON = frozenset({"the", "model", "we", "show", "of", "a", "is"})


def test_numbers_and_rare_words_are_checked_against_the_paper():
    paper = "the nematic cell has a thickness of 12.5 microns and 3 layers ."
    summary = "we show the nematic model is 12.5 microns thick with 4 layers of graphene ."
    found = support(summary, paper, COMMON)
    assert numbers(summary) == ["12.5", "4"]
    assert (found.numbers, found.numbers_supported) == (2, 1)  # 4 is invented
    # rare: nematic, microns, thick, with, layers, graphene -> 3 of 6 in the paper
    assert (found.rare_words, found.rare_words_supported) == (6, 3)
    assert (found + found).shares() == {
        "numbers": 0.5,
        "rare_words": 0.5,
        "names": None,  # the summary has no name with digits
        "n_numbers": 4,
        "n_rare_words": 12,
        "n_names": 0,
    }
    assert Support().shares()["numbers"] is None  # no numbers: no share, not 0 or 1


def test_names_with_digits_are_checked_whole():
    paper = "her2 signalling in tlr4 cells of a 3d culture ( fig . 2 ) @xmath3"
    summary = "her2 and her22 signalling in tlr4 cells, hematuria3 and a 3d culture @xmath3 ."
    found = support(summary, paper, COMMON)
    # names: her2, her22, tlr4, hematuria3, 3d -> 3 of 5 in the paper; "xmath3" is no name
    assert (found.names, found.names_supported) == (5, 3)
    assert found.numbers == 0  # the digits of a name are not numbers


def test_formula_and_citation_placeholders_are_not_words_of_a_summary():
    paper = "the gap is @xmath0 for the nematic phase @xcite ."
    readable = "the gap is [math] for the nematic phase."
    for summary in (readable, "the gap is @xmath4 for the nematic phase @xcite ."):
        found = support(summary, paper, COMMON)
        # rare: gap, for, nematic, phase -- not "math", "xmath" or "xcite"
        assert (found.rare_words, found.rare_words_supported) == (4, 4), summary


def test_the_shipped_word_list_holds_the_commonest_abstract_words():
    common = common_words()
    assert len(common) == 5000 and {"the", "we", "results", "patients"} <= common
