"""`python -m summarizer COMMAND`: the command-line entry point, importable as `main(argv)`."""

from __future__ import annotations

import argparse
import logging
import os
import sys

import datasets
import transformers

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
    train_parser = commands.add_parser("train", help="train a model (see summarizer/train.py)")
    train_parser.add_argument("--config", required=True, help="TOML file, e.g. configs/tiny.toml")
    train_parser.add_argument("--out", required=True, help="directory for checkpoints and logs")
    train_parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a config value (TOML syntax), e.g. --set optim.lr=3e-4; repeatable",
    )
    train_parser.add_argument(
        "--resume", action="store_true", help="continue from the newest checkpoint in --out"
    )
    evaluate_parser = commands.add_parser(
        "evaluate", help="ROUGE of a checkpoint or baseline (also: evaluate compare DIR ...)"
    )
    evaluate_parser.add_argument("--data", required=True, help="Cohan file or folder")
    evaluate_parser.add_argument("--out", required=True, help="directory for the results")
    system = evaluate_parser.add_mutually_exclusive_group(required=True)
    system.add_argument("--checkpoint", help="a model directory written by save_pretrained")
    system.add_argument("--baseline", choices=["lead", "lexrank", "textrank", "oracle"])
    evaluate_parser.add_argument("--limit", type=int, default=0, help="first N documents only")
    for flag, kind, default in (
        ("--max-words", int, 0),
        ("--max-input-tokens", int, 2048),
        ("--max-new-tokens", int, 256),
        ("--num-beams", int, 4),
        ("--no-repeat-ngram-size", int, 3),
        ("--length-penalty", float, 1.0),
    ):
        evaluate_parser.add_argument(flag, type=kind, default=default)
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:2] == ["evaluate", "compare"]:
        return run_compare(argv[2:])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.command == "presets":
        print(presets_table())
        return 0
    if args.command == "train":
        return run_train(args)
    if args.command == "evaluate":
        return run_evaluate(args)
    return 2


def run_evaluate(args: argparse.Namespace) -> int:
    from eval.evaluate import EvalSettings, evaluate

    datasets.disable_progress_bars()
    settings = EvalSettings(
        data=args.data,
        out=args.out,
        checkpoint=args.checkpoint,
        baseline=args.baseline,
        limit=args.limit,
        max_words=args.max_words,
        max_input_tokens=args.max_input_tokens,
        max_new_tokens=args.max_new_tokens,
        num_beams=args.num_beams,
        no_repeat_ngram_size=args.no_repeat_ngram_size,
        length_penalty=args.length_penalty,
    )
    try:
        metrics = evaluate(settings)
    except (ValueError, FileNotFoundError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    scores = "  ".join(f"{k} {metrics[k]['f']:.2f}" for k in ("rouge1", "rouge2", "rougeLsum"))
    print(f"{metrics['n']} documents: {scores} (F1; details in {args.out})")
    return 0


def run_compare(dirs: list[str]) -> int:
    from eval.evaluate import compare

    if len(dirs) < 2:
        print("error: evaluate compare needs at least two result directories", file=sys.stderr)
        return 2
    try:
        print(compare(dirs))
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def run_train(args: argparse.Namespace) -> int:
    from summarizer.train import TrainingDiverged, train
    from summarizer.train_config import ConfigError, load_run_config

    datasets.disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()
    try:
        config = load_run_config(args.config, args.set)
        result = train(config, args.out, resume=args.resume)
    except (ConfigError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except TrainingDiverged as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if os.environ.get("RANK", "0") == "0":
        print(f"trained {result.steps} steps; checkpoint: {result.final_checkpoint}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
