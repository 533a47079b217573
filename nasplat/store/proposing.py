"""The proposal lock: one strategy per study, shared by every worker that asks it.

Workers in several processes or on several machines run one study. Each keeps a copy of
the strategy, but only one at a time may ask it: the asking worker locks the study's
strategy-state row, brings its copy up to date (the stored state when another worker asked
last, then every result that finished since that state was saved, in finish order), asks,
queues the proposals and saves the state, all in one transaction. Claiming and finishing
trials do not take this lock, so workers keep training while one of them proposes.

On PostgreSQL the lock is the row lock of an ``UPDATE``. On a SQLite file it is a record
lock of the study's own (:mod:`nasplat.store.study_lock`), and the transaction is paused while
the strategy asks (:meth:`Proposing.released`): the database's write lock, which every writer
of the file shares, is held only while the store is read and written, not for the ask.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, literal, null, select, union_all, update
from sqlalchemy.exc import IntegrityError

from nasplat.store import study_lock
from nasplat.store._store import Store
from nasplat.store.tables import MetricRow, StrategyStateRow, TrialRow, utcnow

_trials = TrialRow.__table__
_states = StrategyStateRow.__table__
_metrics = MetricRow.__table__
_LOCK = (update(_states).where(_states.c.study_id == bindparam("study"))
         .values(version=_states.c.version + 1)
         .returning(_states.c.version, _states.c.told_seq, _states.c.state_json))
_LOCKED = select(_states.c.version, _states.c.told_seq, _states.c.state_json).where(
    _states.c.study_id == bindparam("study"))
_CREATE = insert(_states)
_FINISHED_SINCE = (select(_trials, _metrics.c.name.label("metric_name"),
                          _metrics.c.value.label("metric_value"))
                   .select_from(_trials.outerjoin(_metrics, _metrics.c.trial_id == _trials.c.id))
                   .where(_trials.c.study_id == bindparam("study"),
                          _trials.c.finish_seq > bindparam("seq"))
                   .order_by(_trials.c.finish_seq))
"""One row per (finished trial, metric): the trials and their values in one round trip."""
_NEWS = union_all(
    _FINISHED_SINCE.order_by(None).add_columns(literal(0).label("part")),
    select(_trials, null().label("metric_name"), null().label("metric_value"),
           literal(1).label("part"))
    .where(_trials.c.study_id == bindparam("study"),
           _trials.c.status.in_(("queued", "running"))))
""":data:`_FINISHED_SINCE` and the pending trials in one round trip; a union, not an ``OR``,
so that each half uses its index (SQLite would scan the study for the ``OR``)."""
_LAST_FINISH = select(func.coalesce(func.max(_trials.c.finish_seq), 0)).where(
    _trials.c.study_id == bindparam("study"))
_COUNTS = select(
    select(func.max(_trials.c.number)).where(_trials.c.study_id == bindparam("study"))
    .scalar_subquery(),
    select(func.count()).where(_trials.c.study_id == bindparam("study"),
                               _trials.c.status == "infeasible", _trials.c.started_at.is_(None))
    .scalar_subquery())
_KNOWN_HASHES = select(_trials.c.genome_hash).where(
    _trials.c.study_id == bindparam("study"),
    _trials.c.genome_hash.in_(bindparam("hashes", expanding=True)))
_IDS_OF = select(_trials.c.number, _trials.c.id).where(
    _trials.c.study_id == bindparam("study"),
    _trials.c.number.in_(bindparam("numbers", expanding=True)))


@dataclass
class Proposing:
    """The study's proposal lock, held for one transaction; reads and writes go through it."""

    connection: Connection
    study_id: int
    version: int
    """The state row's version, bumped by taking this lock."""
    told_seq: int
    """The stored state has been told every trial that finished up to this ``finish_seq``."""
    state_json: str
    pausable: bool = False
    """Whether :meth:`released` may commit and pause the transaction (SQLite files, where
    a study lock keeps other proposers out meanwhile)."""

    @contextmanager
    def released(self) -> Iterator[None]:
        """Commit what was written so far and hold no database lock while the block runs (a
        strategy's ask), then go on in a new transaction; the study stays locked throughout.
        Elsewhere (PostgreSQL, where the lock is one row's) the transaction simply goes on.

        Reads after the block may see trials that other workers finished or claimed, and
        trials that ``nasplat enqueue`` queued, meanwhile."""
        if not self.pausable:
            yield
            return
        self.connection.exec_driver_sql("COMMIT")
        try:
            yield
        finally:
            self.connection.exec_driver_sql("BEGIN IMMEDIATE")

    def state(self) -> Any | None:
        """The stored strategy state (``None`` before the first save)."""
        return json.loads(self.state_json)

    def news(self, seq: int) -> tuple[list[tuple[TrialRow, dict[str, float]]], list[TrialRow]]:
        """Trials that finished after ``finish_seq`` = ``seq`` (in finish order, with their
        metrics), and those pending (queued or running, by number), in one round trip."""
        parts: tuple[list[Any], list[Any]] = ([], [])
        for r in self.connection.execute(_NEWS, {"study": self.study_id, "seq": seq}):
            parts[r.part].append(r)
        finished = sorted(_collect(parts[0]), key=lambda pair: pair[0].finish_seq or 0)
        pending = sorted((row for row, _ in _collect(parts[1])), key=lambda row: row.number)
        return finished, pending

    def budget_used(self, count_infeasible: bool) -> tuple[int, int | None]:
        """Trials that count toward the budget (see :func:`nasplat.store.queries.budget_used`),
        and the study's last trial number (``None`` before the first).

        Trials are numbered 0, 1, ... without gaps, so their count is the last number + 1:
        an index lookup, not a scan of the study.
        """
        last, unstarted = self.connection.execute(_COUNTS, {"study": self.study_id}).one()
        total = 0 if last is None else int(last) + 1
        return (total if count_infeasible else total - int(unstarted)), last

    def known_hashes(self, hashes: Iterable[str]) -> set[str]:
        """Which of ``hashes`` a trial of the study already has."""
        wanted, found = list(set(hashes)), set()
        for start in range(0, len(wanted), 500):
            found.update(self.connection.execute(_KNOWN_HASHES, {
                "study": self.study_id, "hashes": wanted[start:start + 500]}).scalars())
        return found

    def trial_ids(self, numbers: Iterable[int]) -> dict[int, int]:
        """Trial ids by number, for the given numbers."""
        wanted = list(set(numbers))
        out: dict[int, int] = {}
        for start in range(0, len(wanted), 500):
            out.update((number, trial_id) for number, trial_id in self.connection.execute(
                _IDS_OF, {"study": self.study_id, "numbers": wanted[start:start + 500]}))
        return out


