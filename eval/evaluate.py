"""ROUGE evaluation runs: a checkpoint or an extractive baseline over a Cohan file or folder.

    python -m summarizer evaluate --data FILE_OR_DIR --out DIR
        (--checkpoint PATH [--mode abstractive|extractive] | --baseline NAME) [--limit N] [...]
    python -m summarizer evaluate compare DIR_A DIR_B ...

DIR receives `predictions.jsonl` (one line per document, written as it goes: an interrupted
run resumes and keeps what it wrote), `metrics.json` (scores on the 0-100 scale, F1 with a
bootstrap 95% interval, per source) and `report.md` with plots.

A checkpoint's written summaries are the Summarizer's (`summarizer.api`), so a model is scored
on what its users get: the same input selection, decoding, readable text and spelling.
"""

from __future__ import annotations

import json
import logging
import statistics
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from data.dataset import load_documents
from data.ingest import Document, IngestError, Section
from data.sentences import split_sentences
from eval.faithfulness import Support, support
from eval.oracle import oracle
from eval.rouge import ROUGE_TYPES, bootstrap_ci, rouge_per_document
from summarizer.api import Summarizer
from summarizer.extractive import BASELINES
from summarizer.paths import is_salience_dir
from summarizer.salience import SalienceModel
from summarizer.settings import (
    DECODING,
    MODES,
    WORDS_PER_TOKEN,
    GenerationSettings,
    read_model_settings,
)
from summarizer.sources import find_sources, paper_passages

log = logging.getLogger(__name__)

PREDICTIONS = "predictions.jsonl"
METRICS = "metrics.json"
# What made the predictions in a results folder: a later run may only add to them when it is the
# same system with the same settings.
RUN = "run.json"


@dataclass
class EvalSettings:
    data: str
    out: str
    checkpoint: str | None = None
    baseline: str | None = None  # lead | lexrank | textrank | oracle
    limit: int = 0
    # Key sentences' word budget (extractive and rewritten); 0 = median reference length
    max_words: int = 0
    max_input_tokens: int = 0  # 0 = the length the model was trained on
    # A checkpoint's mode and decoding; None: the checkpoint's own default, as the Summarizer
    # would use it (its generation_config.json; see summarizer.settings.read_model_settings).
    mode: str | None = None  # abstractive | extractive (its salience model) | rewritten
    max_new_tokens: int | None = None
    min_new_tokens: int | None = None
    num_beams: int | None = None
    no_repeat_ngram_size: int | None = None
    length_penalty: float | None = None
    repetition_penalty: float | None = None  # > 1 makes tokens already written less likely
    paper_words: bool | None = None  # only the paper's words and common ones
    overwrite: bool = False  # discard the predictions already in `out` instead of resuming

    def identity(self) -> dict:
        """Everything that decides a prediction (not where it goes or how many are made)."""
        return {k: v for k, v in asdict(self).items() if k not in ("out", "limit", "overwrite")}

    def system(self) -> str:
        if self.baseline:
            return f"baseline:{self.baseline}"
        return f"checkpoint:{self.checkpoint}" + (
            f" ({self.mode})" if self.mode in ("extractive", "rewritten") else ""
        )

    @property
    def extractive(self) -> bool:
        return self.mode == "extractive"

    def generation(self, base: GenerationSettings) -> GenerationSettings:
        """`base` (a model's defaults) with this run's mode and decoding where they are set."""
        decoding = {name: getattr(self, name) for name in DECODING}
        return base.with_overrides(mode=self.mode, length=self.max_new_tokens, **decoding)


def with_model_defaults(settings: EvalSettings) -> EvalSettings:
    """A checkpoint run's unset (None) mode and decoding settings, taken from the checkpoint."""
    if not settings.checkpoint:
        return settings
    merged = settings.generation(read_model_settings(settings.checkpoint))
    own = {name: getattr(merged, name) for name in DECODING}
    return replace(settings, mode=merged.mode, max_new_tokens=merged.max_new_tokens, **own)


