"""Can the decoder read its input? Two toy tasks that a summarizer must be able to learn, for
every preset's architecture at tiny shapes, its dense twin, and Hugging Face BART of the same
size as the reference.

- `copy`: random inputs of 48 tokens; the target is the input's first 12 tokens. The target
  position must find the input position with the same index (position addressing).
- `phrase`: random inputs of 24-64 tokens (padded) with one marker token somewhere; the target
  is the 12 tokens after the marker. The decoder must find the marker by content, then read
  on from there (content addressing, lengths that vary).

    python -m benchmarks.copy_task --steps 1000 --task copy phrase --models bart tiny dense

prints the loss every 200 steps (uniform guessing over 195 tokens is 5.27) and the first step
whose loss is below 0.5, and writes them as JSON (`--out`).
"""

from __future__ import annotations

import argparse
import inspect
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
from transformers import BartConfig, BartForConditionalGeneration

from summarizer.model import TerraformerConfig, TerraformerForConditionalGeneration, sizing
from summarizer.model.configuration import PRESETS

VOCAB = 200
FIRST_TOKEN = 5  # ids below are special (pad 0, start 1, end 2); 3 is the phrase marker
MARKER = 3
TARGET = 12
SOLVED = 0.5  # a loss this low means the target is read, not guessed

# Terraformer variants at tiny shapes: the configuration overrides of each, applied to the
# `tiny` preset. "dense" is its parameter-matched dense twin.
VARIANTS: dict[str, dict] = {
    "tiny": {},  # as configured: LSH encoder, hybrid decoder, Sparse FF, Sparse QKV
    "lsh-decoder": dict(decoder_attention="lsh"),  # the paper's LSH from target positions too
    "full": dict(encoder_attention="full", decoder_attention="full"),
    "lsh-encoder": dict(decoder_attention="full"),
    "dense": {},
    "sparse-ff": dict(encoder_attention="full", decoder_attention="full", qkv_sparsity=0),
    "sparse-qkv": dict(encoder_attention="full", decoder_attention="full", ff_sparsity=0),
    "tiny+copy": dict(copy_attention=True),  # the pointer-generator head (not in the paper)
    "full+copy": dict(encoder_attention="full", decoder_attention="full", copy_attention=True),
}


