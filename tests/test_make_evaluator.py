"""``make_evaluator`` prefers a space's own evaluator (``make_evaluator(config)``)."""

from __future__ import annotations

from nasplat.config import validate_config
from nasplat.evaluation import AnalyticEvaluator, EvaluationRecord, make_evaluator
from toys import ToyIntVector


class OwnEvaluator:
    def __init__(self, config) -> None:
        self.config = config

    def evaluate(self, ctx) -> EvaluationRecord:
        return EvaluationRecord(metrics={"error": 0.5})


class WithEvaluator(ToyIntVector):
    """A toy space with both an analytic ``evaluate`` and its own evaluator."""

    def make_evaluator(self, config):
        return OwnEvaluator(config)


def test_a_space_own_evaluator_comes_first() -> None:
    config = validate_config({"space": "toy_int"})
    chosen = make_evaluator(WithEvaluator(), config)
    assert isinstance(chosen, OwnEvaluator) and chosen.config is config
    assert isinstance(make_evaluator(ToyIntVector(), config), AnalyticEvaluator)
