"""Overfitting: how far validation and test accuracy lie apart."""

from __future__ import annotations

from typing import Any, ClassVar

from nasplat import hookimpl
from nasplat.evaluation import EvaluationRecord
from nasplat.objective import Direction
from nasplat.scores import accuracy, split_of


class Overfitting:
    """``|validation accuracy − test accuracy|``: how much of a model's validation accuracy does
    not carry over to the test split."""

    name: ClassVar[str] = "overfitting"
    direction: Direction = "min"
    cheap = False
    best: float | None = 0.0
    needs = frozenset({"split:validation", "split:test"})

    def compute(self, record: EvaluationRecord) -> float:
        """``|Acc_val − Acc_test|``."""
        return abs(accuracy(split_of(record, "validation", self.name))
                   - accuracy(split_of(record, "test", self.name)))


@hookimpl
def nasplat_register_objectives(register: Any) -> None:
    """Register the overfitting objective."""
    register(Overfitting)
