"""The training run's configuration: typed sections read from TOML, with `--set` overrides.

A config file has the sections [model], [data], [optim] and [train]; every key is optional
and defaults to the values below. `[model]` names a preset and may override any
`TerraformerConfig` setting in `[model.overrides]`.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from summarizer.model import sizing
from summarizer.model.configuration import INPUT_SELECTIONS, PRESETS, TerraformerConfig
from summarizer.paths import is_model_dir, is_salience_dir


class ConfigError(ValueError):
    """A configuration mistake; the message says which key and what to change."""


@dataclass
class ModelSection:
    preset: str = "small"  # one of summarizer.model.configuration.PRESETS
    dense: bool = False  # the parameter-matched dense twin instead of the Terraformer
    overrides: dict = field(default_factory=dict)  # any TerraformerConfig setting
    # A trained model folder (save_pretrained) to start from instead of random weights; the
    # new model may add layers at the end of the encoder and the decoder, which start silent
    # (summarizer/model/growth.py). Ignored when --resume finds a checkpoint.
    init_from: str = ""


@dataclass
class DataSection:
    train: list = field(default_factory=list)  # files, folders or hub names; mixed together
    validation: list = field(default_factory=list)
    max_input_tokens: int = 2048  # longer articles are truncated
    max_target_tokens: int = 256  # longer abstracts are truncated
    tokenizer: str = ""  # an existing tokenizer directory; "" trains one into OUT/tokenizer
    vocab_size: int = 16384  # when training the tokenizer
    tokenizer_docs: int = 3000  # documents (articles + abstracts) the tokenizer learns from
    limit_train: int = 0  # use only the first N training documents of each source (0 = all)
    limit_validation: int = 0
    # What the encoder reads: "opening", the article's first max_input_tokens tokens;
    # "salient", extract then abstract: the salience model's best sentences in document
    # order, the oracle's first for `oracle_share` of the training papers
    # (summarizer/training/inputs.py). The model's config records it for inference.
    input_selection: str = "opening"
    salience: str = "checkpoints/default"  # the folder of the salience model that picks
    oracle_share: float = 0.5
    # How often each epoch sees each source's documents, by the data's `source` field, e.g.
    # { cohan-arxiv = 10, neurips2025 = 0.5 }: whole numbers repeat a document, fractions keep a
    # seeded share, unlisted sources keep 1 (data.dataset.weight_sources).
    source_weights: dict = field(default_factory=dict)
    # Placeholders in the abstracts that stand for text a source dropped, such as SumPubMed's
    # "@xnum" for a number: the decoder reads them, but is not trained to write them, so it
    # learns to write the paper's numbers there instead of a placeholder no reader can use.
    unscored: list = field(default_factory=lambda: ["@xnum"])


@dataclass
class OptimSection:
    name: str = "adamw"  # "adamw" or "adafactor"
    lr: float = 1e-3  # peak learning rate, reached at the end of warm-up
    warmup_steps: int = 500  # linear warm-up, then reciprocal-square-root decay
    weight_decay: float = 0.01
    beta1: float = 0.9
    beta2: float = 0.98
    clip_norm: float = 1.0  # gradient clipping by global norm (0 = off)
    label_smoothing: float = 0.0
    # Cool-down: over the last N of train.steps the rate falls linearly to zero (0 = none). A
    # run that has reached a plateau can be resumed with a cool-down to finish it.
    cooldown_steps: int = 0


@dataclass
class TrainSection:
    steps: int = 1000  # optimizer steps
    batch_size: int = 4  # sequences per optimizer step, across processes and accumulation
    grad_accum: int = 1  # micro-batches per optimizer step in each process
    seed: int = 0
    log_every: int = 10
    eval_every: int = 250  # validation loss (and ROUGE) every N steps and at the end (0 = end)
    eval_docs: int = 32  # validation documents for the loss
    rouge_docs: int = 4  # validation documents summarized for ROUGE (0 = skip)
    rouge_max_tokens: int = 96  # generation length for that ROUGE
    save_every: int = 250  # checkpoint every N steps and at the end
    keep_checkpoints: int = 2  # older checkpoints are deleted
    device: str = "auto"  # "auto", "cpu", "cuda", "cuda:1", ...
    precision: str = "auto"  # "fp32", "bf16" (autocast), "auto" (bf16 where native: see train.py)
    threads: int = 0  # torch CPU threads (0 = leave torch's default)


@dataclass
class RunConfig:
    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    optim: OptimSection = field(default_factory=OptimSection)
    train: TrainSection = field(default_factory=TrainSection)

    def model_config(self, vocab_size: int) -> TerraformerConfig:
        """The TerraformerConfig this run trains. The vocabulary is the tokenizer's, rounded up
        to a multiple of 8 and of the output layer's module count (extra rows stay unused)."""
        modules = self.model.overrides.get(
            "loss_sparsity", PRESETS[self.model.preset].get("loss_sparsity", 0)
        )
        multiple = math.lcm(8, modules or 1)
        overrides = {
            "max_input_tokens": self.data.max_input_tokens,
            "input_selection": self.data.input_selection,
            **self.model.overrides,
            "vocab_size": -(-vocab_size // multiple) * multiple,
        }
        return sizing.preset(self.model.preset, dense=self.model.dense, **overrides)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def load_run_config(path: str | Path | None = None, sets: list[str] | None = None) -> RunConfig:
    """Read a TOML file (or start from defaults), apply `section.key=value` overrides, validate."""
    raw: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"Config file not found: {path}")
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ConfigError(f"{path} is not valid TOML: {error}") from error
    for assignment in sets or []:
        apply_set(raw, assignment)
    return from_dict(raw, origin=str(path) if path else "defaults")


