"""Where the project keeps things on disk."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_DIR = REPO_ROOT / "checkpoints" / "default"
MODEL_ENV_VAR = "SUMMARIZER_MODEL"


def default_model_dir() -> Path:
    """The model used when none is named: $SUMMARIZER_MODEL, else the shipped checkpoint."""
    return Path(os.environ.get(MODEL_ENV_VAR) or DEFAULT_MODEL_DIR)


def is_model_dir(path: Path) -> bool:
    """True when `path` holds a model written by save_pretrained."""
    return (path / "config.json").is_file() and any(path.glob("*.safetensors"))