def evaluate(settings: EvalSettings) -> dict:
    """Summarize every document (skipping those already in predictions.jsonl), score, and
    write the metrics and report. Returns the metrics."""
    if bool(settings.checkpoint) == bool(settings.baseline):
        raise ValueError("Give exactly one of --checkpoint and --baseline")
    if settings.mode not in (None, *MODES):
        raise ValueError(f"mode must be one of {list(MODES)}, got {settings.mode!r}")
    if settings.baseline and settings.baseline not in (*BASELINES, "oracle"):
        raise ValueError(
            f"Unknown baseline {settings.baseline!r}; choose from {[*BASELINES, 'oracle']}"
        )
    settings = with_model_defaults(settings)
    docs, report = load_documents(settings.data, limit=settings.limit or None)
    if len(docs) == 0:
        raise ValueError(f"No usable documents in {settings.data} ({report})")
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    claim_folder(out, settings)
    done = read_predictions(out / PREDICTIONS)
    references = list(docs["abstract"])
    budget = settings.max_words or int(statistics.median(len(r.split()) for r in references))
    summarize = make_system(settings, budget)

    with open(out / PREDICTIONS, "a", encoding="utf-8") as f:
        todo = [i for i, ident in enumerate(docs["id"]) if ident not in done]
        for i in tqdm(todo, desc="evaluate", initial=len(docs) - len(todo), total=len(docs)):
            doc = docs[i]
            prediction = summarize(doc["article"], doc["abstract"])
            scores = rouge_per_document([prediction], [doc["abstract"]])[0]
            row = {
                "id": doc["id"],
                "source": doc["source"],
                "prediction": prediction,
                "reference": doc["abstract"],
                "scores": scores,
            }
            f.write(json.dumps(row) + "\n")
            f.flush()
            done[doc["id"]] = row

    rows = [done[ident] for ident in docs["id"]]
    metrics = summarize_scores(rows)
    empty = sum(not r["prediction"].strip() for r in rows)
    metrics = {
        "n": len(rows),
        "system": settings.system(),
        "data": settings.data,
        "settings": {**asdict(settings), "word_budget": budget},
        "skipped_records": dict(report.skipped),
        "empty_predictions": empty,
        **metrics,
        # The same predictions against another paper's abstract: a summary of its own paper
        # scores clearly higher; one that ignores the paper scores the same.
        "rouge1_other": rouge1_against_others(rows),
        # Numbers and rare words of the predictions that their paper also holds.
        "faithfulness": faithfulness(rows, dict(zip(docs["id"], docs["article"], strict=True))),
        # Prediction sentences whose best one or two sources in the paper hold less than
        # summarizer.sources.UNSUPPORTED_BELOW of their content words.
        "unsupported": unsupported_share(rows, dict(zip(docs["id"], docs["article"], strict=True))),
        "by_source": {
            source: summarize_scores([r for r in rows if r["source"] == source])
            for source in sorted({r["source"] for r in rows})
        },
    }
    if empty:
        log.warning("%d of %d predictions are empty (scored 0)", empty, len(rows))
    (out / METRICS).write_text(json.dumps(metrics, indent=2))
    write_report(out, metrics, rows)
    return metrics


def claim_folder(out: Path, settings: EvalSettings) -> None:
    """Make `out` hold predictions of this system only: resume when RUN says they were made
    the same way, start afresh when asked to, and otherwise refuse, saying what is there."""
    record = {"system": settings.system(), **settings.identity()}
    if settings.overwrite:
        (out / PREDICTIONS).unlink(missing_ok=True)
    elif (out / PREDICTIONS).exists():
        try:
            before = json.loads((out / RUN).read_text())
        except (OSError, ValueError):
            before = {"system": "an unknown system (no readable run.json)"}
        if before != record:
            changed = sorted(k for k in record if before.get(k) != record[k])
            raise ValueError(
                f"{out} holds predictions of {before.get('system')}, made differently from this "
                f"run ({', '.join(changed)}); choose another --out, or pass --overwrite to "
                f"replace them"
            )
    (out / RUN).write_text(json.dumps(record, indent=2))


