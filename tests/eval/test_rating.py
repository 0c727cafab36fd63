"""The blind rating sheet: every sentence of every system, shuffled, unlabelled, and counted
back to the right system."""

import csv
import json

import pytest

from eval.evaluate import EvalSettings, evaluate
from eval.rating import KEY, SHEET, main, summary_sentences
from tests.cohan_fixtures import write_cohan


@pytest.fixture
def runs(tmp_path, monkeypatch):
    """lead and LexRank runs on 6 papers of one file and 4 of another."""
    monkeypatch.setenv("SUMMARIZER_CACHE", str(tmp_path / "cache"))
    made = {}
    for name, n, seed in (("a", 6, 2), ("b", 4, 3)):
        data = write_cohan(tmp_path / f"{name}.jsonl", n, seed=seed)
        for baseline in ("lead", "lexrank"):
            out = tmp_path / f"{baseline}-{name}"
            evaluate(EvalSettings(data=str(data), out=str(out), baseline=baseline))
            made[baseline, name] = out
    return made


def read_sheet(folder):
    with (folder / SHEET).open(newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def fill(folder, fluent_systems):
    """Rate y every sentence of `fluent_systems` and n the rest, as the key says."""
    key = json.loads((folder / KEY).read_text())
    rows = read_sheet(folder)
    for row in rows:
        row["fluent"] = "y" if key[row["item"]]["system"] in fluent_systems else "n"
    with (folder / SHEET).open("w", newline="") as f:
        writer = csv.DictWriter(f, ["item", "fluent", "sentence"], delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)


def expected_sentences(run, papers):
    rows = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]
    return [s for row in rows[:papers] for s in summary_sentences(row["prediction"])]


def test_the_sheet_holds_every_sentence_shuffled_and_unlabelled(runs, tmp_path, capsys):
    out = tmp_path / "sheet"
    specs = [f"{runs['lead', 'a']}=lead", f"{runs['lexrank', 'a']}=lexrank"]
    assert main(["sheet", *specs, "--papers", "3", "--reference", "--out", str(out)]) == 0
    rows = read_sheet(out)
    assert set(rows[0]) == {"item", "fluent", "sentence"}  # nothing says which system
    key = json.loads((out / KEY).read_text())
    for run, system in ((runs["lead", "a"], "lead"), (runs["lexrank", "a"], "lexrank")):
        mine = [row["sentence"] for row in rows if key[row["item"]]["system"] == system]
        assert sorted(mine) == sorted(expected_sentences(run, 3))
    systems = [key[row["item"]]["system"] for row in rows]
    assert {"lead", "lexrank", "reference"} == set(systems)
    assert {key[row["item"]]["paper"] for row in rows} == {"doc-0", "doc-1", "doc-2"}
    assert systems != sorted(systems, key=systems.index)  # shuffled, not grouped by system
    assert "to rate" in capsys.readouterr().out


def test_skip_leaves_out_the_papers_an_earlier_sheet_rated(runs, tmp_path, capsys):
    out = tmp_path / "later"
    spec = f"{runs['lead', 'a']}=lead"
    assert main(["sheet", spec, "--papers", "2", "--skip", "3", "--out", str(out)]) == 0
    key = json.loads((out / KEY).read_text())
    assert {entry["paper"] for entry in key.values()} == {"doc-3", "doc-4"}
    rows = [json.loads(line) for line in (runs["lead", "a"] / "predictions.jsonl").open()]
    expected = [s for row in rows[3:5] for s in summary_sentences(row["prediction"])]
    assert sorted(row["sentence"] for row in read_sheet(out)) == sorted(expected)
    assert main(["sheet", spec, "--skip", "6", "--out", str(tmp_path / "none")]) == 2
    assert "no paper in common after the first 6" in capsys.readouterr().err


