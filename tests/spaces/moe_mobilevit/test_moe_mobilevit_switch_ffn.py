"""The Switch-FFN: routing, dispatch paths that agree, load balancing, expert removal."""

from __future__ import annotations

import pytest
import torch

from nasplat.spaces.moe_mobilevit.switch_ffn import SwitchFFN, grouped_mm_available


def _per_token(ffn: SwitchFFN, x: torch.Tensor) -> torch.Tensor:
    """The reference: each token through its own top-1 expert, one at a time."""
    probs = torch.softmax(ffn.router(x).float(), dim=-1)
    gate, expert = probs.max(dim=-1)
    return torch.stack([ffn._expert(x[i:i + 1], int(expert[i]))[0] * gate[i]
                        for i in range(len(x))])


@pytest.mark.parametrize("experts", [2, 5, 8])
def test_sorted_dispatch_equals_routing_each_token(experts: int) -> None:
    torch.manual_seed(0)
    ffn = SwitchFFN(16, 32, experts, dispatch="sorted")
    x = torch.randn(50, 16)
    torch.testing.assert_close(ffn(x), _per_token(ffn, x))


@pytest.mark.skipif(not hasattr(torch, "_grouped_mm"), reason="torch has no _grouped_mm")
def test_grouped_dispatch_equals_sorted_forward_and_backward() -> None:
    torch.manual_seed(0)
    ffn = SwitchFFN(16, 32, 4, dispatch="sorted")
    x = torch.randn(3, 4, 5, 16, requires_grad=True)
    try:
        outs, grads = [], []
        for mode in ("sorted", "grouped"):
            ffn.dispatch = mode
            ffn.zero_grad()
            x.grad = None
            out = ffn(x)
            (out * torch.linspace(-1, 1, out.numel()).reshape(out.shape)).sum().backward()
            outs.append(out.detach())
            grads.append([x.grad.clone(), ffn.w1.grad.clone(), ffn.router.weight.grad.clone()])
    except RuntimeError as exc:  # this torch build's grouped GEMM does not run on the CPU
        pytest.skip(f"torch._grouped_mm on CPU: {exc}")
    torch.testing.assert_close(outs[0], outs[1])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)


@pytest.mark.skipif(not torch.cuda.is_available() or not grouped_mm_available(
    torch.device("cuda")), reason="needs a CUDA GPU of compute capability 9.0+")
def test_cuda_grouped_gemm_matches_sorted_in_bf16() -> None:
    torch.manual_seed(0)
    ffn = SwitchFFN(64, 128, 8).cuda()
    x = torch.randn(4096, 64, device="cuda", dtype=torch.bfloat16)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        ffn.dispatch = "sorted"
        ref = ffn(x)
        ffn.dispatch = "auto"  # auto picks the grouped GEMM for bf16 on CUDA
        out = ffn(x)
    torch.testing.assert_close(out.float(), ref.float(), atol=3e-2, rtol=3e-2)


def test_one_expert_is_the_dense_ffn() -> None:
    torch.manual_seed(0)
    ffn = SwitchFFN(8, 16, 1)
    x = torch.randn(10, 8)
    dense = torch.nn.functional.silu(x @ ffn.w1[0] + ffn.b1[0]) @ ffn.w2[0] + ffn.b2[0]
    assert ffn.router is None
    torch.testing.assert_close(ffn(x), dense)
    assert sum(p.numel() for p in ffn.parameters()) == SwitchFFN.param_count(8, 16, 1) == \
        2 * 8 * 16 + 16 + 8


def test_load_balancing_loss_is_switch_eq4() -> None:
    torch.manual_seed(0)
    ffn = SwitchFFN(8, 16, 4).train()
    x = torch.randn(64, 8)
    ffn(x)
    probs = torch.softmax(ffn.router(x), dim=-1)
    share = torch.bincount(probs.argmax(-1), minlength=4).float() / 64
    torch.testing.assert_close(ffn.aux_loss, 4 * (share * probs.mean(0)).sum())
    ffn.eval()
    ffn(x)
    assert ffn.aux_loss is None


def test_capacity_drops_overflowing_tokens() -> None:
    torch.manual_seed(0)
    ffn = SwitchFFN(8, 16, 2, capacity_factor=0.5)
    with torch.no_grad():
        ffn.router.weight.copy_(torch.tensor([[1.0] * 8, [0.0] * 8]))
    x = torch.rand(20, 8)  # positive features: every token prefers expert 0
    out = ffn(x)
    capacity = 5  # ceil(0.5 · 20 / 2)
    ref = _per_token(ffn, x)
    torch.testing.assert_close(out[:capacity], ref[:capacity])  # the first ones fit, in order
    assert torch.all(out[capacity:] == 0)


def test_removing_an_expert_reroutes_to_the_next_best() -> None:
    torch.manual_seed(0)
    ffn = SwitchFFN(8, 16, 3)
    x = torch.randn(40, 8)
    probs = torch.softmax(ffn.router(x), dim=-1)
    ffn.record = True
    ffn(x)
    before = ffn.last_expert.clone()
    victim = int(before[0])
    ffn.remove_expert(victim)
    ffn(x)
    masked = probs.clone()
    masked[:, victim] = -1
    expected = masked.argmax(-1)
    expected = expected - (expected > victim).long()  # indices shift down past the victim
    assert torch.equal(ffn.last_expert, expected)
    assert ffn.experts == 2
    assert sum(p.numel() for p in ffn.parameters()) == SwitchFFN.param_count(8, 16, 2)
    ffn.remove_expert(0)
    assert ffn.router is None and ffn.experts == 1
