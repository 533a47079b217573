"""Named read queries over the result store: the engine and CLI call these, never raw SQL."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, func, inspect, or_
from sqlmodel import col, select

from nasplat.errors import StudyNotFound, unknown_name
from nasplat.store._store import Store
from nasplat.store.tables import (FINISHED, ArtifactRow, IntermediateRow, MetricRow,
                                  StrategyStateRow, StudyRow, SurrogateReportRow,
                                  TrialParentRow, TrialRow)


def get_study(store: Store, name: str) -> StudyRow:
    """The study called ``name``, or :class:`StudyNotFound` listing the studies there are."""
    with store.session() as session:
        row = session.exec(select(StudyRow).where(StudyRow.name == name)).first()
        if row is None:
            names = session.exec(select(StudyRow.name)).all()
    if row is None:
        raise StudyNotFound(unknown_name("study", name, names, f"in {store.url}; "
                                         f"`nasplat studies` lists them"))
    return row


def find_study(store: Store, name: str) -> StudyRow | None:
    """The study called ``name``, or ``None``."""
    with store.session() as session:
        return session.exec(select(StudyRow).where(StudyRow.name == name)).first()


def list_studies(store: Store) -> list[tuple[StudyRow, dict[str, int]]]:
    """Every study with its trial counts by status."""
    with store.session() as session:
        studies = session.exec(select(StudyRow).order_by(StudyRow.id)).all()
        counts = session.exec(
            select(TrialRow.study_id, TrialRow.status, func.count())
            .group_by(TrialRow.study_id, TrialRow.status)).all()
    by_study: dict[int, dict[str, int]] = defaultdict(dict)
    for study_id, status, n in counts:
        by_study[study_id][status] = n
    return [(s, by_study.get(s.id or 0, {})) for s in studies]


def trials(store: Store, study_id: int, statuses: Sequence[str] | None = None
           ) -> list[TrialRow]:
    """The trials of a study, by number, optionally only those of some statuses."""
    query = select(TrialRow).where(TrialRow.study_id == study_id)
    if statuses:
        query = query.where(col(TrialRow.status).in_(statuses))
    with store.session() as session:
        return list(session.exec(query.order_by(TrialRow.number)).all())


def trial_by_number(store: Store, study_id: int, number: int) -> TrialRow | None:
    """The trial with ``number`` in a study, or ``None``."""
    with store.session() as session:
        return session.exec(select(TrialRow).where(
            TrialRow.study_id == study_id, TrialRow.number == number)).first()


def metrics(store: Store, trial_ids: Iterable[int]) -> dict[int, dict[str, float]]:
    """Every metric of the given trials: ``{trial_id: {name: value}}``."""
    ids = list(trial_ids)
    out: dict[int, dict[str, float]] = {i: {} for i in ids}
    with store.session() as session:
        for chunk in _chunks(ids, 500):
            rows = session.exec(select(MetricRow).where(col(MetricRow.trial_id).in_(chunk)))
            for row in rows:
                out[row.trial_id][row.name] = row.value
    return out


def study_metrics(store: Store, study_id: int) -> dict[int, dict[str, float]]:
    """Every metric of every trial of a study: ``{trial_id: {name: value}}``."""
    out: dict[int, dict[str, float]] = defaultdict(dict)
    with store.session() as session:
        rows = session.exec(select(MetricRow).join(TrialRow).where(TrialRow.study_id == study_id))
        for row in rows:
            out[row.trial_id][row.name] = row.value
    return out


def parents(store: Store, trial_ids: Iterable[int]) -> dict[int, list[int]]:
    """Parent trial ids of the given trials."""
    ids = list(trial_ids)
    out: dict[int, list[int]] = {i: [] for i in ids}
    with store.session() as session:
        for chunk in _chunks(ids, 500):
            for row in session.exec(select(TrialParentRow).where(
                    col(TrialParentRow.trial_id).in_(chunk))):
                out[row.trial_id].append(row.parent_id)
    return out


def first_parent(store: Store, trial_id: int) -> TrialRow | None:
    """The first parent of a trial (lowest id), or ``None`` for a trial without lineage."""
    with store.session() as session:
        return session.exec(
            select(TrialRow).join(TrialParentRow, col(TrialParentRow.parent_id) == TrialRow.id)
            .where(TrialParentRow.trial_id == trial_id).order_by(TrialRow.id).limit(1)).first()


def trial_ids(store: Store, study_id: int, numbers: Iterable[int]) -> dict[int, int]:
    """Trial ids by number, for the given numbers of a study."""
    wanted = list(set(numbers))
    out: dict[int, int] = {}
    with store.session() as session:
        for chunk in _chunks(wanted, 500):
            for number, trial_id in session.exec(select(TrialRow.number, TrialRow.id).where(
                    TrialRow.study_id == study_id, col(TrialRow.number).in_(chunk))):
                out[number] = trial_id
    return out


def intermediate_values(store: Store, trial_id: int) -> list[IntermediateRow]:
    """A trial's learning curve, by step."""
    with store.session() as session:
        return list(session.exec(select(IntermediateRow).where(
            IntermediateRow.trial_id == trial_id).order_by(IntermediateRow.step)).all())


def artifacts(store: Store, trial_id: int) -> dict[str, str]:
    """A trial's artifacts: ``{name: path}``."""
    with store.session() as session:
        rows = session.exec(select(ArtifactRow).where(ArtifactRow.trial_id == trial_id)).all()
    return {r.name: r.path for r in rows}


