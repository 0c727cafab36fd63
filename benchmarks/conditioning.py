"""Does a model read its input? The loss of each paper's true abstract when the model reads
that paper, against when it reads another paper (paper i + 7 mod n), on the same tokens.

A summarizer's loss must be clearly lower with the right paper; a language model of abstracts
scores both the same. The conditioning issue asks for a gap of at least 1.0 nat per token.

    python -m benchmarks.conditioning --model checkpoints/default \
        --data ../shared/data/arxiv/val.jsonl.gz ../shared/data/pubmed/val.jsonl.gz --limit 16

reads the first `--limit` papers of each file (by default as many tokens of the article as
the model was trained to read, `max_input_tokens` in its config: its opening, or the salience
model's picks for a model trained on them; and the first 192 tokens of the abstract) and
prints the two mean losses and their gap; `--out` writes JSON with the lengths measured.
Written into the model folder as `conditioning.json` (`--out MODEL/conditioning.json`), the
measurement is what lets the Summarizer drop the "experimental" label of written summaries
(`summarizer.api.MIN_CONDITIONING_GAP`).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass

import datasets
import torch

from data.dataset import load_documents, tokenize_documents
from summarizer.model import TerraformerForConditionalGeneration
from summarizer.model.modeling import IGNORE_INDEX
from summarizer.model.tokenizer import load_tokenizer
from summarizer.salience import SalienceModel
from summarizer.training.inputs import salient_articles

OFFSET = 7  # the other paper of paper i is paper i + OFFSET (mod n)


@dataclass
class Conditioning:
    papers: int
    own_loss: float  # mean per-token loss of each abstract given its own paper
    other_loss: float  # ... given paper i + OFFSET
    gap: float  # other - own: how much reading the right paper helps, in nats per token


def pad(rows: list[list[int]], value: int) -> torch.Tensor:
    out = torch.full((len(rows), max(len(r) for r in rows)), value, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.tensor(r)
    return out


@torch.no_grad()
def token_losses(
    model: torch.nn.Module,
    inputs: list[list[int]],
    targets: list[list[int]],
    pad_id: int,
    batch_size: int = 4,
) -> tuple[float, int]:
    """Summed target-token loss and the number of target tokens, over (input, target) pairs."""
    total, count = 0.0, 0
    for start in range(0, len(inputs), batch_size):
        x = inputs[start : start + batch_size]
        y = targets[start : start + batch_size]
        ids = pad(x, pad_id)
        mask = pad([[1] * len(r) for r in x], 0)
        labels = pad(y, IGNORE_INDEX)
        logits = model(input_ids=ids, attention_mask=mask, labels=labels).logits.float()
        total += torch.nn.functional.cross_entropy(
            logits.flatten(0, 1), labels.flatten(), ignore_index=IGNORE_INDEX, reduction="sum"
        ).item()
        count += int((labels != IGNORE_INDEX).sum())
    return total, count


def measure(
    model: torch.nn.Module, inputs: list[list[int]], targets: list[list[int]], pad_id: int
) -> Conditioning:
    """The conditioning gap of `model` on papers (inputs[i], targets[i])."""
    n = len(inputs)
    if n < 2:
        raise ValueError("the conditioning gap needs at least two papers")
    shift = OFFSET % n or 1
    others = [inputs[(i + shift) % n] for i in range(n)]
    own, count = token_losses(model, inputs, targets, pad_id)
    other, _ = token_losses(model, others, targets, pad_id)
    own, other = own / count, other / count
    return Conditioning(n, round(own, 4), round(other, 4), round(other - own, 4))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a save_pretrained folder")
    parser.add_argument("--data", required=True, nargs="+", help="Cohan files or folders")
    parser.add_argument("--limit", type=int, default=16, help="papers per --data")
    parser.add_argument(
        "--input-tokens", type=int, default=None, help="default: what the model was trained on"
    )
    parser.add_argument("--target-tokens", type=int, default=192)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=None, help="write the result as JSON here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    datasets.disable_progress_bars()
    model = TerraformerForConditionalGeneration.from_pretrained(args.model, dtype=torch.float32)
    model.eval()
    tokenizer = load_tokenizer(args.model)
    input_tokens = args.input_tokens or model.config.max_input_tokens
    inputs, targets = [], []
    salience = None  # a model trained on the salience model's picks reads them here too
    if model.config.input_selection == "salient":
        salience = SalienceModel.load(args.model)
    for source in args.data:
        docs, _ = load_documents(source, limit=args.limit)
        if salience is not None:
            docs = salient_articles(docs, tokenizer, salience, input_tokens)
        docs = tokenize_documents(docs, tokenizer, input_tokens, args.target_tokens)
        inputs += docs["input_ids"]
        targets += docs["labels"]
    result = measure(model, inputs, targets, tokenizer.pad_token_id)
    print(
        f"{result.papers} papers ({input_tokens} input tokens, {args.target_tokens} of the "
        f"abstract): loss {result.own_loss:.4f} reading their own paper, "
        f"{result.other_loss:.4f} reading paper i+{OFFSET}; gap {result.gap:.4f} nats/token"
    )
    if args.out:
        lengths = {"input_tokens": input_tokens, "target_tokens": args.target_tokens}
        with open(args.out, "w") as f:
            json.dump(
                {"model": args.model, "data": args.data, **lengths, **asdict(result)}, f, indent=2
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
