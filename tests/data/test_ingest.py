"""Document ingestion: every supported format, and every way a file can be unusable.

Test PDFs are generated here with fpdf2 (and encrypted with pypdf), so no binary fixtures.
"""

from __future__ import annotations

import gzip
import io
import json
import os
from pathlib import Path

import pytest
from fpdf import FPDF

import data.ingest as ingest
from data.ingest import (
    Document,
    IngestError,
    Section,
    read_document,
    read_documents,
    read_pasted,
)
from data.normalize import cohan_style, join_article, normalize_text, tokenize_like_cohan
from summarizer.paths import REPO_ROOT

SHARED = REPO_ROOT.parent / "shared" / "data"

# --- cohan_style ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("readable", "cohan"),
    [
        (
            "The model (see Fig. 1) works, as Smith et al. (2010) showed [3, 7].",
            "the model ( see fig . 1 ) works , as smith et al . @xcite showed @xcite .",
        ),
        (
            "We use $x^2 + y$ and \\(\\alpha\\), then $x^2+y$ again; it costs $5 and $10.",
            "we use @xmath0 and @xmath1 , then @xmath0 again ; it costs $5 and $10 .",
        ),
        (
            "Alice's model doesn't use x-ray or GLP-1 data (Smith, 2010; Jones and Lee 2011a).",
            "alice s model does n't use x - ray or glp-1 data @xcite .",
        ),
        (
            'An "ablation" study, i.e. the e.g. f(x) method(s) in the U.S. etc.',
            "an `` ablation '' study , i.e. the e.g. f(x) method(s) in the u.s. etc .",
        ),
        (
            "Results \\cite{a,b} and \\citep[p.~3]{c} cover 1,000 cases, 5% vs. 10% [2-5].",
            "results @xcite and @xcite cover 1,000 cases , 5% vs. 10% @xcite .",
        ),
        (
            "\\begin{equation} E = mc^2 \\end{equation} where $E$ is energy, in [0, 1].",
            "@xmath0 where @xmath1 is energy , in [ 0 , 1 ] .",
        ),
        (
            "The ﬁrst @xmath3-dimensional case: $a$.",  # a ligature; an existing placeholder
            "the first @xmath3-dimensional case : @xmath4 .",
        ),
    ],
)
def test_cohan_style_maps_math_citations_and_punctuation(readable: str, cohan: str) -> None:
    assert cohan_style(readable) == cohan
    assert cohan_style(cohan) == cohan  # idempotent


def test_cohan_style_numbers_formulas_across_sections() -> None:
    numbers: dict[str, int] = {}
    first = cohan_style("Let $x$ and $y$.", numbers)
    second = cohan_style("Then $y$ and $z$.", numbers)
    assert (first, second) == ("let @xmath0 and @xmath1 .", "then @xmath1 and @xmath2 .")


def _val_articles(per_file: int) -> list[str]:
    articles = []
    for corpus in ("arxiv", "pubmed"):
        path = SHARED / corpus / "val.jsonl.gz"
        if not path.exists():
            pytest.skip(f"{path} not present (shared Cohan validation data)")
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for _, line in zip(range(per_file), handle, strict=False):
                articles.append(join_article(json.loads(line)["article_text"]))
    return articles


def test_cohan_style_leaves_real_cohan_records_unchanged() -> None:
    for article in _val_articles(per_file=100):
        assert cohan_style(article) == article


def test_tokenizer_agrees_with_cohan_tokenization() -> None:
    # Without the already-Cohan shortcut, the tokenizer alone must be nearly a no-op on
    # Cohan's text (measured: 0.12% more tokens on all 200 val records, all of it LaTeX debris
    # such as "gamn)n").
    changed = total = 0
    for article in _val_articles(per_file=8):
        before, after = article.split(), normalize_text(tokenize_like_cohan(article)).split()
        total += len(before)
        changed += len(after) - len(before)  # the tokenizer only ever splits tokens
    assert 0 <= changed < 0.005 * total


# --- PDF ------------------------------------------------------------------------------------------

