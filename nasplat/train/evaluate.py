"""One evaluation pass over a split, and ODIN scores for out-of-distribution detection."""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nasplat.dataset import NO_LABEL
from nasplat.errors import ConfigError
from nasplat.evaluation import SplitRecord
from nasplat.train.batches import TensorBatches
from nasplat.train.device import autocast
from nasplat.train.loop import loss_of


def evaluate_split(model: nn.Module, batches: TensorBatches, *, batch_size: int,
                   precision: str = "fp32", attributes: dict[str, np.ndarray] | None = None,
                   probabilities: bool = False) -> SplitRecord:
    """Predictions, labels, loss (plain cross-entropy) and timing of one pass over a split.

    Language-model outputs ``(B, T, V)`` are flattened to one prediction per token; per-sample
    attributes are repeated to match.
    """
    started = time.perf_counter()
    model.eval()
    device = batches.device
    loss_sum = torch.zeros((), device=device, dtype=torch.float64)
    predictions, labels, probs = [], [], []
    with torch.inference_mode(), autocast(device, precision):  # type: ignore[arg-type]
        for inputs, target in batches.in_order(batch_size):
            logits = model(inputs).float()
            loss_sum += loss_of(logits, target, reduction="sum").double()
            flat = logits.reshape(-1, logits.shape[-1])
            predictions.append(flat.argmax(dim=1))
            labels.append(target.reshape(-1))
            if probabilities:
                probs.append(flat.softmax(dim=1))
    # one copy back to the host for the whole split (a CPU-GPU sync)
    label_array = torch.cat(labels).cpu().numpy()
    counted = int((label_array != NO_LABEL).sum())
    per_sample = len(label_array) // max(len(batches), 1)
    attrs = {k: np.repeat(v, per_sample) if per_sample > 1 else v
             for k, v in (attributes or {}).items()}
    return SplitRecord(
        labels=label_array,
        predictions=torch.cat(predictions).cpu().numpy(),
        probabilities=torch.cat(probs).cpu().numpy() if probabilities else None,
        attributes=attrs,
        loss=float(loss_sum.item()) / counted if counted else None,
        seconds=time.perf_counter() - started)


def odin_scores(model: nn.Module, batches: TensorBatches, *, batch_size: int,
                temperature: float, epsilon: float) -> np.ndarray:
    """ODIN score of each sample: max softmax at temperature T of the perturbed input.

    Liang, Li & Srikant (ICLR 2018), eq. (2): ``x̃ = x − ε·sign(−∇ₓ log S_ŷ(x; T))``, then the
    score is ``max_i S_i(x̃; T)``. In-distribution samples score higher.
    """
    if not batches.inputs.is_floating_point():
        raise ConfigError("ODIN perturbs the input, so it needs real-valued inputs (images), "
                          "not token ids: drop the ood_auroc objective for this dataset")
    model.eval()
    scores = []
    for inputs, _ in batches.in_order(batch_size):
        x = inputs.detach().clone().requires_grad_(True)
        logits = model(x) / temperature
        # −log S_ŷ summed over the batch: its gradient is −∇ₓ log S_ŷ for each sample
        nll = F.cross_entropy(logits, logits.argmax(dim=1), reduction="sum")
        (grad,) = torch.autograd.grad(nll, x)
        perturbed = x.detach() - epsilon * grad.sign()
        with torch.no_grad():
            scores.append((model(perturbed) / temperature).softmax(dim=1).amax(dim=1))
    return torch.cat(scores).float().cpu().numpy()
