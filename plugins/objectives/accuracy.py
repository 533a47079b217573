"""Accuracy on the validation and test splits, and top-k accuracy."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from nasplat import hookimpl
from nasplat.evaluation import EvaluationRecord
from nasplat.objective import Direction
from nasplat.scores import accuracy, split_of, top_k_accuracy


class ValAccuracy:
    """Validation accuracy: the share of validation samples whose top class is the label."""

    name: ClassVar[str] = "val_accuracy"
    direction: Direction = "max"
    cheap = False
    best: float | None = 1.0
    split: ClassVar[str] = "validation"

    @property
    def needs(self) -> frozenset[str]:
        """The split it reads."""
        return frozenset({f"split:{self.split}"})

    def compute(self, record: EvaluationRecord) -> float:
        """Correct predictions / labelled samples of the split."""
        return accuracy(split_of(record, self.split, self.name))


class TestAccuracy(ValAccuracy):
    """Test accuracy: the share of test samples whose top class is the label."""

    name = "test_accuracy"
    split = "test"


class TopKAccuracy:
    """Top-k accuracy: the share of samples whose label is among the k most probable classes.

    As reported for ImageNet (Krizhevsky et al., 2012, top-5); ties at the k-th place count for
    the label.
    """

    name: ClassVar[str] = "top_k_accuracy"
    direction: Direction = "max"
    cheap = False
    best: float | None = 1.0

    class Options(BaseModel):
        """``k`` and the split."""

        model_config = ConfigDict(extra="forbid")
        k: int = Field(default=5, ge=1)
        split: Literal["validation", "test"] = "validation"

    def __init__(self, k: int = 5, split: str = "validation") -> None:
        self.k, self.split = k, split

    @property
    def needs(self) -> frozenset[str]:
        """The split, with class probabilities kept."""
        return frozenset({f"probabilities:{self.split}"})

    def compute(self, record: EvaluationRecord) -> float:
        """Samples with the label in the top k / labelled samples."""
        return top_k_accuracy(split_of(record, self.split, self.name), self.k)


@hookimpl
def nasplat_register_objectives(register: Any) -> None:
    """Register the accuracy objectives."""
    for cls in (ValAccuracy, TestAccuracy, TopKAccuracy):
        register(cls)
