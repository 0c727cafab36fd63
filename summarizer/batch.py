"""Batch summarization: every paper under some paths, one summary file each, plus an index.

    python -m summarizer summarize papers/ --out summaries/ --recursive --jobs 2

For each input `papers/sub/x.pdf` it writes `summaries/sub/x.pdf.summary.md` and one line in
`summaries/summaries.jsonl`. A Cohan .jsonl file with several records gives one summary per
record, under a folder named after the file. One bad file never stops the batch; a re-run
skips inputs whose summary exists (unless `--overwrite`). Output files are written
atomically, so a killed run leaves whole files or none.

Across machines, give each process one shard (`--shard I/N`, or RANK/WORLD_SIZE from
torchrun): shard I takes every N-th input and writes its own `summaries-I-of-N.jsonl`.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from data.ingest import IngestError, read_documents
from summarizer.allocator import keep_freed_memory
from summarizer.api import Summarizer, find_model_dir
from summarizer.paths import write_atomically
from summarizer.settings import DECODING, GenerationSettings, missing_in_folder

log = logging.getLogger(__name__)

SUFFIXES = (".pdf", ".txt", ".md", ".markdown", ".tex", ".jsonl", ".jsonl.gz")
SUMMARY_SUFFIX = ".summary.md"
PR_SET_PDEATHSIG = 1  # prctl option (linux/prctl.h): a signal for when the parent dies


class UsageError(ValueError):
    """The command line cannot work (missing path, nothing to summarize, bad shard)."""


@dataclass(frozen=True)
class BatchOptions:
    out: Path
    model: str | None = None  # None: $SUMMARIZER_MODEL or the shipped default
    recursive: bool = False
    overwrite: bool = False
    jobs: int = 1
    shard: tuple[int, int] = (0, 1)  # (index, count)
    length: str | int = "medium"
    mode: str | None = None  # abstractive | extractive | rewritten; None: the model's default
    # settings.DECODING settings to change (num_beams, ...); None or absent: the model's own
    decoding: dict[str, Any] = field(default_factory=dict)
    per_section: bool = False
    max_input_tokens: int | None = None  # None: the model's trained input length


@dataclass(frozen=True)
class Item:
    """One input file; `rel` is its path relative to the folder it was found in."""

    path: Path
    rel: Path


def find_inputs(paths: list[str], recursive: bool, exclude: Path | None = None) -> list[Item]:
    """Every file to summarize, in a stable order. A file given by name is taken whatever
    its extension; in folders, only known extensions. Symbolic links to folders are not
    followed (no loops); hidden files are skipped, and so is the folder `exclude` (the batch's
    own output, which may lie inside an input folder)."""
    skip = exclude.resolve() if exclude is not None else None
    items: list[Item] = []
    for raw in paths:
        path = Path(raw)
        if not os.path.lexists(path):
            raise UsageError(f"{raw}: no such file or folder")
        if not path.is_dir():
            items.append(Item(path, Path(path.name)))
            continue
        walker = os.walk(path, followlinks=False)
        for folder, dirs, files in walker:
            if skip is not None and Path(folder).resolve() == skip:
                dirs[:] = []
                continue
            dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if recursive else []
            for name in sorted(files):
                if not name.startswith(".") and name.lower().endswith(SUFFIXES):
                    file = Path(folder) / name
                    items.append(Item(file, file.relative_to(path)))
    return items


def summary_path(out: Path, rel: Path, record: str | None = None) -> Path:
    """Where the summary of `rel` goes (of one record of it, for multi-record files)."""
    if record is None:
        return out / rel.parent / (rel.name + SUMMARY_SUFFIX)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in record) or "record"
    return out / rel / (safe + SUMMARY_SUFFIX)


def index_name(shard: tuple[int, int]) -> str:
    index, count = shard
    return "summaries.jsonl" if count == 1 else f"summaries-{index}-of-{count}.jsonl"


def read_index(path: Path) -> dict[str, dict]:
    """The latest row per input path; torn lines (a killed run) are ignored."""
    rows: dict[str, dict] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                row = json.loads(line)
                rows[row["path"]] = row
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
    return rows


# One Summarizer per process (the main one for --jobs 1, else each pool worker), with the
# --model it was loaded from, so a second batch in the same process with another model
# does not reuse it.
_SUMMARIZER = None
_LOADED_FROM: str | None = None


def init_worker(model: str | None, threads: int, parent: int | None = None) -> None:
    """Load the model into this process. In a worker process (`parent` given), also make
    sure the worker ends when the batch command dies, even by SIGKILL: an orphan would go on
    writing summaries that no index lists."""
    global _SUMMARIZER, _LOADED_FROM
    if parent is not None:
        end_with_parent(parent)
    keep_freed_memory()  # a spawned worker starts with glibc's defaults again
    torch.set_num_threads(threads)
    if _SUMMARIZER is None or model != _LOADED_FROM:
        _SUMMARIZER = Summarizer.from_pretrained(model)
        _LOADED_FROM = model


def end_with_parent(parent: int) -> None:
    """End this process when `parent` is gone: at once on Linux (the kernel's parent-death
    signal), elsewhere within a second (a watchdog thread that polls the parent's id)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL) == 0 and os.getppid() == parent:
            return
    except (OSError, AttributeError):
        pass  # not Linux

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="parent-watchdog").start()


