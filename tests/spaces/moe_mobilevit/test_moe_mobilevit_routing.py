"""Routing analysis, pruning choices, and the trainer adding the load-balancing loss."""

from __future__ import annotations

import numpy as np
import torch

from nasplat.config import TrainerConfig
from nasplat.dataset import Split
from nasplat.spaces.moe_mobilevit import routing
from nasplat.spaces.moe_mobilevit.model import MoEMobileViT
from nasplat.spaces.moe_mobilevit.pruning import least_used, prune
from nasplat.train.batches import TensorBatches
from nasplat.train.loop import fit


def test_group_shares_and_collapse() -> None:
    choices = [np.array([[0, 0, 0, 0], [1, 1, 0, 0]]), np.array([[0, 1], [2, 2]])]
    experts = [2, 3]
    groups = np.array(["tone_1", "tone_10"])
    shares = routing.group_shares(choices, experts, groups)
    assert shares["tone_1"][0].tolist() == [1.0, 0.0, 0.0]
    assert shares["tone_10"][1].tolist() == [0.0, 0.0, 1.0]
    assert routing.collapsed_layers(choices, experts) == []
    assert routing.collapsed_layers([np.zeros((5, 4), dtype=int)], [4]) == [(0, 0, 1.0)]
    assert routing.collapsed_layers([np.zeros((5, 4), dtype=int)], [1]) == []  # dense layer
    rows = routing.routing_rows(choices, experts, {"group": groups})
    assert {"layer": 1, "attribute": "group", "group": "tone_10", "expert": 2,
            "share": 1.0} in rows


def test_expert_choices_cover_every_token() -> None:
    model = MoEMobileViT([2, 1, 3, 1, 1, 1, 1, 1, 8])
    choices = routing.expert_choices(model, torch.randn(5, 3, 32, 32), batch_size=2)
    assert [c.shape for c in choices][:2] == [(5, 16), (5, 16)]  # 4 pixels × 4×4 patches
    assert choices[-1].shape == (5, 4) and choices[-1].max() < 8
    assert all(f.last_expert is None and not f.record for f in model.switch_ffns())


def test_least_used_skips_dense_layers_and_prune_stops_at_the_threshold() -> None:
    assert least_used([np.array([1.0]), np.array([0.7, 0.3])]) == (1, 1, 0.3)
    assert least_used([np.array([1.0])]) is None
    model = MoEMobileViT([3, 1, 1, 1, 1, 1, 1, 1, 2])
    accuracies = iter([0.9, 0.895, 0.85])  # base, one kept step, one that drops 5 points

    steps, pruned = prune(model, lambda m: {"val_accuracy": next(accuracies)},
                          lambda m: [np.arange(1, e + 1) / e for e in m.experts()], 0.01)
    assert [s.kept for s in steps] == [True, True, False]
    assert steps[1].removed == (0, 0)
    assert pruned.experts() == [2, 1, 1, 1, 1, 1, 1, 1, 2]


def test_trainer_adds_the_models_aux_loss() -> None:
    class OnlyAux(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.head = torch.nn.Linear(4, 2)
            self.balance = torch.nn.Parameter(torch.ones(()))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.aux_loss = self.balance ** 2  # reaches the loss only through the trainer
            return self.head(x)

    model = OnlyAux()
    split = Split(torch.randn(32, 4), torch.randint(0, 2, (32,)))
    fit(model, TensorBatches(split, torch.device("cpu"), 2**20),
        TrainerConfig(batch_size=8, lr=0.1, weight_decay=0, grad_clip=None),
        steps=3, device=torch.device("cpu"), generator=torch.Generator().manual_seed(0))
    assert model.balance.item() < 1.0
