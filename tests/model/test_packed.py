"""oneDNN's prepacked product (decoding on CPU) against the default one."""

import pytest
import torch
import torch.nn.functional as F

from summarizer.model.layers import packed
from summarizer.model.layers.packed import Linear, PackedLinear
from summarizer.model.layers.sparse import MultiplicativeDense

needs_onednn = pytest.mark.skipif(not packed.ONEDNN, reason="this torch has no oneDNN")


def output_layer() -> MultiplicativeDense:
    """A sparse output layer just large enough for the packed product (256 x 4,096 in E)."""
    torch.manual_seed(0)
    layer = MultiplicativeDense(256, 16384, n_modules=4).eval()
    torch.nn.init.normal_(layer.bias)
    assert layer.proj.numel() >= packed.MIN_WEIGHTS
    return layer


@needs_onednn
def test_packed_product_equals_the_default_and_follows_changed_weights():
    layer = output_layer()
    x = torch.randn(2, 1, 256)  # a decoding step: few tokens
    with torch.no_grad():
        torch.testing.assert_close(layer(x), F.linear(x, layer.weight(), layer.bias))
        assert layer.packed._cached is not None  # the packed path ran
        # A weight changed in place (a training step, load_state_dict) is repacked.
        layer.proj.mul_(-0.5)
        torch.testing.assert_close(layer(x), F.linear(x, layer.weight(), layer.bias))
        # So is a new parameter of the same shape.
        layer.proj = torch.nn.Parameter(torch.randn_like(layer.proj))
        torch.testing.assert_close(layer(x), F.linear(x, layer.weight(), layer.bias))


@needs_onednn
def test_packed_product_steps_aside_where_it_does_not_apply():
    layer = output_layer()
    x = torch.randn(1, 256)
    pack = PackedLinear()
    weights = [layer.proj]
    with torch.no_grad():
        assert pack(x, weights, layer.proj.t) is not None
        assert pack(x.double(), weights, layer.proj.t) is None
        assert pack(x, [torch.randn(64, 256)], layer.proj.t) is None  # too small to pay
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert pack(x, weights, layer.proj.t) is None
    assert pack(x, weights, layer.proj.t) is None  # gradients on: the kernel has no backward
    y = layer(x)
    y.sum().backward()
    assert layer.proj.grad is not None


@pytest.fixture
def threads():
    """Sets torch's thread count for a test, then puts the old one back."""
    before = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(before)


@needs_onednn
def test_linear_packs_a_few_rows_and_one_row_only_on_several_threads(threads):
    torch.manual_seed(0)
    layer = Linear(1024, 1024).eval()  # 2^20 weights: just large enough
    plain = torch.nn.Linear(1024, 1024)
    assert layer.state_dict().keys() == plain.state_dict().keys()
    with torch.no_grad():
        for n_threads, rows, packs in ((1, 1, False), (1, 4, True), (2, 1, True), (1, 17, False)):
            threads(n_threads)
            x = torch.randn(rows, 1024)
            assert layer.packs(x) == packs, (n_threads, rows)
            torch.testing.assert_close(layer(x), F.linear(x, layer.weight, layer.bias))
        assert layer.packed._cached is not None
