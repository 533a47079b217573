"""K heads trained at once end where each ends trained alone."""

from __future__ import annotations

import numpy as np
import torch

from nasplat.config import TrainerConfig
from nasplat.spaces.dense_prune.batched import (
    HeadsResult, _check_losses, head_logits, train_heads)


def test_batched_and_one_by_one_training_agree() -> None:
    rng = np.random.default_rng(0)
    features = torch.randn(96, 12)
    labels = torch.from_numpy(rng.integers(3, size=96))
    masks = (rng.random((4, 12)) < 0.5).astype(np.float32)
    masks[:, 0] = 1
    seeds = [11, 22, 33, 44]
    trainer = TrainerConfig(epochs=3, batch_size=16, lr=1e-2, grad_clip=0.5)
    kwargs = dict(hidden=6, classes=3, trainer=trainer, shuffle_seed=5,
                  device=torch.device("cpu"))
    together = train_heads(masks, seeds, features, labels, **kwargs)
    assert together.steps == 3 * 6 and not together.failed
    batched = head_logits(together.heads, features)
    for k in range(4):
        alone = train_heads(masks[k:k + 1], seeds[k:k + 1], features, labels, **kwargs)
        torch.testing.assert_close(head_logits(alone.heads, features)[0], batched[k],
                                   rtol=1e-4, atol=1e-4)
        assert alone.losses[0] == np.float32(together.losses[k]) or abs(
            alone.losses[0] - together.losses[k]) < 1e-5


def test_a_failing_head_fails_alone() -> None:
    result = HeadsResult(heads=None, losses=[])  # type: ignore[arg-type]
    first = torch.tensor([0.7, 0.7, 0.7])
    _check_losses(result, torch.tensor([0.5, float("nan"), 0.6]), first,
                  TrainerConfig(lr=0.1), lr=0.1)
    _check_losses(result, torch.tensor([0.4, 0.3, 8.0]), first, TrainerConfig(lr=0.1), lr=0.1)
    assert set(result.failed) == {1, 2}
    assert "became nan" in result.failed[1] and "lower trainer.lr (now 0.1)" in result.failed[1]
    assert "diverged in epoch" in result.failed[2]
