"""`python -m summarizer summarize`: the batch CLI, run through its real entry point with a
tiny random model."""

import gzip
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from summarizer.api import EXPERIMENTAL
from summarizer.batch import find_inputs, summary_path
from summarizer.cli import main
from summarizer.paths import REPO_ROOT
from tests.model_fixtures import save_tiny_model

ARGS = ["--length", "8", "--num-beams", "1"]
TEXT = "A sparse model reads the paper. It then writes a short summary of it."
OPENINGS = ("The attention layer is sparse.", "A model of data.", "Results show speed.")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("model"))


@pytest.fixture
def papers(tmp_path):
    root = tmp_path / "papers"
    (root / "sub dir").mkdir(parents=True)
    # Each paper opens differently, so their summaries differ (the tiny model copies).
    a, b, c = OPENINGS
    (root / "a.txt").write_text(f"{a} {TEXT}")
    (root / "b.md").write_text(f"# A title\n\n## Method\n\n{b} {TEXT}")
    (root / "sub dir" / "über paper.tex").write_text(
        f"\\documentclass{{article}}\\begin{{document}}\\section{{Intro}}{c} {TEXT}"
        "\\end{document}"
    )
    (root / "notes.csv").write_text("ignored,because,of,its,extension")
    return root


def run(model_dir, *argv):
    return main(["summarize", *ARGS, "--model", str(model_dir), *map(str, argv)])  # argv wins


def rows(out, name="summaries.jsonl"):
    return [json.loads(line) for line in (out / name).read_text().splitlines()]


def test_summarizes_a_folder_mirroring_paths(model_dir, papers, tmp_path):
    out = tmp_path / "out"
    assert run(model_dir, papers, "--out", out, "--recursive") == 0
    index = {r["path"]: r for r in rows(out)}
    assert set(index) == {"a.txt", "b.md", "sub dir/über paper.tex"}
    for rel, row in index.items():
        assert row["status"] == "ok" and row["error"] is None
        assert row["input_tokens"] > 0 and row["shortened"] is False and row["seconds"] >= 0
        written = (out / (rel + ".summary.md")).read_text()
        assert row["summary"].splitlines()[0] in written if row["summary"] else written
        # The tiny model's conditioning was never measured: its summaries say so.
        assert row["mode"] == "abstractive" and row["warning"] == EXPERIMENTAL
        assert EXPERIMENTAL in written
    assert not list(out.rglob(".*.tmp"))


def test_without_recursive_only_the_top_folder(model_dir, papers, tmp_path):
    out = tmp_path / "out"
    assert run(model_dir, papers, "--out", out) == 0
    assert {r["path"] for r in rows(out)} == {"a.txt", "b.md"}


def test_one_bad_file_fails_alone_and_rerun_skips_what_is_done(model_dir, papers, tmp_path):
    (papers / "empty.txt").write_text("   \n")
    (papers / "garbage.pdf").write_bytes(bytes(range(256)) * 20)
    out = tmp_path / "out"
    assert run(model_dir, papers, "--out", out) == 1
    index = {r["path"]: r for r in rows(out)}
    assert index["a.txt"]["status"] == "ok"
    for bad in ("empty.txt", "garbage.pdf"):
        assert index[bad]["status"] == "error" and index[bad]["error"]
        assert index[bad]["summary"] is None
    done = out / "a.txt.summary.md"
    stamp = done.stat().st_mtime_ns
    (papers / "empty.txt").unlink()
    (papers / "garbage.pdf").unlink()
    assert run(model_dir, papers, "--out", out) == 0  # nothing left failing
    assert done.stat().st_mtime_ns == stamp  # skipped, not redone
    assert len(rows(out)) == len({r["path"] for r in rows(out)})  # one line per input
    assert run(model_dir, papers, "--out", out, "--overwrite") == 0
    assert done.stat().st_mtime_ns != stamp


def test_cohan_jsonl_gives_one_summary_per_record(model_dir, tmp_path):
    data = tmp_path / "val.jsonl.gz"
    records = [
        {"article_id": f"doc-{i}", "article_text": [TEXT], "abstract_text": ["<S> x . </S>"]}
        for i in range(2)
    ]
    with gzip.open(data, "wt") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)
    out = tmp_path / "out"
    assert run(model_dir, data, "--out", out) == 0
    assert {r["path"] for r in rows(out)} == {"val.jsonl.gz#doc-0", "val.jsonl.gz#doc-1"}
    for i in range(2):
        assert (out / "val.jsonl.gz" / f"doc-{i}.summary.md").is_file()


