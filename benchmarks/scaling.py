"""Decoding speed-up against model size: unbatched milliseconds per generated token of the
sparse model (Sparse FF + Sparse QKV) against its parameter-matched dense twin, for whole models
at every preset that fits in memory and for one decoder block at the paper's larger shapes.

    python -m benchmarks.scaling [--presets small base medium-800m] [--blocks 800M 17B]
        [--threads 1 2] [--input-lens 256 512] [--repeats 3] [--json PATH] [--report DIR]

A report keeps every row it has written in DIR/scaling.json: a run that measures some models
or blocks replaces theirs and keeps the others', each row dated, so one model can be measured
again without the hour the whole table takes.

Whole models are timed through `generate()` as `benchmarks.decode` times them (greedy, cached,
EOS suppressed; the median gap between steps after the prefill). Each preset gives three
variants: the dense twin, "+both" (Sparse FF and Sparse QKV, dense output layer, full
attention: the paper's Table 1 row) and, for presets with a sparse output layer, "+both +
sparse output" (medium-800m as configured). A block is one decoder block (two attention
sublayers and a FF sublayer) of a paper model's shape, stepped directly over a cache of the
input length; its dense twin matches its parameter count. Variants are built afresh in every
repetition and measured in turn at every thread count and input length, so the machine's
drift hits all alike; medians. Random weights: speed does not depend on them.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import torch

from benchmarks.decode import build, materialize, ms_per_token
from benchmarks.results import write_section
from summarizer.model.configuration import TerraformerConfig
from summarizer.model.modeling import TerraformerDecoder
from summarizer.model.sizing import FULL_ATTENTION, count_parameters, dense_twin, variant

DENSE, BOTH, BOTH_OUT = "dense", "+both", "+both + sparse output"
STORED = "scaling.json"  # the rows a report keeps beside its RESULTS.md


@dataclass(frozen=True)
class BlockShape:
    """One decoder block's shape: width, FF width, heads, Sparse FF block size N and controller
    rank (None: trax's d_ff / N), Sparse QKV module count S."""

    d_model: int
    d_ff: int
    n_heads: int
    ff_block: int
    ff_lowrank: int | None
    qkv_modules: int


# The paper's two decoding-speed models, as trax's timing script
# (trax/supervised/decoding_timing_test.py) builds their Sparse FF + QKV variants, and two
# widths between them (ours, with the same ratios), for a curve rather than two points.
BLOCK_SHAPES = {
    "800M": BlockShape(1024, 6144, 16, 64, None, 16),
    "d2048": BlockShape(2048, 16384, 32, 128, None, 32),
    "d4096": BlockShape(4096, 32768, 64, 128, None, 64),
    "17B": BlockShape(9216, 65536, 96, 256, 32, 64),
}
# The paper's speed-ups of Sparse FF + Sparse QKV over its dense baseline, as its decoding table
# states them (0.160 s -> 0.061 s and 3.690 s -> 0.183 s a token; 5.9 -> 1.9 ms and 0.581 s ->
# 0.014 s a block): whole models by parameter count, and one block by the shape's name.
PAPER_MODELS = {8.0e8: 2.62, 1.7e10: 20.0}
PAPER_BLOCKS = {"800M": 3.05, "17B": 42.5}


def parse_block(spec: str) -> tuple[str, BlockShape]:
    """A name of BLOCK_SHAPES, or d_model:d_ff:heads:N:S for any other shape."""
    if spec in BLOCK_SHAPES:
        return spec, BLOCK_SHAPES[spec]
    try:
        d_model, d_ff, heads, block, modules = (int(part) for part in spec.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--blocks takes {' / '.join(BLOCK_SHAPES)} or d_model:d_ff:heads:N:S, got {spec!r}"
        ) from None
    return spec, BlockShape(d_model, d_ff, heads, block, None, modules)


def model_variants(preset: str) -> dict[str, TerraformerConfig]:
    base = TerraformerConfig.preset(preset)
    no_output = variant(base, loss_sparsity=0, **FULL_ATTENTION)
    configs = {DENSE: dense_twin(base), BOTH: no_output}
    if base.loss_sparsity:
        configs[BOTH_OUT] = variant(base, **FULL_ATTENTION)
    return configs


def block_variants(shape: BlockShape) -> dict[str, TerraformerConfig]:
    """A one-block model of the shape, without encoder layers, so that the dense twin matches
    the decoder block's own parameter count (timing builds the decoder alone)."""
    sparse = TerraformerConfig(
        vocab_size=256,
        d_model=shape.d_model,
        d_ff=shape.d_ff,
        n_heads=shape.n_heads,
        n_encoder_layers=0,
        n_decoder_layers=1,
        ff_sparsity=shape.ff_block,
        ff_lowrank=shape.ff_lowrank,
        qkv_sparsity=shape.qkv_modules,
        loss_sparsity=0,
        **FULL_ATTENTION,
    )
    return {DENSE: dense_twin(sparse), BOTH: sparse}


def block_ms_per_token(
    config: TerraformerConfig, input_lens: list[int], threads: list[int], n_tokens: int
) -> dict[tuple[int, int], float]:
    """Median time of one step of a one-block decoder after a prefill over each input length,
    at each thread count: {(threads, input_len): ms}. One prefill per length serves every
    thread count (at the 17B shape a prefill takes many times longer than the steps)."""
    with torch.device("meta"):
        decoder = TerraformerDecoder(config)
    decoder = materialize(decoder)
    generator = torch.Generator().manual_seed(0)
    step_input = torch.randn(1, 1, config.d_model, generator=generator)
    result = {}
    with torch.inference_mode():
        for input_len in input_lens:
            encoded = torch.randn(1, input_len, config.d_model, generator=generator)
            torch.set_num_threads(max(threads))
            cache = decoder.prefill(encoded, torch.ones(1, input_len, dtype=torch.bool))
            for n_threads in threads:
                torch.set_num_threads(n_threads)
                times = []
                for _ in range(n_tokens + 1):  # the first step is left out
                    started = time.perf_counter()
                    decoder.step(step_input, cache)
                    times.append(time.perf_counter() - started)
                result[(n_threads, input_len)] = 1000 * statistics.median(times[1:])
            del cache
    return result


def measure(
    kind: str,
    name: str,
    configs: dict[str, TerraformerConfig],
    settings: list[tuple[int, int]],
    repeats: int,
    n_tokens: int,
) -> list[dict]:
    """Rows of (variant, threads, input length) with all repetitions' times."""
    times: dict[tuple, list[float]] = {}
    threads = sorted({t for t, _ in settings})
    input_lens = sorted({n for _, n in settings})
    vocab = next(iter(configs.values())).vocab_size
    for _ in range(repeats):
        for label, config in configs.items():
            if kind == "block":
                for key, ms in block_ms_per_token(config, input_lens, threads, n_tokens).items():
                    times.setdefault((label, *key), []).append(ms)
                continue
            model = build(config)
            for n_threads, input_len in settings:
                torch.set_num_threads(n_threads)
                same_ids = torch.Generator().manual_seed(input_len)  # for every variant
                ids = torch.randint(3, vocab, (1, input_len), generator=same_ids)
                times.setdefault((label, n_threads, input_len), []).append(
                    ms_per_token(model, ids, n_tokens)
                )
            del model
            gc.collect()
    rows = []
    today = date.today().isoformat()
    for (label, n_threads, input_len), all_ms in times.items():
        dense = statistics.median(times[(DENSE, n_threads, input_len)])
        ms = statistics.median(all_ms)
        rows.append(
            {
                "kind": kind,
                "name": name,
                "variant": label,
                "parameters": parameters(kind, configs[label]),
                "threads": n_threads,
                "input_len": input_len,
                "ms_per_token": ms,
                "speedup_vs_dense": dense / ms,
                "all_ms": all_ms,
                "measured": today,
            }
        )
    return rows


def merge_stored(rows: list[dict], path: Path) -> list[dict]:
    """`rows` with the rows stored in `path` (a report's scaling.json) merged in: a model or
    block measured now replaces all of its stored rows (its speed-ups are against a dense twin
    timed in the same run); the others are kept. Whole models first, then blocks, each from
    the smallest."""
    stored = json.loads(path.read_text())["rows"] if path.is_file() else []
    measured = {(r["kind"], r["name"]) for r in rows}
    merged = [r for r in stored if (r["kind"], r["name"]) not in measured] + rows
    size = {}
    for r in merged:
        key = (r["kind"], r["name"])
        size[key] = min(size.get(key, r["parameters"]), r["parameters"])
    return sorted(merged, key=lambda r: (r["kind"] != "model", size[(r["kind"], r["name"])]))


def parameters(kind: str, config: TerraformerConfig) -> int:
    """The whole model's parameters, or for a block those of the decoder block alone."""
    if kind == "model":
        return count_parameters(config)
    with torch.device("meta"):
        return sum(p.numel() for p in TerraformerDecoder(config).parameters())


def table(rows: list[dict]) -> str:
    lines = [
        "| kind | model | variant | parameters | threads | input | ms/token | vs dense "
        "| measured |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['kind']} | {r['name']} | {r['variant']} | {r['parameters'] / 1e6:,.1f}M | "
            f"{r['threads']} | {r['input_len']} | {r['ms_per_token']:.2f} | "
            f"{r['speedup_vs_dense']:.2f}x | {r.get('measured', '–')} |"
        )
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> None:
    """Speed-up against parameters (log x): whole models on the left, single decoder blocks on
    the right (x: the block's own parameters), one line per variant and setting, the paper's
    points as stars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    settings = sorted({(r["threads"], r["input_len"]) for r in rows})
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, kind in zip(axes, ("model", "block"), strict=True):
        for i, (threads, input_len) in enumerate(settings):
            for label, style in ((BOTH, "o-"), (BOTH_OUT, "s:")):
                points = sorted(
                    (r["parameters"], r["speedup_vs_dense"])
                    for r in rows
                    if (r["kind"], r["variant"], r["threads"], r["input_len"])
                    == (kind, label, threads, input_len)
                )
                if points:
                    xs, ys = zip(*points, strict=True)
                    ax.plot(
                        xs,
                        ys,
                        style,
                        color=colors[i % len(colors)],
                        label=f"{label}, {threads} thr, {input_len} tokens",
                    )
        paper = paper_points(rows, kind)
        if paper:
            xs, ys = zip(*sorted(paper), strict=True)
            ax.plot(xs, ys, "k*", markersize=13, label="paper, +both")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title("whole models" if kind == "model" else "one decoder block")
        ax.set_xlabel("parameters" if kind == "model" else "parameters of the block")
        ax.set_ylabel("decoding speed-up vs dense, per token")
        ax.axhline(1.0, color="grey", linewidth=0.8)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def repetitions(rows: list[dict]) -> str:
    """How many repetitions the rows' medians are of: "3", or a range such as "3-5" where runs
    with different --repeats were merged."""
    counts = sorted({len(row["all_ms"]) for row in rows})
    return str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"


def markdown(rows: list[dict], settings: dict) -> str:
    """The RESULTS.md section: the command, the method, the table and the plot."""
    threads = " ".join(map(str, settings["threads"]))
    lens = " ".join(map(str, settings["input_lens"]))
    measured = " ".join(settings["presets"] + [name for name, _ in settings["blocks"]])
    command = (
        f"python -m benchmarks.scaling --threads {threads} --input-lens {lens} "
        f"--repeats {settings['repeats']} --report benchmarks"
    )
    lines = [
        "# Decoding speed-up against model size",
        "",
        f"Written by `{command}`, which measures every preset and block shape; its last run "
        f"measured {measured}, and the other rows are kept from earlier runs "
        f"(`benchmarks/{STORED}`, dated). Unbatched decoding, milliseconds per generated "
        "token after the encoder pass and the prefill, random weights, median of interleaved "
        f"repetitions ({repetitions(rows)} per row). Whole models go through "
        "`generate()` (greedy, cached); a block is one decoder block (two attention sublayers "
        "and a FF) "
        'stepped directly over a cache of the input length. "+both" is Sparse FF + Sparse '
        'QKV with full attention and a dense output layer; "+both + sparse output" adds the '
        "multiplicative output layer (medium-800m as configured). Every dense twin has the "
        "same parameter count (whole model, or the block alone). Block shapes: "
        + "; ".join(
            f"{name}: d_model {b.d_model}, d_ff {b.d_ff}, {b.n_heads} heads, N {b.ff_block}, "
            f"S {b.qkv_modules}" + (f", controller rank {b.ff_lowrank}" if b.ff_lowrank else "")
            for name, b in BLOCK_SHAPES.items()
        )
        + ". The paper's own speed-ups for +both: whole models "
        + ", ".join(f"{x / 1e9:g}B parameters {y:g}x" for x, y in PAPER_MODELS.items())
        + "; one block "
        + ", ".join(f"{name} {y:g}x" for name, y in PAPER_BLOCKS.items())
        + ".",
        "",
        table(rows),
        "",
        "![speed-up against model size](scaling.png)",
    ]
    return "\n".join(lines) + "\n"


def paper_points(rows: list[dict], kind: str) -> list[tuple[float, float]]:
    """The paper's speed-ups, placed at their parameter counts: whole models at the paper's
    sizes; blocks at our block of the same shape (when it was measured)."""
    if kind == "model":
        return list(PAPER_MODELS.items())
    sizes = {
        r["name"]: r["parameters"] for r in rows if r["kind"] == "block" and r["variant"] == BOTH
    }
    return [(sizes[name], speedup) for name, speedup in PAPER_BLOCKS.items() if name in sizes]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="*", default=["small", "base", "medium-800m"])
    parser.add_argument("--blocks", nargs="*", type=parse_block, default=list(BLOCK_SHAPES.items()))
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--input-lens", nargs="+", type=int, default=[256, 512])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=16, help="decoding steps per measurement")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--report", help="write its RESULTS.md section and scaling.png here")
    args = parser.parse_args(argv)
    settings = [(t, n) for t in args.threads for n in args.input_lens]
    torch.manual_seed(0)

    rows = []
    for preset in args.presets:
        configs = model_variants(preset)
        model_rows = measure("model", preset, configs, settings, args.repeats, args.tokens)
        rows += model_rows
        print(table(model_rows), flush=True)
    for name, shape in args.blocks:
        block_rows = measure("block", name, block_variants(shape), settings, args.repeats, 8)
        rows += block_rows
        print(table(block_rows), flush=True)
    print("\nDecoding time per token, batch 1, median of", args.repeats)
    print(table(rows))
    if args.json:
        report = {"settings": vars(args) | {"blocks": [n for n, _ in args.blocks]}, "rows": rows}
        report["paper"] = {"models": PAPER_MODELS, "blocks": PAPER_BLOCKS}
        Path(args.json).write_text(json.dumps(report, indent=2))
    if args.report:
        folder = Path(args.report)
        rows = merge_stored(rows, folder / STORED)
        (folder / STORED).write_text(json.dumps({"rows": rows}, indent=1) + "\n")
        plot(rows, folder / "scaling.png")
        write_section(folder, markdown(rows, vars(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
