"""What a study's objectives need from an evaluation: which splits, probabilities, ODIN, latency.

An objective plugin may declare ``needs``, a set of strings; the evaluator then does only that
work. An objective without ``needs`` gets every split evaluated (safe, slower); a
``MetricObjective`` reads metrics only.

* ``split:NAME``: evaluate split ``NAME`` (``validation`` always is).
* ``probabilities:NAME``: keep the class probabilities of split ``NAME``.
* ``attribute:NAME`` or ``attribute:NAME=VALUE``: the dataset must provide per-sample
  attribute ``NAME`` (with a value named ``VALUE``).
* ``odin:NAME``: ODIN scores on split ``NAME``, with the objective's ``temperature`` and
  ``epsilon``.
* ``latency``: measure CPU latency, with the objective's ``repeats`` and ``warmup`` if it has them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nasplat.objective import MetricObjective

LATENCY_METRIC = "latency_ms"


def metric_prefix(split: str) -> str:
    """Prefix of a split's metrics: ``val_loss`` for validation, ``test_loss``, ``ood_loss``."""
    return "val" if split == "validation" else split


@dataclass
class Needs:
    """The union of what a study's objectives and constraints need."""

    splits: set[str] = field(default_factory=lambda: {"validation"})
    probabilities: set[str] = field(default_factory=set)
    attributes: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    """``attribute:NAME=VALUE`` → (the objective that needs it, VALUE or None)."""
    odin: dict[str, tuple[float, float]] = field(default_factory=dict)
    """split → (temperature, epsilon)."""
    latency: tuple[int, int] | None = None
    """(repeats, warmup) when latency is measured."""
    every_split: bool = False


def needs_of(objectives: Iterable[Any], constraints: Mapping[str, Any],
             all_splits: Iterable[str]) -> Needs:
    """What ``objectives`` and ``constraints`` need; ``all_splits`` are the dataset's splits."""
    out = Needs()
    all_splits = tuple(all_splits)
    for objective in objectives:
        declared = getattr(objective, "needs", None)
        if declared is None:
            if not isinstance(objective, MetricObjective):
                out.every_split = True
            elif (objective.metric or objective.name) == LATENCY_METRIC:
                out.latency = (30, 5)
            continue
        for need in declared:
            kind, _, arg = need.partition(":")
            if kind == "split":
                out.splits.add(arg)
            elif kind == "probabilities":
                out.splits.add(arg)
                out.probabilities.add(arg)
            elif kind == "attribute":
                name, _, value = arg.partition("=")
                out.attributes[arg] = (objective.name, value or None)
            elif kind == "odin":
                out.splits.add(arg)
                out.odin[arg] = (float(objective.temperature), float(objective.epsilon))
            elif kind == "latency":
                out.latency = (int(getattr(objective, "repeats", 30)),
                               int(getattr(objective, "warmup", 5)))
            else:
                raise ValueError(f"objective '{objective.name}' declares unknown need {need!r}")
    for name in constraints:
        if name == LATENCY_METRIC and out.latency is None:
            out.latency = (30, 5)
        out.splits.update(s for s in all_splits if name.startswith(metric_prefix(s) + "_"))
    if out.every_split:
        out.splits.update(s for s in all_splits if s != "train")
    return out
