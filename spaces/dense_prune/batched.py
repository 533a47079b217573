"""K heads trained at once: masks as a batch dimension, one matmul per layer for all of them.

Every head sees the same batches in the same order (drawn from the study's seed) and starts
from weights drawn from its own trial's seed. The heads share no parameter and the loss is the
sum of their losses, so each head's gradient is exactly its own; AdamW and the per-head
gradient clipping below act element-wise or per head. A head trained among K therefore ends
where it ends trained alone (up to float rounding): a generation costs about one head's training.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nasplat.config import TrainerConfig
from nasplat.train.loop import lr_factor, make_optimizer


class BatchedHeads(nn.Module):
    """K dense heads (``P → hidden → classes``), head ``k`` seeing only the features ``mask[k]``
    keeps; weights ``(K, P, hidden)`` and ``(K, hidden, classes)``."""

    def __init__(self, masks: torch.Tensor, hidden: int, classes: int, seeds: list[int]) -> None:
        super().__init__()
        k, p = masks.shape
        self.register_buffer("mask", masks.float())
        w1, b1 = torch.empty(k, p, hidden), torch.empty(k, hidden)
        w2, b2 = torch.empty(k, hidden, classes), torch.empty(k, classes)
        for i, seed in enumerate(seeds):  # nn.Linear's init, fan-in = the head's active inputs
            generator = torch.Generator().manual_seed(int(seed))
            bound = 1.0 / math.sqrt(max(int(masks[i].sum()), 1))
            w1[i].uniform_(-bound, bound, generator=generator)
            b1[i].uniform_(-bound, bound, generator=generator)
            bound = 1.0 / math.sqrt(hidden)
            w2[i].uniform_(-bound, bound, generator=generator)
            b2[i].uniform_(-bound, bound, generator=generator)
        self.w1, self.b1 = nn.Parameter(w1), nn.Parameter(b1)
        self.w2, self.b2 = nn.Parameter(w2), nn.Parameter(b2)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``(K, B, classes)`` of every head for features ``(B, P)``."""
        # a masked component's weights are multiplied by 0: no output depends on it and its
        # weights get no gradient, exactly as if the link were cut
        w1 = self.w1 * self.mask[:, :, None]
        hidden = torch.relu(torch.einsum("bp,kph->kbh", features, w1) + self.b1[:, None, :])
        return torch.baddbmm(self.b2[:, None, :], hidden, self.w2)

    def head_state(self, k: int) -> dict[str, torch.Tensor]:
        """Head ``k`` as the state dict of a :class:`~nasplat.spaces.dense_prune.head.PrunedHead`."""
        active = self.mask[k].nonzero().flatten()
        return {"active": active, "hidden.weight": self.w1[k, active].T.detach().clone(),
                "hidden.bias": self.b1[k].detach().clone(),
                "out.weight": self.w2[k].T.detach().clone(), "out.bias": self.b2[k].detach().clone()}


@dataclass
class HeadsResult:
    """Trained heads, each head's last-epoch mean loss, the heads that failed and why."""

    heads: BatchedHeads
    losses: list[float]
    failed: dict[int, str] = field(default_factory=dict)
    steps: int = 0
    epochs: int = 0
    seconds: float = 0.0


