"""End to end: `streamlit run` the page with a tiny real model, then drive it in headless
Chromium (Debian's `chromium` through Playwright): upload a PDF, summarize, see the summary.
Two pages at once check that concurrent sessions get their own results."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from fpdf import FPDF

from summarizer.paths import REPO_ROOT
from tests.model_fixtures import salience_preferring, save_tiny_model

ROOT = REPO_ROOT
CHROMIUM = Path("/usr/bin/chromium")
STARTUP_SECONDS = 120
SUMMARY_SECONDS = 180


def write_pdf(path: Path, title: str, topic: str) -> Path:
    """A small born-digital paper: a title, an abstract and two sections."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
    for heading in ("Abstract", "1 Introduction", "2 Method"):
        pdf.set_font("Helvetica", "B", 12)
        pdf.multi_cell(0, 8, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=11)
        body = (
            f"We study {topic} with sparse attention over long documents. "
            f"The {topic} model reads the whole paper and writes a short summary. "
            "Experiments on scientific articles show that hashing keeps the cost low. "
        )
        pdf.multi_cell(0, 6, body * 3, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"streamlit did not answer within {STARTUP_SECONDS} s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`streamlit run app/streamlit_app.py` on a free port with a tiny model; its URL."""
    tmp = tmp_path_factory.mktemp("app")
    model_dir = save_tiny_model(tmp / "model")
    salience_preferring("hashing").save(model_dir)  # offers key sentences too
    port = free_port()
    env = {**os.environ, "SUMMARIZER_MODEL": str(model_dir), "PYTHONUNBUFFERED": "1"}
    log = tmp / "streamlit.log"
    command = [sys.executable, "-m", "streamlit", "run", "app/streamlit_app.py"]
    command += ["--server.headless", "true", "--server.port", str(port)]
    with open(log, "w") as out:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url, server, log)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); "
            "this test drives the app in a real headless browser."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def settle(page) -> None:
    """Wait until the script run that the last click started has finished."""
    page.wait_for_timeout(300)  # let the rerun start
    page.locator("[data-testid=stApp][data-test-script-state=notRunning]").wait_for()


def open_upload(browser, url: str, pdf: Path, length: str = "Short"):
    """A fresh page (its own Streamlit session) with `pdf` uploaded, ready to summarize."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(SUMMARY_SECONDS * 1000)
    page.goto(url)
    settle(page)
    page.get_by_test_id("stSidebar").get_by_text(length, exact=True).click()  # keeps CI quick
    settle(page)
    page.get_by_role("tab", name="Upload a file").click()
    settle(page)
    page.locator("input[type=file]").set_input_files(str(pdf))
    page.get_by_text(pdf.name).wait_for()  # the uploader lists the file once it is sent
    settle(page)
    return page


def summarize(page) -> str:
    """Click Summarize, wait for the result; the page's main text."""
    page.get_by_role("button", name="Summarize", exact=True).click()
    page.get_by_role("button", name="Download .md").wait_for()  # shown with the result
    return page.get_by_test_id("stMain").inner_text()


def save_screenshot(page, tmp_path: Path, name: str) -> Path:
    shot = tmp_path / name
    page.screenshot(path=str(shot), full_page=True)
    if os.environ.get("SCREENSHOT_DIR"):
        target = Path(os.environ["SCREENSHOT_DIR"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, target / name)
    return shot


def test_upload_a_pdf_and_read_its_summary(server, browser, tmp_path):
    pdf = write_pdf(tmp_path / "sparse-attention.pdf", "Sparse Attention for Papers", "hashing")
    page = open_upload(browser, server, pdf)
    try:
        shown = summarize(page)
        assert page.locator(".st-key-summary_text").inner_text().strip()
        assert "Sparse Attention for Papers" in shown  # the title, as read from the PDF
        assert "sparse-attention.pdf" in shown and "tokens" in shown  # what was read
        assert "Took" in shown  # the time taken
        assert not page.get_by_test_id("stException").count()
        assert not page.get_by_test_id("stAlertContentError").count()
        # The first sentence opens to its source, as the PDF writes it, with its section.
        page.locator("summary").filter(has_text="1. ").first.click()
        source = page.get_by_text("of this sentence's content words").first
        source.wait_for(timeout=30_000)
        assert "Abstract ·" in source.inner_text() or "Introduction ·" in source.inner_text()
        # The whole paper, by section (its source marking is checked in test_app.py: the
        # tiny model's sentences are rarely supported).
        page.get_by_text("Read the paper, with the sources marked").click()
        paper = page.get_by_test_id("stHtml").first
        paper.get_by_text("hashing keeps the cost low").first.wait_for(timeout=30_000)
        assert paper.inner_text().startswith("1 Introduction")  # repeated sentences shown once
    finally:
        shot = save_screenshot(page, tmp_path, "app-summary.png")
        page.close()
    assert shot.stat().st_size > 10_000


def plain(text: str) -> str:
    """`text` lower-cased, its words only: a key sentence as the summary shows it and as the
    paper view does compare equal."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def test_the_paper_view_marks_the_key_sentences(server, browser, tmp_path):
    pdf = write_pdf(tmp_path / "marked.pdf", "Marked Sources", "retrieval")
    page = open_upload(browser, server, pdf)
    try:
        page.get_by_test_id("stSidebar").get_by_text("Key sentences", exact=True).click()
        settle(page)
        summarize(page)
        chosen = page.locator(".st-key-summary_text").inner_text().strip().splitlines()
        assert any("hashing" in line for line in chosen)  # what the salience model prefers
        page.get_by_text("Read the paper, with the sources marked").click()
        marks = page.get_by_test_id("stHtml").first.locator("mark")
        marks.first.wait_for(timeout=30_000)
        marked = marks.all_inner_texts()
        # Each mark is a key sentence, numbered as the summary numbers it; every key sentence is
        # marked, wherever the paper repeats it.
        numbered = [plain(text).rsplit(" ", 1) for text in marked]
        assert all(sentence == plain(chosen[int(n) - 1]) for sentence, n in numbered)
        assert {int(n) for _, n in numbered} == set(range(1, len(chosen) + 1))
        assert len(marked) > len(chosen)
    finally:
        page.close()


def test_two_sessions_at_once_get_their_own_results(server, browser, tmp_path):
    titles = ["Graph Networks at Scale", "Protein Folding Notes"]
    pdfs = [
        write_pdf(tmp_path / "graphs.pdf", titles[0], "graphs"),
        write_pdf(tmp_path / "proteins.pdf", titles[1], "proteins"),
    ]
    pages = [open_upload(browser, server, pdf) for pdf in pdfs]
    try:
        for page in pages:  # both are summarizing before either finishes
            page.get_by_role("button", name="Summarize", exact=True).click()
        for page, own, other in zip(pages, titles, reversed(titles), strict=True):
            page.get_by_role("button", name="Download .md").wait_for()
            shown = page.get_by_test_id("stMain").inner_text()
            assert own in shown and other not in shown
    finally:
        for page in pages:
            page.close()
