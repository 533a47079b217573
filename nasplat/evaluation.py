"""What an evaluation produces, and the interface that produces it.

The engine hands each trial to an :class:`Evaluator`. A space with its own way of evaluating
(``make_evaluator(config)``, e.g. heads trained on cached features) supplies its evaluator;
spaces that need no training (toy and benchmark spaces with an ``evaluate`` method) are
evaluated analytically by :class:`AnalyticEvaluator`; the others go through nasplat's shared
trainer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from nasplat.errors import ConfigError

if TYPE_CHECKING:
    from nasplat.config import StudyConfig
    from nasplat.space import Genome, SearchSpace


@dataclass
class SplitRecord:
    """One evaluation pass over one split (``validation``, ``test``, ``ood`` ...)."""

    labels: np.ndarray
    predictions: np.ndarray
    probabilities: np.ndarray | None = None
    attributes: dict[str, np.ndarray] = field(default_factory=dict)
    loss: float | None = None
    seconds: float = 0.0


@dataclass
class EvaluationRecord:
    """Everything objectives are computed from: metrics, per-split passes, artifacts."""

    metrics: dict[str, float] = field(default_factory=dict)
    splits: dict[str, SplitRecord] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)


@dataclass
class TrialContext:
    """What an evaluator knows of the trial it evaluates."""

    number: int
    genome: Genome
    seed: int
    fidelity: float | None = None
    parent_genome: Genome | None = None
    parent_artifacts: dict[str, str] = field(default_factory=dict)
    artifact_dir: Path | None = None
    report: Callable[[int, str, float], None] = lambda step, name, value: None
    """``report(step, name, value)`` stores an intermediate value (a learning-curve point)."""


class Evaluator(Protocol):
    """Turns a genome into an :class:`EvaluationRecord` (trains it, or computes it)."""

    def evaluate(self, ctx: TrialContext) -> EvaluationRecord:
        """Evaluate ``ctx.genome``; raise to fail the trial (the reason is recorded)."""
        ...


class AnalyticEvaluator:
    """Evaluates spaces that define ``evaluate(genome) -> dict``: no model, no data."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space

    def evaluate(self, ctx: TrialContext) -> EvaluationRecord:
        """The space's analytic metrics as the record."""
        metrics: dict[str, Any] = self.space.evaluate(ctx.genome)  # type: ignore[attr-defined]
        return EvaluationRecord(metrics={k: float(v) for k, v in metrics.items()})


def make_evaluator(space: SearchSpace, config: StudyConfig) -> Evaluator:
    """The evaluator for ``space``: its own if it makes one, analytic when it can be, the
    shared trainer otherwise."""
    if callable(getattr(space, "make_evaluator", None)):
        return space.make_evaluator(config)  # type: ignore[attr-defined]
    if callable(getattr(space, "evaluate", None)):
        return AnalyticEvaluator(space)
    try:
        from nasplat.train import TrainingEvaluator
    except ImportError:
        raise ConfigError(
            f"search space '{space.name}' needs training, and this nasplat has no trainer "
            f"(nasplat.train is missing): reinstall nasplat") from None
    return TrainingEvaluator(space, config)
