"""The training loop: read top to bottom, in the order things happen each step."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from nasplat.config import TrainerConfig
from nasplat.dataset import NO_LABEL
from nasplat.errors import TrialFailed
from nasplat.train.batches import TensorBatches
from nasplat.train.device import autocast
from nasplat.train.progress import SilentProgress, TrainingProgress

EpochHook = Callable[[int, float, bool], None]
"""``on_epoch(epoch, mean_train_loss, last)``: called after each epoch (1-based)."""


@dataclass
class TrainResult:
    """What training did: steps, epochs and the mean training loss of each epoch."""

    steps: int
    epochs: int
    epoch_losses: list[float] = field(default_factory=list)
    seconds: float = 0.0


def make_optimizer(model: nn.Module, config: TrainerConfig,
                   device: torch.device) -> torch.optim.Optimizer:
    """AdamW or SGD (with momentum) over the trainable parameters."""
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                               weight_decay=config.weight_decay)
    # the fused kernel is one launch for all parameters on CUDA; on CPU torch's default
    # (fused=None) is faster than an explicit fused=False, which forces the per-tensor loop
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay,
                             fused=True if device.type == "cuda" else None)


def lr_factor(schedule: str, step: int, total: int) -> float:
    """The learning rate at ``step`` of ``total``, as a multiple of ``trainer.lr``."""
    if schedule == "cosine":  # SGDR (Loshchilov & Hutter, 2017) without restarts, down to 0
        return 0.5 * (1.0 + math.cos(math.pi * step / total))
    if schedule == "step":  # ×0.1 at 50 % and 75 % of training (He et al., 2016, CIFAR)
        return 0.1 ** ((step >= total // 2) + (step >= (3 * total) // 4))
    return 1.0


def loss_of(logits: torch.Tensor, labels: torch.Tensor, label_smoothing: float = 0.0,
            reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy of ``(B, C)`` or ``(B, T, C)`` logits; samples labelled -1 are skipped."""
    if logits.dim() > 2:  # language models: one prediction per position
        logits, labels = logits.reshape(-1, logits.shape[-1]), labels.reshape(-1)
    return F.cross_entropy(logits, labels,
                           label_smoothing=label_smoothing, ignore_index=NO_LABEL,
                           reduction=reduction)


def fit(model: nn.Module, batches: TensorBatches, config: TrainerConfig, *, steps: int,
        device: torch.device, generator: torch.Generator, on_epoch: EpochHook | None = None,
        progress: TrainingProgress | None = None) -> TrainResult:
    """Train ``model`` for ``steps`` optimiser steps; a bad run raises :class:`TrialFailed`."""
    progress = progress or SilentProgress()
    optimizer = make_optimizer(model, config, device)
    params = [p for p in model.parameters() if p.requires_grad]
    result = TrainResult(0, 0)
    first_loss: float | None = None
    precision = autocast(device, config.precision)
    started = time.perf_counter()
    model.train()
    while result.steps < steps:
        result.epochs += 1
        losses: list[torch.Tensor] = []  # kept on the device: no sync per batch
        for inputs, labels in batches.shuffled(config.batch_size, generator):
            if result.steps == steps:
                break
            # 1. learning rate for this step
            lr = config.lr * lr_factor(config.schedule, result.steps, steps)
            for group in optimizer.param_groups:
                group["lr"] = lr
            # 2. forward in the trial's precision, backward, clip, step
            with precision:
                loss = loss_of(model(inputs), labels, config.label_smoothing)
                # a model with an auxiliary loss (a mixture of experts' load balancing) leaves
                # it on itself after the forward pass, already scaled; it is trained, not logged
                aux = getattr(model, "aux_loss", None)
            optimizer.zero_grad(set_to_none=True)
            (loss if aux is None else loss + aux).backward()
            if config.grad_clip is not None:
                nn.utils.clip_grad_norm_(params, config.grad_clip)
            optimizer.step()
            # 3. bookkeeping
            losses.append(loss.detach())
            if first_loss is None:
                first_loss = loss.item()  # a sync, once per trial: the divergence baseline
            result.steps += 1
            progress.step()
        mean = torch.stack(losses).float().mean().item()  # a CPU-GPU sync, once per epoch
        _check_loss(mean, first_loss, result.epochs, lr, config)
        result.epoch_losses.append(mean)
        if on_epoch is not None:
            on_epoch(result.epochs, mean, result.steps >= steps)
    result.seconds = time.perf_counter() - started
    return result


def _check_loss(mean: float, first: float | None, epoch: int, lr: float,
                config: TrainerConfig) -> None:
    """Fail the trial on a NaN/inf loss or on divergence, saying what to change."""
    fix = f"lower trainer.lr (now {config.lr:g})"
    if config.grad_clip is None:
        fix += " or set trainer.grad_clip (e.g. 1.0)"
    if not math.isfinite(mean):
        raise TrialFailed(f"training loss became {mean} in epoch {epoch} (learning rate "
                          f"{lr:.3g}): {fix}")
    if first is not None and math.isfinite(first) and mean > config.divergence_factor * first:
        raise TrialFailed(f"training diverged in epoch {epoch}: mean loss {mean:.4g} is over "
                          f"{config.divergence_factor:g}x the first batch's {first:.4g}; {fix}")
