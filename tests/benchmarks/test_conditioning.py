"""The conditioning check (benchmarks/conditioning.py) tells a model that reads its input from
one that does not: a tiny Terraformer (full attention, no copy head) trained briefly to copy
passes it; the same model before training, and the trained model made blind to its input,
fail it. (A copy head would pass even untrained on this task, whose targets are input tokens:
its initial gate already puts half the probability on the input's tokens.)"""

import pytest
import torch
from torch import nn

from benchmarks.conditioning import measure
from benchmarks.copy_task import build, copy_batch
from summarizer.api import MIN_CONDITIONING_GAP

LENGTH = 16  # input tokens; the target is the first 12


def papers(n: int, seed: int) -> tuple[list[list[int]], list[list[int]]]:
    ids, _, labels = copy_batch(n, torch.Generator().manual_seed(seed), length=LENGTH)
    return ids.tolist(), labels.tolist()


def train(model: nn.Module, steps: int) -> nn.Module:
    generator = torch.Generator().manual_seed(1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        ids, mask, labels = copy_batch(32, generator, length=LENGTH)
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


class Blind(nn.Module):
    """The same model, shown the same input whatever the paper: a language model."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids, **kwargs):
        return self.model(input_ids=torch.full_like(input_ids, 7), **kwargs)


@pytest.fixture(scope="module")
def trained():
    torch.manual_seed(0)
    return train(build("full"), steps=STEPS)


STEPS = 250  # the gap passes 1 nat at ~200 steps (loss 4.7), and 7 nats at 250


def test_a_model_that_reads_its_input_passes(trained):
    inputs, targets = papers(32, seed=2)
    result = measure(trained, inputs, targets, pad_id=0)
    assert result.gap >= MIN_CONDITIONING_GAP, result


def test_an_untrained_or_input_blind_model_fails(trained):
    inputs, targets = papers(32, seed=2)
    torch.manual_seed(0)
    untrained = measure(build("full").eval(), inputs, targets, pad_id=0)
    blind = measure(Blind(trained).eval(), inputs, targets, pad_id=0)
    assert untrained.gap < MIN_CONDITIONING_GAP, untrained
    assert blind.gap == 0.0 and blind.own_loss > 1.0, blind


def test_the_command_reads_as_much_as_the_model_was_trained_to(tmp_path, monkeypatch):
    import json

    import benchmarks.conditioning as conditioning
    from tests.cohan_fixtures import write_cohan
    from tests.model_fixtures import save_tiny_model

    data = write_cohan(tmp_path / "val.jsonl", 4, seed=3)
    read = []
    real_measure = conditioning.measure

    def spy(model, inputs, targets, pad_id):
        read.extend(inputs)
        return real_measure(model, inputs, targets, pad_id)

    monkeypatch.setattr(conditioning, "measure", spy)
    model = save_tiny_model(tmp_path / "model", max_input_tokens=24)
    argv = ["--model", str(model), "--data", str(data), "--out", str(tmp_path / "c.json")]
    assert conditioning.main(argv) == 0
    written = json.loads((tmp_path / "c.json").read_text())
    assert (written["input_tokens"], written["target_tokens"]) == (24, 192)
    assert max(len(ids) for ids in read) == 24 and written["papers"] == 4
    read.clear()
    assert conditioning.main([*argv, "--input-tokens", "40", "--target-tokens", "8"]) == 0
    written = json.loads((tmp_path / "c.json").read_text())
    assert (written["input_tokens"], written["target_tokens"]) == (40, 8)
    assert max(len(ids) for ids in read) == 40