def train_heads(masks: np.ndarray, seeds: list[int], features: torch.Tensor,
                labels: torch.Tensor, *, hidden: int, classes: int, trainer: TrainerConfig,
                shuffle_seed: int, device: torch.device, steps: int | None = None
                ) -> HeadsResult:
    """Train one head per row of ``masks`` on ``features`` ``(N, P)``, all at once."""
    started = time.perf_counter()
    k = len(masks)
    heads = BatchedHeads(torch.as_tensor(np.asarray(masks)), hidden, classes, seeds).to(device)
    optimizer = make_optimizer(heads, trainer, device)
    features, labels = features.to(device), labels.to(device)
    n, size = len(labels), min(trainer.batch_size, len(labels))
    per_epoch = max(n // size, 1)
    total = steps or trainer.steps or trainer.epochs * per_epoch
    generator = torch.Generator().manual_seed(shuffle_seed)
    result = HeadsResult(heads, [float("nan")] * k)
    first: torch.Tensor | None = None
    heads.train()
    while result.steps < total:
        result.epochs += 1
        epoch_losses = []
        order = torch.randperm(n, generator=generator).to(device)
        for start in range(0, n - size + 1, size):  # the last partial batch is dropped
            if result.steps == total:
                break
            lr = trainer.lr * lr_factor(trainer.schedule, result.steps, total)
            for group in optimizer.param_groups:
                group["lr"] = lr
            index = order[start:start + size]
            logits = heads(features[index])
            losses = F.cross_entropy(logits.reshape(-1, classes), labels[index].repeat(k),
                                     label_smoothing=trainer.label_smoothing,
                                     reduction="none").view(k, -1).mean(dim=1)
            optimizer.zero_grad(set_to_none=True)
            losses.sum().backward()  # the heads share no parameter: each gets its own gradient
            if trainer.grad_clip is not None:
                _clip_per_head(heads, trainer.grad_clip)
            optimizer.step()
            epoch_losses.append(losses.detach())
            if first is None:
                first = losses.detach().clone()
            result.steps += 1
        mean = torch.stack(epoch_losses).mean(dim=0).cpu()
        result.losses = mean.tolist()
        _check_losses(result, mean, first.cpu(), trainer, lr)
    result.seconds = time.perf_counter() - started
    return result


def _clip_per_head(heads: BatchedHeads, max_norm: float) -> None:
    """``clip_grad_norm_`` applied to each head's own parameters, as if trained alone."""
    params = [p for p in heads.parameters() if p.grad is not None]
    squares = sum(p.grad.pow(2).flatten(1).sum(dim=1) for p in params)
    scale = (max_norm / (squares.sqrt() + 1e-6)).clamp(max=1.0)
    for p in params:
        p.grad.mul_(scale.view(-1, *([1] * (p.grad.dim() - 1))))


def _check_losses(result: HeadsResult, mean: torch.Tensor, first: torch.Tensor,
                  trainer: TrainerConfig, lr: float) -> None:
    """Mark each head whose loss is not finite or diverged, as the shared trainer would."""
    fix = f"lower trainer.lr (now {trainer.lr:g})"
    for k, (value, start) in enumerate(zip(mean.tolist(), first.tolist())):
        if k in result.failed:
            continue
        if not math.isfinite(value):
            result.failed[k] = (f"training loss became {value} in epoch {result.epochs} "
                                f"(learning rate {lr:.3g}): {fix}")
        elif math.isfinite(start) and value > trainer.divergence_factor * start:
            result.failed[k] = (f"training diverged in epoch {result.epochs}: mean loss "
                                f"{value:.4g} is over {trainer.divergence_factor:g}x the first "
                                f"batch's {start:.4g}; {fix}")


def head_logits(heads: BatchedHeads, features: torch.Tensor, batch_size: int = 4096
                ) -> torch.Tensor:
    """Logits ``(K, N, classes)`` of every head on ``features`` ``(N, P)``, on the CPU."""
    heads.eval()
    device = heads.w1.device
    with torch.inference_mode():
        out = [heads(features[i:i + batch_size].to(device)).float().cpu()
               for i in range(0, len(features), batch_size)]
    return torch.cat(out, dim=1)


def odin_temperature_scores(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """ODIN's score without the input perturbation: ``max_i softmax(logits / T)_i``.

    Liang, Li & Srikant (ICLR 2018), eq. (1); on cached features the perturbation, which needs
    the gradient through the backbone, is left out (``odin = "full"`` adds it).
    """
    return (logits / temperature).softmax(dim=-1).amax(dim=-1)
