"""Why a Sparse FF model trails its dense twin in the parity runs: two probes of one finished
run (`benchmarks.parity` folder), on the validation papers the run was scored on.

    python -m benchmarks.sparse_ff_probe --run ../runs/parity/d256/sparse-FF [--json PATH]

1. The mask. Training feeds the soft mask softmax(controller logits) on 70% of its steps and
   a hard, sampled unit on the rest; validation takes each block's argmax unit. The probe
   scores the run's last checkpoint both ways: if the soft mask scored much lower, the gap
   would be the quantization at evaluation, not the model.
2. The units. How many of each block's N units the controller ever picks, and how evenly:
   the perplexity of the picks (2 ** entropy; N for perfectly even use, 1 for one unit).

The model is read from the run's newest checkpoint into a scratch folder; the run folder is
not touched.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import torch

from summarizer.model.layers.sparse import SparseFF
from summarizer.training.config import from_dict
from summarizer.training.export import checkpoints_of
from summarizer.training.train import Distributed, Trainer


def scorer(run: Path, scratch: Path) -> Trainer:
    """A Trainer of the run's own settings whose model is its newest checkpoint. It trains
    nothing, so it reads only one training paper of each source (a Trainer needs some)."""
    settings = json.loads((run / "run.json").read_text())
    try:
        newest = checkpoints_of(run)[-1]
    except FileNotFoundError as error:
        raise SystemExit(f"{error}: is it a parity run folder?") from None
    settings["model"]["init_from"] = str(newest)
    settings["data"]["limit_train"] = 1
    settings["train"]["rouge_docs"] = 0
    return Trainer(
        from_dict(settings, origin=str(run)),
        scratch,
        False,
        Distributed(0, 1, 0, torch.device("cpu")),
    )


def soft_mask(module: SparseFF, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
    """Forward hook: the layer's output under softmax(controller logits) instead of argmax."""
    x = inputs[0]
    return module.dense_forward(x, module.controller_logits(x).softmax(dim=-1))


def probe(run: Path) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        trainer = scorer(run, Path(scratch))
        named = [(n, m) for n, m in trainer.model.named_modules() if isinstance(m, SparseFF)]
        layers = [m for _, m in named]
        if not layers:
            raise SystemExit(f"{run}: its model has no Sparse FF layer")
        counts = {id(m): torch.zeros(m.n_blocks, m.block) for m in layers}

        def count(module: SparseFF, inputs: tuple) -> None:
            chosen = module.controller_logits(inputs[0]).argmax(-1).reshape(-1, module.n_blocks)
            counts[id(module)].scatter_add_(1, chosen.t(), torch.ones(chosen.t().shape))

        hooks = [m.register_forward_pre_hook(count) for m in layers]
        argmax = trainer.evaluate()["val_loss"]
        for hook in hooks:
            hook.remove()
        hooks = [m.register_forward_hook(soft_mask) for m in layers]
        soft = trainer.evaluate()["val_loss"]
        for hook in hooks:
            hook.remove()
    units = []
    for name, m in named:
        c = counts[id(m)]
        share = c / c.sum(dim=1, keepdim=True)
        entropy = -(share * share.clamp_min(1e-12).log2()).sum(dim=1)
        units.append(
            {
                "layer": name,
                "blocks": m.n_blocks,
                "units_per_block": m.block,
                "tokens": int(c[0].sum()),
                "used_per_block": float((c > 0).sum(dim=1).float().mean()),
                "pick_perplexity": float((2**entropy).mean()),
            }
        )
    return {"run": str(run), "val_loss_argmax": argmax, "val_loss_soft_mask": soft, "layers": units}


def report(result: dict) -> str:
    lines = [
        f"{result['run']}: validation loss {result['val_loss_argmax']:.4f} with each block's "
        f"argmax unit (as evaluated), {result['val_loss_soft_mask']:.4f} with the soft mask",
        "| Sparse FF layer | blocks x N | tokens | units ever picked, per block "
        "| pick perplexity |",
        "|---|---|---|---|---|",
    ]
    for u in result["layers"]:
        lines.append(
            f"| {u['layer']} | {u['blocks']} x {u['units_per_block']} | {u['tokens']:,} | "
            f"{u['used_per_block']:.1f} of {u['units_per_block']} | "
            f"{u['pick_perplexity']:.1f} of {u['units_per_block']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, type=Path, help="a benchmarks.parity run folder")
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args(argv)
    if not (args.run / "run.json").is_file():
        parser.error(f"{args.run} has no run.json: give a benchmarks.parity run folder")
    result = probe(args.run)
    print(report(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
