"""Named writes to the result store. Each is one transaction: all of it lands, or none."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Float, bindparam, case, func, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from nasplat.errors import StoreError
from nasplat.store._store import Store
from nasplat.store.tables import (ArtifactRow, IntermediateRow, MetricRow, StrategyStateRow,
                                  StudyRow, SurrogateReportRow, TrialParentRow,
                                  TrialRow, utcnow)

if TYPE_CHECKING:
    from nasplat.surrogate_quality import SurrogateReport


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


# The statements every trial runs are built once and executed with parameters, on a plain
# connection: on SQLite, building a SQLAlchemy expression or going through the ORM's unit of
# work takes longer than running the statement. Each is portable SQL.
_trials = TrialRow.__table__
_states = StrategyStateRow.__table__
_studies = StudyRow.__table__
_LAST_NUMBER = select(func.max(_trials.c.number)).where(_trials.c.study_id == bindparam("study"))
_INSERT_TRIAL = insert(_trials)
_INSERT_PARENT = insert(TrialParentRow.__table__)
_FIRST_QUEUED = (select(_trials)
                 .where(_trials.c.study_id == bindparam("study"), _trials.c.status == "queued")
                 .order_by(_trials.c.number).limit(1).with_for_update(skip_locked=True))
_SET_TRIAL = update(_trials).where(_trials.c.id == bindparam("trial"))
"""Sets the columns its parameters name (besides ``trial``)."""
_SET_HEARTBEAT = _SET_TRIAL.where(_trials.c.status == "running")
_CLAIM = _SET_TRIAL.where(_trials.c.status == "queued")
"""Claims only a trial still queued: where the database takes no row lock (SQLite), a
second process that read the same queued trial finds it taken and tries the next one."""
_SET_STATE = update(_states).where(_states.c.study_id == bindparam("study"))
_INSERT_STATE = insert(_states)
_HOLD_LOCK = (select(_states.c.version).where(_states.c.study_id == bindparam("study"))
              .with_for_update())
_finished = _trials.alias("finished")  # not correlated with the row being updated
_FINISH = (_SET_TRIAL.values(finish_seq=select(func.coalesce(func.max(_finished.c.finish_seq), 0) + 1)
                             .where(_finished.c.study_id == bindparam("study")).scalar_subquery())
           .returning(_trials.c.finish_seq))
"""Sets the trial's end columns its parameters name and the study's next ``finish_seq``."""
_RUNNING = select(_trials).where(_trials.c.study_id == bindparam("study"),
                                 _trials.c.status == "running")
_DROP_CURVE = IntermediateRow.__table__.delete().where(
    IntermediateRow.__table__.c.trial_id == bindparam("trial"))
_RAISE_ELAPSED = (update(_studies).where(_studies.c.id == bindparam("study"))
                  .values(elapsed_seconds=case(
                      (_studies.c.elapsed_seconds < bindparam("seconds", type_=Float),
                       bindparam("seconds", type_=Float)),
                      else_=_studies.c.elapsed_seconds)))
"""Sets the study's run time to ``seconds`` unless it is already larger."""

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
            strategy_state: Any | None = None,
            seed_of: Callable[[int], int] | None = None) -> list[TrialRow]:
    """Queue proposed trials (numbered after the last) and save the strategy state with them.

    ``seed_of(number)``, when given, replaces each trial's ``seed``: a trial's number, which
    its seed may depend on, is known only here.
    """
    with store.transaction() as connection:
        # Wait for a worker that is proposing (it numbers trials too): its proposal lock.
        connection.execute(_HOLD_LOCK, {"study": study_id})
        rows = enqueue_in(connection, study_id, new, seed_of)
        if strategy_state is not None:
            save_state_in(connection, study_id, strategy_state)
    return rows


