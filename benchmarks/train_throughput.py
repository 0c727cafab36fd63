"""Training throughput: tokens per second of the Terraformer vs its parameter-matched dense
twin, one optimizer step (forward, backward, AdamW) at a time, interleaved, medians.

    python -m benchmarks.train_throughput [--preset small | --config TOML] [--input-len 2048]
        [--target-len 256] [--batch 1] [--repeats 5] [--threads 2] [--precision fp32|bf16]
        [--json PATH] [--default-allocator]

`--config` times the model a training config trains (its preset with its overrides, e.g. full
attention and the copy head of configs/salient-cpu.toml) against that model's dense twin.
Tokens are input plus target tokens. Random token ids: speed does not depend on the text.
`--precision bf16` runs forward and backward under bf16 autocast, as `train.precision = "bf16"`
trains (fp32 weights and optimizer).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from contextlib import nullcontext

import torch

from summarizer import TerraformerForConditionalGeneration
from summarizer.allocator import add_default_allocator_flag, keep_freed_memory
from summarizer.model import sizing
from summarizer.model.sizing import count_parameters
from summarizer.model.tokenizer import load_tokenizer
from summarizer.seed import set_seed
from summarizer.training.config import RunConfig, load_run_config


def step_seconds(model, optimizer, ids, labels, precision: str = "fp32") -> float:
    autocast = (
        torch.autocast(ids.device.type, dtype=torch.bfloat16)
        if precision == "bf16"
        else nullcontext()
    )
    started = time.perf_counter()
    with autocast:
        loss = model(input_ids=ids, labels=labels).loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    if ids.is_cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - started


def vocabulary_size(run: RunConfig) -> int:
    """The size of the vocabulary a run trains with: its tokenizer's, or the size it trains
    one to."""
    return len(load_tokenizer(run.data.tokenizer)) if run.data.tokenizer else run.data.vocab_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--config", help="a training config: its model instead of --preset's")
    parser.add_argument("--input-len", type=int, default=2048)
    parser.add_argument("--target-len", type=int, default=256)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--json", help="also write the results here")
    add_default_allocator_flag(parser)
    args = parser.parse_args(argv)
    if not args.default_allocator:
        keep_freed_memory()
    if args.threads:
        torch.set_num_threads(args.threads)
    set_seed(0)

    if args.config:
        run = load_run_config(args.config)
        terraformer = run.model_config(vocabulary_size(run))
    else:
        terraformer = sizing.preset(args.preset)
    variants = {}
    for name, config in (
        ("terraformer", terraformer),
        ("dense twin", sizing.dense_twin(terraformer)),
    ):
        model = TerraformerForConditionalGeneration(config).to(args.device).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
        variants[name] = (config, model, optimizer)
    vocab = min(c.vocab_size for c, _, _ in variants.values())
    ids = torch.randint(3, vocab, (args.batch, args.input_len), device=args.device)
    labels = torch.randint(3, vocab, (args.batch, args.target_len), device=args.device)
    tokens = args.batch * (args.input_len + args.target_len)

    times: dict[str, list[float]] = {name: [] for name in variants}
    for _, model, optimizer in variants.values():  # warm-up
        step_seconds(model, optimizer, ids, labels, args.precision)
    for _ in range(args.repeats):
        for name, (_, model, optimizer) in variants.items():
            times[name].append(step_seconds(model, optimizer, ids, labels, args.precision))

    rows = []
    print(
        f"{args.config or 'preset ' + args.preset}, batch {args.batch} x "
        f"({args.input_len} + {args.target_len}) tokens, {torch.get_num_threads()} threads, "
        f"{args.device}, {args.precision}"
    )
    print(f"{'model':<12} {'parameters':>12} {'s/step':>8} {'tokens/s':>9}")
    for name, (config, _, _) in variants.items():
        seconds = statistics.median(times[name])
        rows.append(
            {
                "model": name,
                "parameters": count_parameters(config),
                "seconds_per_step": seconds,
                "tokens_per_s": tokens / seconds,
            }
        )
        print(f"{name:<12} {rows[-1]['parameters']:>12,} {seconds:>8.2f} {tokens / seconds:>9,.0f}")
    ratio = rows[0]["tokens_per_s"] / rows[1]["tokens_per_s"]
    print(f"terraformer / dense twin throughput: {ratio:.2f}x")
    if args.json:
        report = {
            **vars(args),
            "threads_used": torch.get_num_threads(),
            "runs": rows,
            "terraformer_over_dense": ratio,
        }
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
