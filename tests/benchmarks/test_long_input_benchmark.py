"""`python -m benchmarks.long_input` end to end at tiny sizes: the JSON it writes, its report,
and a process over the memory cap reported as "does not fit" (not a crash)."""

from __future__ import annotations

import json

from benchmarks import long_input
from tests.cohan_fixtures import write_cohan
from tests.model_fixtures import save_tiny_model


def test_quick_run_measures_every_system(tmp_path):
    out = tmp_path / "long_input.json"
    argv = ["--quick", "--preset", "tiny", "--lengths", "128", "256", "--threads", "1"]
    assert long_input.main([*argv, "--json", str(out), "--report", str(tmp_path)]) == 0

    report = json.loads(out.read_text())
    assert report["systems"] == {
        "forward": list(long_input.FORWARD_SYSTEMS),
        "train": list(long_input.TRAIN_SYSTEMS),
    }
    for part in ("forward", "train"):
        rows = report[part]
        assert {(r["system"], r["length"]) for r in rows} == {
            (s, n) for s in report["systems"][part] for n in (128, 256)
        }
        for row in rows:
            assert row["status"] == "ok", row
            assert row["seconds"] > 0 and row["all_seconds"] == [row["seconds"]]
            assert row["peak_mib"] >= 0 and row["total_peak_mib"] > row["peak_mib"]
            assert row["parameters"] > 0
            if part == "forward":
                assert 0 < row["attention_seconds"] < row["seconds"]
    assert set(report["analysis"]["longest"].values()) == {256}
    assert report["settings"]["repeats"] == 1
    assert (tmp_path / "RESULTS.md").read_text().startswith("# Long inputs")
    for name in ("long_input_time.png", "long_input_memory.png"):
        assert (tmp_path / name).stat().st_size > 0


def test_a_system_over_the_memory_cap_does_not_fit_and_stops(tmp_path):
    out = tmp_path / "long_input.json"
    argv = ["--preset", "tiny", "--lengths", "128", "256", "--repeats", "2", "--threads", "1"]
    argv += ["--systems", "lsh", "--train-systems", "--memory-gib", "0.05", "--json", str(out)]
    assert long_input.main(argv) == 0

    report = json.loads(out.read_text())
    [row] = report["forward"]  # not tried again, nor at the longer length
    assert (row["system"], row["length"], row["status"]) == ("lsh", 128, "does not fit")
    assert "seconds" not in row
    assert report["train"] == []
    assert report["analysis"]["longest"] == {"lsh": None}


def test_time_is_extrapolated_at_least_linearly():
    rows = [
        {"system": "a", "length": n, "status": "ok", "seconds": (n / 1000) ** 2}
        for n in (1000, 2000)
    ]
    assert abs(long_input.fitted_slope(rows) - 2.0) < 1e-9
    assert abs(long_input.projected_seconds(rows, "a", 8000) - 64.0) < 1e-9
    flat = [{**r, "seconds": 1.0} for r in rows]
    assert abs(long_input.projected_seconds(flat, "a", 8000) - 4.0) < 1e-9
    assert long_input.projected_seconds(rows, "b", 8000) is None


def test_end_to_end_summarizes_a_document_longer_than_the_model_was_trained_on(tmp_path):
    model_dir = save_tiny_model(tmp_path / "model", max_input_tokens=96)
    data = write_cohan(tmp_path / "val.jsonl", n=4)
    out = tmp_path / "long_input.json"
    argv = ["--systems", "--train-systems", "--threads", "1", "--json", str(out)]
    argv += ["--end-to-end", str(model_dir), "--e2e-data", str(data), "--e2e-tokens", "400"]
    argv += ["--e2e-length", "short"]
    assert long_input.main(argv) == 0

    [e2e] = json.loads(out.read_text())["end_to_end"]
    assert e2e["status"] == "ok", e2e
    assert e2e["trained_input_tokens"] == 96
    assert e2e["document_tokens"] == e2e["encoder_tokens"] == 400
    assert 0 < e2e["seconds"]["encode"] < e2e["seconds"]["total"]
    assert isinstance(e2e["summary"], str)  # a random tiny model may write nothing readable
