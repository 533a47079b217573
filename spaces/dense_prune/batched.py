"""K heads trained at once: heads as a batch dimension, one batched matmul per layer for all.

Each head is pruned for real: it gathers only the features its mask keeps (padded to the widest
head with a zero feature), so it costs the multiply-adds of its own links, as its
:class:`~nasplat.spaces.dense_prune.head.PrunedHead` would alone. The first layer's bias is one
more input row, a feature that is always 1, so the first layer is a single product (forward and
gradient alike), without an addition or a sum of its own. Every head sees the same
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

import functools
import math
import time
from dataclasses import dataclass, field

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
    and never matter. Weights ``w1`` ``(K, width + 1, hidden)``, whose last row is the first
    layer's bias ``b1`` (the weights of a feature that is always 1, see
    :func:`padded_columns`), ``w2`` ``(K, classes, hidden)`` and ``b2`` ``(K, classes)``.
    """

    def __init__(self, masks: torch.Tensor, hidden: int, classes: int, seeds: list[int]) -> None:
        super().__init__()
        k, p = masks.shape
        kept = [torch.as_tensor(mask).nonzero().flatten() for mask in masks]
        width = max(1, *(len(active) for active in kept))
        index = torch.full((k, width + 1), p, dtype=torch.long)  # p: the padding feature
        index[:, -1] = p + 1  # the feature that is always 1: the bias's input
        w1 = torch.zeros(k, width + 1, hidden)
        w2, b2 = torch.empty(k, classes, hidden), torch.empty(k, classes)
        for i, (seed, active) in enumerate(zip(seeds, kept)):
            # nn.Linear's init, fan-in = the head's active inputs; drawn for all P features, so
            # a head gets the same weights whichever heads it is trained among
            generator = torch.Generator().manual_seed(int(seed))
            bound = 1.0 / math.sqrt(max(len(active), 1))
            full = torch.empty(p, hidden).uniform_(-bound, bound, generator=generator)
            index[i, :len(active)], w1[i, :len(active)] = active, full[active]
            w1[i, -1].uniform_(-bound, bound, generator=generator)  # b1
            bound = 1.0 / math.sqrt(hidden)
            w2[i] = torch.empty(hidden, classes).uniform_(-bound, bound, generator=generator).T
            b2[i].uniform_(-bound, bound, generator=generator)
        self.register_buffer("index", index)
        self.register_buffer("kept", torch.tensor([len(active) for active in kept]))
        self.w1, self.w2, self.b2 = nn.Parameter(w1), nn.Parameter(w2), nn.Parameter(b2)

    def gather(self, padded: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """Each head's inputs ``(K, width + 1, B)`` from :func:`padded_columns` ``(P + 2, B)``,
        written into ``out`` ``(K · (width + 1), B)`` when given (no allocation per step)."""
        inputs = torch.index_select(padded, 0, self.index.view(-1), out=out)
        return inputs.view(*self.index.shape, -1)

    def class_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """Logits ``(K, classes, B)`` for gathered inputs ``(K, width + 1, B)``: classes before
        samples, the layout in which cross-entropy over a few classes is fast. Inputs in
        bfloat16 run the first layer's product in bfloat16 and the rest in the weights' dtype,
        as in training."""
        hidden = torch.bmm(self.w1.to(inputs.dtype).transpose(1, 2), inputs)
        return torch.baddbmm(self.b2[:, :, None], self.w2, hidden.to(self.w2.dtype).relu_())

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``(K, B, classes)`` of every head for features ``(B, P)``."""
        return self.class_logits(self.gather(padded_columns(features))).transpose(1, 2)

    def head_state(self, k: int) -> dict[str, torch.Tensor]:
        """Head ``k`` as the state dict of a :class:`~nasplat.spaces.dense_prune.head.PrunedHead`."""
        kept = int(self.kept[k])
        return {"active": self.index[k, :kept].clone(),
                "hidden.weight": self.w1[k, :kept].T.detach().clone(),
                "hidden.bias": self.w1[k, -1].detach().clone(),
                "out.weight": self.w2[k].detach().clone(), "out.bias": self.b2[k].detach().clone()}


class _Step:
    """One training step of :class:`BatchedHeads` with hand-written gradients.

    Shapes: inputs ``(K, width + 1, B)`` (the last row 1: the first layer's bias is a row of
    its weights), hidden ``(K, hidden, B)``, logits ``(K, classes, B)``.
    Each head's loss is the mean cross-entropy of its batch (with ``label_smoothing`` as
    ``F.cross_entropy``), whose gradient in the logits is ``softmax - target`` over ``B``.
    Every product writes into a buffer made once, and the parameters' ``.grad`` are the
    gradient buffers, so the optimiser reads them in place.

    ``dtype`` is the first layer's: its two products (forward and weight gradient) are nearly
    all of a step's multiply-adds, and in bfloat16 they run on AMX where the CPU has it (the
    inputs come gathered in ``dtype``; the bias, a row of the weights, is rounded with them, as
    autocast's ``linear`` has it). Everything else (ReLU, the output layer, the loss, every
    gradient the optimiser reads) stays in the weights' dtype: the output layer's products are
    small, and in bfloat16 each would cost more in conversions than it saves.
    """

    def __init__(self, heads: BatchedHeads, size: int, label_smoothing: float,
                 dtype: torch.dtype) -> None:
        self.heads, self.smoothing, self.dtype = heads, label_smoothing, dtype
        k, width, hidden = heads.w1.shape
        classes = heads.w2.shape[1]
        device, full = heads.w1.device, heads.w1.dtype

        def buffer(*shape: int, dtype: torch.dtype = full) -> torch.Tensor:
            return torch.empty(*shape, device=device, dtype=dtype)

        self.inputs = buffer(k * width, size, dtype=dtype)
        self.hidden, self.grad_hidden = buffer(k, hidden, size), buffer(k, hidden, size)
        self.logits = buffer(k, classes, size)
        self.mixed = dtype != full
        if self.mixed:  # the first layer's operands and results in dtype
            self.w1 = buffer(k, width, hidden, dtype=dtype)
            self.product = buffer(k, hidden, size, dtype=dtype)
            self.grad_product = buffer(k, hidden, size, dtype=dtype)
            self.grad_w1 = buffer(k, width, hidden, dtype=dtype)
        self.params = [heads.w1, heads.w2, heads.b2]
        self.index = heads.index.view(-1)  # rows of the columns given to __call__
        for param in self.params:
            param.grad = torch.zeros_like(param)
        # -(1 - ε) at each sample's label: the one-hot part of softmax's gradient
        self.onehot = torch.full((k, 1, size), label_smoothing - 1.0, device=device, dtype=full)

    def __call__(self, batch: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Fill every parameter's ``.grad`` for one batch (columns ``(P + 2, B)`` in the first
        layer's dtype); each head's loss ``(K,)``."""
        heads, size = self.heads, len(labels)
        w1, w2, b2 = self.params
        g_w1, g_w2, g_b2 = (p.grad for p in self.params)
        inputs = torch.index_select(batch, 0, self.index, out=self.inputs).view(
            *heads.index.shape, -1)
        if self.mixed:
            product = torch.bmm(self.w1.copy_(w1).transpose(1, 2), inputs, out=self.product)
            hidden = self.hidden.copy_(product).relu_()
        else:
            hidden = torch.bmm(w1.transpose(1, 2), inputs, out=self.hidden).relu_()
        logits = torch.baddbmm(b2[:, :, None], w2, hidden, out=self.logits)
        log_p = torch.log_softmax(logits, dim=1)
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
        torch.bmm(grad, hidden.transpose(1, 2), out=g_w2)
        grad_hidden = torch.bmm(w2.transpose(1, 2), grad, out=self.grad_hidden)
        # ReLU's backward in place, one pass (a mask from `hidden > 0` would take three)
        torch.ops.aten.threshold_backward.grad_input(grad_hidden, hidden, 0,
                                                     grad_input=grad_hidden)
        # the bias's gradient, the sum over the batch, is the last row of the product below
        if self.mixed:
            grad_product = self.grad_product.copy_(grad_hidden)
            g_w1.copy_(torch.bmm(inputs, grad_product.transpose(1, 2), out=self.grad_w1))
        else:
            torch.bmm(inputs, grad_hidden.transpose(1, 2), out=g_w1)
        return losses


