"""K heads trained at once: heads as a batch dimension, one batched matmul per layer for all.

Each head is pruned for real: it gathers only the features its mask keeps (padded to the widest
head with a zero feature), so it costs the multiply-adds of its own links, as its
:class:`~nasplat.spaces.dense_prune.head.PrunedHead` would alone. Every head sees the same
batches in the same order (drawn from the study's seed) and starts from weights drawn from its
own trial's seed. The heads share no parameter, each head's gradient is its own loss's; AdamW
and the per-head gradient clipping below act element-wise or per head. A head trained among K
therefore ends where it ends trained alone (up to float rounding), and K heads share one step's
fixed costs (Python, dispatch, optimiser).

Training computes the gradients by hand (:class:`_Step`): two layers and a cross-entropy need
five batched products, and writing them into buffers made once per run, without autograd's
graph, makes a step of one head about 1.5x and of 32 heads about 1.3x faster than autograd.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from nasplat.config import TrainerConfig
from nasplat.train.device import autocast
from nasplat.train.loop import lr_factor, make_optimizer


class BatchedHeads(nn.Module):
    """K dense heads (``P → hidden → classes``), each pruned to the features its mask keeps.

    Head ``k`` has first-layer weights for its kept features only, as its
    :class:`~nasplat.spaces.dense_prune.head.PrunedHead`: a cut feature has no link to train
    and cannot change an output. Heads keep different numbers of features, so each is padded
    to the widest (``width``) with links from a padding feature that is always 0: a zero input
    adds nothing to any output and gives its weight a zero gradient, so padding weights stay 0
    and never matter. Weights ``(K, width, hidden)`` and ``(K, classes, hidden)``.
    """

    def __init__(self, masks: torch.Tensor, hidden: int, classes: int, seeds: list[int]) -> None:
        super().__init__()
        k, p = masks.shape
        kept = [torch.as_tensor(mask).nonzero().flatten() for mask in masks]
        width = max(1, *(len(active) for active in kept))
        index = torch.full((k, width), p, dtype=torch.long)  # p: the padding feature
        w1, b1 = torch.zeros(k, width, hidden), torch.empty(k, hidden)
        w2, b2 = torch.empty(k, classes, hidden), torch.empty(k, classes)
        for i, (seed, active) in enumerate(zip(seeds, kept)):
            # nn.Linear's init, fan-in = the head's active inputs; drawn for all P features, so
            # a head gets the same weights whichever heads it is trained among
            generator = torch.Generator().manual_seed(int(seed))
            bound = 1.0 / math.sqrt(max(len(active), 1))
            full = torch.empty(p, hidden).uniform_(-bound, bound, generator=generator)
            index[i, :len(active)], w1[i, :len(active)] = active, full[active]
            b1[i].uniform_(-bound, bound, generator=generator)
            bound = 1.0 / math.sqrt(hidden)
            w2[i] = torch.empty(hidden, classes).uniform_(-bound, bound, generator=generator).T
            b2[i].uniform_(-bound, bound, generator=generator)
        self.register_buffer("index", index)
        self.register_buffer("kept", torch.tensor([len(active) for active in kept]))
        self.w1, self.b1 = nn.Parameter(w1), nn.Parameter(b1)
        self.w2, self.b2 = nn.Parameter(w2), nn.Parameter(b2)

    def gather(self, padded: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """Each head's inputs ``(K, width, B)`` from :func:`padded_columns` ``(P + 1, B)``,
        written into ``out`` ``(K · width, B)`` when given (no allocation per step)."""
        inputs = torch.index_select(padded, 0, self.index.view(-1), out=out)
        return inputs.view(*self.index.shape, -1)

    def class_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """Logits ``(K, classes, B)`` for gathered inputs ``(K, width, B)``: classes before
        samples, the layout in which cross-entropy over a few classes is fast."""
        hidden = torch.baddbmm(self.b1[:, :, None], self.w1.transpose(1, 2), inputs).relu_()
        return torch.baddbmm(self.b2[:, :, None], self.w2, hidden)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``(K, B, classes)`` of every head for features ``(B, P)``."""
        return self.class_logits(self.gather(padded_columns(features))).transpose(1, 2)

    def head_state(self, k: int) -> dict[str, torch.Tensor]:
        """Head ``k`` as the state dict of a :class:`~nasplat.spaces.dense_prune.head.PrunedHead`."""
        kept = int(self.kept[k])
        return {"active": self.index[k, :kept].clone(),
                "hidden.weight": self.w1[k, :kept].T.detach().clone(),
                "hidden.bias": self.b1[k].detach().clone(),
                "out.weight": self.w2[k].detach().clone(), "out.bias": self.b2[k].detach().clone()}