def make_system(settings: EvalSettings, budget: int):
    """A function (article, reference) -> summary with one sentence per line."""
    if settings.baseline == "oracle":
        return lambda article, reference: "\n".join(oracle(split_sentences(article), reference))
    if settings.baseline:
        method = BASELINES[settings.baseline]
        return lambda article, reference: "\n".join(method(split_sentences(article), budget))
    if settings.extractive:
        if not is_salience_dir(settings.checkpoint):
            raise FileNotFoundError(
                f"No salience model in {settings.checkpoint}; train one with "
                f"python -m summarizer train-salience --out {settings.checkpoint}"
            )
        salience = SalienceModel.load(settings.checkpoint)
        return lambda article, reference: "\n".join(
            salience.extract(split_sentences(article), budget)
        )

    # The summary a user of the Summarizer gets: the same input selection, decoding, readable
    # text and spelling; only the settings come from this run.
    summarizer = Summarizer.from_pretrained(settings.checkpoint)
    mode = "rewritten" if settings.mode == "rewritten" else "abstractive"
    generation = replace(settings.generation(GenerationSettings()), mode=mode)
    if mode == "rewritten":  # key sentences for the budget the extractive systems get
        generation = replace(generation, length=round(budget / WORDS_PER_TOKEN))
    generation.validate()

    def write(article: str, reference: str) -> str:
        paper = Document(name="article", kind="cohan", title=None, sections=[Section("", article)])
        try:
            result = summarizer.summarize(
                paper, generation, max_input_tokens=settings.max_input_tokens or None
            )
        except IngestError:  # nothing to summarize: scored as an empty prediction
            return ""
        return result.summary

    return write


def read_predictions(path: Path, repair: bool = True) -> dict[str, dict]:
    """Rows already written by an earlier (possibly interrupted) run; with `repair`, a torn
    last line is dropped from the file too, so that the run can go on after it."""
    rows: dict[str, dict] = {}
    if not path.exists():
        return rows
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    good = []
    for line in lines:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        rows[row["id"]] = row
        good.append(line)
    whole = "".join(line + "\n" for line in good)
    if repair and whole != text:
        path.write_text(whole, encoding="utf-8")
    return rows


OTHER_OFFSET = 7  # prediction i is also scored against the reference of document i + 7 (mod n)


def faithfulness(rows: list[dict], articles: dict[str, str]) -> dict:
    """Shares of the predictions' numbers and rare words found in their own papers."""
    total = sum((support(r["prediction"], articles[r["id"]]) for r in rows), Support())
    return total.shares()


def unsupported_share(rows: list[dict], articles: dict[str, str]) -> dict:
    """The share of the predictions' sentences that no passage of their paper supports."""
    flags = []
    for r in rows:
        paper = paper_passages(split_sentences(articles[r["id"]]))
        flags += [not found.supported for found in find_sources(r["prediction"], paper)]
    return {"share": float(np.mean(flags)) if flags else None, "sentences": len(flags)}


def rouge1_against_others(rows: list[dict]) -> dict:
    """Mean ROUGE-1 F1 of each prediction against the reference of document i + 7 (mod n),
    and how far below its own it is (`gap`, in ROUGE points)."""
    n = len(rows)
    if n < 2:
        return {"f": float("nan"), "gap": float("nan")}
    shift = OTHER_OFFSET % n or 1
    others = [rows[(i + shift) % n]["reference"] for i in range(n)]
    scores = rouge_per_document([r["prediction"] for r in rows], others)
    other = float(np.mean([s["rouge1"]["f"] for s in scores]))
    own = float(np.mean([r["scores"]["rouge1"]["f"] for r in rows]))
    return {"f": other, "gap": own - other}


