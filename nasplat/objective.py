"""The Objective interface: a named value to minimise or maximise, computed from a record."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol, runtime_checkable

from nasplat.errors import TrialFailed

if TYPE_CHECKING:
    from nasplat.evaluation import EvaluationRecord

Direction = Literal["min", "max"]


@runtime_checkable
class Objective(Protocol):
    """A value of an evaluated architecture that the search minimises or maximises.

    ``cheap`` objectives need no training (parameter count, FLOPs): they are computed from
    the space's cheap metrics before any evaluation. Objectives are functions of one
    :class:`~nasplat.evaluation.EvaluationRecord`, so adding one never costs another pass
    over the data.

    An objective may also declare ``needs`` (a set of strings such as ``"split:test"`` or
    ``"odin:ood"``) so the trainer's evaluator does only the passes it asks for; see
    ``nasplat.train.needs`` for the vocabulary; and ``best``, the best value it can possibly
    take where one is known (1 for an accuracy, 0 for an error or a parameter count), which
    strategies may use: ``bo`` credits no predicted improvement beyond it (see
    :func:`best_of`).
    """

    name: str
    direction: Direction
    cheap: bool

    def compute(self, record: EvaluationRecord) -> float:
        """The objective's value for the evaluated trial."""
        ...


@dataclass(frozen=True)
class MetricObjective:
    """An objective that reads one metric of the record, such as ``params`` or an analytic ``f1``."""

    name: str
    direction: Direction
    cheap: bool = False
    metric: str | None = None
    best: float | None = None
    description: ClassVar[str] = "reads a metric of the evaluation record"

    def compute(self, record: EvaluationRecord) -> float:
        """``record.metrics[metric]``; a missing metric fails the trial with a clear reason."""
        key = self.metric or self.name
        if key not in record.metrics:
            have = ", ".join(sorted(record.metrics)) or "none"
            raise TrialFailed(f"objective '{self.name}' needs metric '{key}', which the "
                              f"evaluation did not produce (it produced: {have})")
        return float(record.metrics[key])


@dataclass(frozen=True)
class ObjectiveSpec:
    """What a strategy knows of an objective: its name, direction and, where known, the best
    value it can take (a hard bound, such as 1 for an accuracy)."""

    name: str
    direction: Direction
    best: float | None = None


def best_of(objective: Objective) -> float | None:
    """The objective's declared ``best`` value (an optional attribute), or None."""
    best = getattr(objective, "best", None)
    return None if best is None else float(best)


def to_minimise(values: Sequence[float], directions: Sequence[Direction]) -> list[float]:
    """Values turned into minimisation form (maximised objectives negated)."""
    return [v if d == "min" else -v for v, d in zip(values, directions, strict=True)]


def is_finite(value: float) -> bool:
    """Whether ``value`` is a real number (not NaN, not infinite)."""
    return isinstance(value, (int, float)) and math.isfinite(value)
