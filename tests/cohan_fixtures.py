"""Small synthetic records in the Cohan et al. (2018) format, written by the tests."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

WORDS = [
    "the",
    "model",
    "attention",
    "sparse",
    "layer",
    "token",
    "summary",
    "paper",
    "result",
    "method",
    "data",
    "we",
    "show",
    "that",
    "training",
    "loss",
    "decoding",
    "speed",
    "memory",
    "long",
    "document",
    "encoder",
    "decoder",
    "@xmath0",
    "@xcite",
    ".",
]


def record(i: int, rng: random.Random, n_sentences: int = 12) -> dict:
    sentences = [
        " ".join(rng.choices(WORDS, k=rng.randint(6, 14))) + " ." for _ in range(n_sentences)
    ]
    return {
        "article_id": f"doc-{i}",
        "article_text": sentences,
        "abstract_text": [f"<S> {s} </S>" for s in sentences[:2]],
        "section_names": ["introduction"],
        "sections": [sentences],
        "source": "synthetic",
    }


def write_cohan(path: Path, n: int, seed: int = 0, gz: bool = False, extra_lines=()) -> Path:
    """Write `n` records (plus any raw `extra_lines`) as .jsonl or .jsonl.gz."""
    rng = random.Random(seed)
    lines = [json.dumps(record(i, rng)) for i in range(n)] + list(extra_lines)
    text = "\n".join(lines) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path
