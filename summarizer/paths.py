"""Where the project keeps things on disk."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_DIR = REPO_ROOT / "checkpoints" / "default"
MODEL_ENV_VAR = "SUMMARIZER_MODEL"
# A model folder's salience model (summarizer.salience): these two files beside the model.
SALIENCE_WEIGHTS = "salience.safetensors"
SALIENCE_CONFIG = "salience.json"
# A model folder's sentence rewriter (summarizer.rewriter): a model folder of its own inside it.
REWRITER_DIR = "rewriter"
# Measurements of a model folder's weights, which label its written summaries (summarizer.api):
# the conditioning gap (benchmarks.conditioning --out) and the hand-rated fluency
# (eval.rating score --out). They describe the weights, so exporting new ones drops them.
CONDITIONING_FILE = "conditioning.json"
FLUENCY_FILE = "fluency.json"
MEASUREMENTS = (CONDITIONING_FILE, FLUENCY_FILE)


def default_model_dir() -> Path:
    """The model used when none is named: $SUMMARIZER_MODEL, else the shipped checkpoint."""
    return Path(os.environ.get(MODEL_ENV_VAR) or DEFAULT_MODEL_DIR)


def is_model_dir(path: Path) -> bool:
    """True when `path` holds a model written by save_pretrained."""
    return (path / "config.json").is_file() and any(path.glob("*.safetensors"))


def is_salience_dir(path: str | os.PathLike) -> bool:
    """True when a folder holds a salience model."""
    return (Path(path) / SALIENCE_WEIGHTS).is_file() and (Path(path) / SALIENCE_CONFIG).is_file()


def is_rewriter_dir(model_dir: str | os.PathLike) -> bool:
    """True when a model folder holds a sentence rewriter."""
    return is_model_dir(Path(model_dir) / REWRITER_DIR)


def write_atomically(path: Path, text: str) -> None:
    """Write `text` so that readers (and a kill mid-write) see the old file or the new one,
    never half of it: into a hidden temporary file beside it, then renamed."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
