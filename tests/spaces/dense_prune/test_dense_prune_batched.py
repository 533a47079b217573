"""K heads trained at once end where each ends trained alone."""

from __future__ import annotations

import numpy as np
import torch

from nasplat.config import TrainerConfig
from nasplat.spaces.dense_prune.batched import (
    BatchedHeads, HeadsResult, _check_losses, _Optimizer, head_logits, padded_columns,
    train_heads)
from nasplat.spaces.dense_prune.head import PrunedHead
from nasplat.train.loop import lr_factor


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
    columns = padded_columns(features)
    together = train_heads(masks, seeds, columns, labels, **kwargs)
    assert together.steps == 3 * 6 and not together.failed
    batched = head_logits(together.heads, columns)
    for k in range(4):
        alone = train_heads(masks[k:k + 1], seeds[k:k + 1], columns, labels, **kwargs)
        torch.testing.assert_close(head_logits(alone.heads, columns)[0], batched[k],
                                   rtol=1e-4, atol=1e-4)
        assert alone.losses[0] == np.float32(together.losses[k]) or abs(
            alone.losses[0] - together.losses[k]) < 1e-5


def test_a_batched_head_trains_as_its_pruned_head_in_plain_torch() -> None:
    """The batched path (gathered inputs, padding, fused AdamW, per-head clipping) against
    the plain one: a PrunedHead, autograd, AdamW and clip_grad_norm_, on the same batches."""
    rng = np.random.default_rng(1)
    features = torch.randn(80, 10)
    labels = torch.from_numpy(rng.integers(4, size=80))
    masks = np.array([[1, 0, 1, 1, 0, 0, 1, 0, 1, 1], [0, 1, 0, 0, 0, 1, 0, 0, 0, 0]], np.float32)
    trainer = TrainerConfig(epochs=2, batch_size=16, lr=2e-2, grad_clip=0.3,
                            label_smoothing=0.1)
    columns = padded_columns(features)
    trained = train_heads(masks, [3, 4], columns, labels, hidden=7, classes=4, trainer=trainer,
                          shuffle_seed=9, device=torch.device("cpu"))
    padding = trained.heads.index == features.shape[1]
    assert padding.any() and torch.all(trained.heads.w1[padding] == 0)
    for k, seed in enumerate([3, 4]):
        head = PrunedHead(masks[k], hidden=7, classes=4)
        head.load_state_dict(BatchedHeads(torch.from_numpy(masks[k:k + 1]), 7, 4, [seed])
                             .head_state(0))
        optimizer = torch.optim.AdamW(head.parameters(), lr=trainer.lr,
                                      weight_decay=trainer.weight_decay)
        generator, step = torch.Generator().manual_seed(9), 0
        for _ in range(trainer.epochs):
            order = torch.randperm(80, generator=generator)
            for start in range(0, 80, 16):
                index = order[start:start + 16]
                optimizer.param_groups[0]["lr"] = trainer.lr * lr_factor("cosine", step, 10)
                loss = torch.nn.functional.cross_entropy(head(features[index]), labels[index],
                                                         label_smoothing=0.1)
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(head.parameters(), trainer.grad_clip)
                optimizer.step()
                step += 1
        with torch.no_grad():
            torch.testing.assert_close(head_logits(trained.heads, columns)[k], head(features),
                                       rtol=1e-4, atol=1e-4)


def test_a_failing_head_fails_alone() -> None:
    result = HeadsResult(heads=None, losses=[])  # type: ignore[arg-type]
    first = torch.tensor([0.7, 0.7, 0.7])
    _check_losses(result, torch.tensor([0.5, float("nan"), 0.6]), first,
                  TrainerConfig(lr=0.1), lr=0.1)
    _check_losses(result, torch.tensor([0.4, 0.3, 8.0]), first, TrainerConfig(lr=0.1), lr=0.1)
    assert set(result.failed) == {1, 2}
    assert "became nan" in result.failed[1] and "lower trainer.lr (now 0.1)" in result.failed[1]
    assert "diverged in epoch" in result.failed[2]


def test_bf16_precision_is_honoured_and_learns_as_fp32() -> None:
    """trainer.precision = bf16 runs the heads' products in bfloat16 (as the shared trainer
    does): the heads end near, not at, their fp32 selves, and learn the task as well."""
    rng = np.random.default_rng(2)
    generator = torch.Generator().manual_seed(2)  # not the global one: tests run in any order
    centres = torch.randn(3, 16, generator=generator) * 3
    labels = torch.from_numpy(rng.integers(3, size=240))
    features = centres[labels] + torch.randn(240, 16, generator=generator)
    masks = (rng.random((3, 16)) < 0.6).astype(np.float32)
    masks[:, :2] = 1
    columns = padded_columns(features)
    ends = {}
    for precision in ("fp32", "bf16"):
        def trained(epochs: int, precision: str = precision) -> HeadsResult:
            trainer = TrainerConfig(epochs=epochs, batch_size=32, lr=1e-2, precision=precision)
            result = train_heads(masks, [1, 2, 3], columns, labels, hidden=8, classes=3,
                                 trainer=trainer, shuffle_seed=0, device=torch.device("cpu"))
            assert not result.failed
            return result

        first = trained(1).heads.w1.detach().clone()  # one epoch: the two still close
        logits = head_logits(trained(20).heads, columns, precision=precision)
        assert logits.dtype == torch.float32
        accuracy = (logits.argmax(dim=2) == labels).float().mean(dim=1)
        assert (accuracy > 0.8).all(), (precision, accuracy)
        ends[precision] = (first, accuracy)
    assert not torch.equal(ends["fp32"][0], ends["bf16"][0])  # bf16 really was used
    torch.testing.assert_close(ends["bf16"][0], ends["fp32"][0], rtol=0.05, atol=0.02)
    assert (ends["bf16"][1] - ends["fp32"][1]).abs().max() <= 0.05


def test_the_optimiser_is_torchs_fused_adamw_bit_for_bit() -> None:
    """The direct call of the fused kernel updates as ``torch.optim.AdamW(fused=True)``."""
    masks = torch.from_numpy((np.random.default_rng(3).random((3, 9)) < 0.6).astype(np.float32))
    ours, theirs = (BatchedHeads(masks, 5, 3, [1, 2, 3]) for _ in range(2))
    trainer = TrainerConfig(lr=3e-2, weight_decay=0.05)
    optimizer = _Optimizer(ours, trainer, torch.device("cpu"))
    reference = torch.optim.AdamW(theirs.parameters(), lr=trainer.lr, weight_decay=0.05,
                                  fused=True)
    assert optimizer.fused
    generator = torch.Generator().manual_seed(0)
    for step in range(6):
        lr = trainer.lr * lr_factor("cosine", step, 6)
        for a, b in zip(ours.parameters(), theirs.parameters()):
            a.grad = torch.randn(a.shape, generator=generator)
            b.grad = a.grad.clone()
        optimizer.step(lr)
        reference.param_groups[0]["lr"] = lr
        reference.step()
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert torch.equal(a, b)
    sgd = _Optimizer(ours, TrainerConfig(optimizer="sgd", lr=0.1, weight_decay=0.0), torch.device("cpu"))
    assert not sgd.fused
    before = ours.b2.detach().clone()
    sgd.step(0.1)  # through torch.optim.SGD, at the learning rate given
    torch.testing.assert_close(ours.b2, before - 0.1 * ours.b2.grad)