@dataclass
class Task:
    name: str
    make: Callable[[int, torch.Generator], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


def copy_batch(size: int, rng: torch.Generator, length: int = 48):
    """(input ids, attention mask, labels): the target is the input's first TARGET tokens."""
    ids = torch.randint(FIRST_TOKEN, VOCAB, (size, length), generator=rng)
    return ids, torch.ones_like(ids), ids[:, :TARGET].clone()


def phrase_batch(size: int, rng: torch.Generator, shortest: int = 24, longest: int = 64):
    """(input ids, attention mask, labels): inputs of varying length with one MARKER; the
    target is the TARGET tokens that follow it."""
    ids = torch.randint(FIRST_TOKEN, VOCAB, (size, longest), generator=rng)
    mask = torch.zeros_like(ids)
    labels = torch.empty(size, TARGET, dtype=torch.long)
    for row in range(size):
        n = int(torch.randint(shortest, longest + 1, (), generator=rng))
        at = int(torch.randint(0, n - TARGET, (), generator=rng))
        ids[row, at] = MARKER
        ids[row, n:] = 0
        mask[row, :n] = 1
        labels[row] = ids[row, at + 1 : at + 1 + TARGET]
    return ids, mask, labels


TASKS = {
    "copy": Task("copy", copy_batch),
    "phrase": Task("phrase", phrase_batch),
    # Shorter inputs, for the regression tests (tests/benchmarks/test_copy_task.py).
    "copy-short": Task("copy-short", partial(copy_batch, length=16)),
    "phrase-short": Task("phrase-short", partial(phrase_batch, shortest=16, longest=32)),
}


# The settings that make a preset's architecture what it is; the others are its size.
MECHANISMS = ("encoder_attention", "decoder_attention", "loss_sparsity", "copy_attention")


def preset_mechanisms(preset: str) -> dict:
    """A preset's architectural choices, to be applied at tiny shapes (VARIANTS' sizes)."""
    defaults = inspect.signature(TerraformerConfig.__init__).parameters
    settings = {name: defaults[name].default for name in MECHANISMS}
    settings.update({k: v for k, v in PRESETS[preset].items() if k in MECHANISMS})
    return settings


def terraformer_variant(name: str) -> tuple[dict, bool]:
    """The `tiny` overrides a Terraformer model name stands for, and whether it is the dense
    twin: a variant of VARIANTS, "preset:NAME" (a preset's architecture at tiny shapes) or
    "preset:NAME:dense" (its dense twin). KeyError for any other name."""
    kind, _, rest = name.partition(":")
    if kind != "preset":
        return VARIANTS[name], name == "dense"
    preset, _, twin = rest.partition(":")
    if preset not in PRESETS or twin not in ("", "dense"):
        raise KeyError(name)
    return preset_mechanisms(preset), twin == "dense"


def build(name: str, **config: object) -> torch.nn.Module:
    """A model by name: "bart", a Terraformer variant of VARIANTS, or a preset's architecture
    at tiny shapes ("preset:NAME", "preset:NAME:dense" for its dense twin); dropout off."""
    if name == "bart":
        c = BartConfig(
            vocab_size=VOCAB,
            d_model=64,
            encoder_layers=2,
            decoder_layers=2,
            encoder_attention_heads=4,
            decoder_attention_heads=4,
            encoder_ffn_dim=256,
            decoder_ffn_dim=256,
            max_position_embeddings=128,
            dropout=0.0,
            pad_token_id=0,
            bos_token_id=1,
            eos_token_id=2,
            decoder_start_token_id=1,
        )
        return BartForConditionalGeneration(c)
    overrides = dict(
        vocab_size=VOCAB, dropout=0.0, ff_dropout=0.0, lsh_chunk_len=8, lsh_n_buckets=8
    )
    variant, twin = terraformer_variant(name)
    base = TerraformerConfig.preset("tiny", **{**overrides, **variant, **config})
    return TerraformerForConditionalGeneration(sizing.dense_twin(base) if twin else base)


def train(
    model: torch.nn.Module,
    task: Task,
    steps: int,
    batch_size: int = 32,
    lr: float = 1e-3,
    seed: int = 0,
    every: int = 200,
    stop_when_solved: bool = False,
) -> dict:
    """Train with AdamW; returns the loss every `every` steps and the first step below SOLVED
    (and stops there with `stop_when_solved`)."""
    rng = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    losses, solved_at = {}, None
    start = time.perf_counter()
    for step in range(steps):
        ids, mask, labels = task.make(batch_size, rng)
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if solved_at is None and loss.item() < SOLVED:
            solved_at = step
        if step % every == 0 or step == steps - 1 or solved_at == step:
            losses[step] = round(loss.item(), 3)
        if stop_when_solved and solved_at is not None:
            break
    return {"losses": losses, "solved_at": solved_at, "seconds": time.perf_counter() - start}


def model_name(text: str) -> str:
    """Validate a --models entry."""
    if text != "bart":
        try:
            terraformer_variant(text)
        except KeyError:
            raise argparse.ArgumentTypeError(f"unknown model {text!r}") from None
    return text


def parse_setting(text: str) -> tuple[str, object]:
    key, _, value = text.partition("=")
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return key.strip(), lowered == "true"
    for kind in (int, float):
        try:
            return key.strip(), kind(value)
        except ValueError:
            pass
    return key.strip(), value.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--task", nargs="+", default=["copy", "phrase"], choices=sorted(TASKS))
    parser.add_argument(
        "--models",
        nargs="+",
        default=["bart", *VARIANTS],
        type=model_name,
        help=f"bart, {', '.join(VARIANTS)}, or preset:NAME[:dense] ({', '.join(PRESETS)})",
    )
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--stop-when-solved", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a TerraformerConfig override for every Terraformer, e.g. reversible=false",
    )
    args = parser.parse_args(argv)
    overrides = dict(parse_setting(text) for text in args.set)
    torch.set_num_threads(args.threads)
    results = []
    for task in args.task:
        for name in args.models:
            torch.manual_seed(args.seed)
            model = build(name) if name == "bart" else build(name, **overrides)
            run = train(
                model,
                TASKS[task],
                args.steps,
                lr=args.lr,
                seed=args.seed,
                stop_when_solved=args.stop_when_solved,
            )
            results.append({"task": task, "model": name, **run})
            curve = " ".join(f"{s}:{v:.2f}" for s, v in run["losses"].items())
            solved = run["solved_at"] if run["solved_at"] is not None else "-"
            took = f"{run['seconds']:.0f} s"
            print(f"{task:<12} {name:<20} solved at {solved!s:>5}  {curve}  ({took})", flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
