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
@pytest.mark.xfail(strict=False, reason="synthetic_person v1 shows no systematic light/dark "
                                        "gap for a dense MobileViTv2 (measured: none, see "
                                        "docs/spaces/moe_mobilevit.md)")
def test_dense_model_is_less_accurate_on_the_darkest_tones() -> None:
    cpu = torch.device("cpu")
    data = SyntheticPerson(image_size=64)
    generator = seed_everything(0)
    model = MoEMobileViT([1] * 9, width=0.5, classes=2)
    train = TensorBatches(data.load("train"), cpu, 2**40)
    fit(model, train, TrainerConfig(batch_size=64, lr=2e-3), steps=3 * train.steps_per_epoch(64),
        device=cpu, generator=generator)
    test = data.load("test")
    record = evaluate_split(model, TensorBatches(test, cpu, 2**40), batch_size=256)
    right = record.predictions == record.labels
    tone, person = test.attributes["group"], record.labels == PERSON
    light = right[person & (tone <= 2)].mean()   # Monk tones 1-3
    dark = right[person & (tone >= 7)].mean()    # Monk tones 8-10
    assert light - dark >= 0.05, f"light {light:.3f}, dark {dark:.3f}: no tone gap"
