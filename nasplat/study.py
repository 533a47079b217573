"""Creating, resuming and reading studies: the Python API the command line is built on."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from nasplat.config import DEFAULT_STORAGE, StudyConfig, validate_config
from nasplat.engine import Engine, ProgressListener, RunSummary
from nasplat.errors import ConfigError, NasplatError, StoreError
from nasplat.evaluation import make_evaluator
from nasplat.objective import Direction
from nasplat.pareto import pareto_indices
from nasplat.problem import Problem, make_executor, make_strategy, resolve
from nasplat.store import Store, StudyRow, queries, writes

RESUMABLE = ("budget",)
"""Config sections a resumed study may change; the rest is fixed when the study is created."""


@dataclass(frozen=True)
class TrialRecord:
    """A trial as the Python API returns it: plain values, no database session."""

    number: int
    status: str
    genome: Any
    genome_hash: str
    values: dict[str, float]
    metrics: dict[str, float]
    error: str | None
    violation: float | None
    seed: int
    attempts: int
    parents: list[int] = field(default_factory=list)
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish, when both are known."""
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class Study:
    """A study in a result store, for reading: trials, Pareto front, config."""

    def __init__(self, store: Store, row: StudyRow) -> None:
        self.store, self.row = store, row

    @property
    def name(self) -> str:
        """The study's name."""
        return self.row.name

    @property
    def config(self) -> dict[str, Any]:
        """The study's config as stored."""
        return json.loads(self.row.config_json)

    @property
    def directions(self) -> list[tuple[str, Direction]]:
        """``(objective name, "min"|"max")`` in objective order."""
        return [(d["name"], d["direction"]) for d in json.loads(self.row.directions_json)]

    @property
    def objective_names(self) -> list[str]:
        """The objectives' names, in order."""
        return [name for name, _ in self.directions]

    def trials(self, statuses: Sequence[str] | None = None) -> list[TrialRecord]:
        """Every trial (or those of some statuses), by number."""
        rows = queries.trials(self.store, self._id, statuses)
        metrics = queries.study_metrics(self.store, self._id)
        parents = queries.parents(self.store, [r.id for r in rows if r.id is not None])
        numbers = {r.id: r.number for r in queries.trials(self.store, self._id)} \
            if any(parents.values()) else {}
        names = self.objective_names
        out = []
        for row in rows:
            m = metrics.get(row.id or 0, {})
            values = {n: m[n] for n in names if n in m} if row.status != "failed" else {}
            out.append(TrialRecord(
                row.number, row.status, json.loads(row.genome_json), row.genome_hash, values,
                m, row.error, row.violation, row.seed, row.attempts,
                [numbers[p] for p in parents.get(row.id or 0, [])],
                row.started_at, row.finished_at))
        return out

    def pareto_front(self) -> list[TrialRecord]:
        """Complete trials that no other complete trial dominates, by number."""
        complete = [t for t in self.trials(["complete"])
                    if all(n in t.values for n in self.objective_names)]
        values = [[t.values[n] for n in self.objective_names] for t in complete]
        directions = [d for _, d in self.directions]
        return [complete[i] for i in pareto_indices(values, directions)]

    def trials_dataframe(self) -> Any:
        """The trials as a pandas DataFrame (one column per metric); needs pandas."""
        try:
            import pandas as pd
        except ImportError:
            raise NasplatError("trials_dataframe needs pandas: pip install 'nasplat[pandas]'"
                               ) from None
        rows = []
        for t in self.trials():
            row = {"number": t.number, "status": t.status, "genome": json.dumps(t.genome),
                   "error": t.error, "duration": t.duration}
            row.update(t.metrics)
            rows.append(row)
        return pd.DataFrame(rows)

    @property
    def _id(self) -> int:
        assert self.row.id is not None
        return self.row.id


def load_study(name: str, storage: str = DEFAULT_STORAGE) -> Study:
    """Open an existing study for reading."""
    store = Store(storage)
    return Study(store, queries.get_study(store, name))


def list_studies(storage: str = DEFAULT_STORAGE) -> list[tuple[StudyRow, dict[str, int]]]:
    """Every study in a store with its trial counts by status."""
    return queries.list_studies(Store(storage))


