"""Start a deeper model from a trained one: the trained weights, plus silent layers on top.

A reversible stack's step is (x1, x2) -> (x2, x1 + F(x2)), and the encoder and the decoder
read their stacks' output as (x1 + x2) / 2. With F = 0 a step only swaps the streams, which
that mean does not see: layers appended at the end of a stack with their sublayers silenced
(`Residual.silence_`: a zero output projection) leave the model's function as it was. So the
deeper model starts at the trained model's loss, and training can only have to improve on it.
Silenced layers learn: their output projection gets gradients from the first step.
"""

from __future__ import annotations

import re

from torch import nn

_LAYER = re.compile(r"^(encoder|decoder)\.stack\.layers\.(\d+)\.")


class GrowthError(ValueError):
    """The trained model does not fit into the new one; the message says where."""


def stack_depths(names) -> dict[str, int]:
    """How many reversible steps each stack ("encoder", "decoder") has, from parameter names."""
    depths = {"encoder": 0, "decoder": 0}
    for name in names:
        found = _LAYER.match(name)
        if found:
            stack, index = found.group(1), int(found.group(2))
            depths[stack] = max(depths[stack], index + 1)
    return depths


def grow_from(model: nn.Module, trained: nn.Module) -> dict[str, int]:
    """Copy every weight of `trained` into `model` and silence `model`'s steps past the end of
    each of `trained`'s stacks. Every other weight must exist in both with the same shape
    (same widths, sparsity and vocabulary); a GrowthError says which does not. Returns the
    number of appended steps per stack (an encoder layer is two steps, attention and FF)."""
    source, target = trained.state_dict(), model.state_dict()
    missing = [name for name in source if name not in target]
    if missing:
        raise GrowthError(
            f"the new model has no {missing[0]!r} (and {len(missing) - 1} more): it must keep "
            "every layer of the trained model, with the same attention and FF kinds"
        )
    for name, tensor in source.items():
        if target[name].shape != tensor.shape:
            raise GrowthError(
                f"{name!r} is {tuple(tensor.shape)} in the trained model but "
                f"{tuple(target[name].shape)} in the new one: only depth may grow"
            )
    old, new = stack_depths(source), stack_depths(target)
    for name in target:
        found = _LAYER.match(name)
        if name not in source and (not found or int(found.group(2)) < old[found.group(1)]):
            raise GrowthError(
                f"{name!r} has no counterpart in the trained model: only whole layers at the "
                "end of the encoder or the decoder can be added"
            )
    model.load_state_dict(source, strict=False)
    for stack in ("encoder", "decoder"):
        layers = getattr(model, stack).stack.layers
        for index in range(old[stack], new[stack]):
            layers[index].silence_()
    return {stack: new[stack] - old[stack] for stack in new}
