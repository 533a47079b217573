"""Masks cut links: no output depends on a masked feature and no gradient reaches its weights."""

from __future__ import annotations

import pytest
import torch

from nasplat.spaces.dense_prune.batched import BatchedHeads, _Step, padded_columns
from nasplat.spaces.dense_prune.head import PrunedHead, head_params

MASKS = torch.tensor([[1, 0, 1, 0, 1, 1], [0, 0, 0, 1, 0, 0], [1, 1, 1, 1, 1, 1]])


def test_outputs_ignore_masked_features() -> None:
    heads = BatchedHeads(MASKS, hidden=5, classes=3, seeds=[0, 1, 2])
    x = torch.randn(7, 6)
    changed = x.clone()
    changed[:, [1, 3]] += 100.0  # features 1 and 3: cut from head 0, feature 3 kept by head 1
    before, after = heads(x), heads(changed)
    torch.testing.assert_close(before[0], after[0])
    assert not torch.allclose(before[1], after[1])
    pruned = PrunedHead(MASKS[0].numpy(), hidden=5, classes=3)
    torch.testing.assert_close(pruned(x), pruned(changed))


def test_no_gradient_reaches_cut_links() -> None:
    heads = BatchedHeads(MASKS, hidden=5, classes=3, seeds=[0, 1, 2])
    x = torch.randn(7, 6, requires_grad=True)
    for k, mask in enumerate(MASKS):
        (grad,) = torch.autograd.grad(heads(x)[k].pow(2).sum(), x)
        assert torch.all(grad[:, mask == 0] == 0)
        assert torch.all(grad[:, mask == 1].abs().sum(dim=0) > 0)
    # the heads keep 4, 1 and 6 features, padded to 6 with links from a zero feature: those
    # weights are 0 and get no gradient, so they never train
    heads(x).pow(2).sum().backward()
    padding = heads.index == MASKS.shape[1]
    assert padding.sum(dim=1).tolist() == [2, 5, 0]
    assert torch.all(heads.w1[padding] == 0)
    assert torch.all(heads.w1.grad[padding] == 0)
    assert torch.all(heads.w1.grad[~padding].abs().sum(dim=-1) > 0)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_the_hand_written_step_gives_autograds_gradients(smoothing: float) -> None:
    heads = BatchedHeads(MASKS, hidden=5, classes=3, seeds=[0, 1, 2]).double()
    x, labels = torch.randn(9, 6, dtype=torch.float64), torch.tensor([0, 1, 2, 2, 1, 0, 0, 1, 2])
    losses = torch.nn.functional.cross_entropy(heads(x).transpose(1, 2), labels.expand(3, -1),
                                               reduction="none", label_smoothing=smoothing)
    expected = torch.autograd.grad(losses.mean(dim=1).sum(), list(heads.parameters()))
    step = _Step(heads, size=9, label_smoothing=smoothing, dtype=torch.float64)
    with torch.no_grad():
        got = step(padded_columns(x), labels)
    torch.testing.assert_close(got, losses.mean(dim=1))
    for param, grad in zip(step.params, expected):
        torch.testing.assert_close(param.grad, grad)
    assert torch.all(heads.w1.grad[heads.index == MASKS.shape[1]] == 0)  # padding: no gradient


def test_a_batched_head_is_its_pruned_head() -> None:
    heads = BatchedHeads(MASKS, hidden=5, classes=3, seeds=[0, 1, 2])
    x = torch.randn(7, 6)
    for k, mask in enumerate(MASKS):
        pruned = PrunedHead(mask.numpy(), hidden=5, classes=3)
        pruned.load_state_dict(heads.head_state(k))
        torch.testing.assert_close(pruned(x), heads(x)[k])
        assert sum(p.numel() for p in pruned.parameters()) == head_params(
            int(mask.sum()), 5, 3)


def test_each_head_starts_from_its_own_seed() -> None:
    one = BatchedHeads(MASKS[:1], hidden=5, classes=3, seeds=[7])
    among = BatchedHeads(MASKS[[2, 0]], hidden=5, classes=3, seeds=[3, 7])
    x = torch.randn(4, 6)
    torch.testing.assert_close(one(x)[0], among(x)[1])
    assert not torch.equal(among.w2[0], among.w2[1])


def test_a_bf16_first_layer_gives_nearly_fp32s_gradients() -> None:
    """dtype bfloat16 rounds the first layer's operands (inputs and weights) to bfloat16;
    every gradient handed to the optimiser is fp32 and within bfloat16's rounding of fp32's."""
    masks = torch.ones(2, 40)
    masks[1, ::3] = 0
    labels = torch.randint(4, (32,), generator=torch.Generator().manual_seed(0))
    x = torch.randn(32, 40, generator=torch.Generator().manual_seed(1))
    grads = {}
    for dtype in (torch.float32, torch.bfloat16):
        heads = BatchedHeads(masks, hidden=16, classes=4, seeds=[0, 1])
        step = _Step(heads, size=32, label_smoothing=0.0, dtype=dtype)
        with torch.no_grad():
            losses = step(padded_columns(x).to(dtype), labels)
        assert losses.dtype == torch.float32
        assert all(p.grad.dtype == torch.float32 for p in step.params)
        grads[dtype] = (losses, [p.grad.clone() for p in step.params])
    (loss32, grads32), (loss16, grads16) = grads[torch.float32], grads[torch.bfloat16]
    torch.testing.assert_close(loss16, loss32, rtol=1e-2, atol=1e-2)
    for got, want in zip(grads16, grads32):
        assert not torch.equal(got, want)
        torch.testing.assert_close(got, want, rtol=0.05, atol=2e-3)