def padded_columns(features: torch.Tensor) -> torch.Tensor:
    """Features ``(N, P)`` as columns ``(P + 2, N)``: row ``P`` the padding feature, always 0,
    and row ``P + 1`` the bias's input, always 1 (see :class:`BatchedHeads`)."""
    p, n = features.shape[1], features.shape[0]
    out = features.new_empty(p + 2, n)
    out[:p] = features.T
    out[p], out[p + 1] = 0, 1
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
    :func:`padded_columns` ``(P + 2, N)`` (made once per split, not once per call).

    ``trainer.precision`` is honoured as by the shared trainer: with bf16 the first layer's
    products run in bfloat16 (see :class:`_Step`; fp32 weights, optimiser and loss), on
    features gathered as bfloat16. On a CPU with AMX (2 cores, 32 heads) that makes a batched
    step 1.3x faster, and one head's 1.3x slower (a small bfloat16 product is no faster, and
    the conversions to and from bfloat16 add operations); ``auto`` stays fp32 on the CPU.
    """
    started = time.perf_counter()
    k = len(masks)
    heads = BatchedHeads(torch.as_tensor(np.asarray(masks)), hidden, classes, seeds).to(device)
    optimizer = _Optimizer(heads, trainer, device)
    columns, labels = columns.to(device), labels.to(device)
    n, size = len(labels), min(trainer.batch_size, len(labels))
    per_epoch = max(n // size, 1)
    total = steps or trainer.steps or trainer.epochs * per_epoch
    generator = torch.Generator().manual_seed(shuffle_seed)
    result = HeadsResult(heads, [float("nan")] * k)
    first: torch.Tensor | None = None
    heads.train()
    dtype = first_layer_dtype(device, trainer.precision, heads.w1.dtype)
    step = _Step(heads, size, trainer.label_smoothing, dtype)
    # only the features some head reads are shuffled each epoch: for a few heads, a few of P
    rows, step.index = heads.index.unique(return_inverse=True)
    step.index = step.index.view(-1)
    if len(rows) < len(columns):
        columns = columns.index_select(0, rows)
    params = step.params
    # shuffled in fp32, then cast: index_select across columns is ~4x slower in 16 bits
    columns = columns.float()
    shuffled, shuffled_labels = torch.empty_like(columns), torch.empty_like(labels)
    batches = shuffled if dtype == shuffled.dtype else shuffled.to(dtype)
    while result.steps < total:
        result.epochs += 1
        epoch_losses = []
        # shuffled once per epoch: a batch is then a slice, gathered once per step for all heads
        order = torch.randperm(n, generator=generator).to(device)
        torch.index_select(columns, 1, order, out=shuffled)  # into buffers made once
        torch.index_select(labels, 0, order, out=shuffled_labels)
        if batches is not shuffled:
            batches.copy_(shuffled)
        for start in range(0, n - size + 1, size):  # the last partial batch is dropped
            if result.steps == total:
                break
            lr = trainer.lr * lr_factor(trainer.schedule, result.steps, total)
            with torch.no_grad():
                losses = step(batches[:, start:start + size],
                              shuffled_labels[start:start + size])
                if trainer.grad_clip is not None:
                    _clip_per_head(params, trainer.grad_clip)
                optimizer.step(lr)
            epoch_losses.append(losses)
            if first is None:
                first = losses.clone()
            result.steps += 1
        mean = torch.stack(epoch_losses).mean(dim=0).cpu()
        result.losses = mean.tolist()
        _check_losses(result, mean, first.cpu(), trainer, lr)
    result.seconds = time.perf_counter() - started
    return result


class _Optimizer:
    """The study's optimiser over the heads, stepped at a given learning rate.

    AdamW calls torch's fused kernel directly, on the CPU too: ``torch.optim.AdamW(fused=True)``
    runs the same kernel (same update, bit for bit) behind Python that made a quarter of one
    small head's step (2 cores: 0.39 ms a step with it, 0.30 ms without). Other optimisers
    (and a torch without the kernel) go through :func:`~nasplat.train.loop.make_optimizer`.
    """

    def __init__(self, heads: BatchedHeads, trainer: TrainerConfig, device: torch.device
                 ) -> None:
        self.trainer = trainer
        self.params = [p for p in heads.parameters() if p.requires_grad]
        self.fused = trainer.optimizer == "adamw" and _has_fused_adamw(device.type)
        if self.fused:
            self.exp_avgs = [torch.zeros_like(p) for p in self.params]
            self.exp_avg_sqs = [torch.zeros_like(p) for p in self.params]
            # one count for all: the kernel reads each parameter's, and they move together
            self.count = torch.zeros((), device=device)
            self.steps = [self.count] * len(self.params)
        else:
            self.optimizer = make_optimizer(heads, trainer, device)

    def step(self, lr: float) -> None:
        """One update of every head, with their gradients (``.grad``) at learning rate ``lr``."""
        if not self.fused:
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            self.optimizer.step()
            return
        self.count.add_(1)
        torch._fused_adamw_(self.params, [p.grad for p in self.params], self.exp_avgs,
                            self.exp_avg_sqs, [], self.steps, lr=lr, beta1=0.9, beta2=0.999,
                            weight_decay=self.trainer.weight_decay, eps=1e-8, amsgrad=False,
                            maximize=False)


@functools.cache
def _has_fused_adamw(device_type: str) -> bool:
    """Whether this torch has the fused AdamW kernel for ``device_type`` (the CPU's came in
    torch 2.4)."""
    one = torch.zeros(1, device=device_type)
    try:
        torch._fused_adamw_([one], [one.clone()], [one.clone()], [one.clone()], [],
                            [torch.ones((), device=device_type)], lr=0.0, beta1=0.9, beta2=0.999, weight_decay=0.0,
                            eps=1e-8, amsgrad=False, maximize=False)
    except (AttributeError, RuntimeError, NotImplementedError):
        return False
    return True


def _clip_per_head(params: list[nn.Parameter], max_norm: float) -> None:
    """``clip_grad_norm_`` applied to each head's own parameters (dimension 0: the head), as if
    each head trained alone."""
    grads = [p.grad for p in params if p.grad is not None]
    # each head's gradient as one row: a norm over the last dimension of (K, n) reads a step's
    # gradients 1.6x faster than one over dimensions 1 and 2 of (K, width, hidden)
    norms = torch.stack([torch.linalg.vector_norm(g.reshape(len(g), -1), dim=1)
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
    """Logits ``(K, N, classes)`` of every head on :func:`padded_columns` ``(P + 2, N)``, on the
    CPU: a view of class-major logits, so ``.transpose(1, 2)`` gives ``(K, classes, N)``.
    ``precision`` as the trainer's (bf16: the first layer's product in bfloat16, as in
    training; logits in fp32). Columns already in bfloat16 are read as they are."""
    heads.eval()
    device = heads.w1.device
    dtype = first_layer_dtype(device, precision, heads.w1.dtype)
    # a slice's gathered inputs (K · width, slice) in one buffer for every slice: about 16 MB,
    # at most 4096 samples (measured on 2 cores, 10k samples: 32 heads of ~290 features 1.3x
    # faster in slices of 450 than of 112, one head fastest in slices of 4096)
    size = batch_size or min(4096, max(64, 2**22 // heads.index.numel()))
    buffer = torch.empty(heads.index.numel() * size, device=device, dtype=dtype)
    out = []
    with torch.inference_mode():
        for start in range(0, columns.shape[1], size):
            part = columns[:, start:start + size].to(device=device, dtype=dtype)
            inputs = buffer[:heads.index.numel() * part.shape[1]].view(-1, part.shape[1])
            out.append(heads.class_logits(heads.gather(part, inputs)).float().cpu())
    return torch.cat(out, dim=2).transpose(1, 2)


def first_layer_dtype(device: torch.device, precision: str, full: torch.dtype
                      ) -> torch.dtype:
    """The dtype of the heads' first-layer products: bfloat16 where the trainer's precision
    means autocast (see :func:`~nasplat.train.device.autocast`), else the weights' ``full``."""
    mixed = isinstance(autocast(device, precision), torch.autocast)  # type: ignore[arg-type]
    return torch.bfloat16 if mixed else full


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