def summarize_item(item: Item, options: BatchOptions) -> list[dict]:
    """Summarize every document in one input; rows for the index, one per document. Every
    failure becomes an error row: the batch goes on."""
    start = time.perf_counter()
    shown = str(item.rel)
    settings = _SUMMARIZER.defaults.with_overrides(  # the model's own where not given
        length=options.length, mode=options.mode, **options.decoding
    )
    rows = []
    try:
        documents = list(read_documents(item.path))
        several = len(documents) > 1
        for document in documents:
            t0 = time.perf_counter()
            key = f"{shown}#{document.name}" if several else shown
            target = summary_path(options.out, item.rel, document.name if several else None)
            try:
                result = _SUMMARIZER.summarize(document, settings, per_section=options.per_section)
            except (IngestError, ValueError) as error:
                rows.append(error_row(key, str(error), t0))
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(target, result.to_markdown())
            rows.append(
                {
                    "path": key,
                    "status": "ok",
                    "error": None,
                    "summary": result.summary,
                    "mode": settings.mode,
                    "warning": result.warning or None,
                    "sources": [asdict(s) for s in result.sources],
                    "input_tokens": result.input_tokens,
                    "shortened": result.shortened,
                    "seconds": round(time.perf_counter() - t0, 3),
                    "output": str(target.relative_to(options.out)),
                }
            )
    except IngestError as error:
        rows.append(error_row(shown, str(error), start))
    except Exception as error:  # one bad file must never stop the batch
        log.exception("unexpected error on %s", shown)
        rows.append(error_row(shown, f"internal error ({type(error).__name__}: {error})", start))
    return rows


def error_row(path: str, message: str, start: float) -> dict:
    return {
        "path": path,
        "status": "error",
        "error": message,
        "summary": None,
        "mode": None,
        "input_tokens": None,
        "shortened": None,
        "seconds": round(time.perf_counter() - start, 3),
    }


def is_done(item: Item, options: BatchOptions, done: dict[str, dict]) -> bool:
    """An input is done when its index rows are all ok and their summary files exist."""
    shown = str(item.rel)
    rows = [r for p, r in done.items() if p == shown or p.startswith(shown + "#")]
    return bool(rows) and all(
        r.get("status") == "ok" and (options.out / r.get("output", "")).is_file() for r in rows
    )


@dataclass(frozen=True)
class BatchReport:
    """What a batch run did: documents summarized and failed (a multi-record file counts each
    record), inputs skipped because an earlier run had done them, and the index written."""

    summarized: int
    failed: int
    skipped: int
    index: Path

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def __str__(self) -> str:
        return (
            f"{self.summarized} summarized, {self.failed} failed, {self.skipped} already done; "
            f"index: {self.index}"
        )


def run_batch(paths: list[str], options: BatchOptions) -> BatchReport:
    """Summarize all inputs. Raises UsageError before any work when the command cannot work."""
    index, count = options.shard
    if not (0 <= index < count):
        raise UsageError(f"--shard {index}/{count}: the index must be 0..{count - 1}")
    if options.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if options.max_input_tokens is not None and options.max_input_tokens < 16:
        raise UsageError("--max-input-tokens must be at least 16")
    try:
        unknown = sorted(set(options.decoding) - set(DECODING))
        if unknown:
            raise ValueError(f"unknown decoding setting(s) {unknown}; known: {list(DECODING)}")
        GenerationSettings().with_overrides(
            length=options.length, mode=options.mode, **options.decoding
        ).validate()
    except ValueError as error:
        raise UsageError(str(error)) from None
    items = find_inputs(paths, options.recursive, exclude=options.out)[index::count]
    if not items:
        raise UsageError("nothing to summarize: no .pdf/.txt/.md/.tex/.jsonl files found")
    model_dir = find_model_dir(options.model)  # fail before loading it or starting workers
    if options.mode and (missing := missing_in_folder(model_dir, options.mode)):
        raise UsageError(f"--mode {options.mode}: {model_dir} has {missing}")
    if options.jobs == 1:
        init_worker(options.model, torch.get_num_threads())
    options.out.mkdir(parents=True, exist_ok=True)
    index_path = options.out / index_name(options.shard)
    done = {} if options.overwrite else read_index(index_path)
    todo = [item for item in items if not is_done(item, options, done)]
    log.info("%d inputs, %d already done, %d to summarize", len(items), len(items) - len(todo),
             len(todo))  # fmt: skip

    summarized = failed = 0
    with index_path.open("a", encoding="utf-8") as index_file:
        for rows in tqdm(results(todo, options), total=len(todo), desc="summarize", unit="file"):
            for row in rows:
                index_file.write(json.dumps(row, ensure_ascii=False) + "\n")
                failed += row["status"] != "ok"
                summarized += row["status"] == "ok"
            index_file.flush()
    compact_index(index_path)
    # Earlier failures were retried: they are in `todo`, not in `skipped`.
    return BatchReport(summarized, failed, len(items) - len(todo), index_path)


def results(items: list[Item], options: BatchOptions) -> Iterator[list[dict]]:
    """Index rows per input as they finish: in this process for one job, else from a pool of
    worker processes (each with its own model and a share of the cores). At most two tasks
    per worker are queued at a time, so memory does not grow with the number of inputs."""
    if options.jobs == 1 or len(items) <= 1:
        init_worker(options.model, torch.get_num_threads())  # loaded already unless jobs > 1
        for item in items:
            yield summarize_item(item, options)
        return
    threads = max(1, (os.cpu_count() or 1) // options.jobs)
    with ProcessPoolExecutor(
        options.jobs, initializer=init_worker, initargs=(options.model, threads, os.getpid())
    ) as pool:
        pending = set()
        queue = iter(items)
        for item in queue:
            pending.add(pool.submit(summarize_item, item, options))
            if len(pending) >= 2 * options.jobs:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (f.result() for f in finished)
        for future in pending:
            yield future.result()


def compact_index(path: Path) -> None:
    """Rewrite the index with one line per input (the latest), atomically."""
    rows = read_index(path)
    write_atomically(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows.values()))


def shard_from_env() -> tuple[int, int]:
    """(rank, world size) under torchrun or a job array that sets RANK/WORLD_SIZE."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