def enqueue_in(connection: Connection, study_id: int, new: Sequence[NewTrial],
               seed_of: Callable[[int], int] | None = None,
               last_number: int | None = None, claimed_by: str | None = None,
               claims: int = 0) -> list[TrialRow]:
    """:func:`enqueue` within the caller's transaction (``last_number``: the study's highest
    trial number, when the caller has just read it).

    The first ``claims`` trials are queued already claimed by worker ``claimed_by`` (running,
    first attempt): what :func:`claim_in` would do, without a statement of its own.
    """
    rows: list[TrialRow] = []
    if not new:
        return rows
    last = (connection.execute(_LAST_NUMBER, {"study": study_id}).scalar()
            if last_number is None else last_number)
    start = -1 if last is None else int(last)
    numbers = range(start + 1, start + 1 + len(new))
    now = utcnow()
    for i, (number, t) in enumerate(zip(numbers, new, strict=True)):
        row = TrialRow(study_id=study_id, number=number, genome_json=t.genome_json,
                       genome_hash=t.genome_hash,
                       seed=t.seed if seed_of is None else seed_of(number),
                       fidelity=t.fidelity, ask_seconds=t.ask_seconds)
        if claimed_by is not None and i < claims:
            row.status, row.worker, row.attempts = "running", claimed_by, 1
            row.started_at = row.heartbeat_at = now
        inserted = connection.execute(_INSERT_TRIAL, row.model_dump(exclude={"id"}))
        row.id = inserted.inserted_primary_key[0]
        if t.parent_ids:
            connection.execute(_INSERT_PARENT, [{"trial_id": row.id, "parent_id": parent}
                                                for parent in t.parent_ids])
        rows.append(row)
    return rows


def claim(store: Store, study_id: int, worker: str) -> TrialRow | None:
    """Mark the lowest-numbered queued trial running for ``worker`` and return it."""
    while True:
        with store.transaction() as connection:
            found = connection.execute(_FIRST_QUEUED, {"study": study_id}).first()
            if found is None:
                return None
            row = TrialRow(**found._mapping)
            if claim_in(connection, row, worker):
                return row


def claim_in(connection: Connection, row: TrialRow, worker: str) -> bool:
    """Mark ``row`` (still queued) running for ``worker`` within the caller's transaction;
    False when another worker took it first."""
    status, attempts, started = "running", row.attempts + 1, utcnow()
    taken = connection.execute(_CLAIM, {
        "trial": row.id, "status": status, "worker": worker, "attempts": attempts,
        "started_at": started, "heartbeat_at": started}).rowcount
    if taken:
        row.status, row.worker, row.attempts = status, worker, attempts
        row.started_at = row.heartbeat_at = started
    return bool(taken)


def heartbeat(store: Store, trial_id: int) -> None:
    """Tell the store the worker running ``trial_id`` is alive."""
    with store.transaction() as connection:
        connection.execute(_SET_HEARTBEAT, {"trial": trial_id, "heartbeat_at": utcnow()})


def finish(store: Store, trial: TrialRow, outcome: Outcome, strategy_state: Any | None = None,
           run_seconds: float = 0.0) -> TrialRow:
    """Commit a trial's end (status, metrics, artifacts, strategy state) in one transaction.

    ``run_seconds`` is the study's run time as the finishing worker sees it: the stored run
    time when its run began plus its own wall time since. The study keeps the larger of that
    and what it has, so workers running side by side count the time once, not once each.
    Returns ``trial``, updated to what was committed.
    """
    with store.transaction() as connection:
        finish_in(connection, trial, outcome, run_seconds)
        if strategy_state is not None:
            save_state_in(connection, trial.study_id, strategy_state)
    return trial


def finish_in(connection: Connection, trial: TrialRow, outcome: Outcome,
              run_seconds: float = 0.0) -> TrialRow:
    """:func:`finish` within the caller's transaction; gives the trial the next finish order.

    The study's row is updated first: on PostgreSQL its row lock makes concurrent finishes
    of one study take their ``finish_seq`` one after another, so a reader that sees a trial
    finished also sees every trial that finished before it.
    """
    finished_at = utcnow()
    connection.execute(_RAISE_ELAPSED, {"study": trial.study_id, "seconds": run_seconds})
    seq = connection.execute(_FINISH, {
        "trial": trial.id, "study": trial.study_id, "status": outcome.status,
        "error": outcome.error, "violation": outcome.violation,
        "finished_at": finished_at}).scalar()
    if seq is None:
        raise StoreError(f"trial {trial.number} vanished from the store")
    # A trial finishes once, so it has no metrics or artifacts yet: inserts, no replacing.
    if outcome.metrics:
        connection.execute(MetricRow.__table__.insert(), [
            {"trial_id": trial.id, "name": k, "value": float(v)}
            for k, v in outcome.metrics.items()])
    if outcome.artifacts:
        connection.execute(ArtifactRow.__table__.insert(), [
            {"trial_id": trial.id, "name": k, "path": v} for k, v in outcome.artifacts.items()])
    trial.status, trial.error, trial.violation = outcome.status, outcome.error, outcome.violation
    trial.finished_at, trial.finish_seq = finished_at, seq
    return trial


