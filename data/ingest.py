"""Reading the documents users bring: PDF, LaTeX, Markdown, plain text and Cohan jsonl.

    doc = read_document("paper.pdf")          # or read_document(uploaded_bytes, "paper.pdf")
    doc.title, [s.heading for s in doc.sections]
    doc.model_text()                          # one line in the training data's style

Every way a file can be unusable (empty, binary, encrypted, scanned, too large, unreadable,
changing while read, ...) raises `IngestError`, whose message tells the user what to do.
Back matter (references, acknowledgements, appendices) is removed, and an abstract is kept apart
from the body, because the model was trained on article bodies without them.
"""

from __future__ import annotations

import codecs
import errno
import io
import logging
import os
import re
import stat
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from data import cohan
from data.normalize import LATEX_MATH, cohan_style, join_summary, normalize_text

log = logging.getLogger(__name__)

MAX_BYTES = 50 * 1024 * 1024  # the largest file read_document accepts (50 MiB)
PASTED = "pasted text"
# Longest "abstract" kept apart from the body; a longer one means the next heading was missed.
_MAX_ABSTRACT_WORDS = 500


class IngestError(ValueError):
    """A document could not be read. str(e) is a one-sentence message for the user that says
    what went wrong and what to do."""


@dataclass
class Section:
    heading: str  # "" for text before the first heading
    text: str  # readable text of the section body (not yet lower-cased or tokenized)


@dataclass
class Document:
    name: str  # file name, or "pasted text"
    kind: str  # "pdf" | "text" | "markdown" | "latex" | "cohan"
    title: str | None
    sections: list[Section]  # reading order; references, acknowledgements, appendices removed
    abstract: str | None = None  # when the source has one; never fed to the model as input

    def model_text(self, sections: list[Section] | None = None) -> str:
        """The body (or the given sections) in the training data's style: `cohan_style` applied
        to each section, joined with single spaces, one line. Formula numbers run on across
        sections; Cohan records are already in that style and only get `normalize_text`."""
        chosen = self.sections if sections is None else sections
        if self.kind == "cohan":
            return normalize_text(" ".join(s.text for s in chosen))
        numbers: dict[str, int] = {}
        parts = (cohan_style(s.text, numbers) for s in chosen)
        return " ".join(p for p in parts if p)


# --- Entry points -------------------------------------------------------------------------------


def read_document(
    source: str | os.PathLike | bytes, name: str | None = None, *, max_bytes: int = MAX_BYTES
) -> Document:
    """A path, or the bytes of an uploaded file (then `name` is its file name). The type is
    detected by content as well as extension: '%PDF-' magic, LaTeX by `\\documentclass` /
    `\\begin{document}` / `\\section`, Markdown by '#' headings, a jsonl whose first line is a
    JSON object with 'article_text' is a Cohan record (a file of several: `read_documents`)."""
    if isinstance(source, bytes | bytearray | memoryview):
        name = name or "uploaded file"
        data = bytes(source)
        if len(data) > max_bytes:
            raise IngestError(
                f"{name} is {_size(len(data))}, over the {_size(max_bytes)} limit; "
                "split it or remove images and try again"
            )
    else:
        path = Path(source)
        name = name or path.name or str(path)
        data = _read_file(path, name, max_bytes)
    data = _gunzip(data, name, max_bytes)
    docs = _parse(data, name)
    if len(docs) > 1:
        raise IngestError(
            f"{name} holds {len(docs)} Cohan records; read it with "
            "read_documents or the batch command, which summarize each one"
        )
    return docs[0]


def read_pasted(text: str) -> Document:
    """Text pasted into the web page; LaTeX, Markdown and Cohan jsonl are detected."""
    if not text or not text.strip():
        raise IngestError("The pasted text is empty; paste the paper's text and try again")
    data = text.encode("utf-8", errors="replace")
    if len(data) > MAX_BYTES:
        raise IngestError(
            f"The pasted text is {_size(len(data))}, over the "
            f"{_size(MAX_BYTES)} limit; paste a shorter part of the paper"
        )
    kind = _detect_text_kind(text, PASTED)
    docs = _parse_text(text, PASTED, kind)
    if len(docs) > 1:
        raise IngestError(f"The pasted text holds {len(docs)} Cohan records; paste one at a time")
    return docs[0]


