"""The moe_mobilevit space: contract, exact parameter counts, defaults, the model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasplat.config import validate_config
from nasplat.errors import InvalidGenome
from nasplat.problem import resolve
from nasplat.spaces.moe_mobilevit.model import MoEMobileViT, Widths, param_count
from nasplat.spaces.moe_mobilevit.space import FIDELITIES, MoEMobileViTSpace
from nasplat.testing import SpaceContract


class TestMoEMobileViTContract(SpaceContract):
    @pytest.fixture
    def space(self) -> MoEMobileViTSpace:
        return MoEMobileViTSpace(width=0.5, image_size=16)


@pytest.mark.parametrize("width", [0.5, 0.75, 1.0])
def test_params_equal_the_built_model_at_every_width(width: float) -> None:
    space = MoEMobileViTSpace(width=width)
    rng = np.random.default_rng(int(width * 100))
    for genome in [[1] * 9, [8] * 9, *(space.sample(rng) for _ in range(4))]:
        model = space.build(genome)
        assert space.cheap_metrics(genome)["params"] == sum(p.numel() for p in model.parameters())


def test_dense_model_matches_mobilevitv2_sizes() -> None:
    # MobileViTv2 with 1000 classes: 1.4M at width 0.5, 4.9M at 1.0 (Mehta & Rastegari, tab. 1)
    assert round(param_count([1] * 9, 0.5, 1000) / 1e5) == 14
    assert round(param_count([1] * 9, 1.0, 1000) / 1e5) == 49
    assert Widths.of(0.5).attn == (64, 96, 128)


def test_active_params_count_one_expert_per_token() -> None:
    space = MoEMobileViTSpace()
    dense = space.cheap_metrics([1] * 9)
    assert dense["active_params"] == dense["params"]
    moe = space.cheap_metrics([8] * 9)
    assert dense["params"] < moe["active_params"] < moe["params"]


def test_genome_checks_and_bounds() -> None:
    space = MoEMobileViTSpace()
    assert space.int_bounds() == [(1, 8)] * 9
    assert space.encode([1, 2, 3, 4, 5, 6, 7, 8, 1]).tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 1]
    for bad in ([0] * 9, [9] * 9, [1] * 8, [True] * 9, [1.0] * 9):
        with pytest.raises(InvalidGenome):
            space.validate(bad)


def test_forward_shapes_and_aux_loss_at_odd_sizes() -> None:
    torch.manual_seed(0)
    model = MoEMobileViT([1, 2, 8, 1, 3, 1, 1, 4, 1], width=0.5, classes=3)
    for size in (16, 24, 40):
        model.train()
        out = model(torch.randn(2, 3, size, size))
        assert out.shape == (2, 3)
        assert model.aux_loss is not None and model.aux_loss.ndim == 0
        # 4 layers with a router; each of their losses is at least 1 (Switch eq. 4 is ≥ 1)
        assert model.aux_loss.item() >= 0.01 * 4 - 1e-6
    model.eval()
    model(torch.randn(2, 3, 16, 16))
    assert model.aux_loss is None
    assert MoEMobileViT([1] * 9).train()(torch.randn(2, 3, 16, 16)).shape == (2, 2)


def test_sorted_and_grouped_dispatch_agree_in_the_model() -> None:
    if not hasattr(torch, "_grouped_mm"):
        pytest.skip("torch has no _grouped_mm")
    torch.manual_seed(0)
    model = MoEMobileViT([2, 8, 3, 1, 4, 5, 6, 7, 8], dispatch="sorted").eval()
    x = torch.randn(3, 3, 32, 32)
    ref = model(x)
    for ffn in model.switch_ffns():
        ffn.dispatch = "grouped"
    try:
        out = model(x)
    except RuntimeError as exc:
        pytest.skip(f"torch._grouped_mm on CPU: {exc}")
    torch.testing.assert_close(out, ref)


def test_space_defaults_fill_only_what_the_config_leaves_unset() -> None:
    config = validate_config({"space": {"name": "moe_mobilevit", "options": {"image_size": 24}},
                              "trainer": {"epochs": 7}})
    problem = resolve(config)
    merged = problem.config
    assert merged.trainer.epochs == 7                                  # the user's
    assert merged.trainer.batch_size == FIDELITIES["cpu"]["trainer"]["batch_size"]
    assert merged.budget.trials == FIDELITIES["cpu"]["budget"]["trials"]
    assert merged.dataset.name == "synthetic_person"
    assert merged.dataset.options == {"image_size": 24}
    names = [o.name for o in problem.objectives]
    assert names == ["test_accuracy", "skin_fairness", "robust_accuracy", "overfitting"]
    robust = problem.objectives[2]
    assert (robust.split, robust.attribute, robust.value) == ("test", "condition", "poorly_lit")
    assert problem.objectives[1].split == "test" and problem.objectives[1].beta == 0.2
    paper = resolve(validate_config({"space": {"name": "moe_mobilevit",
                                               "options": {"fidelity": "paper"}}})).config
    assert paper.dataset.options == {"image_size": 256} and paper.trainer.epochs == 30


def test_skin_fairness_reads_person_images_only() -> None:
    from nasplat.evaluation import EvaluationRecord, SplitRecord
    from nasplat.spaces.moe_mobilevit.objectives import SkinFairness

    # persons (label 1) are right in both tones; no-person images of tone_2 are all wrong
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    predictions = np.array([1, 1, 1, 1, 0, 0, 1, 1])
    group = np.array(["tone_1", "tone_1", "tone_2", "tone_2"] * 2)
    record = EvaluationRecord(splits={"test": SplitRecord(labels, predictions,
                                                          attributes={"group": group})})
    assert SkinFairness().compute(record) == 1.0
