"""The data requirement of MoENAS: a dense model is less accurate on dark skin tones."""

from __future__ import annotations

import pytest
import torch

from nasplat.config import TrainerConfig
from nasplat.plugins.datasets.synthetic_person import SyntheticPerson
from nasplat.spaces.moe_mobilevit.model import MoEMobileViT
from nasplat.spaces.moe_mobilevit.objectives import PERSON
from nasplat.train import TensorBatches, evaluate_split, fit, seed_everything


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_dense_model_is_less_accurate_on_the_darkest_tones(seed: int) -> None:
    # the space's CPU fidelity (32 px, 2 epochs); a large test split, so that ~600 person
    # images of each tone band measure the gap to a few points
    cpu = torch.device("cpu")
    data = SyntheticPerson(image_size=32, test=2000, seed=seed)
    generator = seed_everything(seed)
    model = MoEMobileViT([1] * 9, width=0.5, classes=2)
    train = TensorBatches(data.load("train"), cpu, 2**40)
    fit(model, train, TrainerConfig(batch_size=64, lr=2e-3, weight_decay=0.05),
        steps=2 * train.steps_per_epoch(64), device=cpu, generator=generator)
    test = data.load("test")
    record = evaluate_split(model, TensorBatches(test, cpu, 2**40), batch_size=256)
    right = record.predictions == record.labels
    tone, person = test.attributes["group"], record.labels == PERSON
    light = right[person & (tone <= 2)].mean()   # Monk tones 1-3
    dark = right[person & (tone >= 7)].mean()    # Monk tones 8-10
    assert light - dark >= 0.05, f"light {light:.3f}, dark {dark:.3f}: no tone gap"