def read_documents(path: str | os.PathLike) -> Iterator[Document]:
    """Like `read_document`, but a Cohan .jsonl / .jsonl.gz file yields one Document per record
    (name = its article_id), streamed, with no size limit; malformed records are skipped with a
    warning. Other files yield exactly one Document."""
    path = Path(path)
    name = path.name or str(path)
    _stat_file(path, name)  # missing, folder, loop, ... -> IngestError before anything else
    if _is_cohan_file(path, name):
        yield from _stream_cohan(path, name)
    else:
        yield read_document(path)


# --- Reading bytes safely -----------------------------------------------------------------------

_stat = os.stat  # module-level so that tests can simulate a file that changes while read


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB" if n >= 1024 * 1024 else f"{n} bytes"


def _stat_file(path: Path, name: str) -> os.stat_result:
    try:
        info = _stat(path)
    except FileNotFoundError:
        if path.is_symlink():
            raise IngestError(
                f"{name} is a link to a file that does not exist; point it at the paper itself"
            ) from None
        raise IngestError(f"{name} does not exist; check the file name and folder") from None
    except PermissionError:
        raise IngestError(
            f"{name} cannot be opened (permission denied); "
            "check the permissions of the file and its folder"
        ) from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise IngestError(
                f"{name} is a symbolic link that points back to itself; "
                "point it at the paper itself"
            ) from None
        raise IngestError(
            f"{name} cannot be opened ({error.strerror or error}); check the path"
        ) from None
    if stat.S_ISDIR(info.st_mode):
        raise IngestError(
            f"{name} is a folder, not a file; choose one document (the batch command takes folders)"
        )
    if not stat.S_ISREG(info.st_mode):
        raise IngestError(f"{name} is not a regular file; save the paper to a file and try again")
    return info


def _read_file(path: Path, name: str, max_bytes: int) -> bytes:
    """The file's bytes, checked against the limit before reading (a 100 MB file is never
    loaded) and read again once if it changed meanwhile (e.g. still being downloaded)."""
    for attempt in range(2):
        before = _stat_file(path, name)
        if before.st_size > max_bytes:
            raise IngestError(
                f"{name} is {_size(before.st_size)}, over the {_size(max_bytes)} "
                "limit; split it or remove images and try again"
            )
        try:
            with open(path, "rb") as handle:
                data = handle.read(max_bytes + 1)
                after = os.fstat(handle.fileno())
        except PermissionError:
            raise IngestError(
                f"{name} cannot be read (permission denied); check the file's permissions"
            ) from None
        except IsADirectoryError:
            raise IngestError(f"{name} is a folder, not a file; choose one document") from None
        except OSError as error:
            raise IngestError(
                f"{name} could not be read ({error.strerror or error}); "
                "copy it to a local folder and try again"
            ) from None
        unchanged = (before.st_size, before.st_mtime_ns) == (after.st_size, after.st_mtime_ns)
        if unchanged and len(data) == after.st_size:
            if len(data) > max_bytes:  # grew past the limit between stat and read
                raise IngestError(
                    f"{name} is over the {_size(max_bytes)} limit; split it and try again"
                )
            return data
        log.info("%s changed while being read (attempt %d)", name, attempt + 1)
    raise IngestError(
        f"{name} changed while being read; wait until it is fully written "
        "(e.g. the download has finished) and try again"
    )


def _gunzip(data: bytes, name: str, max_bytes: int) -> bytes:
    """A gzipped upload (e.g. a Cohan .jsonl.gz) decompressed, refusing gzip bombs."""
    if not data.startswith(b"\x1f\x8b"):
        return data
    try:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = inflater.decompress(data, max_bytes + 1)
    except zlib.error:
        raise IngestError(f"{name} is a damaged gzip file; download it again") from None
    if len(out) > max_bytes:
        raise IngestError(f"{name} unpacks to more than {_size(max_bytes)}; split it and try again")
    return out