class _Step:
    """One training step of :class:`BatchedHeads` with hand-written gradients.

    Shapes: inputs ``(K, width, B)``, hidden ``(K, hidden, B)``, logits ``(K, classes, B)``.
    Each head's loss is the mean cross-entropy of its batch (with ``label_smoothing`` as
    ``F.cross_entropy``), whose gradient in the logits is ``softmax - target`` over ``B``.
    Every product writes into a buffer made once, and the parameters' ``.grad`` are the
    gradient buffers, so the optimiser reads them in place. ``dtype`` bfloat16 runs the products
    in bfloat16 as autocast would (weights cast per step; loss, softmax and gradients handed
    to the optimiser in fp32).
    """

    def __init__(self, heads: BatchedHeads, size: int, label_smoothing: float,
                 dtype: torch.dtype) -> None:
        self.heads, self.smoothing, self.dtype = heads, label_smoothing, dtype
        k, width, hidden = heads.w1.shape
        classes = heads.w2.shape[1]
        device = heads.w1.device
        self.inputs = torch.empty(k * width, size, device=device, dtype=dtype)
        self.hidden = torch.empty(k, hidden, size, device=device, dtype=dtype)
        self.logits = torch.empty(k, classes, size, device=device, dtype=dtype)
        self.grad_hidden = torch.empty(k, hidden, size, device=device, dtype=dtype)
        self.params = [heads.w1, heads.b1, heads.w2, heads.b2]
        self.index = heads.index.view(-1)  # rows of the columns given to __call__
        for param in self.params:
            param.grad = torch.zeros_like(param)
        # -(1 - ε) at each sample's label: the one-hot part of softmax's gradient
        self.onehot = torch.full((k, 1, size), label_smoothing - 1.0, device=device,
                                 dtype=heads.w1.dtype)

    def __call__(self, batch: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Fill every parameter's ``.grad`` for one batch (columns ``(P + 1, B)``); each head's
        loss ``(K,)``."""
        heads, size = self.heads, len(labels)
        w1, b1, w2, b2 = (p.to(self.dtype) for p in self.params)
        g_w1, g_b1, g_w2, g_b2 = (p.grad for p in self.params)
        inputs = torch.index_select(batch, 0, self.index, out=self.inputs).view(
            *heads.index.shape, -1)
        hidden = _product(torch.baddbmm, self.hidden, b1[:, :, None], w1.transpose(1, 2),
                          inputs).relu_()
        logits = _product(torch.baddbmm, self.logits, b2[:, :, None], w2, hidden)
        log_p = torch.log_softmax(logits.to(g_b2.dtype), dim=1)
        target = labels.view(1, 1, -1).expand(len(log_p), 1, -1)
        losses = -log_p.gather(1, target).mean(dim=(1, 2))
        if self.smoothing:
            losses = ((1 - self.smoothing) * losses
                      - self.smoothing * log_p.mean(dim=(1, 2)))
        grad = log_p.exp_().scatter_add_(1, target, self.onehot)  # softmax - (1 - ε) one-hot
        if self.smoothing:
            grad.sub_(self.smoothing / grad.shape[1])
        grad.div_(size)
        torch.sum(grad, dim=2, out=g_b2)
        grad = grad.to(self.dtype)
        _product(torch.bmm, g_w2, grad, hidden.transpose(1, 2))
        grad_hidden = _product(torch.bmm, self.grad_hidden, w2.transpose(1, 2), grad)
        # ReLU's backward in place, one pass (a mask from `hidden > 0` would take three)
        torch.ops.aten.threshold_backward.grad_input(grad_hidden, hidden, 0,
                                                     grad_input=grad_hidden)
        _product(torch.bmm, g_w1, inputs, grad_hidden.transpose(1, 2))
        torch.sum(grad_hidden, dim=2, out=g_b1)
        return losses


def _product(op: Any, out: torch.Tensor, *args: torch.Tensor) -> torch.Tensor:
    """``op(*args)`` written into ``out`` (without a temporary where the dtypes agree)."""
    if out.dtype == args[-1].dtype:
        return op(*args, out=out)
    return out.copy_(op(*args))


def padded_columns(features: torch.Tensor) -> torch.Tensor:
    """Features ``(N, P)`` as columns ``(P + 1, N)``, row ``P`` the zero padding feature."""
    out = features.new_zeros(features.shape[1] + 1, features.shape[0])
    out[:-1] = features.T
    return out


@dataclass
class HeadsResult:
    """Trained heads, each head's last-epoch mean loss, the heads that failed and why."""

    heads: BatchedHeads
    losses: list[float]
    failed: dict[int, str] = field(default_factory=dict)
    steps: int = 0
    epochs: int = 0
    seconds: float = 0.0


def train_heads(masks: np.ndarray, seeds: list[int], columns: torch.Tensor,
                labels: torch.Tensor, *, hidden: int, classes: int, trainer: TrainerConfig,
                shuffle_seed: int, device: torch.device, steps: int | None = None
                ) -> HeadsResult:
    """Train one head per row of ``masks``, all at once, on features given as
    :func:`padded_columns` ``(P + 1, N)`` (made once per split, not once per call).

    ``trainer.precision`` is honoured as by the shared trainer: with bf16 the heads' products
    run in bfloat16 (fp32 weights, optimiser and loss), and the features are gathered as
    bfloat16, half the bytes. On CPUs with AMX that makes a batched step several times faster;
    ``auto`` stays fp32 on the CPU.
    """
    started = time.perf_counter()
    k = len(masks)
    heads = BatchedHeads(torch.as_tensor(np.asarray(masks)), hidden, classes, seeds).to(device)
    optimizer = _optimizer(heads, trainer, device)
    columns, labels = columns.to(device), labels.to(device)
    n, size = len(labels), min(trainer.batch_size, len(labels))
    per_epoch = max(n // size, 1)
    total = steps or trainer.steps or trainer.epochs * per_epoch
    generator = torch.Generator().manual_seed(shuffle_seed)
    result = HeadsResult(heads, [float("nan")] * k)
    first: torch.Tensor | None = None
    heads.train()
    dtype = torch.bfloat16 if isinstance(autocast(device, trainer.precision),
                                          torch.autocast) else columns.dtype
    step = _Step(heads, size, trainer.label_smoothing, dtype)
    # only the features some head reads are shuffled each epoch: for a few heads, a few of P
    rows, step.index = heads.index.unique(return_inverse=True)
    step.index = step.index.view(-1)
    columns = (columns if len(rows) == len(columns) else columns.index_select(0, rows)).to(dtype)
    params = step.params
    while result.steps < total:
        result.epochs += 1
        epoch_losses = []
        # shuffled once per epoch: a batch is then a slice, gathered once per step for all heads
        order = torch.randperm(n, generator=generator).to(device)
        shuffled, shuffled_labels = columns.index_select(1, order), labels[order]
        for start in range(0, n - size + 1, size):  # the last partial batch is dropped
            if result.steps == total:
                break
            lr = trainer.lr * lr_factor(trainer.schedule, result.steps, total)
            for group in optimizer.param_groups:
                group["lr"] = lr
            with torch.no_grad():
                losses = step(shuffled[:, start:start + size],
                              shuffled_labels[start:start + size])
                if trainer.grad_clip is not None:
                    _clip_per_head(params, trainer.grad_clip)
            optimizer.step()
            epoch_losses.append(losses)
            if first is None:
                first = losses.clone()
            result.steps += 1
        mean = torch.stack(epoch_losses).mean(dim=0).cpu()
        result.losses = mean.tolist()
        _check_losses(result, mean, first.cpu(), trainer, lr)
    result.seconds = time.perf_counter() - started
    return result


def _optimizer(heads: BatchedHeads, trainer: TrainerConfig, device: torch.device
               ) -> torch.optim.Optimizer:
    """The study's optimiser; AdamW as torch's fused kernel, on the CPU too.

    The shared trainer's default AdamW on the CPU loops over tensors with about ten passes over
    each; the fused kernel makes one (12x faster on 1M weights). Same update, other rounding.
    """
    if trainer.optimizer == "adamw":
        try:
            return torch.optim.AdamW(heads.parameters(), lr=trainer.lr,
                                     weight_decay=trainer.weight_decay, fused=True)
        except RuntimeError:  # torch < 2.4 has no fused AdamW on the CPU
            pass
    return make_optimizer(heads, trainer, device)


def _clip_per_head(params: list[nn.Parameter], max_norm: float) -> None:
    """``clip_grad_norm_`` applied to each head's own parameters (dimension 0: the head), as if
    each head trained alone."""
    grads = [p.grad for p in params if p.grad is not None]
    norms = torch.stack([torch.linalg.vector_norm(g, dim=tuple(range(1, g.dim())))
                         for g in grads])
    total = torch.linalg.vector_norm(norms, dim=0)
    if total.device.type == "cpu" and float(total.max()) + 1e-6 <= max_norm:
        return  # no head to clip (most steps): skip a pass over every gradient; on a GPU
        # this test would cost a sync per step, the pass costs less
    scale = (max_norm / (total + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(scale.view(-1, *([1] * (g.dim() - 1))))


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


def head_logits(heads: BatchedHeads, columns: torch.Tensor, batch_size: int | None = None,
                precision: str = "fp32") -> torch.Tensor:
    """Logits ``(K, N, classes)`` of every head on :func:`padded_columns` ``(P + 1, N)``, on the
    CPU: a view of class-major logits, so ``.transpose(1, 2)`` gives ``(K, classes, N)``.
    ``precision`` as the trainer's (bf16: the products in bfloat16, logits returned as fp32)."""
    heads.eval()
    device = heads.w1.device
    # a slice's gathered inputs (K · width, slice) in one buffer for every slice: about 16 MB,
    # at most 4096 samples (measured on 2 cores, 10k samples: 32 heads of ~290 features 1.3x
    # faster in slices of 450 than of 112, one head fastest in slices of 4096)
    size = batch_size or min(4096, max(64, 2**22 // heads.index.numel()))
    buffer = torch.empty(heads.index.numel() * size, device=device)
    out = []
    with torch.inference_mode(), autocast(device, precision):  # type: ignore[arg-type]
        for start in range(0, columns.shape[1], size):
            part = columns[:, start:start + size].to(device)
            inputs = buffer[:heads.index.numel() * part.shape[1]].view(-1, part.shape[1])
            out.append(heads.class_logits(heads.gather(part, inputs)).float().cpu())
    return torch.cat(out, dim=2).transpose(1, 2)


def odin_temperature_scores(logits: torch.Tensor, temperature: float, dim: int = -1
                            ) -> torch.Tensor:
    """ODIN's score without the input perturbation: ``max_i softmax(logits / T)_i``, classes
    along ``dim``.

    Liang, Li & Srikant (ICLR 2018), eq. (1); on cached features the perturbation, which needs
    the gradient through the backbone, is left out (``odin = "full"`` adds it).
    """
    # the largest log-probability, exponentiated: amax is a fast reduction over a few classes
    # in any layout, where max (values and indices) over a non-last dimension is not
    return (logits / temperature).log_softmax(dim=dim).amax(dim=dim).exp_()
