"""The seed-claims benchmarks at toy sizes: `benchmarks.scaling` times every variant at every
setting and reports speed-ups against the dense twin of the same size; `benchmarks.parity`
trains every variant on the same data and reports their validation curves, resumably."""

from __future__ import annotations

import json

from benchmarks import parity, scaling, sparse_ff_probe
from summarizer.model.sizing import VARIANT_NAMES, count_parameters, paper_variants
from summarizer.paths import REPO_ROOT
from tests.cohan_fixtures import write_cohan


def test_scaling_times_every_variant_and_setting(tmp_path):
    out = tmp_path / "scaling.json"
    argv = ["--presets", "tiny", "--blocks", "32:128:4:8:4", "--threads", "1"]
    argv += ["--input-lens", "16", "24", "--repeats", "2", "--tokens", "4"]
    assert scaling.main([*argv, "--json", str(out), "--report", str(tmp_path)]) == 0

    rows = json.loads(out.read_text())["rows"]
    assert {(r["kind"], r["variant"], r["input_len"]) for r in rows} == {
        (kind, v, n)
        for kind in ("model", "block")
        for v in (scaling.DENSE, scaling.BOTH)
        for n in (16, 24)
    }
    for row in rows:
        assert len(row["all_ms"]) == 2 and row["ms_per_token"] > 0
        dense = next(
            r
            for r in rows
            if (r["kind"], r["input_len"], r["variant"]) == (row["kind"], row["input_len"], "dense")
        )
        assert row["speedup_vs_dense"] == dense["ms_per_token"] / row["ms_per_token"]
        # parameter-matched within one d_ff step of the sparse model
        assert abs(row["parameters"] / dense["parameters"] - 1) < 0.05
    assert (tmp_path / "scaling.png").stat().st_size > 0


def test_a_report_keeps_the_rows_of_what_it_did_not_measure_again(tmp_path):
    def row(kind, name, variant, parameters, ms, measured):
        return {
            "kind": kind,
            "name": name,
            "variant": variant,
            "parameters": parameters,
            "threads": 1,
            "input_len": 16,
            "ms_per_token": ms,
            "measured": measured,
        }

    old_model = [
        row("model", "m", "dense", 100, 4.0, "old"),
        row("model", "m", "+both", 99, 2.0, "old"),
    ]
    old_block = [row("block", "b", "dense", 10, 1.0, "old")]
    (tmp_path / scaling.STORED).write_text(json.dumps({"rows": old_block + old_model}))
    new_model = [row("model", "m", "dense", 100, 5.0, "new")]
    small_model = [row("model", "s", "dense", 50, 1.0, "new")]

    merged = scaling.merge_stored(new_model + small_model, tmp_path / scaling.STORED)
    # the model measured again loses every old row; the block is kept; models first, smallest first
    assert merged == small_model + new_model + old_block


def test_the_report_says_how_many_repetitions_its_rows_hold():
    def row(n):
        return {"all_ms": [1.0] * n}

    assert scaling.repetitions([row(3), row(3)]) == "3"
    # merged runs with different --repeats: the report must not claim the last run's count
    assert scaling.repetitions([row(5), row(3), row(5)]) == "3-5"


def test_a_block_spec_must_name_a_paper_model_or_give_five_numbers():
    assert scaling.parse_block("17B")[1] == scaling.BLOCK_SHAPES["17B"]
    assert scaling.parse_block("64:256:4:8:4")[1].d_ff == 256
    try:
        scaling.parse_block("64:256")
    except Exception as error:
        assert "d_model:d_ff:heads:N:S" in str(error)
    else:
        raise AssertionError("a malformed block spec was accepted")


def tiny_parity_argv(tmp_path, steps: int, eval_every: int) -> list[str]:
    """`benchmarks.parity` arguments for d_model 16 runs on 12 + 4 fixture papers, into
    tmp_path/runs."""
    train = write_cohan(tmp_path / "train.jsonl", 12, seed=1)
    val = write_cohan(tmp_path / "val.jsonl", 4, seed=2)
    argv = ["--out", str(tmp_path / "runs"), "--sizes", "16", "--steps", str(steps)]
    argv += ["--eval-every", str(eval_every), "--batch-size", "2", "--val-docs", "2"]
    argv += ["--input-tokens", "32", "--target-tokens", "8", "--threads", "1"]
    argv += ["--train", str(train), "--validation", str(val)]
    return [*argv, "--tokenizer", str(REPO_ROOT / "checkpoints" / "default")]


