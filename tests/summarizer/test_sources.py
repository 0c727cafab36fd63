"""Where each summary sentence comes from: the paper's passages (heading, index, the paper's
own writing), the sources of key and written sentences, and where they are shown."""

import json

import pytest

from data.ingest import read_pasted
from eval.evaluate import unsupported_share
from summarizer.api import Summarizer
from summarizer.sources import (
    UNSUPPORTED_BELOW,
    as_html,
    content_words,
    document_sentences,
    find_sources,
    first_occurrences,
    passages,
)
from tests.model_fixtures import salience_preferring, save_tiny_model

PAPER = """Sparse Transformers for Long Documents

1 Introduction
Transformers (Vaswani et al., 2017) are slow on long inputs. We study LSH attention [3], which \
costs O(n log n). In this work, the model reads 64k tokens.

2 Method
We use reversible layers, so activations are not stored. Each layer computes $y = x + f(x)$ \
once. The QKV projections are sparse; this saves 40% of the time.

3 Results
On arXiv, ROUGE-1 rises from 38.2 to 41.5. Decoding is 2.6x faster at 800M parameters.
"""


@pytest.fixture(scope="module")
def paper():
    return passages(read_pasted(PAPER))


@pytest.fixture(scope="module")
def summarizer(tmp_path_factory):
    model_dir = save_tiny_model(tmp_path_factory.mktemp("model"))
    return Summarizer.from_pretrained(model_dir)


def test_passages_know_their_section_and_keep_the_papers_writing(paper):
    assert [p.index for p in paper] == list(range(len(paper))) and len(paper) == 8
    assert [p.model_text for p in paper] == document_sentences(read_pasted(PAPER))
    lsh = paper[1]
    assert lsh.heading == "1 Introduction"
    assert lsh.text == "We study LSH attention [3], which costs O(n log n)."
    assert lsh.model_text.startswith("we study lsh attention @xcite")
    assert paper[4].text == "Each layer computes $y = x + f(x)$ once."
    assert (paper[7].heading, paper[7].text) == (
        "3 Results",
        "Decoding is 2.6x faster at 800M parameters.",
    )


def test_the_reading_view_keeps_a_repeated_sentence_where_it_stands(summarizer):
    """The models see a repeated sentence once; the paper as shown holds every occurrence, and
    marks each one when that sentence is a source."""
    repeated = (
        PAPER + "\n4 Conclusion\nThe QKV projections are sparse; this saves 40% of the time.\n"
    )
    once, whole = passages(read_pasted(repeated)), passages(read_pasted(repeated), repeats=True)
    assert len(whole) == len(once) + 1 and first_occurrences(whole) == once
    repeat = whole[-1]
    assert repeat.heading == "4 Conclusion" and repeat.index == once[5].index == 5
    sources = find_sources("The QKV projections are sparse; this saves 40% of the time.", once)
    assert sources[0].supported and [s.index for s in sources[0].sources] == [5]
    shown = as_html(whole, sources)
    assert shown.count("<mark") == 2 and "<h4>4 Conclusion</h4>" in shown
    assert summarizer.summarize(repeated).paper == whole  # what the app shows


def test_a_sentence_from_the_paper_is_its_own_source(paper):
    (found,) = find_sources("On arXiv, ROUGE-1 rises from 38.2 to 41.5.", paper)
    assert found.supported and found.support == 1.0
    assert [(s.section, s.index, s.support) for s in found.sources] == [("3 Results", 6, 1.0)]


def test_a_sentence_joining_two_passages_has_both_as_sources(paper):
    joined = "Reversible layers save memory, and sparse QKV saves 40% of time."
    (found,) = find_sources(joined, paper)
    assert found.supported and sorted(s.index for s in found.sources) == [3, 5]
    assert found.support > max(s.support for s in found.sources)


def test_text_the_paper_does_not_hold_is_unsupported_never_an_error(paper):
    summary = "The cat sat on the mat in Paris.\n\n. , ;\nGenomes of plants evolve quickly."
    found = find_sources(summary, paper)
    assert [f.sentence for f in found] == [line for line in summary.splitlines() if line]
    assert not any(f.supported for f in found)
    assert found[0].sources == [] and found[0].support == 0.0
    (alone,) = find_sources("Sparse layers.", [])  # a paper without sentences
    assert not alone.supported
    assert 0 < UNSUPPORTED_BELOW < 1 and content_words("the of [math] @xcite") == frozenset()


def test_key_sentences_point_to_themselves_as_the_paper_writes_them(summarizer):
    extractive = Summarizer(
        summarizer.model, summarizer.tokenizer, salience=salience_preferring("sparse")
    )
    result = extractive.summarize(PAPER, mode="extractive", length=20)
    assert [s.sentence for s in result.sources] == result.summary.splitlines()
    (sparse,) = result.sources
    assert sparse.supported and sparse.support == 1.0
    assert [(s.section, s.index, s.text) for s in sparse.sources] == [
        ("2 Method", 5, "The QKV projections are sparse; this saves 40% of the time.")
    ]
    markdown = result.to_markdown()
    assert "this saves 40% of the time.[^1]" in markdown
    assert '[^1]: 2 Method, sentence 6: "The QKV projections are sparse;' in markdown


def test_written_summaries_get_sources_for_every_line(summarizer):
    result = summarizer.summarize(PAPER, length=12, num_beams=1)
    lines = result.summary.splitlines()
    assert lines and [s.sentence for s in result.sources] == lines
    assert "sources" in result.seconds
    markdown = result.to_markdown()
    for s in result.sources:
        assert (s.sentence + " *(unsupported)*" in markdown) != s.supported
    assert json.loads(json.dumps(result.to_dict()))["sources"][0]["sentence"] == lines[0]


def test_evaluate_counts_unsupported_sentences():
    articles = {"a": "sparse layers are fast . the loss falls with training ."}
    copied = [{"id": "a", "prediction": "sparse layers are fast .\nthe loss falls ."}]
    invented = [{"id": "a", "prediction": "genomes of plants evolve .\nsparse layers are fast ."}]
    assert unsupported_share(copied, articles) == {"share": 0.0, "sentences": 2}
    assert unsupported_share(invented, articles) == {"share": 0.5, "sentences": 2}