def test_shards_split_the_inputs(model_dir, papers, tmp_path):
    out = tmp_path / "out"
    assert run(model_dir, papers, "--out", out, "--recursive", "--shard", "0/2") == 0
    assert run(model_dir, papers, "--out", out, "--recursive", "--shard", "1/2") == 0
    first = {r["path"] for r in rows(out, "summaries-0-of-2.jsonl")}
    second = {r["path"] for r in rows(out, "summaries-1-of-2.jsonl")}
    assert first and second and not first & second
    assert first | second == {"a.txt", "b.md", "sub dir/über paper.tex"}


def test_worker_processes_give_the_same_summaries(model_dir, papers, tmp_path):
    assert run(model_dir, papers, "--out", tmp_path / "one", "--recursive") == 0
    assert run(model_dir, papers, "--out", tmp_path / "two", "--recursive", "--jobs", "2") == 0
    one = {r["path"]: r["summary"] for r in rows(tmp_path / "one")}
    two = {r["path"]: r["summary"] for r in rows(tmp_path / "two")}
    assert one == two
    assert all(one.values()) and len(set(one.values())) == len(one)  # a mix-up would show


@pytest.mark.parametrize(
    "argv",
    [["--shard", "3/2"], ["--shard", "x"], ["--jobs", "0"], ["--max-input-tokens", "4"],
     ["--num-beams", "0"], ["--length", "0"]],
)  # fmt: skip
def test_bad_options_exit_2(model_dir, papers, tmp_path, argv, capsys):
    assert run(model_dir, papers, *argv, "--out", tmp_path / "out") == 2
    assert "error:" in capsys.readouterr().err


def test_extractive_mode_picks_sentences_and_needs_a_salience_model(tmp_path, papers, capsys):
    from summarizer.salience import SalienceModel

    out = tmp_path / "out"
    model = save_tiny_model(tmp_path / "model")
    assert run(model, papers, "--out", out, "--mode", "extractive") == 2
    assert "no salience model" in capsys.readouterr().err
    model = save_tiny_model(tmp_path / "with-salience")  # a new path: not the loaded model
    SalienceModel().save(model)
    assert run(model, papers, "--out", out, "--mode", "extractive") == 0
    for row in rows(out):
        assert row["status"] == "ok" and row["mode"] == "extractive"
        sentences = row["summary"].splitlines()
        source = TEXT + " ".join(OPENINGS)  # a sentence over the budget is cut: a prefix
        assert sentences and all(s.rstrip(".") in source for s in sentences)
        assert [s["sentence"] for s in row["sources"]] == sentences  # each with its passage
        assert all(s["supported"] and s["sources"][0]["text"] for s in row["sources"])
    broken = save_tiny_model(tmp_path / "broken")
    SalienceModel().save(broken)
    (broken / "salience.json").write_text("{")
    assert run(broken, papers, "--out", tmp_path / "out2") == 2
    assert "Unreadable salience model" in capsys.readouterr().err


def test_rewritten_mode_needs_a_rewriter_and_writes_one_line_a_key_sentence(
    tmp_path, papers, capsys, monkeypatch
):
    import shutil

    from summarizer.paths import REWRITER_DIR
    from summarizer.salience import SalienceModel

    out = tmp_path / "out"
    model = save_tiny_model(tmp_path / "model")
    SalienceModel().save(model)
    assert run(model, papers, "--out", out, "--mode", "rewritten") == 2
    assert "no sentence rewriter" in capsys.readouterr().err
    shutil.copytree(save_tiny_model(tmp_path / "rewriter"), model / REWRITER_DIR)
    monkeypatch.setattr("summarizer.api.REWRITE_ABOVE", 0)  # the fixture's sentences are short
    assert run(model, papers, "--out", out, "--mode", "rewritten", "--num-beams", "1") == 0
    for row in rows(out):
        assert row["status"] == "ok" and row["mode"] == "rewritten" and row["summary"]
        assert row["warning"] == EXPERIMENTAL  # the rewriter's conditioning is not measured
        assert [s["sentence"] for s in row["sources"]] == row["summary"].splitlines()


def test_missing_path_and_bad_length_exit_2(model_dir, tmp_path, capsys):
    assert run(model_dir, tmp_path / "nowhere", "--out", tmp_path / "out") == 2
    assert "no such file or folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["summarize", str(tmp_path), "--out", str(tmp_path / "o"), "--length", "huge"])
    assert exit_info.value.code == 2


