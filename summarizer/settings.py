"""How a summary is made, in one place: `GenerationSettings` (mode, length, decoding), their
validation, and how they are read from and written to a model's generation_config.json.

The Summarizer, the batch command, evaluate, export, the CLI and the app all take these settings;
none declares its own copy.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from summarizer.paths import REWRITER_DIR, is_rewriter_dir, is_salience_dir

if TYPE_CHECKING:
    from transformers import GenerationConfig

# Importing this module stays cheap (no torch, no transformers): the CLI builds its --help
# from these settings.

log = logging.getLogger(__name__)

# Summary lengths users pick by name, as the most new tokens the decoder may write.
LENGTHS = {"short": 96, "medium": 160, "long": 256}


def length_tokens(length: str | int) -> int:
    """The most new tokens of a length: a name in LENGTHS, or a number of tokens."""
    return LENGTHS[length] if isinstance(length, str) else length


# How a summary is made: written by the Terraformer, the paper's own key sentences, or those
# sentences each written again by a sentence rewriter (summarizer.rewriter).
MODES = ("abstractive", "extractive", "rewritten")


def missing_for_mode(mode: str, *, salience: bool, rewriter: bool, folder: str = "MODEL") -> str:
    """What a model lacks to summarize in `mode`, given whether it has a salience model and a
    sentence rewriter beside it: "" when nothing, else a phrase to follow "it has", with how
    to add the part ("no salience model, which ...; train one ..."). The one rule behind the
    Summarizer's modes and errors, the batch command's usage errors, export's check and a
    folder's default mode; `folder` names the model's folder in the advice."""
    if mode != "abstractive" and not salience:
        return (
            f"no salience model, which {mode} summaries need; train one into the folder with "
            f"python -m summarizer train-salience --out {folder}"
        )
    if mode == "rewritten" and not rewriter:
        return (
            f"no sentence rewriter (a {REWRITER_DIR}/ model folder beside it), which rewritten "
            f"summaries need; export one with python -m summarizer export --run RUN --out "
            f"{Path(folder) / REWRITER_DIR}"
        )
    return ""


def missing_in_folder(model_dir: str | Path, mode: str) -> str:
    """missing_for_mode for the model saved in `model_dir`, read from what the folder holds."""
    return missing_for_mode(
        mode,
        salience=is_salience_dir(model_dir),
        rewriter=is_rewriter_dir(model_dir),
        folder=str(model_dir),
    )


# Extractive summaries' word budgets for the named lengths: about as many words as the decoder
# writes in LENGTHS tokens (Cohan-style text runs at ~0.75 words per token).
WORDS_PER_TOKEN = 0.75


# The decoder's search settings (the fields of GenerationSettings besides mode and length) with
# the type and meaning of each: the one list every command's flags are made from.
DECODING: dict[str, tuple[type, str]] = {
    "num_beams": (int, "beams of the search (1 = greedy)"),
    "no_repeat_ngram_size": (int, "never repeat an n-gram of this size (0 = allow repeats)"),
    "length_penalty": (float, "beam search: > 1 favours longer summaries"),
    "repetition_penalty": (float, "> 1 makes tokens already written less likely (1 = none)"),
    "min_new_tokens": (int, "write at least this many tokens (at most the length)"),
    "paper_words": (
        bool,
        "written summaries use only words that the paper holds or that abstracts commonly "
        "use, and only the paper's numbers: no invented or broken words or numbers",
    ),
}

# The keys of generation_config.json that hold the default mode and word constraint (ours, not
# Hugging Face's).
MODE_KEY = "summary_mode"
PAPER_WORDS_KEY = "paper_words"


@dataclass(frozen=True)
class GenerationSettings:
    """How the summary is made: the mode, its length, and the decoder's search settings
    (which extractive summaries ignore)."""

    length: str | int = "medium"  # a name in LENGTHS, or the most new tokens
    # or "extractive": the paper's own most salient sentences; "rewritten": those, rewritten
    mode: str = "abstractive"
    num_beams: int = 4
    no_repeat_ngram_size: int = 3  # 0 = allow repeats
    length_penalty: float = 1.0  # > 1 favours longer beams
    repetition_penalty: float = 1.0  # > 1 makes tokens already written less likely
    min_new_tokens: int = 0  # write at least this many tokens, or the whole length if shorter
    # Write only words that the paper holds or that abstracts commonly use, and only the
    # paper's numbers (summarizer.vocabulary): no invented or broken words or numbers.
    paper_words: bool = True

    def with_overrides(self, **changes: Any) -> GenerationSettings:
        """These settings with every change that is not None (None keeps this value: "the
        model's own" when these are a model's defaults)."""
        return replace(self, **{key: value for key, value in changes.items() if value is not None})

    @property
    def max_new_tokens(self) -> int:
        return length_tokens(self.length)

    @property
    def max_words(self) -> int:
        """An extractive summary's word budget: about the words of max_new_tokens."""
        return max(1, round(WORDS_PER_TOKEN * self.max_new_tokens))

    @property
    def least_new_tokens(self) -> int:
        """The minimum actually asked of the decoder: min_new_tokens, capped at the length
        (so a model whose default minimum is 160 tokens still writes a "short" summary)."""
        return min(self.min_new_tokens, self.max_new_tokens)

    def validate(self) -> None:
        """Raise ValueError, naming the setting to change, for settings that cannot work."""
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {list(MODES)}, got {self.mode!r}")
        if isinstance(self.length, str) and self.length not in LENGTHS:
            raise ValueError(f"length must be one of {sorted(LENGTHS)} or a number of tokens")
        if isinstance(self.length, bool) or not isinstance(self.length, str | int):
            raise ValueError(f"length must be a name or an int, got {self.length!r}")
        if not 1 <= self.max_new_tokens <= 4096:
            raise ValueError(f"length must be 1-4096 tokens, got {self.max_new_tokens}")
        if not 1 <= self.num_beams <= 16:
            raise ValueError(f"num_beams must be 1-16, got {self.num_beams}")
        if self.no_repeat_ngram_size < 0:
            raise ValueError("no_repeat_ngram_size must be >= 0 (0 allows repeats)")
        if not 0.0 < self.length_penalty <= 10.0:
            raise ValueError(f"length_penalty must be in (0, 10], got {self.length_penalty}")
        if not 1.0 <= self.repetition_penalty <= 10.0:
            raise ValueError(
                f"repetition_penalty must be in [1, 10] (1 = none), got {self.repetition_penalty}"
            )
        if not 0 <= self.min_new_tokens <= 4096:
            raise ValueError(f"min_new_tokens must be 0-4096, got {self.min_new_tokens}")
        if not isinstance(self.paper_words, bool):
            raise ValueError(f"paper_words must be true or false, got {self.paper_words!r}")

    def generate_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of `model.generate` for these settings (greedy or beam search;
        sampling is never used)."""
        return {
            "max_new_tokens": self.max_new_tokens,
            "min_new_tokens": self.least_new_tokens,
            "num_beams": self.num_beams,
            "no_repeat_ngram_size": self.no_repeat_ngram_size,
            "length_penalty": self.length_penalty,
            "repetition_penalty": self.repetition_penalty,
            "early_stopping": self.num_beams > 1,  # a beam-search flag only
            "do_sample": False,
        }

    def write_to(self, config: GenerationConfig) -> None:
        """Store these settings as a model's defaults (`read_model_settings` reads them back)."""
        config.num_beams = self.num_beams
        config.no_repeat_ngram_size = self.no_repeat_ngram_size
        config.length_penalty = self.length_penalty
        config.max_new_tokens = self.max_new_tokens
        config.min_new_tokens = self.min_new_tokens or None  # None: HF's "no minimum"
        config.repetition_penalty = self.repetition_penalty
        config.early_stopping = self.num_beams > 1
        setattr(config, MODE_KEY, self.mode)
        setattr(config, PAPER_WORDS_KEY, self.paper_words)


