"""Every bundled objective on a hand-made evaluation record, against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nasplat import registry
from nasplat.errors import TrialFailed
from nasplat.evaluation import EvaluationRecord, SplitRecord
from nasplat.problem import instantiate
from nasplat.scores import ODIN_SCORE


def objective(name: str, **options: object) -> object:
    return instantiate("objectives", name, options, f"objectives.{name}.options")


def split(labels: list[int], predictions: list[int], **extra: object) -> SplitRecord:
    return SplitRecord(np.array(labels), np.array(predictions), **extra)  # type: ignore[arg-type]


# validation: 10 samples; tone_1 has 6 (5 right), tone_2 has 3 (1 right), tone_3 has 1 (1 right)
VALIDATION = split([1] * 10, [1, 1, 1, 1, 1, 0, 1, 0, 0, 1], loss=math.log(4),
                   attributes={"group": np.array(["tone_1"] * 6 + ["tone_2"] * 3 + ["tone_3"]),
                               "condition": np.array(["well_lit"] * 7 + ["poorly_lit"] * 3)})
TEST = split([0, 0, 1, 1], [0, 1, 1, 1], loss=0.5,
             attributes={ODIN_SCORE: np.array([0.9, 0.8, 0.7, 0.4])},
             probabilities=np.array([[0.6, 0.4, 0.0], [0.3, 0.5, 0.2], [0.2, 0.7, 0.1],
                                     [0.1, 0.8, 0.1]]))
OOD = split([-1, -1], [0, 1], attributes={ODIN_SCORE: np.array([0.75, 0.2])})
RECORD = EvaluationRecord(metrics={"params": 1234.0, "flops": 5e6, "latency_ms": 1.5,
                                   "active_units": 0.25},
                          splits={"validation": VALIDATION, "test": TEST, "ood": OOD})


@pytest.mark.parametrize(("name", "options", "direction", "expected"), [
    ("val_accuracy", {}, "max", 0.7),
    ("test_accuracy", {}, "max", 0.75),
    ("top_k_accuracy", {"k": 1, "split": "test"}, "max", 0.75),
    ("val_loss", {}, "min", math.log(4)),
    ("test_loss", {}, "min", 0.5),
    ("val_perplexity", {}, "min", 4.0),
    ("test_perplexity", {}, "min", math.exp(0.5)),
    # minority = tone_3 (1 sample, acc 1): SPD = |5/6 − 1| + |1/3 − 1| + 0 = 5/6
    ("fairness", {}, "max", (0.2 - 5 / 6) / 0.2),
    ("fairness", {"beta": 1.0}, "max", 1 - 5 / 6),
    ("accuracy_gap", {}, "min", 1 - 1 / 3),
    # poorly lit: samples 7..9 predicted 0, 0, 1 → 1/3
    ("robust_accuracy", {}, "max", 1 / 3),
    ("robust_accuracy", {"value": "well_lit"}, "max", 6 / 7),
    ("overfitting", {}, "min", 0.05),
    # pairs (in, out): 0.9, 0.8 beat both; 0.7 beats 0.2 only; 0.4 beats 0.2 only → 6/8
    ("ood_auroc", {}, "max", 0.75),
    ("params", {}, "min", 1234.0),
    ("flops", {}, "min", 5e6),
    ("latency_ms", {}, "min", 1.5),
    ("active_units", {}, "min", 0.25),
])
def test_objective_value(name: str, options: dict, direction: str, expected: float) -> None:
    obj = objective(name, **options)
    assert obj.direction == direction and obj.name == name
    assert obj.compute(RECORD) == pytest.approx(expected)


def test_top_k_with_k_two() -> None:
    # test labels 0, 0, 1, 1: sample 1's label 0 ranks 2nd of (0.3, 0.5, 0.2) → all in top 2
    assert objective("top_k_accuracy", k=2, split="test").compute(RECORD) == 1.0


def test_every_objective_has_a_docstring_and_only_cheap_ones_are_cheap() -> None:
    cheap = {"params", "flops", "latency_ms", "active_units"}
    found = registry.get().registry("objectives")
    for name in ("val_accuracy", "fairness", "ood_auroc", *cheap):
        cls = found[name].cls
        assert cls.__doc__ and cls.__doc__.strip()
        assert objective(name).cheap == (name in cheap)


@pytest.mark.parametrize(("name", "record", "message"), [
    ("test_accuracy", EvaluationRecord(splits={"validation": VALIDATION}),
     "objective 'test_accuracy' needs the evaluation of split 'test'"),
    ("fairness", EvaluationRecord(splits={"validation": split([1], [1])}),
     "needs per-sample attribute 'group'.*provides: none"),
    ("fairness", EvaluationRecord(splits={"validation": split(
        [1, 1], [1, 0], attributes={"group": np.array(["a", "a"])})}), "fairness needs 2"),
    ("latency_ms", EvaluationRecord(), "needs metric 'latency_ms'"),
    ("active_units", EvaluationRecord(), "the search space"),
])
def test_missing_inputs_fail_the_trial_with_a_reason(name: str, record: EvaluationRecord,
                                                     message: str) -> None:
    with pytest.raises(TrialFailed, match=message):
        objective(name).compute(record)


def test_bad_options_are_config_errors() -> None:
    from nasplat.errors import ConfigError

    with pytest.raises(ConfigError, match="objectives.fairness.options, beta = -1"):
        objective("fairness", beta=-1)