def test_parity_trains_every_variant_on_the_same_papers_and_resumes(tmp_path):
    out = tmp_path / "runs"
    argv = tiny_parity_argv(tmp_path, steps=2, eval_every=1)
    report = tmp_path / "curves.json"
    # a curve a report stored for another size, whose run folder is gone
    kept = {"d_model": 8, "variant": "dense", "parameters": 5, "curve": [[2, 7.5]], "note": "old"}
    (tmp_path / parity.STORED).write_text(json.dumps({"results": [kept]}))
    assert parity.main([*argv, "--json", str(report), "--report", str(tmp_path)]) == 0

    results = json.loads(report.read_text())["results"]
    assert results[0] == kept
    assert "| 8 | dense | 5 | 2 | 7.5000 | – |" in (tmp_path / "RESULTS.md").read_text()
    assert json.loads((tmp_path / parity.STORED).read_text())["results"] == results
    results = results[1:]
    assert [r["variant"] for r in results] == list(VARIANT_NAMES)
    dense = results[0]["parameters"]
    for r in results:
        assert [step for step, _ in r["curve"]] == [1, 2]
        assert abs(r["parameters"] / dense - 1) < 0.05
        assert r["perplexity"] > 1
    # each run trained its own architecture, on the settings it recorded
    runs = sorted(out.glob("d16/*/run.json"))
    assert len(runs) == len(VARIANT_NAMES)
    overrides = [json.loads(p.read_text())["model"]["overrides"] for p in runs]
    assert len({json.dumps(o, sort_keys=True) for o in overrides}) == len(VARIANT_NAMES)
    assert (tmp_path / "parity.png").stat().st_size > 0

    # finished runs are read back, not trained again
    before = {p: p.stat().st_mtime for p in out.glob("d16/*/metrics.jsonl")}
    assert parity.main([*argv, "--json", str(report)]) == 0
    assert {p: p.stat().st_mtime for p in out.glob("d16/*/metrics.jsonl")} == before
    assert json.loads(report.read_text())["results"] == results


def test_a_stored_curve_gives_way_only_to_a_run_that_reaches_further(tmp_path):
    stored = tmp_path / parity.STORED
    longer = {"d_model": 8, "variant": "dense", "parameters": 10, "curve": [[1, 3.0], [2, 2.0]]}
    stored.write_text(json.dumps({"results": [longer]}))
    restarted = {"d_model": 8, "variant": "dense", "parameters": 10, "curve": [[1, 3.1]]}
    both = {"d_model": 8, "variant": "+both", "parameters": 10, "curve": [[1, 3.3]]}

    merged = parity.merge_stored([both, restarted], stored)
    assert merged == [longer, both]  # dense first, as the variants are listed
    caught_up = {**restarted, "curve": [[1, 3.1], [2, 2.1], [3, 1.9]]}
    assert parity.merge_stored([caught_up], stored) == [caught_up]


def test_parity_variants_differ_only_in_what_they_name():
    configs = paper_variants(parity.base_config(64, 1024))
    dense, terraformer = configs["dense"], configs["terraformer"]
    assert (dense.ff_sparsity, dense.qkv_sparsity, dense.loss_sparsity) == (0, 0, 0)
    assert dense.encoder_attention == dense.decoder_attention == "full"
    assert configs["+sparse FF"].ff_sparsity and not configs["+sparse FF"].qkv_sparsity
    assert configs["+sparse QKV"].qkv_sparsity and not configs["+sparse QKV"].ff_sparsity
    assert terraformer.decoder_attention == "lsh" and terraformer.loss_sparsity == 4
    sizes = {count_parameters(c) for c in configs.values()}
    assert max(sizes) / min(sizes) < 1.05


def test_each_ablation_adds_one_terraformer_part_to_both():
    configs = parity.all_variants(parity.base_config(64, 1024))
    both, lsh, output = configs["+both"], configs["+both +LSH"], configs["+both +sparse output"]
    parts = ("ff_sparsity", "qkv_sparsity", "loss_sparsity", "encoder_attention")
    differ = {
        name: {k for k in (*parts, "decoder_attention") if getattr(c, k) != getattr(both, k)}
        for name, c in (("lsh", lsh), ("output", output))
    }
    assert differ == {
        "lsh": {"encoder_attention", "decoder_attention"},
        "output": {"loss_sparsity"},
    }
    assert (lsh.decoder_attention, output.loss_sparsity) == ("lsh", 4)
    sizes = {count_parameters(c) for c in configs.values()}
    assert len(configs) == 7 and max(sizes) / min(sizes) < 1.05
    assert {parity.run_folder(name) for name in configs} >= {"both-LSH", "both-sparse-output"}


