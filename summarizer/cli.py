"""`python -m summarizer COMMAND`: the command-line entry point, importable as `main(argv)`."""

from __future__ import annotations

import argparse
import sys

from summarizer.configuration import PRESETS, TerraformerConfig
from summarizer.modeling import count_parameters


def presets_table() -> str:
    """Parameter counts of every preset and its parameter-matched dense twin."""
    lines = [
        f"{'preset':<12} {'d_model':>7} {'layers':>6} {'d_ff':>6} {'Terraformer':>13} "
        f"{'dense d_ff':>10} {'dense twin':>13}"
    ]
    for name in PRESETS:
        sparse = TerraformerConfig.preset(name)
        dense = sparse.dense_twin()
        layers = f"{sparse.n_encoder_layers}+{sparse.n_decoder_layers}"
        lines.append(
            f"{name:<12} {sparse.d_model:>7} {layers:>6} {sparse.d_ff:>6} "
            f"{count_parameters(sparse):>13,} {dense.d_ff:>10} {count_parameters(dense):>13,}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m summarizer", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("presets", help="print the model presets and their parameter counts")
    args = parser.parse_args(argv)
    if args.command == "presets":
        print(presets_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
