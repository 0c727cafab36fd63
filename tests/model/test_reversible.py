"""Reversible stacks: exact gradients by recomputation, with dropout and noise replayed."""

import copy

import torch

from summarizer import TerraformerConfig, TerraformerForConditionalGeneration
from summarizer.model.layers.reversible import ReversibleStack
from summarizer.model.modeling import Residual, build_attention, build_ff
from summarizer.seed import set_seed


def make_stacks(config: TerraformerConfig, causal: bool):
    layers = []
    for i in range(3):
        layers.append(Residual(build_attention(config, causal=causal, index=i), config))
        layers.append(Residual(build_ff(config), config))
    plain = ReversibleStack(layers, reversible=False).train()
    reversible = copy.deepcopy(plain)
    reversible.reversible = True
    return plain, reversible


def run(stack, x, mask, grad_out, seed, targets=None):
    set_seed(seed)
    x = x.clone().requires_grad_(True)
    y1, y2 = stack(x, x, mask, targets)
    torch.autograd.backward([y1, y2], [grad_out, -grad_out])
    grads = {name: p.grad.clone() for name, p in stack.named_parameters()}
    return (y1.detach(), y2.detach()), x.grad, grads


def assert_same_run(a, b):
    for ya, yb in zip(a[0], b[0], strict=True):
        torch.testing.assert_close(ya, yb, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(a[1], b[1], atol=1e-5, rtol=1e-4)
    assert a[2].keys() == b[2].keys()
    for name in a[2]:
        torch.testing.assert_close(a[2][name], b[2][name], atol=1e-5, rtol=1e-4, msg=name)


def test_reversible_gradients_equal_autograd_with_dropout_on(tiny_config):
    tiny_config.dropout = 0.3  # dropout, Gumbel noise and LSH rotations all draw from the RNG
    for causal in (False, True):
        plain, reversible = make_stacks(tiny_config, causal)
        x, grad_out = torch.randn(2, 19, 64), torch.randn(2, 19, 64)
        mask = torch.ones(2, 19, dtype=torch.bool)
        mask[1, 12:] = False
        # The decoder's last 7 real positions are targets (the tiny preset's hybrid attention).
        targets = torch.stack([torch.arange(12, 19), torch.arange(5, 12)]) if causal else None
        assert_same_run(
            run(plain, x, mask, grad_out, 5, targets),
            run(reversible, x, mask, grad_out, 5, targets),
        )


def test_gradients_differ_without_the_same_randomness(tiny_config):
    # Guards the test above: with different dropout masks the gradients are not equal.
    tiny_config.dropout = 0.3
    plain, reversible = make_stacks(tiny_config, causal=False)
    x, grad_out = torch.randn(2, 9, 64), torch.randn(2, 9, 64)
    mask = torch.ones(2, 9, dtype=torch.bool)
    a, b = run(plain, x, mask, grad_out, 5), run(reversible, x, mask, grad_out, 6)
    assert not torch.allclose(a[1], b[1], atol=1e-4)


def test_backward_leaves_the_global_rng_stream_alone(tiny_config):
    _, reversible = make_stacks(tiny_config, causal=True)
    x = torch.randn(1, 8, 64, requires_grad=True)
    y1, y2 = reversible(x, x, torch.ones(1, 8, dtype=torch.bool), torch.arange(4, 8)[None])
    state = torch.get_rng_state()
    (y1.sum() + y2.sum()).backward()
    assert torch.equal(state, torch.get_rng_state())


def test_whole_model_reversible_equals_plain(tiny_config):
    reversible = TerraformerForConditionalGeneration(tiny_config).train()
    plain_config = copy.deepcopy(tiny_config)
    plain_config.reversible = False
    plain = TerraformerForConditionalGeneration(plain_config).train()
    plain.load_state_dict(reversible.state_dict())
    ids, labels = torch.randint(3, 300, (2, 23)), torch.randint(3, 300, (2, 9))
    losses, grads = [], []
    for model in (plain, reversible):
        set_seed(11)
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        losses.append(loss.detach())
        grads.append({n: p.grad for n, p in model.named_parameters()})
    torch.testing.assert_close(losses[0], losses[1])
    for name, g in grads[0].items():
        torch.testing.assert_close(g, grads[1][name], atol=1e-5, rtol=1e-4, msg=name)
