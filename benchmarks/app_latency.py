"""The web page against the API: time and server memory for one paper, in a real browser.

    python -m benchmarks.app_latency [--model DIR] [--words 6000] [--repeats 3]
        [--mode abstractive|extractive|rewritten] [--upload FILE | --pdf-mb N] [--json PATH]

Starts `streamlit run app/streamlit_app.py` on a free port (the shipped model unless --model),
opens it in headless Chromium (Playwright; Debian's /usr/bin/chromium), uploads the paper that
`benchmarks.paper_latency` times (the first arXiv validation paper of `--words` words, as
Markdown; as a PDF of about N MB with `--pdf-mb N`, its text plus images, as figure-heavy
papers are; or `--upload FILE`), and clicks Summarize `--repeats` times in the model's default
mode unless `--mode` says otherwise. After each click it times `Summarizer.summarize` on the
same file in this process, while the server is idle: paired runs, because this machine's speed
drifts by more than the difference measured. Prints, as medians:
- the page: from the click until the result is shown, and the "Took" line it shows;
- the API: `summarize` end to end on all cores and on as many threads as the server uses
  (`--server-threads`, else the app's default), and the page's "Took" over each API run
  beside it;
- CPU seconds during a page run, of the server and of the browser (which shares the
  server's cores here; a user's browser runs on their own machine);
- the server's resident memory: after the model loaded, its peak during each request (sampled
  every 20 ms from /proc), and 5 s after the last one.

Run it on a quiet machine: the server and this process share the CPU threads with nothing else.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import torch

from app.streamlit_app import MODE_LABELS  # the page's names of the modes, clicked by name
from benchmarks.paper_latency import VAL, typical_paper
from summarizer.allocator import keep_freed_memory
from summarizer.api import THREADS_ENV_VAR, Summarizer, serving_threads
from summarizer.paths import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
TOOK = re.compile(r"Took ([\d.]+) s[^\n]*")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def browser_cpu_seconds() -> float:
    """CPU time used so far by every running Chromium process (the headless browser's)."""
    total = 0.0
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if proc.joinpath("comm").read_text().strip().startswith(("chrom", "headless")):
                total += cpu_seconds(int(proc.name))
        except (OSError, ValueError):  # it ended meanwhile
            continue
    return total


def resident_mib(pid: int) -> float:
    """The process's resident memory (VmRSS), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


class PeakSampler:
    """Samples a process's resident memory in a thread while in its `with` block."""

    def __init__(self, pid: int, every: float = 0.02):
        self.pid, self.every, self.peak = pid, every, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, resident_mib(self.pid))
            self._stop.wait(self.every)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def write_heavy_pdf(path: Path, markdown: str, mb: float) -> Path:
    """The paper as a PDF of about `mb` MB: its text, a page per section, and random-noise
    images (which do not compress) to make up the size."""
    import numpy as np
    from fpdf import FPDF
    from PIL import Image

    sections = [part.strip() for part in markdown.split("\n## ") if part.strip()]
    images = max(1, round(mb / 2.06))  # one 900 x 800 RGB image takes ~2.06 MB
    rng = np.random.default_rng(0)
    pdf = FPDF()
    for i in range(max(len(sections), images)):
        pdf.add_page()
        if i < len(sections):
            heading, _, body = sections[i].lstrip("# ").partition("\n")
            pdf.set_font("Helvetica", "B", 13)
            latin = heading.encode("latin-1", "replace").decode("latin-1")
            pdf.multi_cell(0, 8, latin, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Helvetica", size=10)
            latin = body.strip().encode("latin-1", "replace").decode("latin-1")
            pdf.multi_cell(0, 5, latin, new_x="LMARGIN", new_y="NEXT")
        if i < images:
            noise = rng.integers(0, 256, (800, 900, 3), dtype=np.uint8)
            pdf.image(Image.fromarray(noise), w=150)
    pdf.output(str(path))
    return path


def start_server(model: str | None, log: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if model:
        env["SUMMARIZER_MODEL"] = str(Path(model).resolve())
    command = [sys.executable, "-m", "streamlit", "run", "app/streamlit_app.py"]
    command += ["--server.headless", "true", "--server.port", str(port)]
    with open(log, "w") as out:
        server = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with {server.returncode}: see {log}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return server, url
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise RuntimeError(f"streamlit did not start within 120 s: see {log}")


def settle(page) -> None:
    """Wait until the script run that the last action started has finished. Checked every
    250 ms: Playwright's default waits poll at every animation frame, which keeps headless
    Chromium drawing on the server's cores (a user's browser runs on their own machine)."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "document.querySelector('[data-testid=stApp][data-test-script-state=notRunning]')",
        polling=250,
    )


def page_runs(
    url: str, paper: Path, mode: str, repeats: int, pid: int, api: Callable[[], dict[str, float]]
) -> list[dict]:
    """Upload `paper` and summarize it `repeats` times; per run: the wall time from the click
    to the result, the page's "Took" seconds, the server's peak memory, the CPU seconds the
    server and the browser used, and `api()`'s timings right after (the server idle), so that
    each page run has API runs beside it in time."""
    from playwright.sync_api import sync_playwright

    runs = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(600_000)
        page.goto(url)
        settle(page)
        page.get_by_test_id("stSidebar").get_by_text(MODE_LABELS[mode], exact=True).click()
        settle(page)
        page.get_by_role("tab", name="Upload a file").click()
        settle(page)
        page.locator("input[type=file]").set_input_files(str(paper))
        page.get_by_text(paper.name).wait_for()
        settle(page)
        for _ in range(repeats):
            with PeakSampler(pid) as sampler:
                start = time.perf_counter()
                cpu = cpu_seconds(pid), browser_cpu_seconds()
                page.get_by_role("button", name="Summarize", exact=True).click()
                page.wait_for_timeout(100)  # the click's rerun has started
                settle(page)
                wall = time.perf_counter() - start
                server_cpu = cpu_seconds(pid) - cpu[0]
                browser_cpu = browser_cpu_seconds() - cpu[1]
            shown = page.get_by_test_id("stMain").inner_text()
            took = TOOK.search(shown)
            if took is None:
                raise RuntimeError(f"no result on the page; it shows:\n{shown[:2000]}")
            runs.append(
                {
                    "wall_s": wall,
                    "took_s": float(took.group(1)),
                    "took": took.group(0),
                    "peak": sampler.peak,
                    "server_cpu_s": server_cpu,
                    "browser_cpu_s": browser_cpu,
                    **api(),
                }
            )
        browser.close()
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="default: the shipped model")
    parser.add_argument("--words", type=int, default=6000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--mode", default=None, choices=list(MODE_LABELS))
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--upload", default=None, help="a file to upload instead of the paper")
    source.add_argument("--pdf-mb", type=float, default=0, help="upload the paper as an N MB PDF")
    parser.add_argument(
        "--server-threads",
        type=int,
        default=None,
        help=f"the server's threads (sets {THREADS_ENV_VAR}; default: as the app decides)",
    )
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing: apt-get install -y chromium", file=sys.stderr)
        return 2

    if args.server_threads:
        os.environ[THREADS_ENV_VAR] = str(args.server_threads)  # the server inherits it
    server_threads, cores = serving_threads(), len(os.sched_getaffinity(0))
    keep_freed_memory()  # as the server does when it loads the model
    summarizer = Summarizer.from_pretrained(args.model)
    mode = args.mode or summarizer.defaults.mode
    with tempfile.TemporaryDirectory() as tmp:
        text = typical_paper(VAL, args.words)
        if args.upload:
            paper = Path(args.upload).resolve()
        elif args.pdf_mb:
            paper = write_heavy_pdf(Path(tmp) / "paper.pdf", text, args.pdf_mb)
        else:
            paper = Path(tmp) / "paper.md"
            paper.write_text(text)
        paper_mib = paper.stat().st_size / 2**20

        def api_timings() -> dict[str, float]:
            """`summarize` end to end on all cores, then on as many threads as the server."""
            timings = {}
            for key, threads in (("api", cores), ("api_server_threads", server_threads)):
                torch.set_num_threads(threads)
                start, cpu = time.perf_counter(), time.process_time()
                summarizer.summarize(paper, mode=mode)
                timings[f"{key}_s"] = time.perf_counter() - start
                timings[f"{key}_cpu_s"] = time.process_time() - cpu
            return timings

        api_timings()  # warm-up
        server, url = start_server(args.model, Path(tmp) / "streamlit.log")
        try:
            # The first page load loads the model; its memory after that is the baseline.
            from playwright.sync_api import sync_playwright

            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
                page = browser.new_page()
                page.set_default_timeout(300_000)
                page.goto(url)
                settle(page)
                browser.close()
            loaded = resident_mib(server.pid)
            runs = page_runs(url, paper, mode, args.repeats, server.pid, api_timings)
            time.sleep(5)
            after = resident_mib(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
    result = {
        "paper": str(args.upload or f"{args.words} words of {VAL.name}"),
        "paper_mib": paper_mib,
        "mode": mode,
        "page_wall_s": statistics.median(r["wall_s"] for r in runs),
        "page_took_s": statistics.median(r["took_s"] for r in runs),
        "page_took": [r["took"] for r in runs],
        "server_threads": server_threads,
        "cores": cores,
        "api_s": statistics.median(r["api_s"] for r in runs),
        "api_server_threads_s": statistics.median(r["api_server_threads_s"] for r in runs),
        "took_over_api": statistics.median(r["took_s"] / r["api_s"] for r in runs),
        "took_over_api_server_threads": statistics.median(
            r["took_s"] / r["api_server_threads_s"] for r in runs
        ),
        "cpu_s": {
            key: statistics.median(r[key] for r in runs)
            for key in ("server_cpu_s", "browser_cpu_s", "api_cpu_s", "api_server_threads_cpu_s")
        },
        "server_mib": {
            "model_loaded": loaded,
            "peak": max(r["peak"] for r in runs),
            "after": after,
        },
    }
    ratio = result["page_wall_s"] / result["api_s"]
    print(f"paper: {result['paper']} ({paper.name}, {result['paper_mib']:.1f} MiB); mode {mode}; "
          f"median of {args.repeats}")  # fmt: skip
    print(f"  page, click to result: {result['page_wall_s']:6.2f} s ({ratio:.2f}x the API)")
    print(f"  page, 'Took' shown:    {result['page_took_s']:6.2f} s")
    for line in result["page_took"]:
        print(f"    {line}")
    cpu = result["cpu_s"]
    print(f"  API, summarize, {cores} threads: {result['api_s']:6.2f} s "
          f"(CPU {cpu['api_cpu_s']:.1f} s)")  # fmt: skip
    print(f"  API, summarize, {server_threads} thread(s) as the server: "
          f"{result['api_server_threads_s']:6.2f} s "
          f"(CPU {cpu['api_server_threads_cpu_s']:.1f} s)")  # fmt: skip
    print(f"  'Took' / API, paired:  {result['took_over_api']:6.2f}x on {cores} threads, "
          f"{result['took_over_api_server_threads']:.2f}x on the server's "
          "(median over runs)")  # fmt: skip
    print(f"  CPU during a page run: server {cpu['server_cpu_s']:.1f} s, browser "
          f"{cpu['browser_cpu_s']:.1f} s")  # fmt: skip
    memory = result["server_mib"]
    print(f"server memory: {memory['model_loaded']:.0f} MiB with the model loaded, "
          f"peak {memory['peak']:.0f} MiB during a request, {memory['after']:.0f} MiB "
          f"5 s after")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
