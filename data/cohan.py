"""The one reader of Cohan et al. (2018) records (training data here, user files in
`data.ingest`): `.jsonl`, `.jsonl.gz`, the original `train.txt` /
`val.txt` / `test.txt` files, or folders of them.

Malformed records are never fatal: each comes out with a `problem` saying what was wrong, so
callers can skip and count them.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path

from data.normalize import join_article, join_summary

SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".txt")


def find_files(path: str | Path) -> list[Path]:
    """The record files at `path` (a file, or a folder searched recursively), sorted."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Data path does not exist: {path}")
    if path.is_file():
        return [path]
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(SUFFIXES))
    if not files:
        raise FileNotFoundError(
            f"No data files ({', '.join(SUFFIXES)}) under {path}; point to a Cohan jsonl file "
            f"or a folder that holds some"
        )
    return files


def open_text(path: Path) -> io.TextIOBase:
    """Open a plain or gzipped text file (detected by content, not by name)."""
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    if gzipped:
        return gzip.open(path, "rt", encoding="utf-8-sig", errors="replace")
    return open(path, encoding="utf-8-sig", errors="replace")


def parse_record(line: str) -> dict | str:
    """One line of a record file as its JSON object, or a short reason why it is not a usable
    record. A usable record has `article_text`, a list of strings; its `abstract_text` is
    either a list of strings or replaced by None."""
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, RecursionError):
        return "not JSON"
    if not isinstance(record, dict):
        return "not a JSON object"
    article = record.get("article_text")
    if not isinstance(article, list):
        return "missing article_text list"
    if not all(isinstance(s, str) for s in article):
        return "non-text sentences"
    abstract = record.get("abstract_text")
    if not (isinstance(abstract, list) and all(isinstance(s, str) for s in abstract)):
        record["abstract_text"] = None
    return record


def read_records(path: Path) -> Iterator[dict]:
    """Rows {id, article, abstract, source, problem} for every line of a record file;
    `problem` is "" for a usable record and a short reason otherwise."""
    default_source = path.name.split(".")[0]
    try:
        handle = open_text(path)
    except OSError as error:
        yield row(f"{path}", "", "", default_source, f"unreadable file: {error.strerror}")
        return
    with handle:
        try:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield parse_line(line, f"{path.name}:{number}", default_source)
        except (OSError, EOFError) as error:  # e.g. a truncated gzip file
            yield row(f"{path}", "", "", default_source, f"file ends early: {error}")


def parse_line(line: str, where: str, default_source: str) -> dict:
    record = parse_record(line)
    if isinstance(record, str):
        return row(where, "", "", default_source, record)
    ident = str(record.get("article_id") or where)
    source = str(record.get("source") or default_source)
    if record["abstract_text"] is None:
        return row(ident, "", "", source, "missing abstract_text list")
    article_text = join_article(record["article_text"])
    abstract_text = join_summary(record["abstract_text"])
    if not article_text:
        return row(ident, "", abstract_text, source, "empty article")
    if not abstract_text:
        return row(ident, article_text, "", source, "empty abstract")
    return row(ident, article_text, abstract_text, source, "")


def row(ident: str, article: str, abstract: str, source: str, problem: str) -> dict:
    return {
        "id": ident,
        "article": article,
        "abstract": abstract,
        "source": source,
        "problem": problem,
    }