def artifact_paths(store: Store, trial_ids: Iterable[int], name: str) -> dict[int, str]:
    """The path of artifact ``name`` of each given trial that has one."""
    ids = list(trial_ids)
    out: dict[int, str] = {}
    with store.session() as session:
        for chunk in _chunks(ids, 500):
            for row in session.exec(select(ArtifactRow).where(
                    col(ArtifactRow.trial_id).in_(chunk), ArtifactRow.name == name)):
                out[row.trial_id] = row.path
    return out


def budget_used(store: Store, study_id: int, count_infeasible: bool) -> int:
    """Trials that count toward the budget: every trial, less never-evaluated infeasible ones
    (those a cheap constraint rejected: they were never started) unless ``count_infeasible``."""
    query = select(func.count()).select_from(TrialRow).where(TrialRow.study_id == study_id)
    if not count_infeasible:
        query = query.where(or_(TrialRow.status != "infeasible",
                                col(TrialRow.started_at).is_not(None)))
    with store.session() as session:
        return int(session.exec(query).one())


def status_counts(store: Store, study_id: int) -> dict[str, int]:
    """How many trials of a study have each status (statuses with none are left out)."""
    with store.session() as session:
        rows = session.exec(select(TrialRow.status, func.count()).where(
            TrialRow.study_id == study_id).group_by(TrialRow.status)).all()
    return {status: int(n) for status, n in rows}


# Queries run for every trial are built once and executed with parameters: on SQLite,
# building a SQLAlchemy expression takes longer than running it.
_trials = TrialRow.__table__
_ANY_QUEUED = select(_trials.c.id).where(_trials.c.study_id == bindparam("study"),
                                         _trials.c.status == "queued").limit(1)
_KNOWN_HASHES = select(_trials.c.genome_hash).where(
    _trials.c.study_id == bindparam("study"),
    _trials.c.genome_hash.in_(bindparam("hashes", expanding=True)))


def has_queued(store: Store, study_id: int) -> bool:
    """Whether a study has a trial waiting in the queue (an index lookup, not a count)."""
    with store.engine.connect() as connection:
        return connection.execute(_ANY_QUEUED, {"study": study_id}).first() is not None


_ANY_RUNNING = select(_trials.c.id).where(_trials.c.study_id == bindparam("study"),
                                          _trials.c.status == "running").limit(1)


def has_running(store: Store, study_id: int) -> bool:
    """Whether a trial of the study is running (in any worker)."""
    with store.engine.connect() as connection:
        return connection.execute(_ANY_RUNNING, {"study": study_id}).first() is not None


def known_hashes(store: Store, study_id: int, hashes: Iterable[str]) -> set[str]:
    """Which of ``hashes`` a trial of the study already has."""
    wanted = list(set(hashes))
    found: set[str] = set()
    with store.engine.connect() as connection:
        for chunk in _chunks(wanted, 500):
            found.update(connection.execute(_KNOWN_HASHES, {"study": study_id,
                                                            "hashes": list(chunk)}).scalars())
    return found


def finished(store: Store, study_id: int) -> list[tuple[TrialRow, dict[str, float]]]:
    """Finished trials of a study with their metrics, by number."""
    rows = trials(store, study_id, FINISHED)
    values = study_metrics(store, study_id)
    return [(row, values.get(row.id or 0, {})) for row in rows]


def strategy_state(store: Store, study_id: int) -> Any | None:
    """The strategy state saved for a study, or ``None``."""
    with store.session() as session:
        row = session.get(StrategyStateRow, study_id)
    return json.loads(row.state_json) if row else None


def surrogate_reports(store: Store, study_id: int) -> list[SurrogateReportRow]:
    """A study's surrogate reports by objective, then number of observations, then time;
    none from a store made before the table existed."""
    if not inspect(store.engine).has_table(SurrogateReportRow.__tablename__):
        return []
    with store.session() as session:
        return list(session.exec(
            select(SurrogateReportRow).where(SurrogateReportRow.study_id == study_id)
            .order_by(SurrogateReportRow.objective, SurrogateReportRow.observations,
                      SurrogateReportRow.id)).all())


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


READ_ONLY_ACTIONS = {"SQLITE_SELECT", "SQLITE_READ", "SQLITE_FUNCTION", "SQLITE_RECURSIVE"}


def read_only(store: Store, sql: str, limit: int | None = None
              ) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one SQL statement that may only read; any write is refused by the database itself.

    SQLite enforces this with an authorizer that allows reads alone (no INSERT, UPDATE,
    DELETE, DROP, ATTACH, PRAGMA ...); PostgreSQL with a READ ONLY transaction. The
    transaction is always rolled back.
    """
    import sqlite3

    from nasplat.errors import StoreError

    raw = store.engine.raw_connection()
    try:
        dbapi = raw.driver_connection
        cursor = raw.cursor()
        if store.is_sqlite:
            allowed = {getattr(sqlite3, name) for name in READ_ONLY_ACTIONS}
            dbapi.set_authorizer(  # type: ignore[union-attr]
                lambda action, *_: sqlite3.SQLITE_OK if action in allowed else sqlite3.SQLITE_DENY)
        else:
            cursor.execute("SET TRANSACTION READ ONLY")
        try:
            cursor.execute(sql)
            columns = [d[0] for d in cursor.description or []]
            rows = cursor.fetchmany(limit) if limit else cursor.fetchall()
        except Exception as exc:
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if "not authorized" in text or "read-only" in text or "read only" in text:
                raise StoreError(f"query refused: `nasplat query` only reads ({text}); "
                                 f"write through nasplat's commands instead") from None
            raise StoreError(f"query failed: {text}") from None
        finally:
            raw.rollback()
            if store.is_sqlite:
                dbapi.set_authorizer(None)  # type: ignore[union-attr]
        return columns, [tuple(r) for r in rows]
    finally:
        raw.close()
