import json

import pytest

from data.dataset import load_documents
from eval.pairs import Pair, is_deletion, lcs_length, main, sentence_pairs
from tests.cohan_fixtures import write_cohan

ARTICLE = (
    "we study sparse attention for long documents . "
    "the weather was pleasant during the whole conference in spring . "
    "our sparse model decodes long papers four times faster than a dense model of the same size ."
)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SUMMARIZER_CACHE", str(tmp_path / "cache"))


def test_lcs_length_counts_the_longest_common_subsequence():
    assert lcs_length(["a", "b", "c", "d"], ["a", "x", "c", "d"]) == 3
    assert lcs_length(["a", "b", "c"], ["c", "b", "a"]) == 1
    assert lcs_length([], ["a"]) == 0


def test_each_abstract_sentence_is_paired_with_the_article_sentence_that_holds_it():
    abstract = (
        "the sparse model decodes papers four times faster than a dense model .\n"
        "we thank the organizers of a conference held in a city by the sea ."
    )
    pairs = sentence_pairs(ARTICLE, abstract, min_recall=0.5)
    assert [p.target for p in pairs] == [abstract.splitlines()[0]]  # the second has no source
    assert pairs[0].source.startswith("our sparse model decodes long papers")
    assert 0.8 < pairs[0].recall <= 1.0
    assert sentence_pairs(ARTICLE, abstract, min_recall=1.0) == []


def test_short_abstract_sentences_get_no_pair():
    assert sentence_pairs(ARTICLE, "sparse attention .", min_recall=0.0) == []


LONG = (
    "in this work we show that our sparse model , trained for two days on eight cores , "
    "decodes long scientific papers four times faster than a dense model of the same size ."
)
CUT = "we show that our sparse model decodes long papers four times faster than a dense model ."


def test_a_deletion_pair_is_its_long_source_with_words_taken_out():
    assert is_deletion(Pair(LONG, CUT, 1.0))
    # the same words in other case are the same words
    assert is_deletion(Pair(LONG, CUT.replace("we show", "We show"), 1.0))
    # a paraphrase brings in words the source does not have
    said = "we find that the sparse network writes long articles four times as fast as dense ones ."
    assert not is_deletion(Pair(LONG, said, 0.5))
    # the whole sentence again is not a deletion, nor is a cut of a short source
    assert not is_deletion(Pair(LONG, LONG, 1.0))
    short = "our sparse model decodes long papers four times faster than a dense model ."
    assert not is_deletion(Pair(short, "our sparse model decodes long papers faster .", 1.0))


def test_the_command_keeps_only_deletion_pairs_when_asked(tmp_path):
    papers = tmp_path / "papers.jsonl"
    records = [
        {"article_id": "p0", "article_text": [LONG], "abstract_text": [CUT]},
        {"article_id": "p1", "article_text": [LONG], "abstract_text": [LONG]},
    ]
    papers.write_text("".join(json.dumps(r) + "\n" for r in records))
    every, deletions = tmp_path / "every.jsonl", tmp_path / "deletions.jsonl"
    assert main([str(papers), "--out", str(every)]) == 0
    assert main([str(papers), "--out", str(deletions), "--deletions"]) == 0
    assert len(every.read_text().splitlines()) == 2
    kept = [json.loads(line) for line in deletions.read_text().splitlines()]
    assert [r["article_id"] for r in kept] == ["p0#0"]
    assert kept[0]["abstract_text"] == [CUT]


def test_the_command_writes_pairs_that_load_as_documents(tmp_path):
    papers = write_cohan(tmp_path / "papers.jsonl", 5)
    out = tmp_path / "pairs" / "pairs.jsonl.gz"
    assert main([str(papers), "--out", str(out)]) == 0
    docs, report = load_documents(out)
    # the fixture's abstracts are the articles' first two sentences: each holds itself
    assert report.kept == len(docs) == 10 and not report.skipped
    assert docs[0]["id"] == "doc-0#0"
    first = json.loads(papers.read_text().splitlines()[0])
    assert docs[0]["article"] == first["article_text"][0] == docs[0]["abstract"]
    assert not out.with_name(out.name + ".partial").exists()


def test_bad_arguments_are_clear_errors(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main([str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "p.jsonl")])
    assert "does not exist" in capsys.readouterr().err
    papers = write_cohan(tmp_path / "papers.jsonl", 1)
    with pytest.raises(SystemExit):
        main([str(papers), "--out", str(tmp_path / "p.jsonl"), "--min-recall", "2"])
    assert "--min-recall" in capsys.readouterr().err
