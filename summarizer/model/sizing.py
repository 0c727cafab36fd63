"""Parameter counts, and configurations that change the architecture at a fixed parameter count
(the dense twin of a preset, and the one-sparse-part-at-a-time variants of the paper's tables).

Kept apart from `configuration` because counting needs the model itself (built on the meta
device), and the model needs the configuration.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from summarizer.model.configuration import TerraformerConfig
from summarizer.model.modeling import TerraformerForConditionalGeneration

# The paper's Table 1 variants, each changing one thing against the dense baseline (attention
# stays full where the variant does not name LSH, so only the named sparse part differs).
FULL_ATTENTION = {"encoder_attention": "full", "decoder_attention": "full"}
DENSE_FF = {"ff_sparsity": 0, "ff_lowrank": None}
VARIANT_NAMES = ("dense", "+sparse FF", "+sparse QKV", "+both", "terraformer")


def paper_variants(config: TerraformerConfig) -> dict[str, TerraformerConfig]:
    """The dense baseline, +Sparse FF, +Sparse QKV, +both (no sparse output layer) and the full
    Terraformer (LSH attention and the sparse output layer) built from `config`'s shape and
    sparsity settings, all with `config`'s parameter count. Keys are `VARIANT_NAMES`."""
    built = {
        "dense": dense_twin(config),
        "+sparse FF": variant(config, qkv_sparsity=0, loss_sparsity=0, **FULL_ATTENTION),
        "+sparse QKV": variant(config, loss_sparsity=0, **DENSE_FF, **FULL_ATTENTION),
        "+both": variant(config, loss_sparsity=0, **FULL_ATTENTION),
        "terraformer": variant(config, encoder_attention="lsh", decoder_attention="lsh"),
    }
    return {name: built[name] for name in VARIANT_NAMES}


def count_parameters(config: TerraformerConfig) -> int:
    """Number of distinct parameters of the model for `config`, without allocating them."""
    with torch.device("meta"):
        model = TerraformerForConditionalGeneration(config)
    return sum(p.numel() for p in model.parameters())


def preset(name: str, dense: bool = False, **overrides: Any) -> TerraformerConfig:
    """`TerraformerConfig.preset(name, **overrides)`, or with `dense=True` its dense twin."""
    config = TerraformerConfig.preset(name, **overrides)
    return dense_twin(config) if dense else config


def dense_twin(config: TerraformerConfig) -> TerraformerConfig:
    """Same model with dense FF, dense QKV, full attention and a dense output layer, with d_ff
    chosen so that the parameter count matches `config`."""
    return variant(config, qkv_sparsity=0, loss_sparsity=0, **DENSE_FF, **FULL_ATTENTION)


def variant(config: TerraformerConfig, **changes: Any) -> TerraformerConfig:
    """`config` with `changes`, and d_ff re-chosen so that the parameter count stays the same
    (within one 8-unit step of d_ff)."""
    target = count_parameters(config)
    other = copy.deepcopy(config)
    for key, value in changes.items():
        if not hasattr(other, key):
            raise ValueError(f"Unknown TerraformerConfig setting {key!r}")
        setattr(other, key, value)
    # A sparse output layer cannot be tied; once it is gone, tie as a dense model would.
    other.tie_word_embeddings = other.loss_sparsity == 0 and (
        config.tie_word_embeddings or config.loss_sparsity > 0
    )
    # The count grows with d_ff (not linearly: the Sparse FF controller's rank is d_ff / N),
    # so bisect over multiples of the block size.
    step = max(8, other.ff_sparsity)  # d_ff must stay a multiple of the Sparse FF block

    def count(units: int) -> int:
        other.d_ff = units * step
        return count_parameters(other)

    low, high = 1, 2
    while count(high) < target:
        low, high = high, 2 * high
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if count(middle) < target else (low, middle)
    best = min((low, high), key=lambda units: abs(count(units) - target))
    other.d_ff = best * step
    other.validate_architecture()
    return other
