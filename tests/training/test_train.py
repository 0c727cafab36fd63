"""The training command end to end on the tiny config: outputs, exact resume after SIGKILL,
divergence handling, and 2-process DDP against one process."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForSeq2SeqLM

import summarizer.training.train as train_module
from summarizer.cli import main
from summarizer.model import TerraformerForConditionalGeneration
from summarizer.model.modeling import IGNORE_INDEX
from summarizer.model.tokenizer import load_tokenizer
from summarizer.paths import REPO_ROOT
from summarizer.training.config import ConfigError, load_run_config
from summarizer.training.train import TrainingDiverged, epoch_batches, train, unscored_masked
from tests.cohan_fixtures import write_cohan

REPO = REPO_ROOT


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("SUMMARIZER_CACHE", str(tmp_path / "cache"))
    train_file = write_cohan(tmp_path / "train.jsonl", 12, seed=0)
    val_file = write_cohan(tmp_path / "val.jsonl", 3, seed=1)
    return [f'data.train=["{train_file}"]', f'data.validation=["{val_file}"]']


def losses(out: Path) -> list[float]:
    lines = (out / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line)["loss"] for line in lines]


def cli(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_train_writes_loadable_checkpoints_and_logs(tmp_path, data):
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--config",
                "configs/tiny.toml",
                "--out",
                str(out),
                *[a for s in data for a in ("--set", s)],
            ]
        )
        == 0
    )
    final = out / "checkpoints" / "step-0000012"
    assert (out / "checkpoints" / "latest").read_text() == final.name
    model = AutoModelForSeq2SeqLM.from_pretrained(final)
    tokenizer = load_tokenizer(final)
    assert model.config.vocab_size == len(tokenizer)
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == list(range(1, 13))
    assert {"val_loss", "val_rouge1", "val_rougeLsum"} <= set(records[5]) and "val_loss" in records[
        -1
    ]
    assert records[-1]["loss"] < records[0]["loss"]
    assert all(r["tokens_per_s"] > 0 for r in records)
    assert (out / "loss.png").stat().st_size > 1000
    assert any((out / "tb").iterdir())
    assert json.loads((out / "summary.json").read_text())["steps"] == 12
    # Only tensors and plain data in the optimizer file.
    torch.load(final / "optimizer.pt", weights_only=True)


def test_resume_after_sigkill_reproduces_the_uninterrupted_run(tmp_path, data):
    sets = [a for s in data for a in ("--set", s)]
    base = ["-m", "summarizer", "train", "--config", "configs/tiny.toml", *sets]
    env = {"SUMMARIZER_CACHE": os.environ["SUMMARIZER_CACHE"]}
    whole = cli(*base, "--out", str(tmp_path / "whole"), env=env)
    assert whole.wait(timeout=300) == 0, whole.stdout.read()

    out = tmp_path / "killed"
    run = cli(*base, "--out", str(out), env=env)
    deadline = time.time() + 300
    while not (out / "checkpoints" / "step-0000008").exists():
        assert run.poll() is None and time.time() < deadline, "run ended before step 8"
        time.sleep(0.02)
    run.send_signal(signal.SIGKILL)
    run.wait()
    assert not (out / "checkpoints" / "step-0000012").exists()
    resumed = cli(*base, "--out", str(out), "--resume", env=env)
    assert resumed.wait(timeout=300) == 0, resumed.stdout.read()
    assert losses(out) == losses(tmp_path / "whole")
    a = load_file(tmp_path / "whole" / "checkpoints" / "step-0000012" / "model.safetensors")
    b = load_file(out / "checkpoints" / "step-0000012" / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, data, monkeypatch):
    real = TerraformerForConditionalGeneration.forward
    calls = {"n": 0}

    def poisoned(self, *args, **kwargs):
        calls["n"] += 1
        out = real(self, *args, **kwargs)
        if calls["n"] > 6:  # step 7 (after checkpoint 4)
            out.loss = out.loss * float("nan")
        return out

    monkeypatch.setattr(TerraformerForConditionalGeneration, "forward", poisoned)
    config = load_run_config(
        "configs/tiny.toml", [*data, "train.eval_every=0", "train.rouge_docs=0"]
    )
    out = tmp_path / "run"
    with pytest.raises(TrainingDiverged, match="Loss became nan at step 7") as error:
        train(config, out)
    assert "optim.lr" in str(error.value)
    assert (out / "checkpoints" / "latest").read_text() == "step-0000004"
    AutoModelForSeq2SeqLM.from_pretrained(out / "checkpoints" / "step-0000004")


def test_missing_data_path_fails_before_the_model_is_built(tmp_path, monkeypatch, capsys):
    def no_model(*args, **kwargs):
        raise AssertionError("model built before the data was checked")

    monkeypatch.setattr(train_module, "TerraformerForConditionalGeneration", no_model)
    code = main(
        [
            "train",
            "--config",
            "configs/tiny.toml",
            "--out",
            str(tmp_path / "o"),
            "--set",
            f'data.train=["{tmp_path / "missing.jsonl"}"]',
        ]
    )
    assert code == 2
    assert "missing.jsonl" in capsys.readouterr().err


def test_two_processes_match_one_with_the_same_global_batch(tmp_path, data):
    # Randomness-free model settings, so that both runs must compute the same thing.
    sets = [
        *data,
        "model.overrides.dropout=0",
        "model.overrides.ff_dropout=0",
        "model.overrides.ff_hard_prob=0",
        'model.overrides.encoder_attention="full"',
        'model.overrides.decoder_attention="full"',
        "train.batch_size=4",
        "train.steps=4",
        "train.eval_every=0",
        "train.rouge_docs=0",
    ]
    args = [a for s in sets for a in ("--set", s)]
    env = {"SUMMARIZER_CACHE": os.environ["SUMMARIZER_CACHE"], "OMP_NUM_THREADS": "1"}

    def run(name: str, *extra: str, launcher: tuple[str, ...] = ()) -> subprocess.Popen:
        command = ["-m", "summarizer", "train", "--config", "configs/tiny.toml"]
        return cli(*launcher, *command, "--out", str(tmp_path / name), *args, *extra, env=env)

    one = run("one")
    assert one.wait(timeout=300) == 0, one.stdout.read()
    tokenizer = ["--set", f'data.tokenizer="{tmp_path / "one" / "tokenizer"}"']
    accumulated = run("accum", *tokenizer, "--set", "train.grad_accum=2")
    two = run("two", *tokenizer, launcher=("-m", "torch.distributed.run", "--nproc_per_node", "2"))
    assert accumulated.wait(timeout=300) == 0, accumulated.stdout.read()
    assert two.wait(timeout=300) == 0, two.stdout.read()
    reference = losses(tmp_path / "one")
    weights = load_file(tmp_path / "one" / "checkpoints" / "step-0000004" / "model.safetensors")
    for other in ("two", "accum"):
        assert losses(tmp_path / other) == pytest.approx(reference, rel=1e-5), other
        w = load_file(tmp_path / other / "checkpoints" / "step-0000004" / "model.safetensors")
        # Float sums in another order: with Glorot-scaled weights (~0.1 in the tiny preset)
        # the rounding reaches ~1.5e-4 after 4 steps.
        assert max((weights[k] - w[k]).abs().max().item() for k in w) < 5e-4, other


def test_batches_are_deterministic_length_grouped_and_cover_the_epoch():
    lengths = torch.randint(10, 1000, (1000,)).numpy()
    a = epoch_batches(lengths, 4, seed=3, epoch=0)
    assert [x.tolist() for x in a] == [x.tolist() for x in epoch_batches(lengths, 4, 3, 0)]
    assert [x.tolist() for x in a] != [x.tolist() for x in epoch_batches(lengths, 4, 3, 1)]
    flat = sorted(i for b in a for i in b.tolist())
    assert flat == list(range(1000))
    spread = sum(lengths[b].max() - lengths[b].min() for b in a) / len(a)
    assert spread < 0.1 * (lengths.max() - lengths.min())  # neighbours in length share a batch


def test_adafactor_trains_too(tmp_path, data):
    sets = [
        *data,
        'optim.name="adafactor"',
        "train.steps=3",
        "train.eval_every=0",
        "train.rouge_docs=0",
        "train.save_every=3",
    ]
    result = train(load_run_config("configs/tiny.toml", sets), tmp_path / "run")
    assert result.steps == 3 and result.final_checkpoint.is_dir()
    assert losses(tmp_path / "run")[-1] < losses(tmp_path / "run")[0]


def test_auto_precision_is_bf16_where_the_hardware_computes_it(tmp_path, data, monkeypatch):
    cpu = torch.device("cpu")
    assert train_module.resolve_precision("fp32", cpu) == "fp32"
    assert train_module.resolve_precision("bf16", cpu) == "bf16"
    sets = [*data, 'train.precision="auto"', "train.steps=3", "train.eval_every=0"]
    sets += ["train.rouge_docs=0", "train.save_every=3"]
    trained = {}
    for native in (False, True):
        monkeypatch.setattr(train_module, "native_bf16", lambda device, native=native: native)
        out = tmp_path / f"native-{native}"
        trained[native] = train(load_run_config("configs/tiny.toml", sets), out)
        summary = json.loads((out / "summary.json").read_text())
        assert summary["precision"] == trained[native].precision
    assert (trained[False].precision, trained[True].precision) == ("fp32", "bf16")
    # the same run, computed under bf16 autocast, rounds differently
    assert losses(tmp_path / "native-True")[0] != losses(tmp_path / "native-False")[0]
    assert losses(tmp_path / "native-True")[0] == pytest.approx(
        losses(tmp_path / "native-False")[0], rel=0.02
    )


def test_a_run_can_start_from_a_trained_model_with_more_layers(tmp_path, data):
    base = [*data, "train.steps=1", "train.eval_every=0", "train.rouge_docs=0"]
    base += ["train.save_every=1"]
    source = train(load_run_config("configs/tiny.toml", base), tmp_path / "source")
    folder = source.final_checkpoint
    sets = [*base, f'data.tokenizer="{folder}"', f'model.init_from="{folder}"']
    sets += ["model.overrides.n_encoder_layers=3", "optim.lr=1e-9"]  # a step that moves nothing
    grown = train(load_run_config("configs/tiny.toml", sets), tmp_path / "grown")
    before = load_file(folder / "model.safetensors")
    after = load_file(grown.final_checkpoint / "model.safetensors")
    assert all(torch.allclose(after[k], before[k], atol=1e-6) for k in before)
    new = {k: v for k, v in after.items() if k not in before}
    assert new and {k.split(".")[3] for k in new} == {"4", "5"}  # encoder steps 4 and 5
    assert all(v.abs().max() < 1e-6 for k, v in new.items() if k.endswith(("w2", "b2")))

    with pytest.raises(ConfigError, match="is not a model folder"):
        load_run_config("configs/tiny.toml", [*data, f'model.init_from="{tmp_path}"'])


def test_source_weights_set_how_often_an_epoch_sees_each_source(tmp_path, data):
    def trainer(weights: str) -> train_module.Trainer:
        config = load_run_config("configs/tiny.toml", [*data, f"data.source_weights={weights}"])
        dist_env = train_module.Distributed.from_environment("cpu")
        return train_module.Trainer(config, tmp_path / "run", False, dist_env)

    assert len(trainer("{ synthetic = 2.5 }").train_set) == 30  # 12 documents, 2.5 times
    with pytest.raises(ConfigError, match=r"source_weights.*\['synthtic'\].*'synthetic': 12"):
        trainer("{ synthtic = 2 }")


def test_unscored_placeholders_are_read_by_the_decoder_but_not_scored(tmp_path, monkeypatch):
    """SumPubMed writes "@xnum" for a number: the decoder reads it, the loss leaves it out."""
    monkeypatch.setenv("SUMMARIZER_CACHE", str(tmp_path / "cache"))
    placeholder = {
        "article_id": "sumpubmed-1",
        "article_text": ["a total of @xnum cells were counted in the model ."] * 8,
        "abstract_text": ["<S> a total of @xnum cells were counted . </S>"],
        "section_names": ["results"],
        "sections": [["a total of @xnum cells were counted in the model ."] * 8],
        "source": "synthetic",
    }
    train_file = write_cohan(tmp_path / "train.jsonl", 6, extra_lines=[json.dumps(placeholder)])

    def trainer(*overrides: str) -> train_module.Trainer:
        config = load_run_config("configs/tiny.toml", [f'data.train=["{train_file}"]', *overrides])
        dist_env = train_module.Distributed.from_environment("cpu")
        return train_module.Trainer(config, tmp_path / "run", False, dist_env)

    run = trainer()
    ids = run.tokenizer(" @xnum", add_special_tokens=False)["input_ids"]
    row = next(
        i for i, y in enumerate(run.train_set["labels"]) if "xnum" in run.tokenizer.decode(y)
    )
    target = run.train_set[row]["labels"].tolist()
    at = next(p for p in range(len(target)) if target[p : p + len(ids)] == ids)
    inputs = run.batch(run.train_set[[row]])
    labels, read = inputs["labels"][0].tolist(), inputs["decoder_input_ids"][0].tolist()
    assert labels[at : at + len(ids)] == [IGNORE_INDEX] * len(ids)
    assert labels[:at] + labels[at + len(ids) :] == target[:at] + target[at + len(ids) :]
    assert read[at + 1 : at + 1 + len(ids)] == ids  # shifted right by the start token
    assert run.label_lengths[row] == len(target) - len(ids)  # the loss's token count
    plain = trainer("data.unscored=[]")
    assert plain.batch(plain.train_set[[row]])["labels"][0].tolist() == target
    with pytest.raises(ConfigError, match=r"data\.unscored"):
        trainer('data.unscored=[""]')


def test_unscored_masked_masks_whole_runs_of_each_sequence_only():
    labels = torch.tensor([[5, 1, 2, 7, 1, 3, 1, 2], [1, 2, 9, 9, 9, 9, 9, IGNORE_INDEX]])
    masked = unscored_masked(labels, [(1, 2), (4, 4, 4, 4, 4, 4, 4, 4, 4)])
    x = IGNORE_INDEX
    assert masked.tolist() == [[5, x, x, 7, 1, 3, x, x], [x, x, 9, 9, 9, 9, 9, x]]
    assert torch.equal(labels[0, :2], torch.tensor([5, 1]))  # the input is left as it was
