"""What a model costs, measured on the built model: parameters, FLOPs, CPU latency."""

from __future__ import annotations

import statistics
import time

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_params(model: nn.Module) -> int:
    """Number of parameters (trainable or not; shared tensors counted once)."""
    return sum(p.numel() for p in model.parameters())


def count_flops(model: nn.Module, inputs: torch.Tensor) -> int:
    """FLOPs of one forward pass on ``inputs``, as ``torch.utils.flop_counter`` counts them.

    The counter counts a multiply-add as 2 FLOPs (so a ``Linear(a, b)`` on one sample is
    ``2ab``) and skips element-wise ops (activations, additions, normalisation).
    """
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(inputs)
    finally:
        model.train(was_training)
    return int(counter.get_total_flops())


def measure_latency(model: nn.Module, inputs: torch.Tensor, repeats: int = 30,
                    warmup: int = 5) -> float:
    """Median milliseconds of a forward pass on CPU, after ``warmup`` passes left uncounted.

    Run on a batch of one, as a deployed model sees it; the model and input must be on CPU.
    """
    was_training = model.training
    model.eval()
    times = []
    try:
        with torch.inference_mode():
            for i in range(warmup + repeats):
                started = time.perf_counter()
                model(inputs)
                if i >= warmup:  # first passes pay for allocation and kernel selection
                    times.append(time.perf_counter() - started)
    finally:
        model.train(was_training)
    return 1000.0 * statistics.median(times)
