"""Reading Cohan et al. (2018) records: `.jsonl`, `.jsonl.gz`, the original `train.txt` /
`val.txt` / `test.txt` files, or folders of them.

Malformed records are never fatal: each comes out with a `problem` saying what was wrong, so
callers can skip and count them.
"""

from __future__ import annotations

import gzip
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


def open_text(path: Path):
    """Open a plain or gzipped text file (detected by content, not by name)."""
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    if gzipped:
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


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
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return row(where, "", "", default_source, "not JSON")
    if not isinstance(record, dict):
        return row(where, "", "", default_source, "not a JSON object")
    ident = str(record.get("article_id") or where)
    source = str(record.get("source") or default_source)
    article, abstract = record.get("article_text"), record.get("abstract_text")
    if not isinstance(article, list) or not isinstance(abstract, list):
        return row(ident, "", "", source, "missing article_text or abstract_text list")
    if not all(isinstance(s, str) for s in article + abstract):
        return row(ident, "", "", source, "non-text sentences")
    article_text, abstract_text = join_article(article), join_summary(abstract)
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
