"""The CPU dropout: its mask's statistics, its scaling, its gradient and its reproducibility."""

import pytest
import torch

from summarizer.model.layers.dropout import dropout


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_each_element_is_kept_with_probability_one_minus_p_and_scaled(p):
    x = torch.ones(1000, 1001)  # an odd size: the last random word is only partly read
    y = dropout(x, p, training=True)
    kept = y != 0
    assert kept.float().mean().item() == pytest.approx(1 - p, abs=0.003)
    assert torch.all(y[kept] == 1 / (1 - p))
    # no pattern along either axis: every row and every column keeps about 1 - p
    for axis in (0, 1):
        share = kept.float().mean(dim=axis)
        assert (share - (1 - p)).abs().max().item() < 6 * ((p * (1 - p) / 1000) ** 0.5)


def test_the_gradient_passes_where_the_element_was_kept():
    x = torch.randn(64, 128, requires_grad=True)
    y = dropout(x, 0.3, training=True)
    y.sum().backward()
    torch.testing.assert_close(x.grad, (y != 0).float() / 0.7)


def test_the_mask_follows_torchs_generator_and_is_off_outside_training():
    x = torch.randn(4, 50, dtype=torch.bfloat16)
    torch.manual_seed(3)
    first = dropout(x, 0.2, training=True)
    torch.manual_seed(3)
    assert torch.equal(dropout(x, 0.2, training=True), first)
    assert not torch.equal(dropout(x, 0.2, training=True), first)
    assert first.dtype == torch.bfloat16
    assert dropout(x, 0.2, training=False) is x and dropout(x, 0.0, training=True) is x
    assert torch.all(dropout(x, 1.0, training=True) == 0)