def delete_artifacts(store: Store, trial_ids: Sequence[int], name: str) -> None:
    """Forget the artifact ``name`` of the given trials (their files are the caller's)."""
    table = ArtifactRow.__table__
    with store.transaction() as connection:
        for start in range(0, len(trial_ids), 500):
            connection.execute(table.delete().where(
                table.c.trial_id.in_(trial_ids[start:start + 500]), table.c.name == name))


def record_intermediate(store: Store, trial_id: int, step: int, name: str, value: float) -> None:
    """Store one learning-curve point (the latest value wins for a repeated step)."""
    curve = IntermediateRow.__table__
    with store.transaction() as connection:
        connection.execute(curve.delete().where(
            curve.c.trial_id == trial_id, curve.c.step == step, curve.c.name == name))
        connection.execute(curve.insert().values(trial_id=trial_id, step=step, name=name,
                                                 value=value))


def record_surrogate_reports_in(connection: Connection, study_id: int,
                                reports: Sequence[SurrogateReport]) -> None:
    """Store a strategy's surrogate reports within the caller's transaction (none: nothing).

    A store made before the table existed (opened without ``create``) gets it here first:
    one catalogue lookup, and reports are rare.
    """
    if not reports:
        return
    table = SurrogateReportRow.__table__
    table.create(connection, checkfirst=True)
    now = utcnow()
    connection.execute(insert(table), [
        {"study_id": study_id, "objective": r.objective, "observations": r.observations,
         "folds": r.folds, "kendall_tau": r.kendall_tau, "spearman_rho": r.spearman_rho,
         "rmse": r.rmse, "surrogate": r.surrogate, "created_at": now} for r in reports])


def requeue_abandoned(store: Store, study_id: int, stale_after: timedelta,
                      is_dead: Callable[[str | None], bool] | None = None,
                      max_attempts: int | None = None, count_attempt: bool = True) -> list[int]:
    """Put back in the queue every running trial whose worker is gone; return their numbers.

    A worker is gone when its heartbeat is older than ``stale_after``, or when
    ``is_dead(worker)`` says so (a process on this host that no longer exists). A trial
    that has already been started ``max_attempts`` times is not re-queued but failed: it
    takes its worker down each time. ``count_attempt=False`` (an interrupted run handing
    its own trials back) does not count the interrupted start as an attempt.
    """
    cutoff: datetime = utcnow() - stale_after
    numbers = []
    with store.transaction() as connection:
        running = connection.execute(_RUNNING, {"study": study_id}).all()
        for found in running:
            row = TrialRow(**found._mapping)
            heartbeat = row.heartbeat_at
            if heartbeat is not None and heartbeat.tzinfo is None:
                heartbeat = heartbeat.replace(tzinfo=timezone.utc)
            stale = heartbeat is None or heartbeat < cutoff
            if not (stale or (is_dead is not None and is_dead(row.worker))):
                continue
            connection.execute(_DROP_CURVE, {"trial": row.id})
            if count_attempt and max_attempts is not None and row.attempts >= max_attempts:
                why = (f"its worker stopped while running it, {row.attempts} times (last: "
                       f"{row.worker}); not retried again (max_attempts = {max_attempts})")
                finish_in(connection, row, Outcome("failed", error=why))
                continue
            connection.execute(_SET_TRIAL, {
                "trial": row.id, "status": "queued", "worker": None, "heartbeat_at": None,
                "attempts": row.attempts if count_attempt else max(row.attempts - 1, 0)})
            numbers.append(row.number)
    return numbers


def save_state_in(connection: Connection, study_id: int, state: Any,
                  told_seq: int | None = None) -> None:
    """Save the strategy state (and how far it has been told) within the caller's transaction."""
    _save_state(connection, study_id, state, told_seq)


def _save_state(connection: Connection, study_id: int, state: Any,
                told_seq: int | None = None) -> None:
    # An UPDATE, and an INSERT the first time only: session.merge would SELECT every time.
    values: dict[str, Any] = {"state_json": json.dumps(state), "updated_at": utcnow()}
    if told_seq is not None:
        values["told_seq"] = told_seq
    if connection.execute(_SET_STATE, {"study": study_id, **values}).rowcount == 0:
        connection.execute(_INSERT_STATE, {"study_id": study_id, **values})
