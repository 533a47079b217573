"""Robustness: accuracy on a named condition subset (poorly lit images ...)."""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from nasplat import hookimpl
from nasplat.errors import TrialFailed
from nasplat.evaluation import EvaluationRecord
from nasplat.objective import Direction
from nasplat.scores import accuracy, attribute_of, split_of


class RobustAccuracy:
    """Accuracy on the samples of one condition, e.g. ``condition = poorly_lit``.

    MoENAS's robustness objective: accuracy under an adverse condition (poor lighting) that
    the training data holds little of.
    """

    name: ClassVar[str] = "robust_accuracy"
    direction: Direction = "max"
    best: float | None = 1.0
    cheap = False

    class Options(BaseModel):
        """The split, the attribute and the value that names the condition."""

        model_config = ConfigDict(extra="forbid")
        # validation by default: a search that selects on test has seen its test set
        split: Literal["validation", "test"] = "validation"
        attribute: str = "condition"
        value: str = "poorly_lit"

    def __init__(self, split: str = "validation", attribute: str = "condition",
                 value: str = "poorly_lit") -> None:
        self.split, self.attribute, self.value = split, attribute, value

    @property
    def needs(self) -> frozenset[str]:
        """The split and the attribute."""
        return frozenset({f"split:{self.split}", f"attribute:{self.attribute}={self.value}"})

    def compute(self, record: EvaluationRecord) -> float:
        """Correct predictions / labelled samples with ``attribute == value``."""
        split = split_of(record, self.split, self.name)
        values = attribute_of(split, self.attribute, self.name)
        result = accuracy(split, values.astype(str) == self.value)
        if math.isnan(result):
            have = ", ".join(sorted(set(values.astype(str).tolist())))
            raise TrialFailed(f"objective '{self.name}': no sample of split '{self.split}' has "
                              f"{self.attribute} = {self.value} (values: {have})")
        return result


@hookimpl
def nasplat_register_objectives(register: Any) -> None:
    """Register the robustness objective."""
    register(RobustAccuracy)