def test_an_unfinished_parity_run_is_compared_with_dense_at_its_own_step():
    results = [
        {"d_model": 8, "variant": "dense", "parameters": 10, "curve": [(1, 2.0), (2, 1.0)]},
        {"d_model": 8, "variant": "+both", "parameters": 10, "curve": [(1, 2.2)]},
    ]
    [dense_row, both_row] = parity.report(results).splitlines()[2:]
    assert dense_row.endswith("| 1.0000 | – |")
    assert both_row.endswith("| 2.2000 | +10.00% |")


def test_the_sparse_ff_probe_scores_a_parity_run_both_ways_and_counts_its_units(tmp_path):
    argv = tiny_parity_argv(tmp_path, steps=3, eval_every=3)
    assert parity.main([*argv, "--lr", "3e-2", "--variants", "+sparse FF"]) == 0
    run = tmp_path / "runs" / "d16" / "sparse-FF"
    before = {p: p.stat().st_mtime for p in run.rglob("*")}

    result = sparse_ff_probe.probe(run)
    logged = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])["val_loss"]
    assert abs(result["val_loss_argmax"] - logged) < 1e-3 * logged  # as the run scored it
    assert abs(result["val_loss_soft_mask"] - result["val_loss_argmax"]) > 1e-6  # the other mask
    assert len(result["layers"]) == 4  # parity models have 2 + 2 layers, a Sparse FF in each
    for layer in result["layers"]:
        n = layer["units_per_block"]
        assert layer["tokens"] > 0
        assert 1 <= layer["used_per_block"] <= n and 1 <= layer["pick_perplexity"] <= n
    assert {p: p.stat().st_mtime for p in run.rglob("*")} == before  # the run is not touched


def test_another_sparse_ff_block_size_trains_a_set_matched_to_its_own_terraformer(tmp_path):
    out = tmp_path / "runs"
    argv = tiny_parity_argv(tmp_path, steps=2, eval_every=2)
    usual, other = tmp_path / "usual.json", tmp_path / "other.json"
    assert parity.main([*argv, "--variants", "dense", "--json", str(usual)]) == 0
    variants = ["--variants", "dense", "+sparse FF", "--json", str(other)]
    assert parity.main([*argv, *variants, "--ff-sparsity", "4"]) == 0

    [usual_dense] = json.loads(usual.read_text())["results"]
    results = json.loads(other.read_text())["results"]
    assert [r["variant"] for r in results] == ["dense (N = 4)", "+sparse FF (N = 4)"]
    # Sparse FF's controller has rank d_ff / N: N = 4 changes the Terraformer's size, and the
    # set's dense run is matched to it, not to the usual one
    dense, sparse = (r["parameters"] for r in results)
    assert dense != usual_dense["parameters"] and abs(sparse / dense - 1) < 0.05
    settings = {
        folder: json.loads((out / folder / "run.json").read_text())["model"]["overrides"]
        for folder in ("d16/dense", "d16-N4/dense", "d16-N4/sparse-FF")
    }
    assert settings["d16-N4/sparse-FF"]["ff_sparsity"] == 4
    assert settings["d16-N4/dense"]["d_ff"] != settings["d16/dense"]["d_ff"]
    assert not (out / "d16" / "sparse-FF").exists()


def test_a_run_of_another_block_size_is_compared_with_the_dense_run_of_its_set():
    results = [
        {"d_model": 8, "variant": "dense", "parameters": 10, "curve": [(1, 1.0)]},
        {"d_model": 8, "variant": "dense (N = 8)", "parameters": 12, "curve": [(1, 2.0)]},
        {"d_model": 8, "variant": "+sparse FF (N = 8)", "parameters": 12, "curve": [(1, 2.2)]},
        {"d_model": 8, "variant": "+sparse FF", "parameters": 10, "curve": [(1, 1.1)]},
    ]
    rows = parity.report(results).splitlines()[2:]
    assert [row.split(" | ")[-1] for row in rows] == ["– |", "– |", "+10.00% |", "+10.00% |"]
    # a variant N leaves alone keeps its usual run and name
    placed = parity.placements(64, 1024, 32)
    assert {name: folder for name, (_, folder, _) in placed.items()} == {
        name: f"d64/{parity.run_folder(name)}" for name in parity.ALL_VARIANTS
    }
    assert parity.placements(64, 1024, 8)["dense"][1:] == ("d64-N8/dense", "dense (N = 8)")
