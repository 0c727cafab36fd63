"""How well summaries read, judged by a person: every sentence of several systems' summaries of
the same papers, shuffled together into one sheet that does not say which system wrote which,
rated, then counted per system.

    python -m eval.rating sheet RUN[=LABEL] [RUN[=LABEL] ...] --papers 10 [--skip 10] \
        --reference --out DIR
    (fill the `fluent` column of DIR/sheet.tsv with y or n)
    python -m eval.rating score DIR [--system LABEL --out MODEL/fluency.json]

RUN is an `evaluate` output folder. Runs given the same LABEL (by default the folder's name)
count as one system, so that an arXiv run and a PubMed run of the same model are rated
together. The papers are, for each data file, the first N that every run of that file holds
(after the first `--skip` of them, to rate papers an earlier sheet did not);
`--reference` adds their reference abstracts as the system "reference", written as the
summaries are (`readable`), so that a rater cannot tell them by their Cohan spacing alone, and
split into sentences anew: Cohan's abstracts break lines inside sentences ("in conclusion ,"
on a line of its own), which would count against the abstract's authors.

What to rate: y when the sentence is a complete, grammatical English sentence that a reader
takes in at once; n when it is a fragment, lacks its verb or object, joins clauses that do not
fit, stops mid-thought or is debris. Technical terms a reader does not know, and "[math]" for a
formula, are fine; whether the sentence is true of its paper is not rated here (faithfulness
and ROUGE measure that).

`score` gives each system's share of fluent sentences with a 95% interval from resampling the
papers (a paper's sentences are not independent ratings of the system). With `--out`, one
system's result is also written as a model folder's `fluency.json` (summarizer.paths), which
labels that model's written summaries while they are rated not yet fluent (summarizer.api).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from eval.evaluate import PREDICTIONS, read_predictions
from summarizer.readable import readable

SHEET = "sheet.tsv"
KEY = "key.json"
REFERENCE = "reference"
ANSWERS = {"y": True, "n": False}


def summary_sentences(text: str) -> list[str]:
    """The sentences of a summary as a reader sees them, one a line."""
    return [line for line in readable(text).splitlines() if line.strip()]


def parse_run(spec: str) -> tuple[Path, str]:
    """The folder and label of `DIR=LABEL`, or of `DIR`, which is labelled by its name."""
    folder, _, label = spec.partition("=")
    path = Path(folder)
    return path, label or path.resolve().name


def make_sheet(
    specs: list[str], papers: int, reference: bool = False, seed: int = 0, skip: int = 0
) -> tuple[list[dict], dict[str, dict]]:
    """The shuffled sheet's rows ({item, sentence}) and its key (item -> system, data, paper,
    sentence index). Raises ValueError for a folder that is not an evaluate run."""
    runs = []
    for spec in specs:
        path, label = parse_run(spec)
        if label == REFERENCE and reference:
            raise ValueError(f"{spec}: the label {REFERENCE!r} is kept for the references")
        if not (path / PREDICTIONS).is_file() or not (path / "run.json").is_file():
            raise ValueError(f"{path} is not an evaluate run (no {PREDICTIONS} or run.json)")
        data = json.loads((path / "run.json").read_text())["data"]
        runs.append((label, data, read_predictions(path / PREDICTIONS, repair=False)))
    entries = []  # (system, data, paper id, text)
    for data in dict.fromkeys(d for _, d, _ in runs):
        same = [rows for _, d, rows in runs if d == data]
        ids = [i for i in same[0] if all(i in rows for rows in same)][skip : skip + papers]
        if not ids:
            after = f" after the first {skip}" if skip else ""
            raise ValueError(f"the runs of {data} have no paper in common{after}")
        entries += [(label, data, i, rows[i]["prediction"]) for label, d, rows in runs
                    if d == data for i in ids]  # fmt: skip
        if reference:  # Cohan's abstracts break lines inside sentences: one line, split anew
            entries += [
                (REFERENCE, data, i, " ".join(same[0][i]["reference"].split())) for i in ids
            ]
    pieces = [
        (system, data, paper, n, sentence)
        for system, data, paper, text in entries
        for n, sentence in enumerate(summary_sentences(text))
    ]
    random.Random(seed).shuffle(pieces)
    rows, key = [], {}
    for item, (system, data, paper, n, sentence) in enumerate(pieces, 1):
        rows.append({"item": str(item), "sentence": sentence})
        key[str(item)] = {"system": system, "data": data, "paper": paper, "sentence": n}
    return rows, key


def write_sheet(out: Path, rows: list[dict], key: dict[str, dict]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if (out / SHEET).exists():
        raise FileExistsError(f"{out / SHEET} exists: its ratings would be lost; use a new --out")
    with (out / SHEET).open("w", newline="") as f:
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")
        writer.writerow(["item", "fluent", "sentence"])
        writer.writerows([row["item"], "", row["sentence"]] for row in rows)
    (out / KEY).write_text(json.dumps(key, indent=1))


def read_ratings(folder: Path) -> dict[str, bool]:
    """item -> fluent, from a filled sheet; ValueError naming the first row left blank or
    answered with anything but y or n."""
    ratings = {}
    with (folder / SHEET).open(newline="") as f:
        for line, row in enumerate(csv.DictReader(f, delimiter="\t"), 2):
            answer = (row.get("fluent") or "").strip().lower()
            if answer not in ANSWERS:
                raise ValueError(
                    f"{folder / SHEET} line {line}: fluent is {answer!r}, not y or n"
                    + (" (not rated yet)" if not answer else "")
                )
            ratings[row["item"]] = ANSWERS[answer]
    return ratings


def score(folder: Path, n_resamples: int = 2000, seed: int = 0) -> dict[str, dict]:
    """system -> sentences rated, the share rated fluent and its 95% interval (papers
    resampled)."""
    key = json.loads((folder / KEY).read_text())
    ratings = read_ratings(folder)
    if missing := sorted(set(key) - set(ratings), key=int):
        raise ValueError(f"{folder / SHEET} lacks items {missing[:5]} of its key")
    by_system: dict[str, dict[tuple, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for item, where in key.items():
        by_system[where["system"]][(where["data"], where["paper"])].append(ratings[item])
    rng = np.random.default_rng(seed)
    result = {}
    for system, papers in by_system.items():
        fluent = np.array([sum(r) for r in papers.values()])
        total = np.array([len(r) for r in papers.values()])
        draws = rng.integers(0, len(total), size=(n_resamples, len(total)))
        shares = fluent[draws].sum(1) / np.maximum(total[draws].sum(1), 1)
        result[system] = {
            "papers": len(total),
            "sentences": int(total.sum()),
            "fluent": int(fluent.sum()),
            "share": float(fluent.sum() / total.sum()),
            "ci95": [float(np.quantile(shares, 0.025)), float(np.quantile(shares, 0.975))],
        }
    return result


def fluency_record(scores: dict[str, dict], system: str | None, folder: Path) -> dict:
    """One system's result as a model folder records it; `system` may be left out when the
    sheet rated only one."""
    if system is None and len(scores) == 1:
        system = next(iter(scores))
    if system not in scores:
        raise ValueError(f"--system must name one of the sheet's systems: {sorted(scores)}")
    return {"system": system, **scores[system], "sheet": str(folder)}


def format_scores(scores: dict[str, dict]) -> str:
    lines = ["| system | papers | sentences | fluent | 95% interval |", "|---|---|---|---|---|"]
    for system, s in sorted(scores.items(), key=lambda kv: -kv[1]["share"]):
        low, high = s["ci95"]
        lines.append(
            f"| {system} | {s['papers']} | {s['sentences']} | {100 * s['share']:.1f}% "
            f"| {100 * low:.1f}-{100 * high:.1f}% |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sheet = commands.add_parser("sheet", help="write a blind rating sheet from evaluate runs")
    sheet.add_argument("runs", nargs="+", metavar="RUN[=LABEL]")
    sheet.add_argument("--papers", type=int, default=10, help="papers per data file")
    sheet.add_argument("--skip", type=int, default=0, help="leave out each file's first papers")
    sheet.add_argument("--reference", action="store_true", help="rate the abstracts too")
    sheet.add_argument("--seed", type=int, default=0)
    sheet.add_argument("--out", required=True)
    scored = commands.add_parser("score", help="count a filled sheet's ratings per system")
    scored.add_argument("folder")
    scored.add_argument("--system", help="the system whose result --out records")
    scored.add_argument("--out", help="write that system's result here (a model's fluency.json)")
    args = parser.parse_args(argv)
    try:
        if args.command == "sheet":
            if args.papers < 1 or args.skip < 0:
                raise ValueError("--papers must be at least 1 and --skip at least 0")
            rows, key = make_sheet(args.runs, args.papers, args.reference, args.seed, args.skip)
            write_sheet(Path(args.out), rows, key)
            print(f"{len(rows)} sentences to rate in {Path(args.out) / SHEET}")
        else:
            scores = score(Path(args.folder))
            (Path(args.folder) / "scores.json").write_text(json.dumps(scores, indent=2))
            print(format_scores(scores))
            if args.out:
                record = fluency_record(scores, args.system, Path(args.folder))
                Path(args.out).write_text(json.dumps(record, indent=2) + "\n")
                print(f"{record['system']}: {100 * record['share']:.1f}% fluent, in {args.out}")
    except (ValueError, FileNotFoundError, FileExistsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
