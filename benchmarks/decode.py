"""Unbatched decoding speed: milliseconds per generated token after the encoder pass, for the
dense baseline, +Sparse FF, +Sparse QKV, +both and the full Terraformer (all parameter-matched),
and Hugging Face's BART of the dense baseline's size, at the `small` and `medium-800m` presets.

    python -m benchmarks.decode [--presets small medium-800m] [--input-len 256]
        [--repeats 3] [--threads 2] [--json PATH]

Each measurement is one `generate()` call (greedy, with cache, batch 1, EOS suppressed) whose
steps are timestamped; the median gap between steps is the per-token time, free of the
encoder pass and the decoder's prefill. Variants are built afresh each repetition (random
weights) and measured in turn, so the machine's drift hits all of them alike; medians.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time

import torch
from transformers import (
    BartConfig,
    BartForConditionalGeneration,
    GenerationConfig,
    StoppingCriteria,
    StoppingCriteriaList,
)

from summarizer import TerraformerConfig, TerraformerForConditionalGeneration
from summarizer.model.sizing import count_parameters, paper_variants


def bart_like(dense: TerraformerConfig) -> BartConfig:
    """BART with the dense baseline's shape: its decoder layers (self-attention,
    cross-attention, FF) match our decoder blocks (two attention sublayers, FF)."""
    return BartConfig(
        vocab_size=dense.vocab_size,
        d_model=dense.d_model,
        encoder_layers=dense.n_encoder_layers,
        decoder_layers=dense.n_decoder_layers,
        encoder_attention_heads=dense.n_heads,
        decoder_attention_heads=dense.n_heads,
        encoder_ffn_dim=dense.d_ff,
        decoder_ffn_dim=dense.d_ff,
        max_position_embeddings=4096,
        dropout=0.0,
        attention_dropout=0.0,
        activation_function="relu",
        scale_embedding=True,
        tie_word_embeddings=True,
    )


def build(config) -> torch.nn.Module:
    """A randomly initialized model, made quickly: allocated uninitialized, then filled."""
    cls = (
        BartForConditionalGeneration
        if isinstance(config, BartConfig)
        else (TerraformerForConditionalGeneration)
    )
    with torch.device("meta"):
        model = cls(config)
    model = materialize(model)
    model.tie_weights()
    return model


def materialize(module: torch.nn.Module) -> torch.nn.Module:
    """Allocate a module built on the meta device and fill it (norm scales 1, other vectors 0,
    matrices N(0, 0.02)): much faster than each layer's own initializer at 800M parameters."""
    module = module.to_empty(device="cpu").eval()
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.ndim == 1:
                p.fill_(1.0 if "norm" in name.lower() else 0.0)
            else:
                p.normal_(0.0, 0.02)
        for b in module.buffers():
            b.zero_()
    return module


class StepTimer(StoppingCriteria):
    """Records when generate() finishes each decoding step; never stops generation."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs) -> torch.Tensor:
        self.times.append(time.perf_counter())
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)


def ms_per_token(model, input_ids: torch.Tensor, n_tokens: int) -> float:
    """Median time between consecutive decoding steps of one generate() call; the first two
    steps (which follow the encoder pass and the prefill) are left out."""
    config = GenerationConfig(
        max_new_tokens=n_tokens,
        min_new_tokens=n_tokens,
        do_sample=False,
        num_beams=1,
        use_cache=True,
        decoder_start_token_id=model.config.decoder_start_token_id,
        eos_token_id=model.config.eos_token_id,
        pad_token_id=model.config.pad_token_id,
    )
    timer = StepTimer()
    with torch.inference_mode():
        model.generate(
            input_ids=input_ids,
            generation_config=config,
            stopping_criteria=StoppingCriteriaList([timer]),
        )
    gaps = [b - a for a, b in zip(timer.times[2:], timer.times[3:], strict=False)]
    return 1000 * statistics.median(gaps)


def bench_preset(preset: str, input_len: int, repeats: int, n_tokens: int) -> dict:
    configs: dict = paper_variants(TerraformerConfig.preset(preset))
    configs["HF BART"] = bart_like(configs["dense"])
    params = {}
    times: dict[str, list[float]] = {name: [] for name in configs}
    ids = torch.randint(3, configs["dense"].vocab_size, (1, input_len))
    for _ in range(repeats):
        for name, config in configs.items():
            model = build(config)
            params[name] = sum(p.numel() for p in model.parameters())
            times[name].append(ms_per_token(model, ids, n_tokens))
            del model
            gc.collect()
    dense = statistics.median(times["dense"])
    rows = []
    for name in configs:
        ms = statistics.median(times[name])
        rows.append(
            {
                "model": name,
                "parameters": params[name],
                "ms_per_token": ms,
                "speedup_vs_dense": dense / ms,
                "all_ms": times[name],
            }
        )
    return {
        "preset": preset,
        "input_len": input_len,
        "rows": rows,
        "dense_over_hf_bart": dense / statistics.median(times["HF BART"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["small", "medium-800m"])
    parser.add_argument("--input-len", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    report = {"threads": args.threads, "results": []}
    for preset in args.presets:
        big = count_parameters(TerraformerConfig.preset(preset)) > 1e8
        result = bench_preset(preset, args.input_len, args.repeats, 16 if big else 48)
        report["results"].append(result)
        print(
            f"\n{preset}: batch 1, {args.input_len} input tokens, {args.threads} threads, "
            f"median of {args.repeats}"
        )
        print(f"{'model':<13} {'parameters':>13} {'ms/token':>9} {'vs dense':>9}")
        for row in result["rows"]:
            print(
                f"{row['model']:<13} {row['parameters']:>13,} {row['ms_per_token']:>9.1f} "
                f"{row['speedup_vs_dense']:>8.2f}x"
            )
        print(f"dense / HF BART time ratio: {result['dense_over_hf_bart']:.2f} (target <= 1.1)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