def summarize_scores(rows: list[dict]) -> dict:
    """Mean P/R/F per ROUGE type, with a bootstrap 95% interval on F."""
    result = {}
    for kind in ROUGE_TYPES:
        f = [r["scores"][kind]["f"] for r in rows]
        result[kind] = {
            "p": float(np.mean([r["scores"][kind]["p"] for r in rows])),
            "r": float(np.mean([r["scores"][kind]["r"] for r in rows])),
            "f": float(np.mean(f)),
            "ci95": list(bootstrap_ci(f)),
        }
    return result


def write_report(out: Path, metrics: dict, rows: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.hist([r["scores"]["rouge1"]["f"] for r in rows], bins=20)
    left.set_xlabel("ROUGE-1 F1 per document")
    left.set_ylabel("documents")
    right.scatter(
        [len(r["reference"].split()) for r in rows],
        [len(r["prediction"].split()) for r in rows],
        s=8,
    )
    right.set_xlabel("reference words")
    right.set_ylabel("prediction words")
    fig.tight_layout()
    fig.savefig(out / "report.png", dpi=100)
    plt.close(fig)
    lines = [
        f"# Evaluation: {metrics['system']}",
        "",
        f"{metrics['n']} documents from `{metrics['data']}`.",
        "",
        "| metric | P | R | F1 | F1 95% CI |",
        "|---|---|---|---|---|",
    ]
    for kind in ROUGE_TYPES:
        m = metrics[kind]
        lines.append(
            f"| {kind} | {m['p']:.2f} | {m['r']:.2f} | {m['f']:.2f} | "
            f"{m['ci95'][0]:.2f}–{m['ci95'][1]:.2f} |"
        )
    lines += ["", "![per-document ROUGE-1 and lengths](report.png)", ""]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")


def compare(dirs: list[str], n_resamples: int = 1000) -> str:
    """Runs side by side (ROUGE F1), and each later run's paired difference from the first in
    every ROUGE type, on the documents both hold, with its bootstrap p-value."""
    runs = []
    for d in dirs:
        path = Path(d)
        if not (path / METRICS).is_file():
            raise FileNotFoundError(f"No {METRICS} in {path}: run evaluate there first")
        runs.append(
            (
                path,
                json.loads((path / METRICS).read_text()),
                read_predictions(path / PREDICTIONS, repair=False),
            )
        )
    lines = [
        "| run | n | "
        + " | ".join(ROUGE_TYPES)
        + " | "
        + " | ".join(f"{k} − first (p)" for k in ROUGE_TYPES)
        + " | shared |",
        "|---|---|" + "---|" * (2 * len(ROUGE_TYPES) + 1),
    ]
    base = runs[0][2]
    for number, (path, metrics, rows) in enumerate(runs):
        cells = [f"{metrics[k]['f']:.2f}" for k in ROUGE_TYPES]
        if number == 0:
            cells += [""] * len(ROUGE_TYPES) + ["(the first)"]
        else:
            shared = sorted(set(base) & set(rows))
            for k in ROUGE_TYPES:
                if not shared:
                    cells.append("–")
                    continue
                first = [base[i]["scores"][k]["f"] for i in shared]
                this = [rows[i]["scores"][k]["f"] for i in shared]
                gain = float(np.mean(this) - np.mean(first))
                cells.append(f"{gain:+.2f} ({paired_bootstrap(first, this, n_resamples):.3f})")
            cells.append(str(len(shared)))
        lines.append(f"| {path.name} | {metrics['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def paired_bootstrap(
    a: list[float], b: list[float], n_resamples: int = 1000, seed: int = 0
) -> float:
    """Two-sided p-value that mean(b) - mean(a) is zero, resampling documents in pairs."""
    if not a:
        return float("nan")
    diff = np.asarray(b) - np.asarray(a)
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), size=(n_resamples, len(diff)))].mean(axis=1)
    observed = diff.mean()
    if observed == 0:
        return 1.0
    # How often the resampled difference falls on the other side of zero.
    return float(min(1.0, 2 * np.mean(means <= 0 if observed > 0 else means >= 0)))
