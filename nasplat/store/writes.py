"""Named writes to the result store. Each is one transaction: all of it lands, or none."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from nasplat.errors import StoreError
from nasplat.store._store import Store
from nasplat.store.tables import (ArtifactRow, IntermediateRow, MetricRow, StrategyStateRow,
                                  StudyRow, TrialParentRow, TrialRow, utcnow)


@dataclass
class NewTrial:
    """A genome a strategy proposed, ready to be queued."""

    genome_json: str
    genome_hash: str
    seed: int
    parent_ids: Sequence[int] = ()
    fidelity: float | None = None
    ask_seconds: float | None = None


@dataclass
class Outcome:
    """How a trial ended, to be committed in one transaction."""

    status: str
    metrics: Mapping[str, float] = field(default_factory=dict)
    error: str | None = None
    violation: float | None = None
    artifacts: Mapping[str, str] = field(default_factory=dict)


def create_study(store: Store, name: str, space: str, strategy: str, config: dict[str, Any],
                 directions: Sequence[Mapping[str, str]]) -> StudyRow:
    """A new study; a taken name is a :class:`StoreError`."""
    row = StudyRow(name=name, space=space, strategy=strategy,
                   config_json=json.dumps(config, sort_keys=True),
                   directions_json=json.dumps(list(directions)))
    try:
        with store.session() as session:
            session.add(row)
            session.flush()
            session.refresh(row)
    except IntegrityError:
        raise StoreError(f"a study named '{name}' already exists in {store.url}: resume it with "
                         f"`nasplat run --study {name}`, or choose another name") from None
    return row


def enqueue(store: Store, study_id: int, new: Sequence[NewTrial],
            strategy_state: Any | None = None) -> list[TrialRow]:
    """Queue proposed trials (numbered after the last) and save the strategy state with them."""
    with store.session() as session:
        last = session.exec(select(func.max(TrialRow.number)).where(
            TrialRow.study_id == study_id)).one()
        start = -1 if last is None else int(last)
        rows = [TrialRow(study_id=study_id, number=start + 1 + i, genome_json=t.genome_json,
                         genome_hash=t.genome_hash, seed=t.seed, fidelity=t.fidelity,
                         ask_seconds=t.ask_seconds) for i, t in enumerate(new)]
        session.add_all(rows)
        session.flush()
        for row, t in zip(rows, new, strict=True):
            for parent in t.parent_ids:
                session.add(TrialParentRow(trial_id=row.id, parent_id=parent))
        if strategy_state is not None:
            _save_state(session, study_id, strategy_state)
    return rows


def claim(store: Store, study_id: int, worker: str) -> TrialRow | None:
    """Mark the lowest-numbered queued trial running for ``worker`` and return it."""
    with store.session() as session:
        row = session.exec(
            select(TrialRow).where(TrialRow.study_id == study_id, TrialRow.status == "queued")
            .order_by(TrialRow.number).limit(1).with_for_update(skip_locked=True)).first()
        if row is None:
            return None
        now = utcnow()
        row.status, row.worker = "running", worker
        row.started_at = row.heartbeat_at = now
        row.attempts += 1
        session.add(row)
    return row


def heartbeat(store: Store, trial_id: int) -> None:
    """Tell the store the worker running ``trial_id`` is alive."""
    with store.session() as session:
        session.exec(update(TrialRow).where(col(TrialRow.id) == trial_id,
                                            col(TrialRow.status) == "running")
                     .values(heartbeat_at=utcnow()))


def finish(store: Store, trial: TrialRow, outcome: Outcome, strategy_state: Any | None = None,
           elapsed_seconds: float = 0.0) -> TrialRow:
    """Commit a trial's end (status, metrics, artifacts, strategy state) in one transaction."""
    with store.session() as session:
        row = session.get(TrialRow, trial.id)
        if row is None:
            raise StoreError(f"trial {trial.number} vanished from the store")
        row.status, row.error, row.violation = outcome.status, outcome.error, outcome.violation
        row.finished_at = utcnow()
        session.add(row)
        for name, value in outcome.metrics.items():
            session.merge(MetricRow(trial_id=row.id, name=name, value=float(value)))
        for name, path in outcome.artifacts.items():
            session.merge(ArtifactRow(trial_id=row.id, name=name, path=path))
        if strategy_state is not None:
            _save_state(session, row.study_id, strategy_state)
        if elapsed_seconds:
            session.exec(update(StudyRow).where(col(StudyRow.id) == row.study_id).values(
                elapsed_seconds=StudyRow.elapsed_seconds + elapsed_seconds))
    return row


def record_intermediate(store: Store, trial_id: int, step: int, name: str, value: float) -> None:
    """Store one learning-curve point (the latest value wins for a repeated step)."""
    with store.session() as session:
        session.merge(IntermediateRow(trial_id=trial_id, step=step, name=name, value=value))


def requeue_abandoned(store: Store, study_id: int, stale_after: timedelta,
                      is_dead: Any = None) -> list[int]:
    """Put back in the queue every running trial whose worker is gone; return their numbers.

    A worker is gone when its heartbeat is older than ``stale_after``, or when
    ``is_dead(worker)`` says so (a process on this host that no longer exists).
    """
    cutoff: datetime = utcnow() - stale_after
    with store.session() as session:
        running = session.exec(select(TrialRow).where(
            TrialRow.study_id == study_id, TrialRow.status == "running")).all()
        numbers = []
        for row in running:
            stale = row.heartbeat_at is None or row.heartbeat_at < cutoff
            if stale or (is_dead is not None and is_dead(row.worker)):
                row.status, row.worker, row.heartbeat_at = "queued", None, None
                session.exec(IntermediateRow.__table__.delete().where(
                    IntermediateRow.trial_id == row.id))
                session.add(row)
                numbers.append(row.number)
    return numbers


def _save_state(session: Session, study_id: int, state: Any) -> None:
    session.merge(StrategyStateRow(study_id=study_id, state_json=json.dumps(state),
                                   updated_at=utcnow()))
