"""benchmarks/RESULTS.md is a file of sections, each written by one benchmark's `--report`.

A section runs from its top-level heading ("# Title") to the next one; writing a section
replaces the one with the same title, or appends it, and keeps the others as they are.
"""

from __future__ import annotations

from pathlib import Path

FILE_NAME = "RESULTS.md"


def sections(text: str) -> list[str]:
    """The text's sections, in order (lines inside ``` fences never start one)."""
    parts: list[list[str]] = []
    fenced = False
    for line in text.splitlines(keepends=True):
        if line.startswith("```"):
            fenced = not fenced
        if (line.startswith("# ") and not fenced) or not parts:
            parts.append([])
        parts[-1].append(line)
    return ["".join(part) for part in parts]


def write_section(folder: Path, markdown: str) -> Path:
    """Put `markdown`, which starts with its "# Title" line, into folder/RESULTS.md."""
    title = markdown.splitlines()[0]
    if not title.startswith("# "):
        raise ValueError(f"a section starts with a '# Title' line, not {title!r}")
    path = Path(folder) / FILE_NAME
    parts = sections(path.read_text(encoding="utf-8")) if path.is_file() else []
    new = markdown.rstrip("\n") + "\n"
    titles = [part.splitlines()[0] for part in parts]
    if title in titles:
        parts[titles.index(title)] = new + ("\n" if titles.index(title) < len(parts) - 1 else "")
    else:
        if parts and not parts[-1].endswith("\n\n"):
            parts[-1] = parts[-1].rstrip("\n") + "\n\n"
        parts.append(new)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(parts), encoding="utf-8")
    return path
