"""The training loop: it learns, it repeats exactly when seeded, it fails bad runs clearly."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from trainable_toys import ToyBlobs, ToyMlp

from nasplat.config import TrainerConfig
from nasplat.errors import TrialFailed
from nasplat.train import TensorBatches, evaluate_split, fit, seed_everything
from nasplat.train.loop import loss_of, lr_factor
from nasplat.scores import accuracy

CPU = torch.device("cpu")


def train_toy(seed: int = 0, **settings: object) -> tuple[nn.Module, list[float]]:
    config = TrainerConfig(**{"epochs": 4, "batch_size": 32, "lr": 0.01, **settings})
    batches = TensorBatches(ToyBlobs().load("train"), CPU, 2**30)
    generator = seed_everything(seed)
    model = ToyMlp().build([16, 1])
    steps = config.epochs * batches.steps_per_epoch(config.batch_size)
    result = fit(model, batches, config, steps=steps, device=CPU, generator=generator)
    return model, result.epoch_losses


def test_a_tiny_model_learns_a_tiny_task() -> None:
    model, losses = train_toy()
    assert len(losses) == 4 and losses[-1] < 0.5 * losses[0]
    split = evaluate_split(model, TensorBatches(ToyBlobs().load("validation"), CPU, 2**30),
                           batch_size=64)
    assert accuracy(split) > 0.9


@pytest.mark.parametrize("settings", [{}, {"optimizer": "sgd", "schedule": "step"},
                                      {"schedule": "constant", "label_smoothing": 0.1,
                                       "grad_clip": None}])
def test_seeded_runs_repeat_exactly(settings: dict) -> None:
    first, losses_a = train_toy(seed=3, **settings)
    second, losses_b = train_toy(seed=3, **settings)
    assert losses_a == losses_b
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    _, other = train_toy(seed=4, **settings)
    assert other != losses_a


def test_learning_rate_schedules() -> None:
    assert lr_factor("cosine", 0, 100) == 1.0
    assert lr_factor("cosine", 50, 100) == pytest.approx(0.5)
    assert lr_factor("cosine", 100, 100) == pytest.approx(0.0)
    assert [lr_factor("step", s, 100) for s in (0, 49, 50, 74, 75, 99)] == pytest.approx(
        [1, 1, 0.1, 0.1, 0.01, 0.01])
    assert lr_factor("constant", 70, 100) == 1.0


def test_loss_with_label_smoothing_matches_its_definition() -> None:
    logits = torch.tensor([[2.0, 0.0, 0.0]])
    log_p = torch.log_softmax(logits, dim=1)[0]
    # smoothing 0.3 over 3 classes: target (0.8, 0.1, 0.1)
    expected = -(0.8 * log_p[0] + 0.1 * log_p[1] + 0.1 * log_p[2])
    assert loss_of(logits, torch.tensor([0]), 0.3).item() == pytest.approx(expected.item())
    # label -1 (no label) is skipped; (B, T, C) logits are flattened
    seq = torch.stack([logits, logits], dim=1)  # (1, 2, 3)
    assert loss_of(seq, torch.tensor([[0, -1]])).item() == pytest.approx(-log_p[0].item())


class _Scaled(nn.Module):
    def __init__(self, fault: str) -> None:
        super().__init__()
        self.linear, self.fault, self.calls = nn.Linear(8, 3), fault, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.fault == "inf":
            return self.linear(x) * float("inf")
        return self.linear(x) * 3.0 ** self.calls


@pytest.mark.parametrize(("fault", "reason"), [("inf", "training loss became nan in epoch 1"),
                                                ("grow", "training diverged in epoch 1")])
def test_bad_losses_fail_the_trial(fault: str, reason: str) -> None:
    batches = TensorBatches(ToyBlobs().load("train"), CPU, 2**30)
    config = TrainerConfig(batch_size=32, grad_clip=None)
    with pytest.raises(TrialFailed, match=reason) as info:
        fit(_Scaled(fault), batches, config, steps=20, device=CPU,
            generator=seed_everything(0))
    assert "lower trainer.lr" in str(info.value) and "grad_clip" in str(info.value)


def test_batches_drop_the_last_partial_batch_and_cover_every_sample_in_order() -> None:
    split = ToyBlobs().load("train")  # 240 samples
    batches = TensorBatches(split, CPU, 2**30)
    shuffled = list(batches.shuffled(100, seed_everything(0)))
    assert [len(x) for x, _ in shuffled] == [100, 100] and batches.steps_per_epoch(100) == 2
    rows = torch.cat([x for x, _ in shuffled])
    assert len(torch.unique(rows, dim=0)) == 200  # no sample twice in an epoch
    ordered = list(batches.in_order(100))
    assert [len(x) for x, _ in ordered] == [100, 100, 40]
    assert torch.equal(torch.cat([x for x, _ in ordered]), split.inputs)


def test_steps_can_stop_inside_an_epoch() -> None:
    batches = TensorBatches(ToyBlobs().load("train"), CPU, 2**30)  # 7 steps per epoch of 32
    seen: list[tuple[int, bool]] = []
    result = fit(ToyMlp().build([4, 1]), batches, TrainerConfig(batch_size=32), steps=10,
                 device=CPU, generator=seed_everything(0),
                 on_epoch=lambda epoch, loss, last: seen.append((epoch, last)))
    assert (result.steps, result.epochs) == (10, 2) and seen == [(1, False), (2, True)]
    assert all(math.isfinite(v) for v in result.epoch_losses)