def _decode(data: bytes, name: str) -> str:
    """Text from bytes: a BOM wins (UTF-8, UTF-16, UTF-32), then UTF-8, then UTF-16 without
    BOM, then cp1252 and latin-1 (which never fail); binary data is refused."""
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    sample = data[:65536]
    nuls = sample.count(0)
    if nuls > len(sample) // 4:
        # UTF-16 without BOM: every other byte is NUL (for Latin text).
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        if odd > 0.9 * nuls and odd > len(sample) // 4:
            text = data.decode("utf-16-le", errors="replace")
        elif even > 0.9 * nuls and even > len(sample) // 4:
            text = data.decode("utf-16-be", errors="replace")
        else:
            text = ""
        if text and _looks_like_text(text):
            return text
        raise _not_text(name)
    for encoding in ("utf-8", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        text = data.decode("latin-1")
    if not _looks_like_text(text):
        raise _not_text(name)
    return text


def _looks_like_text(text: str) -> bool:
    sample = text[:65536]
    if not sample:
        return True
    control = sum(1 for c in sample if (ord(c) < 32 and c not in "\t\n\r\f") or c == "\ufffd")
    return control <= 0.02 * len(sample)


def _not_text(name: str) -> IngestError:
    what = "PDF" if name.lower().endswith(".pdf") else "text or a PDF"
    return IngestError(
        f"{name} does not look like {what} (it holds binary data); "
        "it may be damaged or of another type, so export it again as PDF or text"
    )


# --- Dispatch -----------------------------------------------------------------------------------


def _parse(data: bytes, name: str) -> list[Document]:
    if not data:
        raise IngestError(f"{name} is empty; choose the file that holds the paper")
    # Some PDFs have a few bytes of junk before the header; readers accept up to 1 KB.
    if b"%PDF-" in data[:1024]:
        return [_read_pdf(data, name)]
    text = _decode(data, name)
    if not text.strip():
        raise IngestError(f"{name} holds only whitespace; choose the file that holds the paper")
    return _parse_text(text, name, _detect_text_kind(text, name))


_LATEX_SIGNS = re.compile(r"\\documentclass|\\begin\{document\}|\\(?:sub)*section\*?\{")
_MARKDOWN_HEADING = re.compile(r"^#{1,6} \S", re.M)


def _detect_text_kind(text: str, name: str) -> str:
    lower = name.lower()
    first_line = text.lstrip("\ufeff \t\r\n").split("\n", 1)[0]
    if first_line.startswith("{") and not isinstance(cohan.parse_record(first_line), str):
        return "cohan"
    if lower.endswith((".tex", ".latex")) or _LATEX_SIGNS.search(text):
        return "latex"
    if lower.endswith((".md", ".markdown")) or _MARKDOWN_HEADING.search(text):
        return "markdown"
    return "text"


def _parse_text(text: str, name: str, kind: str) -> list[Document]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if kind == "cohan":
        docs = [d for line in text.split("\n") if (d := _cohan_document(line, name))]
        if not docs:
            raise IngestError(
                f"{name} holds no usable Cohan records (each line needs "
                "'article_text' with sentences); check the file"
            )
        return docs
    reader: Callable[[str, str], Document] = {
        "latex": _read_latex,
        "markdown": _read_markdown,
        "text": _read_plain,
    }[kind]
    return [reader(text, name)]


# --- Sections: what counts as back matter -------------------------------------------------------

_NUMBERING = re.compile(r"^\s*(?:(?:\d+(?:\.\d+)*|[IVX]+|[A-Z])[.)]?\s+)?")
_STOP = re.compile(
    r"^(references?|bibliography|literature cited|works cited|appendix|appendices"
    r"|supplementary\b.*|supplemental\b.*|checklist|.*paper checklist)\b",
    re.I,
)
_DROP = re.compile(
    r"^(acknowledge?ments?|funding|author contributions?|competing interests"
    r"|conflicts? of interest|declaration of competing interest"
    r"|data availability|ethics statement)\b",
    re.I,
)


def _heading_key(heading: str) -> str:
    return _NUMBERING.sub("", heading).strip().strip(".:").strip()


def _assemble(
    kind: str, name: str, title: str | None, raw: list[tuple[str, str]], abstract: str | None
) -> Document:
    """A Document from (heading, text) pairs in reading order: stop at references or
    appendices, drop acknowledgements and similar, move a short "Abstract" section to
    `abstract`, and drop the front matter before an abstract (title, authors)."""
    sections: list[Section] = []
    for heading, body in raw:
        key = _heading_key(heading)
        if _STOP.match(key):
            break
        if _DROP.match(key):
            continue
        short = len(body.split()) <= _MAX_ABSTRACT_WORDS
        if key.lower() == "abstract" and abstract is None and short:
            abstract = body.strip() or None
            sections = []  # what came before was the title block
            continue
        sections.append(Section(heading.strip(), body.strip()))
    sections = [s for s in sections if s.text]
    if not sections:
        raise IngestError(
            f"{name} has no readable body text after removing headings and back "
            "matter; check that it is the paper itself"
        )
    return Document(name=name, kind=kind, title=title or None, sections=sections, abstract=abstract)


# Lines that are section headings in PDF or plain text: "2.1 Method", "IV. RESULTS", or a known
# unnumbered name on its own line.
_KNOWN_HEADINGS = (
    r"abstract|introduction|related work|background|preliminaries|methods?|methodology"
    r"|materials and methods|approach|model|experiments?|experimental setup|setup|evaluation"
    r"|results|results and discussion|discussion|analysis|conclusions?|conclusions? and future work"
    r"|summary|limitations|future work|acknowledge?ments?|references|bibliography|appendix"
    r"|appendices|supplementary materials?"
)
_NUMBERED_HEADING = re.compile(r"^(?:\d{1,2}(?:\.\d{1,2}){0,3}\.?|[IVX]{1,5}\.)\s+([A-Z][^\n]*)$")
_NAMED_HEADING = re.compile(
    rf"^(?:(?:\d{{1,2}}|[IVX]{{1,5}})\.?\s+)?({_KNOWN_HEADINGS})\.?:?$", re.I
)
_INLINE_ABSTRACT = re.compile(r"^(abstract)\s*[.:—–-]\s*(\S.*)$", re.I)
_APPENDIX_HEADING = re.compile(r"^(?:appendix|[A-H](?:\.\d{1,2})*)\s+[A-Z][^\n]{0,80}$")


def _is_heading(line: str) -> bool:
    line = line.strip()
    if not line or len(line) > 90:
        return False
    if _NAMED_HEADING.match(line):
        return True
    match = _NUMBERED_HEADING.match(line)
    if not match:
        return False
    words = match.group(1).split()
    letters = sum(c.isalpha() for c in match.group(1))
    numbers = sum(bool(_NUMBER.fullmatch(w)) for w in words)
    # A heading is short, mostly letters, and not a sentence or a table row. It may end in a
    # number ("5 Pulsations in HD 163899"); a row of numbers ("2 Baseline 0.93 0.87") is not.
    return (
        len(words) <= 10
        and letters >= 0.6 * len(match.group(1).replace(" ", ""))
        and not line.endswith((".", ",", ";"))
        and numbers <= 1
        and numbers <= len(words) // 3
    )


_NUMBER = re.compile(r"[-+]?\d[\d.,]*%?")
_NOT_A_HEADING = re.compile(r"^(?:table|fig(?:ure)?|eq(?:uation)?|algorithm|listing)\b", re.I)


def _is_bare_heading(line: str) -> bool:
    """An unnumbered heading of pasted text ("Observations and data reduction"): a short
    line that starts with a capital and ends without punctuation. The caller also asks for a
    blank line before it and prose after it."""
    words = line.split()
    return (
        1 <= len(words) <= 8
        and line[0].isupper()
        and not line.endswith((".", ",", ";", ":", "?", "!"))
        and "," not in line
        and not _NOT_A_HEADING.match(line)
        and sum(any(c.isalpha() for c in w) for w in words) >= max(1, len(words) - 1)
    )


def _split_lines(lines: list[str], bare_headings: bool = False) -> list[tuple[str, str]]:
    """(heading, text) pairs from lines of PDF or plain text; blank lines mark paragraphs.
    With `bare_headings` (typed or pasted text, whose lines are paragraphs), a short line after
    a blank line and before a line of prose is a heading too, except the first line (a title)."""
    raw: list[tuple[str, list[str]]] = [("", [])]
    started = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        inline = _INLINE_ABSTRACT.match(stripped)
        after_blank = i > 0 and not lines[i - 1].strip()
        before_prose = i + 1 < len(lines) and len(lines[i + 1].split()) > 8
        if inline and raw[-1][0] == "":  # "Abstract. We ..." in the front matter
            raw.append(("Abstract", [inline.group(2)]))
        elif _is_heading(stripped) or (
            bare_headings and started and after_blank and before_prose
            and _is_bare_heading(stripped)
        ):  # fmt: skip
            raw.append((re.sub(r"\s+", " ", stripped).rstrip(".:"), []))
        else:
            raw[-1][1].append(stripped)
        started = started or bool(stripped)
    return [(h, _join_lines(body)) for h, body in raw]


def _join_lines(lines: list[str]) -> str:
    """Lines to paragraphs: words broken across lines are rejoined ("trans-\\nformer" ->
    "transformer"), lines joined with spaces, blank lines kept as paragraph breaks."""
    paragraphs: list[str] = []
    current = ""
    for line in lines:
        if not line:
            if current:
                paragraphs.append(current)
            current = ""
        elif re.search(r"[A-Za-z]{2}-$", current) and re.match(r"[a-z]", line):
            # Keep the hyphen of compounds already hyphenated ("state-of-the-\nart").
            word = current.rsplit(" ", 1)[-1]
            current = current + line if "-" in word[:-1] else current[:-1] + line
        else:
            current = f"{current} {line}" if current else line
    if current:
        paragraphs.append(current)
    return "\n\n".join(paragraphs)


# --- PDF ----------------------------------------------------------------------------------------


def _read_pdf(data: bytes, name: str) -> Document:
    import pypdf  # imported here: only PDFs need it, and it is slow to import
    from pypdf.errors import DependencyError, FileNotDecryptedError

    damaged = IngestError(f"{name} is a damaged or incomplete PDF; download or export it again")
    if b"%%EOF" not in data[-4096:]:
        raise damaged  # truncated download: pypdf would guess at the missing part
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:  # owner-password-only PDFs open with an empty user password
                opened = reader.decrypt("")
            except (DependencyError, NotImplementedError):
                opened = 0
            if not opened:
                raise IngestError(
                    f"{name} is encrypted; remove the password "
                    "(e.g. print it to a new PDF) and try again"
                )
        pages = list(reader.pages)
        metadata_title = _pdf_title(reader)
    except IngestError:
        raise
    except FileNotDecryptedError:
        raise IngestError(f"{name} is encrypted; remove the password and try again") from None
    except Exception as error:  # pypdf raises many types on damaged files
        log.info("pypdf could not open %s: %r", name, error)
        raise damaged from None
    if not pages:
        raise IngestError(f"{name} has no pages; export the PDF again")

    page_lines: list[list[str]] = []
    for number, page in enumerate(pages, start=1):
        try:
            text = page.extract_text() or ""
        except Exception as error:  # one bad page should not lose the paper
            log.warning("%s: page %d could not be read (%r)", name, number, error)
            text = ""
        page_lines.append([line.rstrip() for line in text.splitlines()])
    empty = sum(1 for lines in page_lines if not any(c.isalpha() for c in "".join(lines)))
    if empty == len(pages):
        raise IngestError(
            f"{name} has no text layer (it looks scanned); run OCR first "
            "(e.g. ocrmypdf) and try again"
        )
    if empty:
        log.warning("%s: %d of %d pages have no text layer (scanned?)", name, empty, len(pages))

    page_lines = _drop_running_lines(page_lines)
    first_lines = [line.strip() for line in page_lines[0] if line.strip()]
    title = metadata_title or (first_lines[0] if first_lines else None)
    lines = [line for lines in page_lines for line in lines]
    return _assemble("pdf", name, title, _split_lines(lines), None)


def _pdf_title(reader) -> str | None:
    try:
        title = (reader.metadata or {}).get("/Title")
    except Exception:  # broken info dictionary
        return None
    title = str(title).strip() if title else ""
    # Word and LaTeX often leave a file name or a placeholder as the title.
    if (
        not title
        or title.lower() in {"untitled", "title"}
        or re.search(r"\.(docx?|pdf|tex|dvi)$|^microsoft word", title, re.I)
    ):
        return None
    return title


_PAGE_NUMBER = re.compile(
    r"^\s*(?:page\s+)?[-–]?\s*\d{1,4}\s*[-–]?(?:\s*(?:of|/)\s*\d{1,4})?\s*$", re.I
)


def _drop_running_lines(pages: list[list[str]]) -> list[list[str]]:
    """Remove page headers and footers: lines among the first or last three of a page that
    repeat (digits ignored, so "Page 3" matches "Page 4") on most pages, and page numbers."""
    edge = 3

    def key(line: str) -> str:
        return re.sub(r"\d+", "#", line.strip().lower())

    counts: Counter[str] = Counter()
    for lines in pages:
        nonblank = [line for line in lines if line.strip()]
        counts.update({key(line) for line in nonblank[:edge] + nonblank[-edge:]})
    threshold = max(2, (len(pages) + 1) // 2)
    running = {k for k, n in counts.items() if n >= threshold and k} if len(pages) > 1 else set()

    cleaned = []
    for lines in pages:
        positions = [i for i, line in enumerate(lines) if line.strip()]
        edges = set(positions[:edge] + positions[-edge:])
        cleaned.append(
            [
                line
                for i, line in enumerate(lines)
                if i not in edges or (key(line) not in running and not _PAGE_NUMBER.match(line))
            ]
        )
    return cleaned


# --- Plain text ---------------------------------------------------------------------------------


def _read_plain(text: str, name: str) -> Document:
    lines = text.split("\n")
    first = next((line.strip() for line in lines if line.strip()), "")
    raw = _split_lines(lines, bare_headings=True)
    # A short first line above the first heading reads as the title.
    title = first if raw and len(raw) > 1 and len(first) <= 200 and not _is_heading(first) else None
    return _assemble("text", name, title, raw, None)


# --- Markdown -----------------------------------------------------------------------------------

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT = re.compile(r"^(=+|-+)\s*$")


def _read_markdown(text: str, name: str) -> Document:
    text = re.sub(r"\A---\n.*?\n(?:---|\.\.\.)\n", "", text, flags=re.S)  # YAML front matter
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    text = re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", text, flags=re.S | re.M)  # code fences
    title: str | None = None
    raw: list[tuple[str, list[str]]] = [("", [])]
    lines = text.split("\n")
    for i, line in enumerate(lines):
        heading = _MD_HEADING.match(line)
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if heading:
            level, words = len(heading.group(1)), _strip_markdown(heading.group(2))
            body_seen = any(text.strip() for _, body in raw for text in body)
            if level == 1 and title is None and not body_seen:
                title = words  # the first "# " heading, before any body text
                continue
            raw.append((words, []))
        elif line.strip() and _SETEXT.match(nxt) and len(nxt.strip()) >= 3:
            words = _strip_markdown(line)
            if nxt.strip()[0] == "=" and title is None:
                title = words
            else:
                raw.append((words, []))
        elif _SETEXT.match(line) and i > 0 and lines[i - 1].strip():
            continue  # the underline of a setext heading
        else:
            raw[-1][1].append(line)
    pairs = [(h, _markdown_body(body)) for h, body in raw]
    return _assemble("markdown", name, title, pairs, None)


def _markdown_body(lines: list[str]) -> str:
    kept = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("|") or re.match(r"^[-*_]{3,}$", stripped):
            continue  # tables and rules: the training data has none
        if re.match(r"^\[[^\]]+\]:\s*\S+", stripped):
            continue  # link definitions
        stripped = re.sub(r"^(?:>\s?)+", "", stripped)  # block quotes
        stripped = re.sub(r"^(?:[-*+]|\d{1,3}[.)])\s+", "", stripped)  # list markers
        kept.append(_strip_markdown(stripped).strip())
    return _join_lines(kept)


def _strip_markdown(text: str) -> str:
    """Inline Markdown to plain text; math spans are protected so that `*` and `_` in
    formulas are not taken for emphasis."""

    def clean(part: str) -> str:
        part = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", part)  # images
        part = re.sub(r"!\[[^\]]*\]\[[^\]]*\]", "", part)
        part = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", part)  # links -> their text
        part = re.sub(r"\[([^\]]+)\]\[[^\]]*\]", r"\1", part)
        part = re.sub(r"<(https?://[^>]+)>", r"\1", part)
        part = re.sub(r"</?[A-Za-z][^>]*>", "", part)  # HTML tags
        part = re.sub(r"`([^`]*)`", r"\1", part)
        part = re.sub(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", r"\2", part)
        part = re.sub(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])", r"\1", part)
        part = re.sub(r"(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)", r"\1", part)
        return re.sub(r"~~(.+?)~~", r"\1", part)

    return _outside_math(text, clean)


def _outside_math(text: str, fn: Callable[[str], str]) -> str:
    """`fn` applied to the text between LaTeX math spans, the spans left as they are."""
    out, last = [], 0
    for match in LATEX_MATH.finditer(text):
        out.append(fn(text[last : match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(fn(text[last:]))
    return "".join(out)


# --- LaTeX --------------------------------------------------------------------------------------

_DROP_ENVS = (
    r"figure|table|wrapfigure|sidewaystable|sidewaysfigure|algorithm|algorithmic"
    r"|lstlisting|verbatim|minted|tikzpicture|tabular|thebibliography|comment"
)
_SECTION = re.compile(
    r"\\(part|chapter|section|subsection|subsubsection|paragraph)\*?\s*"
    r"(?:\[[^\]]*\])?\s*\{"
)
# Commands whose argument is not text: removed with it.
_DROP_WITH_ARG = (
    r"label|ref|eqref|cref|Cref|autoref|pageref|nameref|vspace|hspace|includegraphics"
    r"|bibliographystyle|bibliography|thanks|footnote|footnotetext|author|date"
    r"|affiliation|address|email|institute|keywords|input|include|usepackage"
    r"|documentclass|newcommand|renewcommand|providecommand|DeclareMathOperator"
    r"|setlength|addtolength|setcounter|pagestyle|thispagestyle|newtheorem|caption"
    r"|url|orcid|icmlauthor|icmlaffiliation|icmlcorrespondingauthor|icmlkeywords"
)


def _brace_end(text: str, start: int) -> int:
    """Index just after the group whose "{" is at `start` (or the end of the text)."""
    depth = 0
    i = start
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(text)


def _command_arg(text: str, pattern: str) -> tuple[str, int, int] | None:
    """The first `\\name[opt]{arg}` matching `pattern`: (arg, start, end)."""
    match = re.search(rf"\\(?:{pattern})\*?\s*(?:\[[^\]]*\]\s*)?\{{", text)
    if not match:
        return None
    end = _brace_end(text, match.end() - 1)
    return text[match.end() : end - 1], match.start(), end


def _read_latex(text: str, name: str) -> Document:
    text = re.sub(r"(?<!\\)%.*", "", text)  # comments
    title_arg = _command_arg(text, "title")
    title = _latex_to_text(title_arg[0]).strip() if title_arg else None
    body = re.search(r"\\begin\{document\}(.*?)(?:\\end\{document\}|\Z)", text, re.S)
    text = body.group(1) if body else text
    text = re.sub(
        r"\\(?:appendix|begin\{appendix\}|printbibliography|bibliography\{).*", "", text, flags=re.S
    )  # back matter, to the end
    text = re.sub(rf"\\begin\{{({_DROP_ENVS})\*?\}}.*?\\end\{{\1\*?\}}", " ", text, flags=re.S)

    abstract = None
    found = re.search(r"\\begin\{abstract\}(.*?)\\end\{abstract\}", text, re.S)
    if found:
        abstract = _latex_to_text(found.group(1)).strip() or None
        text = text[: found.start()] + text[found.end() :]
    else:
        abstract_arg = _command_arg(text, "abstract")
        if abstract_arg:
            abstract = _latex_to_text(abstract_arg[0]).strip() or None
            text = text[: abstract_arg[1]] + text[abstract_arg[2] :]

    raw: list[tuple[str, str]] = []
    position, heading = 0, ""
    for match in _SECTION.finditer(text):
        if match.start() < position:
            continue  # a \section inside the previous heading's argument
        raw.append((heading, text[position : match.start()]))
        end = _brace_end(text, match.end() - 1)
        heading = _latex_to_text(text[match.end() : end - 1]).strip()
        position = end
    raw.append((heading, text[position:]))
    if body and len(raw) > 1:
        raw = raw[1:]  # before the first \section: \maketitle and the title block
    pairs = [(h, _latex_to_text(b)) for h, b in raw]
    return _assemble("latex", name, title, pairs, abstract)


def _latex_to_text(text: str) -> str:
    """LaTeX body to readable text; math and \\cite are kept for `cohan_style`."""
    return _outside_math(text, _latex_text_part).strip()


def _latex_text_part(text: str) -> str:
    while found := _command_arg(text, _DROP_WITH_ARG):
        text = text[: found[1]] + " " + text[found[2] :]
    text = re.sub(r"\\href\s*\{[^}]*\}", "", text)
    text = re.sub(r"\\item(?:\s*\[[^\]]*\])?", "\n", text)
    text = re.sub(r"\\(?:begin|end)\s*\{[^}]*\}(?:\[[^\]]*\])?", "\n", text)
    text = re.sub(r"\\\\(?:\[[^\]]*\])?|\\newline|\\par\b", "\n", text)
    text = re.sub(r"\n\s*\n", "\n\n", text)
    text = text.replace("~", " ").replace("---", "—").replace("--", "–")
    text = re.sub(r"\\([%&$#_{}])", r"\1", text)
    text = re.sub(r"\\[`'^\"~=.](?:\{(\w)\}|(\w))", r"\1\2", text)  # accents: \'e -> e
    # Other commands: keep their argument's text ("\emph{x}" -> "x"), drop the name; \cite is
    # left whole for cohan_style.
    text = re.sub(r"\\(?!(?:no)?cite)[A-Za-z]+\*?(?:\[[^\]]*\])?", "", text)
    text = _strip_braces_keep_cites(text)
    return re.sub(r"[ \t]+", " ", text)


def _strip_braces_keep_cites(text: str) -> str:
    parts = re.split(r"(\\(?:no)?cite[A-Za-z]*\*?(?:\s*\[[^\]]*\]){0,2}\s*\{[^}]*\})", text)
    return "".join(p if i % 2 else p.replace("{", "").replace("}", "") for i, p in enumerate(parts))


# --- Cohan jsonl --------------------------------------------------------------------------------


def _cohan_document(line: str, name: str) -> Document | None:
    if not line.strip():
        return None
    record = cohan.parse_record(line)
    if isinstance(record, str):
        log.warning("%s: skipped a line that is not a usable Cohan record (%s)", name, record)
        return None
    body = normalize_text(" ".join(record["article_text"]))
    if not body:
        log.warning("%s: skipped a Cohan record with an empty article", name)
        return None
    ident = str(record.get("article_id") or name)
    sections = [Section("", body)]
    names, parts = record.get("section_names"), record.get("sections")
    # Sections only where they hold exactly the article text, so the model sees what it
    # was trained on.
    if (
        isinstance(names, list)
        and isinstance(parts, list)
        and len(names) == len(parts)
        and all(isinstance(p, list) and all(isinstance(s, str) for s in p) for p in parts)
    ):
        split = [
            Section(str(h), normalize_text(" ".join(p))) for h, p in zip(names, parts, strict=True)
        ]
        if normalize_text(" ".join(s.text for s in split)) == body:
            sections = [s for s in split if s.text]
    abstract = None
    if record["abstract_text"] is not None:
        abstract = join_summary(record["abstract_text"]) or None
    return Document(name=ident, kind="cohan", title=None, sections=sections, abstract=abstract)


def _is_cohan_file(path: Path, name: str) -> bool:
    if not path.name.lower().endswith((".jsonl", ".jsonl.gz", ".json", ".gz")):
        return False
    try:
        with cohan.open_text(path) as handle:
            first = handle.readline(16 * 1024 * 1024)
    except (OSError, EOFError, UnicodeError):
        return False  # read_document will say what is wrong
    return not isinstance(cohan.parse_record(first), str)


def _stream_cohan(path: Path, name: str) -> Iterator[Document]:
    try:
        with cohan.open_text(path) as handle:
            for line in handle:
                doc = _cohan_document(line, name)
                if doc:
                    yield doc
    except PermissionError:
        raise IngestError(
            f"{name} cannot be read (permission denied); check the file's permissions"
        ) from None
    except (OSError, EOFError, zlib.error) as error:
        raise IngestError(f"{name} ends early or is damaged ({error}); download it again") from None
