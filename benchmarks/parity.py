"""Perplexity parity: validation log-perplexity against training step for the dense baseline,
+Sparse FF, +Sparse QKV, +both and the full Terraformer, parameter-matched, at two model sizes
(the paper's claim that sparse layers reach dense perplexity at the same parameter count).

    python -m benchmarks.parity --out ../runs/parity [--sizes 128 256] [--steps 2000]
        [--variants dense "+sparse FF" ...] [--ff-sparsity N] [--json PATH] [--report DIR]

Every run trains on the same papers in the same order (same seed) with the same optimizer, and
is validated on the same papers; only the architecture differs. Each (size, variant) run lives
in OUT/d{size}/{variant} with its checkpoints, so rerunning the command continues unfinished
runs and only reads finished ones. Log-perplexity is the validation loss in nats per token
(no label smoothing). `--ff-sparsity N` gives the Terraformer Sparse FF at another block
size and matches every variant to it: Sparse FF's controller has rank d_ff / N, so N changes
the parameter count, and with it every variant's d_ff, the dense one's too. Such runs train in
OUT/d{size}-N{n}, are named "<variant> (N = n)" and are compared with "dense (N = n)"; a
variant whose architecture N does not change shares its usual run. Two more variants may be
asked for by name: "+both +LSH" and "+both +sparse output" add one of the Terraformer's two
further parts to +both.

`--report DIR` also keeps every curve it reports in DIR/parity.json, and reads that file back:
a curve outlives its run folder (runs live outside the repository, on machines that may not
be kept), so a report of one size keeps the other sizes' results, and a run started again
from scratch does not replace a longer stored curve until it reaches further.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from benchmarks.results import write_section
from summarizer.model.configuration import TerraformerConfig
from summarizer.model.sizing import (
    FULL_ATTENTION,
    VARIANT_NAMES,
    count_parameters,
    paper_variants,
    variant,
)
from summarizer.model.tokenizer import load_tokenizer
from summarizer.paths import REPO_ROOT
from summarizer.training.config import from_dict
from summarizer.training.train import train

DATA = REPO_ROOT.parent / "shared" / "data"
STORED = "parity.json"  # the curves a report keeps beside its RESULTS.md
# The settings a variant may change; written out in full as each run's model overrides.
ARCHITECTURE = (
    "d_model",
    "d_ff",
    "n_heads",
    "n_encoder_layers",
    "n_decoder_layers",
    "ff_sparsity",
    "ff_lowrank",
    "qkv_sparsity",
    "loss_sparsity",
    "encoder_attention",
    "decoder_attention",
    "lsh_chunk_len",
    "lsh_n_buckets",
    "reversible",
    "tie_word_embeddings",
)


def base_config(d_model: int, vocab_size: int, ff_sparsity: int = 0) -> TerraformerConfig:
    """The full Terraformer at one size: the `small` preset's sparsity settings (N = 32, S = 4,
    output-layer modules 4; `ff_sparsity` sets another N) and shape ratios, 2 + 2 layers. LSH
    chunks of 32 in 8 buckets suit 256-token inputs (with chunks of 64, bucket padding made LSH
    cost more than full attention: 2.3x the Terraformer's step time). Activations are stored
    (`reversible=False`): the same arithmetic, fewer recomputations. The decoder is the
    paper's, LSH throughout, not the preset's hybrid (the README's curves were measured so)."""
    extra = {"ff_sparsity": ff_sparsity} if ff_sparsity else {}
    return TerraformerConfig.preset(
        "small",
        **extra,
        vocab_size=vocab_size,
        d_model=d_model,
        d_ff=8 * d_model,
        n_heads=4,
        n_encoder_layers=2,
        n_decoder_layers=2,
        loss_sparsity=4,
        lsh_chunk_len=32,
        lsh_n_buckets=8,
        decoder_attention="lsh",
        reversible=False,
    )


# The Terraformer adds two parts to +both, LSH attention and the sparse output layer; these
# runs add one at a time, to tell which of them moves its curve away from +both's.
ABLATION_NAMES = ("+both +LSH", "+both +sparse output")
ALL_VARIANTS = (*VARIANT_NAMES, *ABLATION_NAMES)


def all_variants(config: TerraformerConfig) -> dict[str, TerraformerConfig]:
    """The paper's variants of `config` (`paper_variants`) and the ABLATION_NAMES runs, all
    with `config`'s parameter count. Keys are ALL_VARIANTS."""
    lsh = {"encoder_attention": "lsh", "decoder_attention": "lsh"}
    return {
        **paper_variants(config),
        "+both +LSH": variant(config, loss_sparsity=0, **lsh),
        "+both +sparse output": variant(config, **FULL_ATTENTION),
    }


def run_folder(name: str) -> str:
    """A variant's run folder name: "+both +LSH" -> "both-LSH"."""
    return name.replace("+", "").strip().replace(" ", "-")


# How the name of a run at another Sparse FF block size begins its suffix: "dense (N = 8)".
OTHER_N = " (N = "


def architecture(config: TerraformerConfig) -> dict:
    return {key: getattr(config, key) for key in ARCHITECTURE}


def placements(size: int, vocab_size: int, ff_sparsity: int = 0) -> dict[str, tuple]:
    """variant -> (config, run folder under OUT, reported name) at one size. With another
    Sparse FF block size (`ff_sparsity`), a variant whose architecture it changes trains in
    d{size}-N{n} and is reported as "<variant> (N = n)"; one it leaves alone keeps its usual
    run and name."""
    usual = all_variants(base_config(size, vocab_size))
    configs = all_variants(base_config(size, vocab_size, ff_sparsity)) if ff_sparsity else usual
    n = configs["terraformer"].ff_sparsity
    placed = {}
    for name, config in configs.items():
        if architecture(config) == architecture(usual[name]):
            placed[name] = (config, f"d{size}/{run_folder(name)}", name)
        else:
            placed[name] = (config, f"d{size}-N{n}/{run_folder(name)}", f"{name}{OTHER_N}{n})")
    return placed


def dense_of(variant: str) -> str:
    """The dense run a variant is compared with: the one matched to the same Terraformer
    ("+sparse FF (N = 8)" -> "dense (N = 8)")."""
    _, mark, n = variant.partition(OTHER_N)
    return f"dense{mark}{n}"


def run_settings(args: argparse.Namespace, model: TerraformerConfig) -> dict:
    """The training run of one variant, as the sections of a run config."""
    overrides = architecture(model)
    return {
        "model": {
            "preset": "small",
            "overrides": {k: v for k, v in overrides.items() if v is not None},
        },
        "data": {
            "train": args.train,
            "validation": args.validation,
            "tokenizer": args.tokenizer,
            "max_input_tokens": args.input_tokens,
            "max_target_tokens": args.target_tokens,
            "limit_validation": args.val_docs,
        },
        "optim": {"lr": args.lr, "warmup_steps": args.warmup, "label_smoothing": 0.0},
        "train": {
            "steps": args.steps,
            "batch_size": args.batch_size,
            "log_every": 50,
            "eval_every": args.eval_every,
            "eval_docs": 2 * args.val_docs,
            "rouge_docs": 0,
            "save_every": args.eval_every,
            "keep_checkpoints": 1,
            "threads": args.threads,
            "precision": args.precision,
            "seed": 0,
        },
    }


def validation_curve(run_dir: Path) -> list[tuple[int, float]]:
    """(step, validation loss) of a run so far, from its metrics.jsonl."""
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        return []
    curve = {}
    for line in path.read_text().splitlines():
        record = json.loads(line) if line.strip() else {}
        if "val_loss" in record:
            curve[record["step"]] = record["val_loss"]  # a resumed run may repeat a step
    return sorted(curve.items())


def merge_stored(results: list[dict], path: Path) -> list[dict]:
    """`results` with the curves stored in `path` (a report's parity.json) merged in: a stored
    run that was not measured now is kept, and a stored curve that reaches a later step than
    its run folder's wins. Ordered by size, then as the variants are listed."""
    stored = json.loads(path.read_text())["results"] if path.is_file() else []
    merged = {(r["d_model"], r["variant"]): r for r in stored}
    for r in results:
        old = merged.get((r["d_model"], r["variant"]))
        if old is None or last_step(r) >= last_step(old):
            merged[(r["d_model"], r["variant"])] = r
    order = list(ALL_VARIANTS)
    return sorted(
        merged.values(),
        key=lambda r: (r["d_model"], order.index(r["variant"]) if r["variant"] in order else 99),
    )


def last_step(result: dict) -> int:
    return result["curve"][-1][0] if result["curve"] else 0


def finished(run_dir: Path, steps: int) -> bool:
    summary = run_dir / "summary.json"
    return summary.is_file() and json.loads(summary.read_text())["steps"] >= steps


def report(results: list[dict]) -> str:
    """A Markdown table of each run's last validation log-perplexity, against the dense run's
    at the same step."""
    lines = [
        "| d_model | variant | parameters | steps | val log-perplexity | vs dense |",
        "|---|---|---|---|---|---|",
    ]
    for size in sorted({r["d_model"] for r in results}):
        rows = [r for r in results if r["d_model"] == size and r["curve"]]
        curves = {r["variant"]: dict(r["curve"]) for r in rows}
        for r in rows:
            step, loss = r["curve"][-1]  # an unfinished run is compared where it stands
            dense = curves.get(dense_of(r["variant"]), {})
            versus = "–"
            if step in dense and r["variant"] != dense_of(r["variant"]):
                versus = f"{100 * (loss / dense[step] - 1):+.2f}%"
            lines.append(
                f"| {size} | {r['variant']} | {r['parameters']:,} | {step:,} | {loss:.4f} | "
                f"{versus} |"
            )
    return "\n".join(lines)


OTHER_N_NOTE = (
    ' Runs named "(N = n)" are a set with Sparse FF N = n: the controller\'s rank is d_ff / N,'
    " so N changes the parameter count the set is matched to, and each run is compared with"
    " the set's own dense run."
)


def markdown(results: list[dict], args: argparse.Namespace) -> str:
    """The RESULTS.md section: the command, the setup, the table and the figure."""
    sizes = " ".join(str(size) for size in sorted({r["d_model"] for r in results}))
    lines = [
        "# Perplexity parity",
        "",
        f"Written by `python -m benchmarks.parity --out RUNS --sizes {sizes} --steps "
        f"{args.steps} --report benchmarks`. Each variant trains from the same initial seed on "
        f"the same batches of arXiv + PubMed papers ({args.input_tokens} input and "
        f"{args.target_tokens} target tokens, batch {args.batch_size}, AdamW at {args.lr:g} "
        f"after {args.warmup} warm-up steps, no label smoothing, {args.precision}, {args.threads} "
        "threads); "
        f"validation every {args.eval_every} steps on the first {args.val_docs} papers of each "
        "validation file. Log-perplexity is nats per target token. Variants (the paper's Table "
        "1 set, parameter-matched by re-solving d_ff): dense; +Sparse FF; +Sparse QKV; +both "
        "(full attention, dense output layer); the full Terraformer (both, LSH attention and "
        "the sparse output layer). Where they were run, +both +LSH and +both +sparse output add "
        "one of the Terraformer's two further parts to +both. 2 + 2 layers, 4 heads, Sparse FF "
        "N = 32, S = 4." + OTHER_N_NOTE * any(OTHER_N in r["variant"] for r in results),
        "",
        report(results),
        "",
        "![validation log-perplexity against step](parity.png)",
    ]
    notes: dict[tuple[int, str], list[str]] = {}  # (size, note) -> the variants it is about
    for r in results:
        if r.get("note"):
            notes.setdefault((r["d_model"], r["note"]), []).append(r["variant"])
    if notes:
        lines.append("")
        for (size, note), variants in notes.items():
            lines.append(f"- d_model {size} ({', '.join(variants)}): {note}")
    unfinished = [r for r in results if last_step(r) < args.steps]
    if unfinished:
        names = ", ".join(f"d_model {r['d_model']} {r['variant']}" for r in unfinished)
        lines += [
            "",
            f"Not finished yet: {names} (compared with dense at their own last step; the same "
            "command continues them).",
        ]
    return "\n".join(lines) + "\n"


def plot(results: list[dict], path: Path) -> None:
    """Validation log-perplexity against step, one panel per size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted({r["d_model"] for r in results if r["curve"]}) or [0]
    fig, axes = plt.subplots(1, len(sizes), figsize=(6 * len(sizes), 4.2), squeeze=False)
    for ax, size in zip(axes[0], sizes, strict=True):
        for r in results:
            if r["d_model"] == size and r["curve"]:
                steps, losses = zip(*r["curve"], strict=True)
                ax.plot(
                    steps,
                    losses,
                    marker="." if len(steps) > 1 else "o",  # a lone stored point shows
                    label=f"{r['variant']} ({r['parameters'] / 1e6:.1f}M)",
                )
        noted = any(r.get("note") for r in results if r["d_model"] == size)
        ax.set_title(f"d_model {size}" + (" (see the notes in RESULTS.md)" if noted else ""))
        ax.set_xlabel("training step")
        ax.set_ylabel("validation log-perplexity (nats / token)")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder of the runs (outside the repo)")
    parser.add_argument("--sizes", nargs="+", type=int, default=[128, 256])
    parser.add_argument(
        "--variants",
        nargs="+",
        default=list(VARIANT_NAMES),
        help=f"default: the paper's five; also {', '.join(ABLATION_NAMES)}",
    )
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--val-docs", type=int, default=32, help="per validation file")
    parser.add_argument("--input-tokens", type=int, default=256)
    parser.add_argument("--target-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--precision", default="fp32", choices=["fp32", "bf16"], help="bf16: under autocast"
    )
    parser.add_argument(
        "--train",
        nargs="+",
        default=[str(DATA / "arxiv" / "train.jsonl.gz"), str(DATA / "pubmed" / "train.jsonl.gz")],
    )
    parser.add_argument(
        "--validation",
        nargs="+",
        default=[str(DATA / "arxiv" / "val.jsonl.gz"), str(DATA / "pubmed" / "val.jsonl.gz")],
    )
    parser.add_argument("--tokenizer", default=str(REPO_ROOT / "checkpoints" / "default"))
    parser.add_argument(
        "--ff-sparsity",
        type=int,
        default=0,
        help="Sparse FF block size N (default: 32); every variant is matched to the "
        "Terraformer with it, trains in d<size>-N<n> and is reported as '<variant> (N = n)' "
        "unless N leaves its architecture as it is",
    )
    parser.add_argument("--report-only", action="store_true", help="train nothing; report")
    parser.add_argument("--json", help="also write the curves here")
    parser.add_argument(
        "--report",
        help="write its RESULTS.md section, parity.png and parity.json (kept curves) here",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.variants) - set(ALL_VARIANTS))
    if unknown:
        parser.error(f"unknown variant(s) {unknown}; choose from {list(ALL_VARIANTS)}")

    vocab = len(load_tokenizer(args.tokenizer))
    vocab = -(-vocab // 8) * 8  # as the trainer rounds it (8 is a multiple of the 4 modules)
    results = []
    for size in args.sizes:
        placed = placements(size, vocab, args.ff_sparsity)
        for name in args.variants:
            config, folder, label = placed[name]
            run_dir = Path(args.out) / folder
            if not args.report_only and not finished(run_dir, args.steps):
                settings = run_settings(args, config)
                run_dir.mkdir(parents=True, exist_ok=True)
                (run_dir / "run.json").write_text(json.dumps(settings, indent=2))
                print(f"training d_model {size}, {label} in {run_dir}", flush=True)
                train(from_dict(settings, origin=str(run_dir)), run_dir, resume=True)
            results.append(
                {
                    "d_model": size,
                    "variant": label,
                    "parameters": count_parameters(config),
                    "curve": validation_curve(run_dir),
                }
            )
    for r in results:
        if r["curve"]:
            r["perplexity"] = math.exp(r["curve"][-1][1])
    if args.report:
        results = merge_stored(results, Path(args.report) / STORED)
    print(f"\nValidation log-perplexity, {args.steps} steps of batch {args.batch_size}")
    print(report(results))
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "results": results}, indent=2))
    if args.report:
        folder = Path(args.report)
        (folder / STORED).write_text(json.dumps({"results": results}, indent=1) + "\n")
        plot(results, folder / "parity.png")
        write_section(folder, markdown(results, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
