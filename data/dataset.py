"""Documents as `datasets.Dataset`s (cached, memory-mapped), and their tokenized form.

`load_documents(source)` takes a Cohan file, a folder of them, or (online only) a Hugging Face
hub dataset name such as `ccdv/arxiv-summarization:validation`. Every row has the columns
id, article (one normalized line), abstract (one normalized sentence per line), source.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import datasets
import numpy as np

from data.cohan import find_files, read_records
from data.normalize import join_article, join_summary

log = logging.getLogger(__name__)

# Hub datasets we know how to map onto our columns: name -> (config, article, abstract).
HUB_DATASETS = {
    "ccdv/arxiv-summarization": (None, "article", "abstract"),
    "ccdv/pubmed-summarization": (None, "article", "abstract"),
    "scientific_papers/arxiv": ("arxiv", "article", "abstract"),
    "scientific_papers/pubmed": ("pubmed", "article", "abstract"),
}
COLUMNS = ["id", "article", "abstract", "source"]


def cache_root() -> Path:
    """Where tokenized and converted data are cached ($SUMMARIZER_CACHE, else ~/.cache/...)."""
    default = Path.home() / ".cache" / "terraformer-summarizer"
    return Path(os.environ.get("SUMMARIZER_CACHE") or default)


@dataclass
class LoadReport:
    """What loading found: documents kept, and malformed records skipped, by reason."""

    source: str
    kept: int = 0
    skipped: Counter = field(default_factory=Counter)

    def __str__(self) -> str:
        text = f"{self.source}: {self.kept} documents"
        if self.skipped:
            reasons = ", ".join(f"{n} {reason}" for reason, n in self.skipped.most_common())
            text += f"; skipped {sum(self.skipped.values())} ({reasons})"
        return text


def load_documents(
    source: str | Path, limit: int | None = None
) -> tuple[datasets.Dataset, LoadReport]:
    """Documents from a local path or a hub dataset name, with a report of skipped records."""
    if Path(source).exists():
        return _load_local(Path(source), limit)
    name, _, split = str(source).partition(":")
    if name in HUB_DATASETS:
        return _load_hub(name, split or "train", limit)
    raise FileNotFoundError(
        f"Data source not found: {source!r} is neither an existing file or folder nor one of "
        f"the known hub datasets {sorted(HUB_DATASETS)} (add ':split' to pick a split)"
    )


def _load_local(path: Path, limit: int | None) -> tuple[datasets.Dataset, LoadReport]:
    files = find_files(path)
    # The files' contents in the arguments make the cache key change when a file does, and
    # only then: a copy of the same data (new modification times) keeps its cache, and so do
    # the inputs derived from it (e.g. salient sentences, which take half an hour to choose).
    stamps = [(str(f.resolve()), f.stat().st_size, content_digest(f)) for f in files]
    rows = datasets.Dataset.from_generator(
        _generate_rows,
        gen_kwargs={"stamps": stamps},
        cache_dir=str(cache_root() / "datasets"),
        features=datasets.Features({c: datasets.Value("string") for c in [*COLUMNS, "problem"]}),
    )
    report = LoadReport(str(path))
    report.skipped.update(p for p in rows["problem"] if p)
    docs = rows.filter(lambda problem: not problem, input_columns="problem").remove_columns(
        "problem"
    )
    if limit:
        docs = docs.select(range(min(limit, len(docs))))
    report.kept = len(docs)
    log.info("%s", report)
    return docs, report


def content_digest(path: Path) -> str:
    """SHA-256 of the file's bytes (about 0.5 s for the 150 MB of training data)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _generate_rows(stamps: list[tuple[str, int, int]]):
    for name, _, _ in stamps:
        yield from read_records(Path(name))


def _load_hub(name: str, split: str, limit: int | None) -> tuple[datasets.Dataset, LoadReport]:
    config, article_col, abstract_col = HUB_DATASETS[name]
    repo = name.split("/")[0] if name.startswith("scientific_papers") else name
    raw = datasets.load_dataset(repo, config, split=split)
    if limit:
        raw = raw.select(range(min(limit, len(raw))))

    def convert(batch: dict, indices: list[int]) -> dict:
        return {
            "id": [f"{name}:{split}:{i}" for i in indices],
            "article": [join_article(a.split("\n")) for a in batch[article_col]],
            "abstract": [join_summary(a.split("\n")) for a in batch[abstract_col]],
            "source": [name] * len(indices),
        }

    docs = raw.map(convert, batched=True, with_indices=True, remove_columns=raw.column_names)
    report = LoadReport(f"{name}:{split}")
    usable = [bool(a) and bool(b) for a, b in zip(docs["article"], docs["abstract"], strict=True)]
    report.skipped["empty article or abstract"] = usable.count(False)
    docs = docs.select([i for i, ok in enumerate(usable) if ok])
    report.kept = len(docs)
    return docs, report


def weight_sources(
    docs: datasets.Dataset, weights: dict[str, float], seed: int = 0
) -> datasets.Dataset:
    """`docs` with each source's documents repeated by its weight (by the `source` column).

    A weight of 3 puts each of that source's documents in every epoch three times; 0.5 keeps
    a seeded half of them; 0 leaves the source out; unlisted sources keep weight 1. Naming a
    source that is not in `docs` is a ValueError, so a misspelt name cannot silently do
    nothing."""
    if not weights:
        return docs
    negative = sorted(source for source, weight in weights.items() if weight < 0)
    if negative:
        raise ValueError(f"source weights must be >= 0; {negative} are not")
    by_source: dict[str, list[int]] = {}
    for i, source in enumerate(docs.with_format(None)["source"]):
        by_source.setdefault(source, []).append(i)
    unknown = sorted(set(weights) - set(by_source))
    if unknown:
        present = {source: len(rows) for source, rows in sorted(by_source.items())}
        raise ValueError(
            f"source weights name {unknown}, which the training data does not have; "
            f"its sources: {present}"
        )
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    for source, rows in by_source.items():
        weight = weights.get(source, 1.0)
        whole, part = int(weight), weight - int(weight)
        chosen.extend(rows * whole)
        chosen.extend(rng.choice(rows, size=round(part * len(rows)), replace=False).tolist())
    return docs.select(sorted(chosen))


def tokenize_documents(
    docs: datasets.Dataset, tokenizer, max_input_tokens: int, max_target_tokens: int
) -> datasets.Dataset:
    """Add input_ids and labels (each ending with </s>, truncated) and their lengths. Cached
    per tokenizer and lengths."""
    vocab_hash = hashlib.sha256(tokenizer.backend_tokenizer.to_str().encode()).hexdigest()[:16]
    fingerprint = hashlib.sha256(
        f"{docs._fingerprint}-{vocab_hash}-{max_input_tokens}-{max_target_tokens}".encode()
    ).hexdigest()[:32]
    # Text far past the token limit is cut before tokenizing; 10 characters per token is
    # more than twice the average, so this never shortens what the model sees.
    input_chars, target_chars = 10 * max_input_tokens, 10 * max_target_tokens

    def encode(batch: dict) -> dict:
        inputs = tokenizer(
            [a[:input_chars] for a in batch["article"]],
            truncation=True,
            max_length=max_input_tokens,
        )["input_ids"]
        labels = tokenizer(
            [a[:target_chars] for a in batch["abstract"]],
            truncation=True,
            max_length=max_target_tokens,
        )["input_ids"]
        return {
            "input_ids": inputs,
            "labels": labels,
            "input_length": [len(x) for x in inputs],
            "label_length": [len(x) for x in labels],
        }

    return docs.map(encode, batched=True, batch_size=64, new_fingerprint=fingerprint)