HEADER = "Preprint under review - Journal of Sparse Models"
PAGES = [
    [
        "Sparse Transformers for Long Papers",
        "Ada Lovelace, Analytical Engine Lab",
        "Abstract",
        "We study sparse models for summarization.",
        "1 Introduction",
        "Long documents are hard to summarize with dense trans-",
        "formers because attention is quadratic [1].",
    ],
    [
        "2 Method",
        "We propose a sparse model (Smith et al., 2010).",
        "2.1 Sparse Attention",
        "Each token attends to a bucket of neighbours.",
        "3 Results",
        "The model reaches higher ROUGE than the baseline.",
    ],
    [
        "4 Conclusion",
        "Sparse is enough.",
        "References",
        "[1] A. Vaswani et al. Attention is all you need. 2017.",
        "Appendix A Proofs",
        "The proof is left to the reader.",
    ],
]


def make_pdf(pages: list[list[str]], title: str | None = None, header: bool = True) -> bytes:
    pdf = FPDF()
    pdf.set_auto_page_break(False)
    pdf.set_font("Helvetica", size=11)
    if title:
        pdf.set_title(title)
    for number, lines in enumerate(pages, start=1):
        pdf.add_page()
        if header:
            pdf.set_xy(10, 8)
            pdf.cell(0, 5, HEADER)
        for row, line in enumerate(lines):
            pdf.set_xy(10, 30 + 8 * row)
            pdf.cell(0, 6, line)
        if header:
            pdf.set_xy(100, 285)
            pdf.cell(0, 5, str(number))
    return bytes(pdf.output())


@pytest.fixture(scope="module")
def paper_pdf() -> bytes:
    return make_pdf(PAGES, title="A Study of Sparse Transformers")


def test_pdf_extraction_keeps_body_and_removes_page_furniture(paper_pdf: bytes) -> None:
    doc = read_document(paper_pdf, "paper.pdf")
    assert doc.kind == "pdf" and doc.name == "paper.pdf"
    assert doc.title == "A Study of Sparse Transformers"  # from the PDF metadata
    assert [s.heading for s in doc.sections] == [
        "1 Introduction",
        "2 Method",
        "2.1 Sparse Attention",
        "3 Results",
        "4 Conclusion",
    ]
    assert doc.abstract == "We study sparse models for summarization."
    body = "\n".join(s.text for s in doc.sections)
    assert "dense transformers because" in body  # de-hyphenated across the line break
    assert "Journal of Sparse Models" not in body  # running header
    assert "Ada Lovelace" not in body  # title block before the abstract
    assert "Vaswani" not in body and "proof" not in body  # references and appendix
    assert not any(line.strip().isdigit() for line in body.splitlines())  # page numbers
    assert doc.model_text() == (
        "long documents are hard to summarize with dense transformers because attention is "
        "quadratic @xcite . we propose a sparse model @xcite . each token attends to a bucket "
        "of neighbours . the model reaches higher rouge than the baseline . sparse is enough ."
    )


def test_pdf_title_from_first_line_and_pdf_detected_by_content(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"  # a PDF with the wrong extension
    path.write_bytes(make_pdf(PAGES[:2], header=False))
    doc = read_document(path)
    assert doc.kind == "pdf"
    assert doc.title == "Sparse Transformers for Long Papers"


def test_encrypted_pdf(paper_pdf: bytes) -> None:
    import pypdf

    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(paper_pdf)))
    writer.encrypt("secret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(IngestError, match=r"paper\.pdf is encrypted; remove the password"):
        read_document(out.getvalue(), "paper.pdf")


def test_pdf_with_only_an_owner_password_is_read(paper_pdf: bytes) -> None:
    import pypdf

    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(paper_pdf)))
    writer.encrypt("", owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    assert read_document(out.getvalue(), "paper.pdf").sections[0].heading == "1 Introduction"


def test_scanned_pdf_without_text_layer() -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 150, 200, style="F")  # a "scanned page": marks but no text
    with pytest.raises(IngestError, match=r"has no text layer .*run OCR first"):
        read_document(bytes(pdf.output()), "scan.pdf")


