"""Summarize scientific papers, train and evaluate the models: `python -m summarizer COMMAND`.

(The heavy libraries are imported by each command when it runs, so that --help is quick.)"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from pathlib import Path

from summarizer.allocator import keep_freed_memory
from summarizer.settings import DECODING, LENGTHS, MODES, GenerationSettings


def from_args(cls, args: argparse.Namespace, **given):
    """The dataclass `cls` with each field taken from the command-line argument of the same
    name, except those `given` (converted values)."""
    names = {f.name for f in dataclasses.fields(cls)}
    values = {k: v for k, v in vars(args).items() if k in names}
    return cls(**{**values, **given})


def add_decoding_arguments(
    parser: argparse.ArgumentParser, defaults: GenerationSettings | None = None
) -> None:
    """One flag per decoding setting (--num-beams, ..., --paper-words/--no-paper-words).
    Without `defaults` every flag defaults to None, "the model's own"."""
    for name, (kind, meaning) in DECODING.items():
        flag = "--" + name.replace("_", "-")
        default = None if defaults is None else getattr(defaults, name)
        text = meaning + (" [default: the model's]" if defaults is None else "")
        if kind is bool:
            parser.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=default, help=text
            )
        else:
            parser.add_argument(flag, type=kind, default=default, help=text)


def decoding_values(args: argparse.Namespace) -> dict:
    """The decoding settings given on the command line (None where left to the model)."""
    return {name: getattr(args, name) for name in DECODING}


def presets_table() -> str:
    """Parameter counts of every preset and its parameter-matched dense twin."""
    from summarizer.model.configuration import PRESETS, TerraformerConfig
    from summarizer.model.sizing import count_parameters, dense_twin

    lines = [
        f"{'preset':<12} {'d_model':>7} {'layers':>6} {'d_ff':>6} {'Terraformer':>13} "
        f"{'dense d_ff':>10} {'dense twin':>13}"
    ]
    for name in PRESETS:
        sparse = TerraformerConfig.preset(name)
        dense = dense_twin(sparse)
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
    train_parser = commands.add_parser("train", help="train a model from a TOML config")
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
    system.add_argument(
        "--baseline",
        choices=["lead", "lexrank", "textrank", "oracle"],
        help="an extractive baseline instead of a model (oracle: the best sentences by ROUGE "
        "against the reference, an upper bound)",
    )
    evaluate_parser.add_argument(
        "--mode",
        choices=MODES,
        default=None,
        help="with --checkpoint: generate, pick sentences with its salience model, or pick "
        "and rewrite them (default: the model's)",
    )
    evaluate_parser.add_argument("--limit", type=int, default=0, help="first N documents only")
    evaluate_parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the predictions already in --out (by default a run resumes them, and "
        "only when they were made by the same system with the same settings)",
    )
    evaluate_parser.add_argument(
        "--max-words",
        type=int,
        default=0,
        help="word budget of key sentences, as picked or rewritten (default: median reference)",
    )
    evaluate_parser.add_argument(
        "--max-input-tokens", type=int, default=0, help="default: what the model was trained on"
    )
    evaluate_parser.add_argument(
        "--max-new-tokens", type=int, default=None, help="default: the model's"
    )
    add_decoding_arguments(evaluate_parser)
    add_summarize_parser(commands)
    add_export_parser(commands)
    add_salience_parser(commands)
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:2] == ["evaluate", "compare"]:
        return run_compare(argv[2:])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    keep_freed_memory()  # training steps a third faster on 2 cores: summarizer/allocator.py
    if args.command == "presets":
        print(presets_table())
        return 0
    if args.command == "train":
        return run_train(args)
    if args.command == "evaluate":
        return run_evaluate(args)
    if args.command == "summarize":
        return run_summarize(args)
    if args.command == "export":
        return run_export(args)
    if args.command == "train-salience":
        return run_train_salience(args)
    return 2


def add_summarize_parser(commands) -> None:
    p = commands.add_parser(
        "summarize",
        help="summarize papers (PDF, TeX, Markdown, text, Cohan jsonl) into --out",
        description="One summary file per input under --out (mirroring relative paths), plus "
        "--out/summaries.jsonl. Exit code 0: all succeeded; 1: some failed; 2: usage error.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    p.add_argument("--out", required=True, help="folder for the summaries")
    p.add_argument("--recursive", action="store_true", help="also read sub-folders")
    p.add_argument(
        "--length",
        default="medium",
        type=parse_length,
        help="short | medium | long, or N: the most tokens a written summary may have; key "
        "sentences get about 0.75 words per token (short / medium / long = 72 / 120 / 192 words)",
    )
    p.add_argument(
        "--mode",
        choices=MODES,
        default=None,
        help="write new text, pick the paper's most salient sentences, or pick and rewrite "
        "them (default: the model's)",
    )
    add_decoding_arguments(p)
    p.add_argument("--per-section", action="store_true", help="also summarize each section")
    p.add_argument(
        "--max-input-tokens",
        type=int,
        default=None,
        help="how much the encoder reads (default: what the model was trained on); "
        "longer papers are shortened section by section",
    )
    p.add_argument("--jobs", type=int, default=1, help="worker processes (each loads the model)")
    p.add_argument("--overwrite", action="store_true", help="redo inputs already summarized")
    p.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    p.add_argument(
        "--shard",
        default=None,
        metavar="I/N",
        help="take every N-th input starting at I (default: RANK/WORLD_SIZE if set, else 0/1)",
    )


def add_export_parser(commands) -> None:
    p = commands.add_parser(
        "export", help="write a model to ship (e.g. checkpoints/default) from a training run"
    )
    p.add_argument("--run", required=True, help="training --out folder, or one checkpoint")
    p.add_argument("--out", required=True, help="folder to write (replaced)")
    p.add_argument("--average", type=int, default=1, help="average the N newest checkpoints")
    p.add_argument(
        "--dtype",
        default="bfloat16",
        choices=["float32", "bfloat16", "float16"],
        help="weights as stored (the Summarizer computes in float32)",
    )
    p.add_argument(
        "--max-new-tokens",
        type=int,
        default=GenerationSettings().max_new_tokens,
        help="the default summary length, in tokens",
    )
    p.add_argument(
        "--mode",
        choices=MODES,
        default="abstractive",
        help="the default summary mode (extractive: --out must hold a salience model)",
    )
    add_decoding_arguments(p, defaults=GenerationSettings())


def add_salience_parser(commands) -> None:
    p = commands.add_parser(
        "train-salience",
        help="train the sentence-salience model (key-sentence summaries)",
        description="Labels every paper with the greedy ROUGE oracle, fits the salience model "
        "and writes salience.safetensors + salience.json into --out (e.g. a model folder).",
    )
    p.add_argument("--data", required=True, nargs="+", help="Cohan files or folders")
    p.add_argument("--out", required=True, help="folder to write the salience model into")
    p.add_argument("--limit", type=int, default=0, help="first N documents of each --data")
    p.add_argument("--epochs", type=int, default=4, help="passes over the labelled sentences")
    p.add_argument("--workers", type=int, default=2, help="processes labelling papers")
    p.add_argument(
        "--seed", type=int, default=0, help="random seed of the fitting (same seed, same model)"
    )


def run_train_salience(args: argparse.Namespace) -> int:
    import datasets

    from summarizer.training.salience import SalienceTraining, train_salience

    datasets.disable_progress_bars()
    settings = from_args(SalienceTraining, args)
    try:
        result = train_salience(settings)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    losses = ", ".join(f"{x:.4f}" for x in result["loss"])
    print(
        f"trained on {result['documents']} papers ({result['sentences']} sentences); "
        f"loss by epoch {losses}; written to {args.out}"
    )
    return 0


def run_export(args: argparse.Namespace) -> int:
    from summarizer.training.export import ExportSettings, export

    generation = GenerationSettings(
        length=args.max_new_tokens, mode=args.mode, **decoding_values(args)
    )
    settings = ExportSettings(
        run=Path(args.run),
        out=Path(args.out),
        average=args.average,
        dtype=args.dtype,
        generation=generation,
    )
    try:
        print(export(settings))
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def parse_length(value: str) -> str | int:
    if value in LENGTHS:
        return value
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError("use short, medium, long or a number of tokens") from None


def run_summarize(args: argparse.Namespace) -> int:
    from summarizer.api import ModelNotFoundError
    from summarizer.batch import BatchOptions, UsageError, run_batch, shard_from_env

    try:
        shard = shard_from_env()
        if args.shard:
            index, _, count = args.shard.partition("/")
            shard = (int(index), int(count))
    except ValueError:
        print(f"error: --shard must look like 0/4, got {args.shard!r}", file=sys.stderr)
        return 2
    options = from_args(
        BatchOptions, args, out=Path(args.out), shard=shard, decoding=decoding_values(args)
    )
    try:
        report = run_batch(args.paths, options)
    except (UsageError, ModelNotFoundError, ValueError) as error:  # ValueError: a bad model
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(report)
    return report.exit_code


def run_evaluate(args: argparse.Namespace) -> int:
    import datasets

    from eval.evaluate import EvalSettings, evaluate

    datasets.disable_progress_bars()
    settings = from_args(EvalSettings, args)
    try:
        metrics = evaluate(settings)
    except (ValueError, FileNotFoundError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    scores = "  ".join(f"{k} {metrics[k]['f']:.2f}" for k in ("rouge1", "rouge2", "rougeLsum"))
    notes = [f"rouge1 against another paper's abstract {metrics['rouge1_other']['f']:.2f}"]
    found = metrics["faithfulness"]
    for kind in ("numbers", "rare_words", "names"):
        if found[kind] is not None:
            notes.append(f"{found[kind]:.0%} of {kind.replace('_', ' ')} found in the paper")
    if metrics["unsupported"]["share"] is not None:
        notes.append(f"{metrics['unsupported']['share']:.0%} of sentences unsupported by the paper")
    n = metrics["n"]
    skipped = sum(metrics["skipped_records"].values())
    if skipped:
        notes.append(f"{skipped} unusable records skipped")
    print(f"{n} document{'s' * (n != 1)}: {scores} (F1; details in {args.out})")
    print("; ".join(notes))
    return 0


def run_compare(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m summarizer evaluate compare",
        description="Evaluate runs side by side (ROUGE F1), each against the first with a paired "
        "bootstrap p-value on the documents they share.",
    )
    parser.add_argument("dirs", nargs="+", metavar="DIR", help="--out folders of evaluate runs")
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help (0) or a usage error (2)
        return int(stop.code or 0)
    if len(args.dirs) < 2:
        print("error: evaluate compare needs at least two result directories", file=sys.stderr)
        return 2
    from eval.evaluate import compare

    try:
        print(compare(args.dirs))
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def run_train(args: argparse.Namespace) -> int:
    import datasets
    import transformers

    from summarizer.training.config import ConfigError, load_run_config
    from summarizer.training.train import TrainingDiverged, train

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
