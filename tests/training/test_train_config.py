"""The run configuration: TOML, --set overrides, and errors that say what to change."""

import functools
import math
from pathlib import Path

import pytest

from summarizer.model.configuration import TerraformerConfig
from summarizer.training.config import ConfigError, load_run_config
from summarizer.training.train import lr_factor

CONFIGS = sorted(str(p) for p in Path("configs").glob("*.toml"))


@pytest.mark.parametrize("path", CONFIGS)
def test_shipped_configs_load(path):
    config = load_run_config(path)
    assert isinstance(config.model_config(vocab_size=1024), TerraformerConfig)


def test_set_overrides_use_toml_values():
    config = load_run_config(
        "configs/tiny.toml",
        [
            "optim.lr=3e-4",
            "train.steps=7",
            'data.train=["a.jsonl", "b"]',
            "model.overrides.dropout=0",
        ],
    )
    assert config.optim.lr == 3e-4 and config.train.steps == 7
    assert config.data.train == ["a.jsonl", "b"]
    assert config.model_config(512).dropout == 0.0


def test_unknown_key_lists_the_valid_ones(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[data]\nmax_len = 5\ntrain = ['x']\n")
    with pytest.raises(ConfigError) as error:
        load_run_config(path)
    message = str(error.value)
    assert "data.max_len" in message and "max_input_tokens" in message and "vocab_size" in message


def test_unknown_section_and_model_setting(tmp_path):
    with pytest.raises(ConfigError, match="valid sections"):
        load_run_config("configs/tiny.toml", ["trainer.steps=3"])
    with pytest.raises(ConfigError, match=r"Unknown model setting\(s\) \['d_modle'\]"):
        load_run_config("configs/tiny.toml", ["model.overrides.d_modle=3"])


def test_wrong_type_names_the_key():
    with pytest.raises(ConfigError, match=r"train.steps must be int, got str '10'"):
        load_run_config("configs/tiny.toml", ['train.steps="10"'])
    with pytest.raises(ConfigError, match=r"model\.dense must be bool"):
        load_run_config("configs/tiny.toml", ["model.dense=1"])


def test_bad_values_are_refused():
    with pytest.raises(ConfigError, match=r"optim\.name"):
        load_run_config("configs/tiny.toml", ["optim.name=sgd"])
    with pytest.raises(ConfigError, match=r"\[model\]: Invalid TerraformerConfig.*n_heads"):
        load_run_config("configs/tiny.toml", ["model.overrides.n_heads=3"])
    with pytest.raises(ConfigError, match="Config file not found"):
        load_run_config("configs/nope.toml")
    with pytest.raises(ConfigError, match=r"--set takes section\.key=value"):
        load_run_config("configs/tiny.toml", ["steps=3"])
    with pytest.raises(ConfigError, match=r"data\.source_weights\.a must be a number >= 0"):
        load_run_config("configs/tiny.toml", ["data.source_weights.a=-1"])


def test_model_vocabulary_is_rounded_up_for_the_output_layer():
    config = load_run_config("configs/tiny.toml", ["model.overrides.loss_sparsity=4"])
    assert config.model_config(vocab_size=301).vocab_size == 304
    assert load_run_config("configs/tiny.toml").model_config(vocab_size=320).vocab_size == 320


def test_the_model_remembers_the_input_length_it_was_trained_on():
    """The Summarizer shortens documents to this length, so the run must record it."""
    config = load_run_config("configs/default-cpu.toml", ["data.max_input_tokens=768"])
    assert config.model_config(vocab_size=1024).max_input_tokens == 768
    with pytest.raises(ValueError, match="max_input_tokens"):
        TerraformerConfig(max_input_tokens=0)


def test_a_cool_down_takes_the_learning_rate_linearly_to_zero_at_the_last_step():
    config = load_run_config(
        "configs/tiny.toml",
        ["optim.warmup_steps=100", "train.steps=1000", "optim.cooldown_steps=400"],
    )
    factor = functools.partial(lr_factor, config.optim, config.train.steps)
    assert factor(0) == pytest.approx(0.01) and factor(99) == pytest.approx(1.0)  # warm-up
    assert factor(599) == pytest.approx(math.sqrt(100 / 600))  # decay, not yet cooling
    assert factor(800) == pytest.approx(math.sqrt(100 / 801) * 0.5)  # half-way down
    assert factor(1000) == 0.0
    plain = load_run_config("configs/tiny.toml", ["optim.warmup_steps=100", "train.steps=1000"])
    assert lr_factor(plain.optim, 1000, 800) == pytest.approx(math.sqrt(100 / 801))
    with pytest.raises(ConfigError, match=r"optim\.cooldown_steps must be 0-1000"):
        load_run_config("configs/tiny.toml", ["train.steps=1000", "optim.cooldown_steps=1001"])