def read_model_settings(model_dir: str | Path) -> GenerationSettings:
    """The settings a model folder asks for: its generation_config.json (which `export`
    writes), including our `summary_mode` key (HF's GenerationConfig drops keys it does not
    know, so it is read from the file); a mode the folder lacks a part for falls back to
    abstractive (missing_for_mode)."""
    from transformers import GenerationConfig

    model_dir = Path(model_dir)
    path = model_dir / "generation_config.json"
    saved = json.loads(path.read_text()) if path.is_file() else {}
    g = GenerationConfig(**saved)
    mode = saved.get(MODE_KEY) or "abstractive"
    if mode not in MODES:
        log.warning("%s: unknown default mode %r; using abstractive", model_dir, mode)
        mode = "abstractive"
    elif missing := missing_in_folder(model_dir, mode):
        log.warning(
            "%s asks for %s summaries but has %s; using abstractive", model_dir, mode, missing
        )
        mode = "abstractive"
    named = {tokens: name for name, tokens in LENGTHS.items()}
    return GenerationSettings(
        length=named.get(g.max_new_tokens, g.max_new_tokens or "medium"),
        mode=mode,
        min_new_tokens=g.min_new_tokens or 0,
        num_beams=g.num_beams or 1,
        no_repeat_ngram_size=g.no_repeat_ngram_size or 0,
        length_penalty=float(g.length_penalty if g.length_penalty is not None else 1.0),
        repetition_penalty=float(g.repetition_penalty or 1.0),
        paper_words=bool(saved.get(PAPER_WORDS_KEY, True)),
    )