def test_scores_count_each_system_and_pool_runs_that_share_a_label(runs, tmp_path, capsys):
    out = tmp_path / "sheet"
    specs = [
        f"{runs['lead', 'a']}=lead",
        f"{runs['lead', 'b']}=lead",
        f"{runs['lexrank', 'a']}=lexrank",
        f"{runs['lexrank', 'b']}=lexrank",
    ]
    assert main(["sheet", *specs, "--papers", "3", "--out", str(out)]) == 0
    fill(out, {"lead"})
    assert main(["score", str(out)]) == 0
    scores = json.loads((out / "scores.json").read_text())
    assert scores["lead"]["share"] == 1.0 and scores["lexrank"]["share"] == 0.0
    assert scores["lead"]["papers"] == 6  # 3 papers of each file
    lead_sentences = sum(len(expected_sentences(runs["lead", d], 3)) for d in "ab")
    assert scores["lead"]["sentences"] == lead_sentences
    assert scores["lead"]["ci95"] == [1.0, 1.0]
    assert "| lead | 6 |" in capsys.readouterr().out


def test_score_records_one_systems_fluency_for_a_model_folder(runs, tmp_path, capsys):
    from summarizer.api import read_fluent_share

    out, model = tmp_path / "sheet", tmp_path / "model"
    model.mkdir()
    specs = [f"{runs['lead', 'a']}=lead", f"{runs['lexrank', 'a']}=lexrank"]
    assert main(["sheet", *specs, "--papers", "3", "--out", str(out)]) == 0
    fill(out, {"lead"})
    record = model / "fluency.json"
    assert main(["score", str(out), "--out", str(record)]) == 2  # two systems: which one?
    assert "--system must name one of the sheet's systems: ['lead', 'lexrank']" in (
        capsys.readouterr().err
    )
    for system, share in (("lexrank", 0.0), ("lead", 1.0)):
        assert main(["score", str(out), "--system", system, "--out", str(record)]) == 0
        written = json.loads(record.read_text())
        assert written["system"] == system and written["sheet"] == str(out)
        assert written["share"] == share and read_fluent_share(model) == share


def test_unrated_rows_and_bad_folders_are_clear_errors(runs, tmp_path, capsys):
    out = tmp_path / "sheet"
    predictions = runs["lead", "a"] / "predictions.jsonl"
    torn = predictions.read_text() + '{"id": "doc-6", "predic'  # a run still writing
    predictions.write_text(torn)
    assert main(["sheet", str(runs["lead", "a"]), "--papers", "2", "--out", str(out)]) == 0
    assert predictions.read_text() == torn  # reading a run leaves it as it is
    assert main(["score", str(out)]) == 2
    assert "line 2: fluent is '', not y or n (not rated yet)" in capsys.readouterr().err
    fill(out, {"lead-a"})
    assert main(["sheet", str(runs["lead", "a"]), "--out", str(out)]) == 2  # keeps the ratings
    assert "exists" in capsys.readouterr().err
    assert main(["score", str(out)]) == 0
    assert main(["sheet", str(tmp_path), "--out", str(tmp_path / "other")]) == 2
    assert "is not an evaluate run" in capsys.readouterr().err


def test_references_are_split_into_sentences_anew(runs, tmp_path):
    """Cohan's abstracts break lines inside sentences; the sheet must not rate the pieces."""
    predictions = runs["lead", "a"] / "predictions.jsonl"
    rows = [json.loads(line) for line in predictions.read_text().splitlines()]
    rows[0]["reference"] = "in conclusion ,\nthe sparse model works .\nwe show that ."
    predictions.write_text("".join(json.dumps(row) + "\n" for row in rows))
    out = tmp_path / "sheet"
    assert (
        main(["sheet", str(runs["lead", "a"]), "--papers", "1", "--reference", "--out", str(out)])
        == 0
    )
    key = json.loads((out / KEY).read_text())
    references = [r["sentence"] for r in read_sheet(out) if key[r["item"]]["system"] == "reference"]
    assert sorted(references) == ["In conclusion, the sparse model works.", "We show that."]
