"""The evaluate command: outputs, resume, baselines, checkpoints, compare, bad input."""

import json
from dataclasses import replace

import pytest

from data.sentences import split_sentences
from eval.evaluate import EvalSettings, evaluate, paired_bootstrap, rouge1_against_others
from eval.rouge import ROUGE_TYPES, rouge_per_document
from summarizer.cli import main
from tests.cohan_fixtures import write_cohan


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("SUMMARIZER_CACHE", str(tmp_path / "cache"))
    return write_cohan(tmp_path / "val.jsonl", 8, seed=2)


def test_baseline_run_writes_metrics_predictions_and_report(tmp_path, data, capsys):
    out = tmp_path / "lead"
    assert main(["evaluate", "--data", str(data), "--out", str(out), "--baseline", "lead"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n"] == 8 and metrics["system"] == "baseline:lead"
    for kind in ("rouge1", "rouge2", "rougeL", "rougeLsum"):
        m = metrics[kind]
        assert 0 <= m["ci95"][0] <= m["f"] <= m["ci95"][1] <= 100
        assert set(m) == {"p", "r", "f", "ci95"}
    assert set(metrics["by_source"]) == {"synthetic"}
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(rows) == 8 and {"id", "prediction", "reference", "scores"} <= set(rows[0])
    assert "| rouge1 |" in (out / "report.md").read_text() and (out / "report.png").exists()
    assert "8 documents" in capsys.readouterr().out


def test_oracle_beats_lead(tmp_path, data):
    lead = evaluate(EvalSettings(data=str(data), out=str(tmp_path / "a"), baseline="lead"))
    best = evaluate(EvalSettings(data=str(data), out=str(tmp_path / "b"), baseline="oracle"))
    assert best["rouge2"]["f"] > lead["rouge2"]["f"]


def test_interrupted_run_resumes_and_keeps_written_predictions(tmp_path, data):
    out = tmp_path / "run"
    evaluate(EvalSettings(data=str(data), out=str(out), baseline="lexrank", limit=3))
    lines = (out / "predictions.jsonl").read_text().splitlines()
    torn = [*lines, '{"id": "doc-3", "predic']  # killed while writing the fourth line
    (out / "predictions.jsonl").write_text("\n".join(torn) + "\n")
    metrics = evaluate(EvalSettings(data=str(data), out=str(out), baseline="lexrank"))
    new_lines = (out / "predictions.jsonl").read_text().splitlines()
    assert new_lines[:3] == lines and len(new_lines) == 8 and metrics["n"] == 8


def test_checkpoint_run_uses_the_model(tmp_path, data):
    from tests.model_fixtures import save_tiny_model

    checkpoint = save_tiny_model(tmp_path / "ckpt")  # trained to copy its input's opening
    metrics = evaluate(
        EvalSettings(
            data=str(data),
            out=str(tmp_path / "m"),
            checkpoint=str(checkpoint),
            limit=4,
            max_new_tokens=8,
            num_beams=1,
            max_input_tokens=64,
        )
    )
    assert metrics["n"] == 4 and metrics["system"].startswith("checkpoint:")
    articles = {
        r["article_id"]: " ".join(r["article_text"]).split()[:20]
        for r in map(json.loads, data.read_text().splitlines())
    }
    rows = [json.loads(line) for line in (tmp_path / "m" / "predictions.jsonl").open()]
    predictions = [row["prediction"] for row in rows]
    assert all(predictions) and len(set(predictions)) == len(predictions)
    for row in rows:  # each prediction opens as its own article does (the model copies)
        first_word = row["prediction"].split()[0].lower().rstrip(".")  # a cut summary ends "."
        assert first_word == articles[row["id"]][0]


def test_a_checkpoint_is_scored_on_what_the_summarizer_returns(tmp_path, data):
    """evaluate has no generate path of its own: its predictions are the Summarizer's summaries
    (input selection, decoding, readable text) with the run's settings."""
    from data.ingest import read_documents
    from summarizer.api import Summarizer
    from summarizer.settings import GenerationSettings
    from tests.model_fixtures import save_tiny_model

    checkpoint = save_tiny_model(tmp_path / "ckpt")
    run = EvalSettings(data=str(data), out=str(tmp_path / "m"), checkpoint=str(checkpoint),
                       limit=3, max_new_tokens=10, num_beams=2, no_repeat_ngram_size=2)  # fmt: skip
    evaluate(run)
    rows = [json.loads(line) for line in (tmp_path / "m" / "predictions.jsonl").open()]
    summarizer = Summarizer.from_pretrained(checkpoint)
    settings = GenerationSettings(length=10, num_beams=2, no_repeat_ngram_size=2)
    papers = {d.name: d for d in read_documents(data)}
    for row in rows:
        expected = summarizer.summarize(papers[row["id"]], settings).summary
        assert expected and row["prediction"] == expected


def test_checkpoint_extractive_run_uses_its_salience_model(tmp_path, data, capsys):
    from summarizer.salience import SalienceModel

    checkpoint = tmp_path / "ckpt"
    argv = ["evaluate", "--data", str(data), "--out", str(tmp_path / "x"), "--checkpoint",
            str(checkpoint), "--mode", "extractive", "--max-words", "20"]  # fmt: skip
    assert main(argv) == 2
    assert "No salience model" in capsys.readouterr().err
    SalienceModel().save(checkpoint)  # the summaries come from it alone: no Terraformer needed
    assert main(argv) == 0
    metrics = json.loads((tmp_path / "x" / "metrics.json").read_text())
    assert metrics["n"] == 8 and metrics["system"].endswith("(extractive)")
    records = [json.loads(line) for line in data.read_text().splitlines()]
    sentences = {r["article_id"]: split_sentences(" ".join(r["article_text"])) for r in records}
    for row in map(json.loads, (tmp_path / "x" / "predictions.jsonl").read_text().splitlines()):
        chosen = row["prediction"].splitlines()
        assert chosen and set(chosen) <= set(sentences[row["id"]])
        assert sum(len(s.split()) for s in chosen[:-1]) < 20  # the last may cross the budget


def test_checkpoint_rewritten_run_rewrites_key_sentences_for_the_budget(
    tmp_path, data, monkeypatch
):
    import shutil

    from summarizer.paths import REWRITER_DIR
    from summarizer.salience import SalienceModel
    from tests.model_fixtures import save_tiny_model

    checkpoint = save_tiny_model(tmp_path / "ckpt")
    SalienceModel().save(checkpoint)
    shutil.copytree(checkpoint, tmp_path / "rw")
    shutil.move(tmp_path / "rw", checkpoint / REWRITER_DIR)
    monkeypatch.setattr("summarizer.api.REWRITE_ABOVE", 0)  # the fixture's sentences are short
    run = EvalSettings(data=str(data), out=str(tmp_path / "x"), checkpoint=str(checkpoint),
                       mode="rewritten", max_words=30, num_beams=1, limit=2)  # fmt: skip
    metrics = evaluate(run)
    assert metrics["n"] == 2 and metrics["system"].endswith("(rewritten)")
    rows = [json.loads(line) for line in (tmp_path / "x" / "predictions.jsonl").open()]
    assert all(row["prediction"] for row in rows)


def test_checkpoint_run_defaults_to_what_the_model_asks_for(tmp_path, data):
    from summarizer.salience import SalienceModel
    from tests.model_fixtures import save_tiny_model

    checkpoint = save_tiny_model(tmp_path / "ckpt")
    config = checkpoint / "generation_config.json"
    asked = {"num_beams": 1, "max_new_tokens": 6, "min_new_tokens": 2,
             "no_repeat_ngram_size": 2, "repetition_penalty": 1.3}  # fmt: skip
    config.write_text(json.dumps({**json.loads(config.read_text()), **asked}))
    run = EvalSettings(data=str(data), out=str(tmp_path / "a"), checkpoint=str(checkpoint), limit=2)
    metrics = evaluate(run)
    assert metrics["settings"]["mode"] == "abstractive"
    assert asked.items() <= metrics["settings"].items()
    assert (
        evaluate(replace(run, out=str(tmp_path / "b"), num_beams=2))["settings"]["num_beams"] == 2
    )

    SalienceModel().save(checkpoint)
    config.write_text(json.dumps({**json.loads(config.read_text()), "summary_mode": "extractive"}))
    metrics = evaluate(replace(run, out=str(tmp_path / "c")))
    assert metrics["system"].endswith("(extractive)")
    metrics = evaluate(replace(run, out=str(tmp_path / "d"), mode="abstractive"))
    assert not metrics["system"].endswith("(extractive)")


def test_compare_prints_runs_side_by_side(tmp_path, data, capsys):
    for name in ("lead", "oracle"):
        evaluate(EvalSettings(data=str(data), out=str(tmp_path / name), baseline=name))
    assert main(["evaluate", "compare", str(tmp_path / "lead"), str(tmp_path / "oracle")]) == 0
    table = capsys.readouterr().out
    assert "| lead | 8 |" in table and "| oracle | 8 |" in table
    # Each type's paired difference from the first run, on the documents both hold.
    (oracle_row,) = [line for line in table.splitlines() if line.startswith("| oracle |")]
    cells = [c.strip() for c in oracle_row.strip("|").split("|")]
    differences = cells[2 + len(ROUGE_TYPES) : 2 + 2 * len(ROUGE_TYPES)]
    scores = {
        name: [
            json.loads(line)["scores"] for line in (tmp_path / name / "predictions.jsonl").open()
        ]
        for name in ("lead", "oracle")
    }
    for kind, cell in zip(ROUGE_TYPES, differences, strict=True):
        gain = sum(s[kind]["f"] for s in scores["oracle"]) - sum(
            s[kind]["f"] for s in scores["lead"]
        )
        assert cell.split()[0] == f"{gain / 8:+.2f}"
    assert cells[-1] == "8"


def test_paired_bootstrap_separates_real_differences_from_noise():
    a = [float(i % 7) for i in range(100)]
    assert paired_bootstrap(a, [x + 5 for x in a]) < 0.01
    assert paired_bootstrap(a, a) == 1.0


def test_bad_input_is_a_clear_error(tmp_path, data, capsys):
    assert (
        main(
            [
                "evaluate",
                "--data",
                str(tmp_path / "nope.jsonl"),
                "--out",
                str(tmp_path / "o"),
                "--baseline",
                "lead",
            ]
        )
        == 2
    )
    assert "nope.jsonl" in capsys.readouterr().err
    (tmp_path / "junk.jsonl").write_text("not json\n{}\n")
    assert (
        main(
            [
                "evaluate",
                "--data",
                str(tmp_path / "junk.jsonl"),
                "--out",
                str(tmp_path / "o2"),
                "--baseline",
                "lead",
            ]
        )
        == 2
    )
    assert "No usable documents" in capsys.readouterr().err
    assert main(["evaluate", "compare", str(tmp_path / "o2")]) == 2


def test_empty_predictions_are_counted_not_hidden(tmp_path, data, monkeypatch, caplog):
    import eval.evaluate as evaluate_module

    calls = {"n": 0}

    def half_empty(settings, budget):
        def summarize(article, reference):
            calls["n"] += 1
            return "" if calls["n"] % 2 else article.split(" . ")[0] + " ."

        return summarize

    monkeypatch.setattr(evaluate_module, "make_system", half_empty)
    metrics = evaluate(EvalSettings(data=str(data), out=str(tmp_path / "e"), baseline="lead"))
    assert metrics["empty_predictions"] == 4
    assert "4 of 8 predictions are empty" in caplog.text


def test_a_results_folder_is_resumed_only_by_the_system_that_made_it(data, tmp_path, capsys):
    out = tmp_path / "run"
    lexrank = evaluate(EvalSettings(data=str(data), out=str(out), baseline="lexrank", limit=4))
    with pytest.raises(ValueError, match=r"holds predictions of baseline:lexrank.*--overwrite"):
        evaluate(EvalSettings(data=str(data), out=str(out), baseline="lead"))
    # The same system resumes (and only adds the documents it had not done).
    resumed = evaluate(EvalSettings(data=str(data), out=str(out), baseline="lexrank"))
    assert resumed["n"] == 8 and lexrank["n"] == 4
    fresh = evaluate(EvalSettings(data=str(data), out=str(tmp_path / "lead"), baseline="lead"))
    replaced = evaluate(EvalSettings(data=str(data), out=str(out), baseline="lead", overwrite=True))
    assert replaced["rouge1"] == fresh["rouge1"] != resumed["rouge1"]
    assert replaced["system"] == "baseline:lead"
    # From the command line: a clear message and exit code 2, not a traceback.
    args = ["evaluate", "--data", str(data), "--out", str(out), "--baseline", "textrank"]
    assert main(args) == 2
    assert "holds predictions of baseline:lead" in capsys.readouterr().err


def test_rouge_against_another_papers_abstract_tells_reading_from_guessing(data, tmp_path):
    """`rouge1_other` scores each prediction against the abstract of paper i + 7: the oracle,
    made from each paper's own sentences, is far above it; a constant summary is not."""
    oracle = evaluate(EvalSettings(data=str(data), out=str(tmp_path / "o"), baseline="oracle"))
    assert oracle["rouge1"]["f"] - oracle["rouge1_other"]["f"] == oracle["rouge1_other"]["gap"]
    assert oracle["rouge1_other"]["gap"] > 10
    rows = [json.loads(line) for line in (tmp_path / "o" / "predictions.jsonl").open()]
    same = [{**r, "prediction": rows[0]["prediction"]} for r in rows]  # one text for all
    for r in same:
        r["scores"] = {
            "rouge1": {
                "f": rouge_per_document([r["prediction"]], [r["reference"]])[0]["rouge1"]["f"]
            }
        }
    assert abs(rouge1_against_others(same)["gap"]) < 1e-9


def test_evaluate_records_every_decoding_setting_the_summarizer_has():
    # the resume check compares them, and the CLI makes a flag for each
    from dataclasses import fields

    from summarizer.settings import DECODING

    assert set(DECODING) <= {f.name for f in fields(EvalSettings)}
