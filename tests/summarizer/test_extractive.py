"""Offline sentence splitting and the extractive baselines."""

from data.sentences import split_sentences
from eval.oracle import oracle
from eval.rouge import rouge_f1
from summarizer.extractive import lead, lexrank, pagerank, take_in_order, textrank

TOPIC = [
    "sparse layers make transformer decoding fast .",
    "the sparse transformer decodes fast with sparse layers .",
    "decoding with sparse layers is fast for the transformer .",
]
OUTLIER = "the weather in paris was rainy on tuesday ."


def test_sentences_split_at_free_standing_end_marks_only():
    text = "we use e.g. lsh @xcite . results improve ( see fig . 2 ) ? yes !\nsecond line ."
    assert split_sentences(text) == [
        "we use e.g. lsh @xcite .",
        "results improve ( see fig . 2 ) ?",  # "fig ." is an abbreviation, not an end
        "yes !",
        "second line .",
    ]
    text = "as smith et al . showed in phys . rev . lett . the fit holds . so does eq . 3 ."
    assert split_sentences(text) == [
        "as smith et al . showed in phys . rev . lett . the fit holds .",
        "so does eq . 3 .",
    ]
    assert split_sentences("") == [] and split_sentences("no end mark") == ["no end mark"]


def test_lead_takes_the_first_sentences_up_to_the_budget():
    sentences = ["a b c .", "d e f .", "g h i ."]
    assert lead(sentences, max_words=8) == ["a b c .", "d e f ."]  # 4 tokens, then 8
    assert lead(sentences, max_words=4) == ["a b c ."]
    # Nothing fits: the first sentence, cut to the budget (a summary keeps its length).
    assert lead(sentences, max_words=2) == ["a b"]


def test_budget_may_be_crossed_by_a_tenth_at_most():
    sentences = ["a b c d e f g h i .", "long " * 9 + "sentence .", "k l ."]
    # 10 words, then 11 more would reach 21 > 1.1 * 18: the 3-word sentence is taken instead
    assert take_in_order(sentences, [0, 1, 2], max_words=18) == [sentences[0], sentences[2]]
    assert take_in_order(sentences, [0, 1, 2], max_words=20) == sentences[:2]  # 21 <= 22

    def refuse_second(i: int, chosen: list[int]) -> bool:
        return i != 1

    assert take_in_order(sentences, [0, 1, 2], 20, refuse_second) == [sentences[0], sentences[2]]


def test_lexrank_and_textrank_prefer_central_sentences_over_an_outlier():
    sentences = [OUTLIER, *TOPIC]
    for method in (lexrank, textrank):
        chosen = method(sentences, max_words=8)
        assert OUTLIER not in chosen and chosen[0] in TOPIC, method.__name__
        assert len(method(sentences, max_words=100)) == 4  # a big budget takes everything


def test_pagerank_of_a_star_puts_the_centre_first():
    star = [[0, 1, 1, 1], [1, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]]
    scores = pagerank(star)
    assert scores.argmax() == 0 and abs(scores.sum() - 1) < 1e-6


def test_oracle_finds_the_sentences_of_the_reference():
    sentences = [OUTLIER, *TOPIC, "an unrelated closing remark about funding ."]
    reference = "\n".join(TOPIC[:2])
    chosen = oracle(sentences, reference)
    assert chosen == TOPIC[:2]
    assert rouge_f1(["\n".join(chosen)], [reference])["rouge2"] == 100.0