def apply_set(raw: dict, assignment: str) -> None:
    """Apply one `section.key=value` (the value read as TOML, else as a plain string)."""
    key, eq, text = assignment.partition("=")
    parts = key.strip().split(".")
    if not eq or len(parts) < 2:
        raise ConfigError(f"--set takes section.key=value, got {assignment!r}")
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text
    node = raw
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {key}: {part} is not a section")
    node[parts[-1]] = value


def from_dict(raw: dict, origin: str = "config") -> RunConfig:
    sections = {f.name: f.type for f in dataclasses.fields(RunConfig)}
    unknown = set(raw) - set(sections)
    if unknown:
        raise ConfigError(
            f"Unknown section(s) {sorted(unknown)} in {origin}; valid sections: {sorted(sections)}"
        )
    built = {}
    hints = get_type_hints(RunConfig)
    for name in sections:
        built[name] = build_section(hints[name], raw.get(name, {}), name, origin)
    config = RunConfig(**built)
    validate(config)
    return config


def build_section(cls: type, values: Any, name: str, origin: str) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"[{name}] in {origin} must be a table of settings")
    hints = get_type_hints(cls)
    valid = sorted(hints)
    unknown = sorted(set(values) - set(hints))
    if unknown:
        raise ConfigError(
            f"Unknown key(s) {', '.join(f'{name}.{k}' for k in unknown)} in {origin}; "
            f"valid keys in [{name}]: {', '.join(valid)}"
        )
    checked = {key: check_type(f"{name}.{key}", value, hints[key]) for key, value in values.items()}
    return cls(**checked)


def check_type(key: str, value: Any, expected: type) -> Any:
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is list and isinstance(value, str):
        return [value]  # a single path where a list is expected
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if not ok:
        raise ConfigError(
            f"{key} must be {expected.__name__}, got {type(value).__name__} {value!r}"
        )
    return value


def validate(config: RunConfig) -> None:
    """Cross-field checks; model settings are checked by TerraformerConfig itself."""
    m, d, o, t = config.model, config.data, config.optim, config.train
    if m.preset not in PRESETS:
        raise ConfigError(f"model.preset {m.preset!r} is unknown; choose one of {sorted(PRESETS)}")
    model_keys = set(inspect.signature(TerraformerConfig.__init__).parameters) - {"self", "kwargs"}
    unknown = sorted(set(m.overrides) - model_keys)
    if unknown:
        raise ConfigError(
            f"Unknown model setting(s) {unknown} in [model.overrides]; valid: {sorted(model_keys)}"
        )
    try:
        sizing.preset(m.preset, dense=m.dense, **m.overrides)
    except ValueError as error:
        raise ConfigError(f"[model]: {error}") from error
    if m.init_from and not is_model_dir(Path(m.init_from)):
        raise ConfigError(
            f"model.init_from {m.init_from!r} is not a model folder (config.json and weights)"
        )
    if not d.train:
        raise ConfigError("data.train is empty: list at least one data file, folder or dataset")
    for key in ("max_input_tokens", "max_target_tokens"):
        if getattr(d, key) < 2:
            raise ConfigError(f"data.{key} must be at least 2")
    if "input_selection" in m.overrides:
        raise ConfigError("set data.input_selection, not model.overrides.input_selection")
    if d.input_selection not in INPUT_SELECTIONS:
        raise ConfigError(
            f"data.input_selection must be one of {INPUT_SELECTIONS}, got {d.input_selection!r}"
        )
    if d.input_selection == "salient" and not is_salience_dir(d.salience):
        raise ConfigError(
            f"data.salience: no salience model in {d.salience!r}; train one with "
            f"python -m summarizer train-salience --out DIR"
        )
    for source, weight in d.source_weights.items():
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
            raise ConfigError(f"data.source_weights.{source} must be a number >= 0, got {weight!r}")
    if not all(isinstance(text, str) and text.strip() for text in d.unscored):
        raise ConfigError(f"data.unscored must be a list of non-empty strings, got {d.unscored!r}")
    if not 0.0 <= d.oracle_share <= 1.0:
        raise ConfigError(f"data.oracle_share must be in [0, 1], got {d.oracle_share}")
    if o.name not in ("adamw", "adafactor"):
        raise ConfigError(f"optim.name must be 'adamw' or 'adafactor', got {o.name!r}")
    if o.lr <= 0:
        raise ConfigError(f"optim.lr must be positive, got {o.lr}")
    if not 0 <= o.label_smoothing < 1:
        raise ConfigError("optim.label_smoothing must be in [0, 1)")
    if not 0 <= o.cooldown_steps <= t.steps:
        raise ConfigError(
            f"optim.cooldown_steps must be 0-{t.steps} (train.steps), got {o.cooldown_steps}"
        )
    for key in ("steps", "batch_size", "grad_accum", "log_every"):
        if getattr(t, key) < 1:
            raise ConfigError(f"train.{key} must be at least 1")
    if t.precision not in ("auto", "fp32", "bf16"):
        raise ConfigError(f"train.precision must be 'auto', 'fp32' or 'bf16', got {t.precision!r}")
