"""Peak memory of one training step vs depth, reversible vs not.

    python -m benchmarks.memory [--layers 2 4 8 16] [--input-len 512] [--target-len 128]

Each measurement runs in a fresh process so peaks do not mix. Two figures per run:
- activations: bytes autograd keeps for the backward pass (exact, from saved-tensor hooks);
- step peak: the process's peak resident memory during forward + backward, minus its
  resident memory just before the step. Weight-gradient buffers are allocated before the
  step (they grow with depth in both variants and are not activations), and glibc is told
  to return large freed blocks at once (MALLOC_MMAP_THRESHOLD_), so resident memory follows
  live memory instead of the allocator's cache.
With reversible layers the activations should stay nearly flat in depth; without, they grow
linearly. Prints a table; `--json PATH` also writes the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys

import torch

from summarizer import TerraformerConfig, TerraformerForConditionalGeneration
from summarizer.seed import set_seed

MiB = 2**20


def measure(layers: int, reversible: bool, input_len: int, target_len: int, preset: str) -> dict:
    """One training step of the preset with `layers` encoder and decoder layers."""
    set_seed(0)
    config = TerraformerConfig.preset(
        preset, n_encoder_layers=layers, n_decoder_layers=layers, reversible=reversible
    )
    model = TerraformerForConditionalGeneration(config).train()
    ids = torch.randint(3, config.vocab_size, (1, input_len))
    labels = torch.randint(3, config.vocab_size, (1, target_len))

    storages: dict[int, int] = {}  # data pointer -> bytes; a storage saved twice counts once

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return t

    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    before = rss_now()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = model(input_ids=ids, labels=labels).loss
    loss.backward()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "layers": layers,
        "reversible": reversible,
        "parameters": sum(p.numel() for p in model.parameters()),
        "activations_mib": sum(storages.values()) / MiB,
        "step_peak_mib": max(0, peak - before) / MiB,
    }


def rss_now() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, nargs="+", default=[2, 4, 8, 16])
    parser.add_argument("--input-len", type=int, default=512)
    parser.add_argument("--target-len", type=int, default=128)
    parser.add_argument("--preset", default="small")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--one", nargs=2, metavar=("LAYERS", "REVERSIBLE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.one:  # child process: one measurement, JSON on stdout
        layers, reversible = int(args.one[0]), args.one[1] == "1"
        print(json.dumps(measure(layers, reversible, args.input_len, args.target_len, args.preset)))
        return 0

    print(
        f"{'layers':>6} {'reversible':>10} {'params':>12} {'activations MiB':>16} "
        f"{'step peak MiB':>14}"
    )
    rows = []
    for layers in args.layers:
        for reversible in (True, False):
            cmd = [
                sys.executable,
                "-m",
                "benchmarks.memory",
                "--one",
                str(layers),
                str(int(reversible)),
                "--input-len",
                str(args.input_len),
                "--target-len",
                str(args.target_len),
                "--preset",
                args.preset,
            ]
            env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072"}
            done = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print_row(rows[-1])

    report = {
        "input_len": args.input_len,
        "target_len": args.target_len,
        "preset": args.preset,
        "runs": rows,
    }
    for reversible in (True, False):
        runs = [r for r in rows if r["reversible"] == reversible]
        if len(runs) > 1:
            key = "reversible" if reversible else "plain"
            report[f"{key}_activation_ratio"] = (
                runs[-1]["activations_mib"] / runs[0]["activations_mib"]
            )
            report[f"{key}_peak_ratio"] = runs[-1]["step_peak_mib"] / max(
                runs[0]["step_peak_mib"], 1
            )
    print()
    print(f"{args.layers[-1]}-layer / {args.layers[0]}-layer ratio (activations, step peak):")
    for key in ("reversible", "plain"):
        if f"{key}_activation_ratio" in report:
            print(
                f"  {key:10s} {report[f'{key}_activation_ratio']:.2f}x  "
                f"{report[f'{key}_peak_ratio']:.2f}x"
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return 0


def print_row(row: dict) -> None:
    print(
        f"{row['layers']:>6} {row['reversible']!s:>10} {row['parameters']:>12,} "
        f"{row['activations_mib']:>16.1f} {row['step_peak_mib']:>14.1f}"
    )


if __name__ == "__main__":
    sys.exit(main())
