"""Reading Cohan records, normalization, hub names and tokenized datasets."""

import json
import random
from collections import Counter

import datasets
import pytest

from data import dataset as dataset_module
from data.dataset import load_documents, tokenize_documents, weight_sources
from data.normalize import join_article, join_summary, normalize_text
from summarizer.model.tokenizer import train_tokenizer
from tests.cohan_fixtures import record, write_cohan


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SUMMARIZER_CACHE", str(tmp_path / "cache"))


def test_normalization_is_idempotent_and_keeps_cohan_text():
    cohan = "coupled - cluster ( cc ) method @xcite is a powerful technique @xmath5 ."
    assert normalize_text(cohan) == cohan
    messy = "\ufb01ne  is\u00a0a\tTest\x07 \u200bwith  \n lines"
    once = normalize_text(messy)
    assert once == "fine is a test with lines"
    assert normalize_text(once) == once
    assert join_summary(["<S> one . </S>", "<S>  </S>", "<S> two . </S>"]) == "one .\ntwo ."
    assert join_article(["a .", "", "b ."]) == "a . b ."


@pytest.mark.parametrize(
    "name, gz", [("train.jsonl", False), ("train.jsonl.gz", True), ("train.txt", False)]
)
def test_reads_every_cohan_file_format(tmp_path, name, gz):
    path = write_cohan(tmp_path / name, 5, gz=gz)
    docs, report = load_documents(path)
    assert len(docs) == 5 and report.kept == 5 and not report.skipped
    first = docs[0]
    assert first["id"] == "doc-0" and first["source"] == "synthetic"
    assert first["abstract"].count("\n") == 1  # two abstract sentences, one per line
    assert "<S>" not in first["abstract"]


def test_a_folder_is_read_recursively(tmp_path):
    write_cohan(tmp_path / "a" / "part1.jsonl", 3, seed=1)
    write_cohan(tmp_path / "b" / "part2.jsonl.gz", 4, seed=2, gz=True)
    (tmp_path / "notes.md").write_text("ignored")
    docs, _ = load_documents(tmp_path)
    assert len(docs) == 7


def test_the_cache_follows_the_files_contents_not_their_times(tmp_path):
    """A fresh copy of the same data (new modification times, as when the data is copied onto
    a machine again) reuses the cache, and what was derived from it; an edit does not."""
    import os

    path = write_cohan(tmp_path / "val.jsonl", 4, seed=1)
    first, _ = load_documents(path)
    os.utime(path, ns=(1, 1))
    again, _ = load_documents(path)
    assert again._fingerprint == first._fingerprint
    write_cohan(path, 4, seed=2)
    edited, _ = load_documents(path)
    assert edited._fingerprint != first._fingerprint
    assert edited["article"] != first["article"]


def test_malformed_records_are_skipped_and_counted(tmp_path):
    import random

    rng = random.Random(0)
    no_abstract = {**record(90, rng), "abstract_text": ["<S> </S>"]}
    extra = [
        "{not json",
        json.dumps([1, 2]),
        json.dumps({"article_id": "x", "article_text": "a string, not a list"}),
        json.dumps(no_abstract),
    ]
    path = write_cohan(tmp_path / "mixed.jsonl", 3, extra_lines=extra)
    docs, report = load_documents(path)
    assert len(docs) == 3
    assert report.skipped == {
        "not JSON": 1,
        "not a JSON object": 1,
        "missing article_text list": 1,
        "empty abstract": 1,
    }
    assert "skipped 4" in str(report)


def test_missing_paths_and_unknown_names_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither an existing file or folder"):
        load_documents(tmp_path / "nope.jsonl")
    with pytest.raises(FileNotFoundError, match="known hub datasets"):
        load_documents("someone/unknown-dataset")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="No data files"):
        load_documents(tmp_path / "empty")


def test_hub_datasets_are_mapped_to_our_columns(monkeypatch):
    calls = []

    def fake_load_dataset(repo, config, split):
        calls.append((repo, config, split))
        return datasets.Dataset.from_dict(
            {"article": ["First LINE.\nSecond line.", ""], "abstract": ["One.\nTwo.", "x"]}
        )

    monkeypatch.setattr(dataset_module.datasets, "load_dataset", fake_load_dataset)
    docs, report = load_documents("scientific_papers/pubmed:validation")
    assert calls == [("scientific_papers", "pubmed", "validation")]
    assert docs["article"] == ["first line. second line."]
    assert docs["abstract"] == ["one.\ntwo."]
    assert report.skipped["empty article or abstract"] == 1


def test_tokenized_documents_end_with_eos_and_respect_limits(tmp_path):
    docs, _ = load_documents(write_cohan(tmp_path / "d.jsonl", 6))
    tokenizer = train_tokenizer(list(docs["article"]) + list(docs["abstract"]), vocab_size=300)
    tokenized = tokenize_documents(docs, tokenizer, max_input_tokens=40, max_target_tokens=8)
    for row in tokenized:
        assert len(row["input_ids"]) == row["input_length"] <= 40
        assert len(row["labels"]) == row["label_length"] <= 8
        assert row["input_ids"][-1] == row["labels"][-1] == tokenizer.eos_token_id
    untruncated = tokenize_documents(
        docs, tokenizer, max_input_tokens=10_000, max_target_tokens=500
    )
    assert (
        tokenizer.decode(untruncated[0]["labels"], skip_special_tokens=True) == docs[0]["abstract"]
    )


def test_source_weights_repeat_keep_a_share_of_or_drop_each_source(tmp_path):
    rows = [{**record(i, random.Random(i)), "source": "a" if i < 2 else "b"} for i in range(6)]
    rows[5]["source"] = "c"
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    docs, _ = load_documents(path)
    weighted = weight_sources(docs, {"a": 3, "b": 0.5, "c": 0}, seed=1)
    ids = Counter(weighted["id"])
    assert ids["doc-0"] == ids["doc-1"] == 3  # source a, three times each
    assert sum(ids[f"doc-{i}"] for i in (2, 3, 4)) == 2  # half of b's three, rounded
    assert max(ids[f"doc-{i}"] for i in (2, 3, 4)) == 1
    assert "doc-5" not in ids  # c left out
    assert weight_sources(docs, {}) is docs
    with pytest.raises(ValueError, match=r"\['d'\].*'a': 2, 'b': 3, 'c': 1"):
        weight_sources(docs, {"d": 2})
    with pytest.raises(ValueError, match=r">= 0; \['b'\]"):
        weight_sources(docs, {"a": 1, "b": -0.5})