def finished_since(connection: Connection, study_id: int, seq: int
                   ) -> list[tuple[TrialRow, dict[str, float]]]:
    """Trials of a study that finished after ``finish_seq`` = ``seq``, in finish order, with
    their metrics."""
    return _collect(connection.execute(_FINISHED_SINCE, {"study": study_id, "seq": seq}))


_COLUMNS = [c.name for c in _trials.columns]


def _collect(rows: Iterable[Any]) -> list[tuple[TrialRow, dict[str, float]]]:
    """Trials with their metrics from rows of a trial joined with its metrics, in row order."""
    trials: dict[int, TrialRow] = {}
    values: dict[int, dict[str, float]] = {}
    for r in rows:
        mapping = r._mapping
        trial_id = mapping["id"]
        if trial_id not in trials:
            trials[trial_id] = TrialRow(**{c: mapping[c] for c in _COLUMNS})
            values[trial_id] = {}
        if mapping["metric_name"] is not None:
            values[trial_id][mapping["metric_name"]] = mapping["metric_value"]
    return [(row, values[trial_id]) for trial_id, row in trials.items()]


def last_finish_seq(connection: Connection, study_id: int) -> int:
    """The ``finish_seq`` of the study's last finished trial (0 when none has finished)."""
    return int(connection.execute(_LAST_FINISH, {"study": study_id}).scalar_one())


@contextmanager
def proposing(store: Store, study_id: int) -> Iterator[Proposing]:
    """Hold the study's proposal lock for one transaction (waits while another worker holds it).

    Everything written through the yielded :class:`Proposing`'s connection commits together
    when the block ends, or not at all. Call :func:`create_lock` once per study first.
    """
    database = store.sqlite_file
    held = (study_lock.study_lock(database, study_id)
            if database is not None and study_lock.available() else nullcontext())
    with held, store.transaction() as connection:
        version, told_seq, state_json = connection.execute(_LOCK, {"study": study_id}).one()
        yield Proposing(connection, study_id, int(version), int(told_seq), state_json,
                        pausable=not isinstance(held, nullcontext))


def create_lock(store: Store, study_id: int) -> None:
    """Make the study's lock row (its strategy-state row) unless it exists."""
    with store.engine.connect() as connection:
        if connection.execute(_LOCKED, {"study": study_id}).first() is not None:
            return
    try:
        with store.transaction() as connection:
            if connection.execute(_LOCKED, {"study": study_id}).first() is None:
                connection.execute(_CREATE, {"study_id": study_id, "state_json": "null",
                                             "updated_at": utcnow(), "told_seq": 0,
                                             "version": 0})
    except IntegrityError:
        pass  # another worker created it first
