"""Parameters, FLOPs and latency, checked against hand-computed values."""

from __future__ import annotations

import torch
from torch import nn

from nasplat.train import count_flops, count_params, measure_latency


def test_params_and_flops_of_a_linear_and_a_conv_layer() -> None:
    linear = nn.Linear(8, 4)
    assert count_params(linear) == 8 * 4 + 4
    assert count_flops(linear, torch.randn(1, 8)) == 2 * 8 * 4  # a multiply-add is 2 FLOPs
    conv = nn.Sequential(nn.Conv2d(3, 5, 3, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(5 * 6 * 6, 2))
    assert count_params(conv) == (3 * 5 * 9 + 5) + (5 * 36 * 2 + 2)
    # conv: 6*6 outputs × 5 channels × (3*3*3) MACs; the ReLU is not counted
    assert count_flops(conv, torch.randn(1, 3, 6, 6)) == 2 * (36 * 5 * 27) + 2 * (180 * 2)


def test_flop_counting_leaves_the_mode_alone() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    model.train()
    count_flops(model, torch.randn(1, 4))
    assert model.training


class _Sleepy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import time

        self.calls += 1
        time.sleep(0.02 if self.calls <= 2 else 0.002)  # slow warm-up passes, then fast
        return x


def test_latency_is_the_median_after_warm_up() -> None:
    model = _Sleepy()
    ms = measure_latency(model, torch.randn(1, 4), repeats=5, warmup=2)
    assert model.calls == 7
    assert 2.0 <= ms < 10.0  # the 20 ms warm-up passes are not counted
