"""Derived studies: what a command computed from a study's trials, stored as a study of its own.

``nasplat ensemble STUDY`` stores its ensembles as study ``STUDY.ensembles`` and ``nasplat prune
STUDY --trial 7`` its iterations as ``STUDY.trial7.pruning``: one finished trial per result, so
``nasplat trials``, ``nasplat pareto`` and ``nasplat query`` read them like any trial. A second
run of the command adds its own trials beside the first run's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from nasplat.store import queries, writes
from nasplat.store.writes import NewTrial, Outcome

if TYPE_CHECKING:
    from nasplat.store import StudyRow
    from nasplat.study import Study


@dataclass
class DerivedTrial:
    """One result to store as a finished trial of a derived study."""

    genome: Any
    """What the result is, JSON-ready (an ensemble's members, a pruned model's experts)."""
    metrics: Mapping[str, float]
    status: Literal["complete", "infeasible"] = "complete"
    violation: float | None = None
    """How far an infeasible result is past its limit."""
    parent: int | None = None
    """Index of an earlier trial of the same :func:`store_derived` call it was made from."""
    artifacts: Mapping[str, str] = field(default_factory=dict)


def derived_study(source: Study, suffix: str, strategy: str, config: Mapping[str, Any],
                  directions: Sequence[Mapping[str, str]]) -> StudyRow:
    """Study ``<source>.<suffix>`` of the source's space, created on first use."""
    name = f"{source.name}.{suffix}"
    return queries.find_study(source.store, name) or writes.create_study(
        source.store, name, source.row.space, strategy,
        {"source_study": source.name, **config}, directions)


def store_derived(source: Study, suffix: str, strategy: str, config: Mapping[str, Any],
                  directions: Sequence[Mapping[str, str]],
                  results: Sequence[DerivedTrial]) -> tuple[str, list[int]]:
    """Store ``results``, in order, as trials of study ``<source>.<suffix>``.

    ``config`` and ``directions`` (``{"name": ..., "direction": "min"|"max"}``) describe the
    study when it is created. A result's ``parent`` becomes its trial's lineage. An artifact of
    a result takes over the same file from the study's earlier trials: a rerun writing into the
    same folder leaves no earlier trial pointing to a file it has overwritten. Returns the
    study's name and the new trials' numbers.
    """
    row = derived_study(source, suffix, strategy, config, directions)
    assert row.id is not None
    _take_over_files(source, row.id, results)
    ids: list[int] = []
    numbers: list[int] = []
    for result in results:
        if result.parent is not None and not 0 <= result.parent < len(ids):
            raise ValueError(f"result {len(ids)}: parent {result.parent} is not an earlier "
                             f"result")
        text = json.dumps(result.genome, sort_keys=True)
        digest = hashlib.sha256(text.encode()).hexdigest()[:32]
        parents = [] if result.parent is None else [ids[result.parent]]
        # one at a time: a trial's parent must have its id before the trial is queued
        (trial,) = writes.enqueue(source.store, row.id, [NewTrial(text, digest, 0, parents)])
        writes.finish(source.store, trial, Outcome(result.status, dict(result.metrics),
                                                   violation=result.violation,
                                                   artifacts=result.artifacts))
        assert trial.id is not None
        ids.append(trial.id)
        numbers.append(trial.number)
    return row.name, numbers


def _take_over_files(source: Study, study_id: int, results: Sequence[DerivedTrial]) -> None:
    earlier = [t.id for t in queries.trials(source.store, study_id) if t.id is not None]
    if not earlier:
        return
    new = {(name, path) for r in results for name, path in r.artifacts.items()}
    for name in {name for name, _ in new}:
        stale = [trial_id for trial_id, path in
                 queries.artifact_paths(source.store, earlier, name).items()
                 if (name, path) in new]
        if stale:
            writes.delete_artifacts(source.store, stale, name)
