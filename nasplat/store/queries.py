"""Named read queries over the result store: the engine and CLI call these, never raw SQL."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from contextlib import suppress
from typing import Any

from sqlalchemy import bindparam, func, inspect, or_
from sqlmodel import col, select

from nasplat.errors import StoreError, StudyNotFound, unknown_name
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

ACTING_STATEMENTS = frozenset("""
    abort alter analyse analyze attach begin call checkpoint close cluster comment commit copy
    create deallocate declare delete detach discard do drop end execute fetch grant import insert
    listen load lock merge move notify pragma prepare reassign refresh reindex release replace
    reset revoke rollback savepoint security set start truncate unlisten update vacuum
""".split())
"""First keywords of the SQL statements that write, end the transaction or change the session
(SQLite's and PostgreSQL's): refused before the database sees them."""

_SERVER_ACTIONS = re.compile(
    r"\b(pg_terminate_backend|pg_cancel_backend|pg_reload_conf|pg_rotate_logfile|pg_switch_wal"
    r"|pg_promote|pg_create_restore_point|pg_backup_start|pg_backup_stop|pg_start_backup"
    r"|pg_stop_backup|pg_(?:try_)?advisory_\w+|pg_notify|pg_log_backend_memory_contexts"
    r"|pg_stat_reset\w*|pg_wal_replay_\w+|pg_replication_origin_\w+|pg_\w*replication_slot"
    r"|pg_logical_emit_message|pg_import_system_collations|pg_file_\w+|lo_\w+|dblink\w*"
    r"|query_to_xml\w*|cursor_to_xml\w*|ts_stat|ts_rewrite|set_config)\b", re.IGNORECASE)
"""PostgreSQL functions that act on the server (signal other sessions, write files, take
session locks, run SQL given as text) although a read-only transaction lets them run."""


def read_only(store: Store, sql: str, limit: int | None = None
              ) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one SQL statement that may only read; a write is refused, and nothing is changed.

    Three layers. A statement that starts with a writing, transaction or session command
    (:data:`ACTING_STATEMENTS`; comments and brackets skipped) is refused before it runs, and
    on PostgreSQL so is one calling a function that acts on the server (``pg_terminate_backend``,
    ``lo_export``, ``set_config`` ...). The database runs exactly one statement (Python's
    sqlite3 takes one; PostgreSQL gets it through the extended protocol, so no
    ``; COMMIT; DROP ...`` can follow it). And the database refuses any write: SQLite through
    an authorizer that allows reads alone (no INSERT, UPDATE, DELETE, DROP, ATTACH, PRAGMA
    ...), PostgreSQL through a READ ONLY transaction. The transaction is always rolled back.
    This stops mistakes, not someone who holds the store's credentials: give such a user a
    read-only database role.
    """
    if limit is not None and limit < 1:
        raise StoreError(f"query limit {limit}: give a positive number of rows, or none for all")
    postgres = store.engine.dialect.name == "postgresql"
    keyword = _leading_keyword(sql, nested_comments=postgres)
    if keyword is None:
        raise StoreError("the query is empty: give one SELECT statement, e.g. "
                         "\"SELECT name, count(*) FROM metrics GROUP BY name\"")
    if keyword in ACTING_STATEMENTS:
        raise StoreError(f"query refused: `nasplat query` only reads, so it runs one SELECT "
                         f"(or WITH, VALUES, TABLE, EXPLAIN, SHOW) statement, not "
                         f"{keyword.upper()}; write through nasplat's commands instead")
    if postgres:
        action = _SERVER_ACTIONS.search(sql)
        if action:
            raise StoreError(f"query refused: `nasplat query` only reads, and "
                             f"{action.group(1)}() acts on the database server; leave it out")
        if store.engine.dialect.driver != "psycopg":
            raise StoreError(f"`nasplat query` on PostgreSQL needs the psycopg driver, which "
                             f"sends the statement alone (so nothing after it can end the "
                             f"read-only transaction); this store uses "
                             f"'{store.engine.dialect.driver}': use a postgresql+psycopg:// "
                             f"--storage URL")
    raw = store.engine.raw_connection()
    try:
        columns, rows = _run_read_only(store, raw, sql, limit)
    except Exception as exc:
        raise _query_error(exc) from None
    finally:
        with suppress(Exception):  # a connection that broke has nothing to roll back
            raw.rollback()
        if store.is_sqlite:
            raw.close()
        else:  # drop whatever session state the statement left (settings, locks)
            raw.invalidate()
    return columns, [tuple(r) for r in rows]


def _run_read_only(store: Store, raw: Any, sql: str, limit: int | None
                   ) -> tuple[list[str], list[Any]]:
    dbapi = raw.driver_connection
    if store.is_sqlite:
        allowed = {getattr(sqlite3, name) for name in READ_ONLY_ACTIONS}
        dbapi.set_authorizer(
            lambda action, *_: sqlite3.SQLITE_OK if action in allowed else sqlite3.SQLITE_DENY)
        try:
            cursor = dbapi.cursor()
            cursor.execute(sql)
            columns = [d[0] for d in cursor.description or []]
            return columns, cursor.fetchmany(limit) if limit else cursor.fetchall()
        finally:
            dbapi.set_authorizer(None)
    cursor = dbapi.cursor() if store.engine.dialect.name == "postgresql" else raw.cursor()
    cursor.execute("SET TRANSACTION READ ONLY")
    if store.engine.dialect.name == "postgresql":
        with dbapi.pipeline():  # the extended protocol: one statement, never several
            cursor.execute(sql)
    else:
        cursor.execute(sql)
    if cursor.description is None:
        raise StoreError("the statement returned no rows to show")
    columns = [d[0] for d in cursor.description]
    return columns, cursor.fetchmany(limit) if limit else cursor.fetchall()


def _query_error(exc: Exception) -> StoreError:
    """The message for a statement the database refused or could not run."""
    if isinstance(exc, StoreError):
        return exc
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "one statement at a time" in text or "multiple commands" in text:
        return StoreError(f"query refused: `nasplat query` runs one statement at a time "
                          f"({text}); run each separately")
    if any(word in text for word in ("not authorized", "authorization denied", "read-only",
                                     "read only")):
        return StoreError(f"query refused: `nasplat query` only reads ({text}); write "
                          f"through nasplat's commands instead")
    return StoreError(f"query failed: {text}")


def _leading_keyword(sql: str, nested_comments: bool) -> str | None:
    """The statement's first word, lower-case, after blanks, comments and opening brackets;
    ``""`` when it starts with something else, ``None`` when there is no statement at all."""
    i, n = 0, len(sql)
    while i < n:
        if sql[i].isspace() or sql[i] in "(;":
            i += 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif sql.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if nested_comments and sql.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif sql.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        else:
            break
    if i >= n:
        return None
    word = re.match(r"[A-Za-z_]+", sql[i:])
    return word.group(0).lower() if word else ""