def test_truncated_and_corrupt_pdfs(paper_pdf: bytes) -> None:
    with pytest.raises(IngestError, match="damaged or incomplete PDF"):
        read_document(paper_pdf[: len(paper_pdf) // 2], "cut.pdf")
    corrupt = b"%PDF-1.7\n" + os.urandom(3000) + b"\n%%EOF\n"
    with pytest.raises(IngestError, match="damaged or incomplete PDF"):
        read_document(corrupt, "corrupt.pdf")


def test_binary_garbage_named_pdf() -> None:
    garbage = bytes(range(256)) * 40
    with pytest.raises(IngestError, match=r"junk\.pdf does not look like PDF"):
        read_document(garbage, "junk.pdf")
    with pytest.raises(IngestError, match="does not look like text or a PDF"):
        read_document(garbage, "junk.bin")


# --- LaTeX, Markdown, text ------------------------------------------------------------------------

LATEX = r"""\documentclass{article}
\usepackage{amsmath} % comment: \section{Not a section}
\title{Sparse \emph{Terraformers}}
\author{Ada Lovelace\thanks{Engine Lab}}
\begin{document}
\maketitle
\begin{abstract}
We study sparse models.
\end{abstract}
\section{Introduction}\label{sec:intro}
Transformers~\cite{vaswani2017} are \emph{dense}; see Section~\ref{sec:method}.
\begin{figure}[t]\includegraphics{fig.pdf}\caption{A figure caption.}\end{figure}
\section{Method}
The cost is $O(n^2)$, and
\begin{equation}
  E = mc^2 \label{eq:e}
\end{equation}
holds \citep[p.~2]{smith2010}. Costs 50\% less.
\section*{Acknowledgments}
We thank the reviewers.
\bibliographystyle{plain}
\bibliography{refs}
\end{document}
"""


def test_latex() -> None:
    doc = read_document(LATEX.encode(), "paper.tex")
    assert doc.kind == "latex"
    assert doc.title == "Sparse Terraformers"
    assert doc.abstract == "We study sparse models."
    assert [s.heading for s in doc.sections] == ["Introduction", "Method"]
    intro, method = (s.text for s in doc.sections)
    assert "\\emph" not in intro and "dense" in intro and "\\ref" not in intro
    assert "caption" not in intro  # figure environment dropped
    assert "$O(n^2)$" in method  # math kept for cohan_style
    assert doc.model_text() == (
        "transformers @xcite are dense ; see section . the cost is @xmath0 , and @xmath1 holds "
        "@xcite . costs 50% less ."
    )


MARKDOWN = """---
author: someone
---
# Sparse Terraformers

## Abstract
We study *sparse* models.

## 1 Introduction
Transformers [are dense](https://example.org) **and slow**. ![a plot](plot.png)

```python
print("code is dropped")
```

| a | b |
|---|---|
| 1 | 2 |

- a list item with `code`

## References
1. Someone. A paper. 2020.
"""


def test_markdown() -> None:
    doc = read_document(MARKDOWN.encode(), "paper.md")
    assert doc.kind == "markdown"
    assert doc.title == "Sparse Terraformers"
    assert doc.abstract == "We study sparse models."
    assert [s.heading for s in doc.sections] == ["1 Introduction"]
    assert doc.sections[0].text == ("Transformers are dense and slow.\n\na list item with code")


def test_plain_text_headings_and_single_section() -> None:
    text = (
        "A Study of Things\n\n1 Introduction\nWe look at things.\n\n2 Results\nThings work.\n\n"
        "Acknowledgements\nThanks.\n\nReferences\n[1] Someone.\n"
    )
    doc = read_document(text.encode(), "paper.txt")
    assert doc.kind == "text" and doc.title == "A Study of Things"
    assert [(s.heading, s.text) for s in doc.sections] == [
        ("", "A Study of Things"),
        ("1 Introduction", "We look at things."),
        ("2 Results", "Things work."),
    ]
    plain = read_document(b"Just one paragraph of notes, with no headings at all.", "n.txt")
    assert [s.heading for s in plain.sections] == [""] and plain.title is None


def test_read_pasted_detects_format() -> None:
    assert read_pasted("# Title\n\n## Intro\nSome text.").kind == "markdown"
    latex = read_pasted("\\section{Intro}\nText with $x$.")
    assert latex.kind == "latex" and latex.name == "pasted text"
    assert latex.model_text() == "text with @xmath0 ."
    assert read_pasted("Some words.").kind == "text"
    with pytest.raises(IngestError, match="pasted text is empty"):
        read_pasted("  \n ")


def test_model_text_of_given_sections() -> None:
    doc = Document("x", "text", None, [Section("A", "First $a$."), Section("B", "Then $b$.")])
    assert doc.model_text([doc.sections[1]]) == "then @xmath0 ."
    assert doc.model_text() == "first @xmath0 . then @xmath1 ."


# --- Encodings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encoded",
    [
        "Café naïve résumé – déjà vu.".encode("latin-1", errors="replace"),
        "Café naïve résumé – déjà vu.".encode("cp1252"),
        "Café naïve résumé – déjà vu.".encode("utf-8-sig"),
        "Café naïve résumé – déjà vu.".encode("utf-16"),  # with BOM
        "Café naïve résumé – déjà vu.".encode("utf-16-le"),  # without BOM
    ],
)
def test_text_encodings(encoded: bytes) -> None:
    text = read_document(encoded, "notes.txt").sections[0].text
    assert text.startswith("Café naïve résumé")


# --- Files: sizes, permissions, links, races ------------------------------------------------------


def test_empty_and_whitespace_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    with pytest.raises(IngestError, match=r"empty\.pdf is empty"):
        read_document(empty)
    blank = tmp_path / "blank.txt"
    blank.write_text(" \n\t\n  ")
    with pytest.raises(IngestError, match="holds only whitespace"):
        read_document(blank)


def test_size_limit(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="over the 100 bytes limit"):
        read_document(b"x" * 101, "big.txt", max_bytes=100)
    path = tmp_path / "big.txt"
    path.write_bytes(b"word " * 30)
    with pytest.raises(IngestError, match="over the 100 bytes limit"):
        read_document(path, max_bytes=100)


def test_huge_file_is_refused_before_reading(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "huge.txt"
    with open(path, "wb") as handle:
        handle.truncate(100 * 1024 * 1024)  # sparse: no 100 MB written

    def no_open(*args, **kwargs):
        raise AssertionError("the file was opened although it is over the limit")

    monkeypatch.setattr(ingest, "open", no_open, raising=False)
    with pytest.raises(IngestError, match=r"huge\.txt is 100 MB, over the 50 MB limit"):
        read_document(path)


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="running as root: chmod 000 does not stop root from reading (simulated below)",
)
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "locked.txt"
    path.write_text("secret paper")
    path.chmod(0)
    try:
        with pytest.raises(IngestError, match="permission denied"):
            read_document(path)
    finally:
        path.chmod(0o600)


def test_unreadable_file_simulated(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "locked.txt"
    path.write_text("secret paper")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(ingest, "open", denied, raising=False)
    with pytest.raises(IngestError, match=r"locked\.txt cannot be read \(permission denied\)"):
        read_document(path)


def test_symlink_loop_broken_link_missing_file_and_folder(tmp_path: Path) -> None:
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    with pytest.raises(IngestError, match="symbolic link that points back to itself"):
        read_document(tmp_path / "a")
    os.symlink(tmp_path / "gone.pdf", tmp_path / "link.pdf")
    with pytest.raises(IngestError, match="link to a file that does not exist"):
        read_document(tmp_path / "link.pdf")
    with pytest.raises(IngestError, match=r"missing\.pdf does not exist"):
        read_document(tmp_path / "missing.pdf")
    with pytest.raises(IngestError, match="is a folder, not a file"):
        read_document(tmp_path)
    with pytest.raises(IngestError, match="is a folder, not a file"):
        list(read_documents(tmp_path))


def test_names_with_spaces_and_unicode(tmp_path: Path) -> None:
    path = tmp_path / "my paper – résumé 论文.md"
    path.write_text("# Title\n\n## Intro\nBody text.", encoding="utf-8")
    doc = read_document(path)
    assert doc.name == "my paper – résumé 论文.md" and doc.sections[0].text == "Body text."
    assert [d.name for d in read_documents(str(path))] == [doc.name]


def test_file_changing_while_read(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "growing.txt"
    path.write_text("Some text.")
    real_stat = os.stat
    calls = {"n": 0}

    def stat_then_append(target, *args, **kwargs):
        # A download still in progress: the file grows right after each size check.
        result = real_stat(target, *args, **kwargs)
        calls["n"] += 1
        if calls["n"] <= limit:
            with open(path, "a") as handle:
                handle.write(" More text.")
        return result

    monkeypatch.setattr(ingest, "_stat", stat_then_append)
    limit = 1  # changes once: read again, and succeed
    assert read_document(path).sections[0].text == "Some text. More text."
    calls["n"], limit = 0, 99  # keeps changing
    with pytest.raises(IngestError, match="changed while being read"):
        read_document(path)


# --- Cohan jsonl ----------------------------------------------------------------------------------

RECORDS = [
    {
        "article_id": "paper-1",
        "article_text": ["the model works .", "it is fast ."],
        "abstract_text": ["<S> a model . </S>"],
        "section_names": ["introduction", "results"],
        "sections": [["the model works ."], ["it is fast ."]],
    },
    {"article_id": "paper-2", "article_text": ["we use @xmath0 @xcite ."], "abstract_text": []},
]


def test_cohan_jsonl_gz(tmp_path: Path) -> None:
    path = tmp_path / "papers.jsonl.gz"
    lines = [json.dumps(r) for r in RECORDS]
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join([lines[0], "not json", *lines[1:]]) + "\n")
    docs = list(read_documents(path))
    assert [(d.name, d.kind) for d in docs] == [("paper-1", "cohan"), ("paper-2", "cohan")]
    assert [s.heading for s in docs[0].sections] == ["introduction", "results"]
    assert docs[0].abstract == "a model ."
    for doc, record in zip(docs, RECORDS, strict=True):
        assert doc.model_text() == join_article(record["article_text"])
    with pytest.raises(IngestError, match="holds 2 Cohan records"):
        read_document(path)
    single = tmp_path / "one.jsonl"
    single.write_text(lines[1] + "\n")
    assert read_document(single).model_text() == "we use @xmath0 @xcite ."
    assert [d.name for d in read_documents(tmp_path / "one.jsonl")] == ["paper-2"]


def test_no_other_exception_escapes(tmp_path: Path, paper_pdf: bytes) -> None:
    # Damaged variants of every format: each is read or refused with an IngestError.
    samples = [
        paper_pdf[:200] + b"%%EOF",
        paper_pdf.replace(b"/Pages", b"/Pagez"),
        paper_pdf.replace(b"stream", b"streem"),
        b"\x1f\x8b" + os.urandom(64),
        b"\\section{" * 50,
        b"{" + b'"article_text": [1, 2]' + b"}\n",
        b"# " * 1000,
        LATEX.encode()[:300],
        b"\x00" * 100,
    ]
    for number, sample in enumerate(samples):
        for name in ("x.pdf", "x.tex", "x.jsonl"):
            path = tmp_path / f"{number}-{name}"
            path.write_bytes(sample)
            try:
                read_document(path)
                list(read_documents(path))
            except IngestError as error:
                assert str(error) and "\n" not in str(error)


def test_a_numbered_heading_may_end_in_a_number_but_a_table_row_is_not_a_heading() -> None:
    prose = "The star pulsates in several modes that we measure over many nights of data."
    text = (
        f"4 Observations\n{prose}\n5 Pulsations in HD 163899\n{prose}\n"
        f"2 Baseline 0.93 0.87\n{prose}"
    )
    doc = read_pasted(text)
    assert [s.heading for s in doc.sections] == ["4 Observations", "5 Pulsations in HD 163899"]
    assert "2 Baseline 0.93 0.87" in doc.sections[1].text


def test_unnumbered_headings_of_pasted_text_are_found() -> None:
    prose = "We describe the part of the work named above in one long sentence of prose here."
    headings = [
        "Observations and data reduction",
        "Frequency analysis",
        "Mode identification",
        "Pulsations in HD 163899",
        "Comparison with models",
        "Discussion",
        "Concluding remarks",
    ]
    text = "A study of a pulsating star\n\n" + "".join(f"\n{h}\n{prose}\n" for h in headings)
    text += "\nTable 1\nThe frequencies that we found are listed in this table with their errors.\n"
    doc = read_pasted(text)
    assert doc.title == "A study of a pulsating star"
    assert [s.heading for s in doc.sections] == ["", *headings]  # "": the title line
    assert "Table 1" in doc.sections[-1].text  # a caption label is not a heading