def test_empty_folder_and_missing_model_exit_2(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["summarize", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    assert "nothing to summarize" in capsys.readouterr().err
    (tmp_path / "empty" / "a.txt").write_text(TEXT)
    code = main(
        ["summarize", str(tmp_path / "empty"), "--out", str(tmp_path / "o"),
         "--model", str(tmp_path / "no-model")]
    )  # fmt: skip
    assert code == 2 and "No model in" in capsys.readouterr().err


def test_symlink_loops_are_not_followed(papers):
    (papers / "loop").symlink_to(papers, target_is_directory=True)
    items = find_inputs([str(papers)], recursive=True)
    assert all("loop" not in str(item.rel) for item in items)


def test_summary_paths_mirror_inputs(tmp_path):
    from pathlib import Path

    assert summary_path(tmp_path, Path("a/b.pdf")) == tmp_path / "a" / "b.pdf.summary.md"
    assert summary_path(tmp_path, Path("v.jsonl"), "x/y") == tmp_path / "v.jsonl" / "x_y.summary.md"


def test_output_inside_an_input_folder_is_never_read_as_input(model_dir, papers, capsys):
    out = papers / "summaries"
    for _ in range(3):
        assert run(model_dir, papers, "--out", out, "--recursive", "--overwrite") == 0
        assert {r["path"] for r in rows(out)} == {"a.txt", "b.md", "sub dir/über paper.tex"}
    assert not list(out.rglob("*.summary.md.summary.md"))


def test_the_run_ends_with_a_tally(model_dir, papers, tmp_path, capsys):
    (papers / "empty.txt").write_text("   \n")
    out = tmp_path / "out"
    assert run(model_dir, papers, "--out", out) == 1
    assert f"2 summarized, 1 failed, 0 already done; index: {out / 'summaries.jsonl'}" in (
        capsys.readouterr().out
    )
    (papers / "empty.txt").unlink()
    assert run(model_dir, papers, "--out", out) == 0
    assert "0 summarized, 0 failed, 2 already done" in capsys.readouterr().out


def test_a_worker_ends_when_the_batch_command_is_killed(tmp_path):
    """A worker outliving a SIGKILLed parent would go on writing files no index lists."""
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT_THAT_STARTS_A_WORKER],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    worker = int(parent.stdout.readline())
    assert parent.stdout.readline().strip() == "ready"
    assert alive(worker)
    parent.kill()
    parent.wait()
    deadline = time.time() + 10
    while alive(worker) and time.time() < deadline:
        time.sleep(0.05)
    assert not alive(worker)


def test_killing_a_batch_with_two_workers_ends_them_and_their_writing(model_dir, tmp_path):
    """The whole command, `--jobs 2`, SIGKILLed mid-run: both workers end, and no summary
    file appears after the kill (an orphan's files would be listed in no index)."""
    papers = tmp_path / "many"
    papers.mkdir()
    for i in range(60):
        (papers / f"p{i:02d}.txt").write_text(f"{OPENINGS[i % 3]} {TEXT} " * 30)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "summarizer", "summarize", *ARGS, "--model", str(model_dir)]
    command += [str(papers), "--out", str(out), "--jobs", "2"]
    parent = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 120
    while time.time() < deadline and not (
        len(children(parent.pid)) >= 2 and list(out.glob("*.summary.md"))
    ):
        time.sleep(0.05)
    workers = children(parent.pid)
    assert len(workers) >= 2, "the workers never started"
    parent.kill()
    parent.wait()
    deadline = time.time() + 10
    while any(map(alive, workers)) and time.time() < deadline:
        time.sleep(0.05)
    assert not any(map(alive, workers))
    written = set(out.glob("*.summary.md"))
    assert 0 < len(written) < 60  # killed mid-run
    time.sleep(1.0)
    assert set(out.glob("*.summary.md")) == written


def children(pid: int) -> list[int]:
    """The running processes whose parent is `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[1]) == pid and alive(int(stat.parent.name)):
            found.append(int(stat.parent.name))
    return found


PARENT_THAT_STARTS_A_WORKER = """
import subprocess, sys, time
worker = subprocess.Popen([sys.executable, "-c", '''
import os, time
from summarizer.batch import end_with_parent
end_with_parent(os.getppid())
print("ready", flush=True)
time.sleep(120)
'''])
print(worker.pid, flush=True)
time.sleep(120)
"""


def alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting to be reaped)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


def test_every_decoding_flag_reaches_the_summarizer(model_dir, papers, tmp_path, monkeypatch):
    from summarizer.api import Summarizer

    seen = []
    real = Summarizer.summarize

    def spy(self, document, settings=None, **kwargs):
        seen.append(settings)
        return real(self, document, settings, **kwargs)

    monkeypatch.setattr(Summarizer, "summarize", spy)
    flags = ["--num-beams", "2", "--no-repeat-ngram-size", "0", "--length-penalty", "1.5"]
    flags += ["--repetition-penalty", "1.3", "--min-new-tokens", "4", "--no-paper-words"]
    assert run(model_dir, papers / "a.txt", "--out", tmp_path / "out", *flags) == 0
    [settings] = seen
    assert (settings.num_beams, settings.no_repeat_ngram_size, settings.length_penalty) == (
        2,
        0,
        1.5,
    )
    assert (settings.repetition_penalty, settings.min_new_tokens) == (1.3, 4)
    assert settings.paper_words is False and settings.max_new_tokens == 8
