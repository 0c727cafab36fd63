"""Turn training checkpoints into a model to ship: optionally the average of the last few
checkpoints' weights, stored in half precision, with the tokenizer and the generation
defaults the Summarizer, the app and the batch CLI start from.

    python -m summarizer export --run runs/default --average 3 --out checkpoints/default
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import torch

from summarizer.model.modeling import TerraformerForConditionalGeneration
from summarizer.model.tokenizer import load_tokenizer, save_tokenizer
from summarizer.paths import MEASUREMENTS, is_rewriter_dir, is_salience_dir
from summarizer.salience import SalienceModel
from summarizer.settings import GenerationSettings, missing_for_mode

log = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass(frozen=True)
class ExportSettings:
    run: Path  # a training --out folder (its checkpoints/step-* are used) or one checkpoint
    out: Path
    average: int = 1  # average the weights of this many newest checkpoints
    dtype: str = "bfloat16"
    # The model's default summaries ("extractive" needs a salience model in `out`, "rewritten"
    # a sentence rewriter as well).
    generation: GenerationSettings = field(default_factory=GenerationSettings)


def checkpoints_of(run: Path) -> list[Path]:
    """Checkpoint folders of a run, oldest first; a checkpoint folder itself is a run of one."""
    if (run / "config.json").is_file():
        return [run]
    found = sorted((run / "checkpoints").glob("step-*"))
    if not found:
        raise FileNotFoundError(f"No checkpoints in {run} (expected {run}/checkpoints/step-*)")
    return found


def export(settings: ExportSettings) -> Path:
    """Write the model to `settings.out` (replacing what is there); return the folder."""
    if settings.dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {settings.dtype!r}")
    if settings.average < 1:
        raise ValueError("average must be at least 1")
    generation = settings.generation
    generation.validate()
    if generation.min_new_tokens > generation.max_new_tokens:
        raise ValueError("min_new_tokens must be between 0 and max_new_tokens")
    chosen = checkpoints_of(settings.run)[-settings.average :]
    # A model trained on the salience model's picks has that salience model beside it.
    salience = chosen[-1] if is_salience_dir(chosen[-1]) else None
    missing = missing_for_mode(
        generation.mode,
        salience=salience is not None or is_salience_dir(settings.out),
        rewriter=is_rewriter_dir(settings.out),
        folder=str(settings.out),
    )
    if missing:
        raise ValueError(f"--mode {generation.mode}: {settings.out} has {missing}")
    model = TerraformerForConditionalGeneration.from_pretrained(chosen[-1]).eval()
    if len(chosen) > 1:
        average_weights(model, chosen)
    model.to(DTYPES[settings.dtype])
    generation.write_to(model.generation_config)
    tmp = settings.out.with_name(f".{settings.out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    save_tokenizer(load_tokenizer(chosen[-1]), tmp)
    if salience is not None:
        SalienceModel.load(salience).save(tmp)
    # Keep files that are not the model's, e.g. MODEL_CARD.md, a salience model, a rewriter; but
    # not the old weights' measurements, which would label the new ones (measure those again).
    if settings.out.exists():
        for extra in settings.out.iterdir():
            if extra.name in MEASUREMENTS:
                log.info("dropped %s: it measured the weights this export replaces", extra)
            elif not (tmp / extra.name).exists():
                shutil.move(str(extra), tmp / extra.name)
        shutil.rmtree(settings.out)
    tmp.rename(settings.out)
    log.info("exported %s (%s) to %s", ", ".join(p.name for p in chosen), settings.dtype,
             settings.out)  # fmt: skip
    return settings.out


def average_weights(model: torch.nn.Module, checkpoints: list[Path]) -> None:
    """Set `model`'s floating-point weights to the mean over `checkpoints`, in float32."""
    total = {k: v.detach().float().clone() for k, v in model.state_dict().items()}
    for path in checkpoints[:-1]:  # the last one is `model` itself
        other = TerraformerForConditionalGeneration.from_pretrained(path).state_dict()
        for k, v in other.items():
            if v.is_floating_point():
                total[k] += v.float()
    n = len(checkpoints)
    averaged = {k: (v / n if v.is_floating_point() else v) for k, v in total.items()}
    model.load_state_dict(averaged, strict=False)
