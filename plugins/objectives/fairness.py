"""Fairness across the groups of a per-sample attribute (skin tone ...)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from nasplat import hookimpl
from nasplat.errors import TrialFailed
from nasplat.evaluation import EvaluationRecord
from nasplat.objective import Direction
from nasplat.scores import attribute_of, group_accuracies, split_of


class _GroupObjective:
    name: ClassVar[str]

    class Options(BaseModel):
        """Which split and which per-sample attribute holds the groups."""

        model_config = ConfigDict(extra="forbid")
        # validation by default: a search that selects on test has seen its test set
        split: Literal["validation", "test"] = "validation"
        attribute: str = "group"

    def __init__(self, split: str = "validation", attribute: str = "group") -> None:
        self.split, self.attribute = split, attribute

    @property
    def needs(self) -> frozenset[str]:
        """The split and the attribute."""
        return frozenset({f"split:{self.split}", f"attribute:{self.attribute}"})

    def _accuracies(self, record: EvaluationRecord) -> dict[object, tuple[float, int]]:
        split = split_of(record, self.split, self.name)
        groups = group_accuracies(split, attribute_of(split, self.attribute, self.name))
        if len(groups) < 2:
            raise TrialFailed(f"objective '{self.name}': split '{self.split}' holds "
                              f"{len(groups)} group(s) of '{self.attribute}', fairness needs 2+")
        return groups


class Fairness(_GroupObjective):
    """MoENAS fairness score ``(β − SPD) / β``, with ``SPD = Σᵢ |Acc(Gᵢ) − Acc(G_minority)|``.

    MoENAS's fairness score (after the statistical parity difference, SPD): the sum, over the
    groups, of each group's accuracy gap to the minority group (the one with the fewest
    samples), scaled by β = 0.2. 1 is perfectly fair; the score falls below 0 once SPD > β.
    """

    name = "fairness"
    direction: Direction = "max"
    cheap = False
    best: float | None = 1.0

    class Options(_GroupObjective.Options):
        """Split, attribute and β."""

        beta: float = Field(default=0.2, gt=0)

    def __init__(self, split: str = "validation", attribute: str = "group",
                 beta: float = 0.2) -> None:
        super().__init__(split, attribute)
        self.beta = beta

    def compute(self, record: EvaluationRecord) -> float:
        """``(β − SPD) / β``."""
        groups = self._accuracies(record)
        # the minority group: fewest samples; ties go to the first value in sorted order
        minority = min(sorted(groups, key=str), key=lambda g: groups[g][1])
        spd = sum(abs(acc - groups[minority][0]) for acc, _ in groups.values())
        return (self.beta - spd) / self.beta


class AccuracyGap(_GroupObjective):
    """The accuracy gap between groups: best group's accuracy minus worst group's."""

    name = "accuracy_gap"
    direction: Direction = "min"
    cheap = False
    best: float | None = 0.0

    def compute(self, record: EvaluationRecord) -> float:
        """``max_i Acc(Gᵢ) − min_i Acc(Gᵢ)``."""
        accuracies = [acc for acc, _ in self._accuracies(record).values()]
        return max(accuracies) - min(accuracies)


@hookimpl
def nasplat_register_objectives(register: Any) -> None:
    """Register the fairness objectives."""
    register(Fairness)
    register(AccuracyGap)