def prepare(config: StudyConfig | dict[str, Any], *, listener: ProgressListener | None = None,
            artifact_root: Path | None = None, batch: int | None = None) -> Engine:
    """An :class:`Engine` for ``config``: a new study, or the stored one it names (resumed).

    Trial files (weights) go to ``artifact_root``, else the config's ``artifacts`` folder.
    ``batch`` is how many genomes to ask for at once (about the number of workers).
    """
    if isinstance(config, dict):
        config = validate_config(config)
    existing = _existing_study(config)
    if existing is not None:
        store, row = existing
        config = _merge_resume(StudyConfig.model_validate_json(row.config_json), config)
        return Engine(store, row, resolve(config), listener=listener,
                      artifact_root=artifact_root or artifact_folder(config), batch=batch)
    # Everything that can reject the config runs before anything is written: bad input
    # leaves no store and no empty study behind.
    problem = resolve(config)
    config = problem.config  # with the space's suggested defaults under what was set
    make_strategy(problem)
    make_executor(config)
    evaluator = make_evaluator(problem.space, config)
    store = Store(config.storage, create=True)
    name = config.study or _auto_name(config)
    config = config.model_copy(update={"study": name})
    problem.config = config
    row = writes.create_study(store, name, config.space.name, config.strategy.name,
                              config.model_dump(mode="json"),
                              [{"name": s.name, "direction": s.direction} for s in problem.specs])
    return Engine(store, row, problem, evaluator=evaluator, listener=listener,
                  artifact_root=artifact_root or artifact_folder(config), batch=batch)


def artifact_folder(config: StudyConfig) -> Path:
    """Where a study's trial files go: the config's ``artifacts``, else beside the store."""
    if config.artifacts:
        return Path(config.artifacts).resolve()
    url = make_url(config.storage)
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database and database != ":memory:" \
            and not database.startswith("file:"):
        return Path(f"{database}.artifacts").resolve()
    return Path("nasplat-artifacts").resolve()


def run_study(config: StudyConfig | dict[str, Any], *,
              listener: ProgressListener | None = None) -> RunSummary:
    """Create (or resume) the study of ``config`` and search until its budget is spent."""
    return prepare(config, listener=listener).run()


def resume_config(name: str, storage: str, overrides: dict[str, Any]) -> StudyConfig:
    """The stored config of study ``name`` with resumable sections overridden."""
    store = Store(storage)
    row = queries.get_study(store, name)
    data = json.loads(row.config_json)
    for key, value in overrides.items():
        if key not in RESUMABLE:
            raise ConfigError(f"study '{name}' exists: only {', '.join(RESUMABLE)} can change "
                              f"when resuming it, not '{key}'. Start a new study to change it")
        data[key] = {**data.get(key, {}), **value}
    data["storage"] = storage
    return validate_config(data, f"study '{name}'")


def _existing_study(config: StudyConfig) -> tuple[Store, StudyRow] | None:
    if not config.study:
        return None
    try:
        store = Store(config.storage)
    except StoreError as exc:
        if str(exc).startswith("no result store"):
            return None
        raise
    row = queries.find_study(store, config.study)
    return (store, row) if row is not None else None


def _merge_resume(stored: StudyConfig, given: StudyConfig) -> StudyConfig:
    fixed = ("space", "strategy", "objectives", "constraints", "seed")
    for key in fixed:
        if getattr(stored, key) != getattr(given, key):
            raise StoreError(
                f"study '{stored.study}' already exists with a different {key} "
                f"({_short(getattr(stored, key))} there, {_short(getattr(given, key))} now): "
                f"resume it with `nasplat run --study {stored.study}` alone, or pick a new "
                f"study name")
    # where trials run is not part of what a study is: a resume may move it (to a cluster)
    return stored.model_copy(update={"budget": given.budget, "storage": given.storage,
                                     "executor": given.executor})


def _short(value: Any) -> str:
    if hasattr(value, "model_dump"):
        value = value.model_dump()
    return json.dumps(value, default=str)[:80]


def _auto_name(config: StudyConfig) -> str:
    return f"{config.space.name}-{config.strategy.name}-{datetime.now():%Y%m%d-%H%M%S}"


__all__ = ["Problem", "Study", "TrialRecord", "list_studies", "load_study", "prepare",
           "resume_config", "run_study"]
