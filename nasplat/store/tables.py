"""The result store's tables: plain, long-format, queryable with ordinary SQL.

Bump ``SCHEMA_VERSION`` with every change to an existing table, and teach
``nasplat.store._store.MIGRATIONS`` the step from the previous version. A new table needs no
bump: an older nasplat never reads it, ``Store(url, create=True)`` adds it to a store made
before it, and its reads and writes must cope with a store that lacks it (see
``SurrogateReportRow``).
"""

from datetime import datetime, timezone
from typing import Optional

from sqlalchemy import BigInteger, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

SCHEMA_VERSION = 2

TRIAL_STATUSES = ("queued", "running", "complete", "failed", "infeasible")
FINISHED = ("complete", "failed", "infeasible")


def utcnow() -> datetime:
    """The current time in UTC."""
    return datetime.now(timezone.utc)


class MetaRow(SQLModel, table=True):
    """Key-value facts about the store itself, such as its schema version."""

    __tablename__ = "nasplat_meta"
    key: str = Field(primary_key=True)
    value: str


class StudyRow(SQLModel, table=True):
    """One study: a search of one space with one strategy toward some objectives."""

    __tablename__ = "studies"
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    space: str
    strategy: str
    config_json: str
    directions_json: str
    """JSON list of ``{"name": ..., "direction": "min"|"max"}``, in objective order."""
    created_at: datetime = Field(default_factory=utcnow)
    elapsed_seconds: float = 0.0
    """Run time spent on the study so far, over every run that resumed it."""


class TrialRow(SQLModel, table=True):
    """One architecture proposed in a study, and what became of it."""

    __tablename__ = "trials"
    __table_args__ = (
        UniqueConstraint("study_id", "number"),
        # The queue: the lowest-numbered trial of a status is one index lookup, however many
        # trials the study has. Without ``number`` here SQLite walks (study_id, number) in
        # order to the first queued trial, past every finished one. An index only: stores
        # with or without it read the same, so the schema version stays.
        Index("ix_trials_study_status_number", "study_id", "status", "number"),
        Index("ix_trials_study_hash", "study_id", "genome_hash"),
        Index("ix_trials_study_finish_seq", "study_id", "finish_seq"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="studies.id")
    number: int
    genome_json: str
    genome_hash: str
    status: str = "queued"
    error: Optional[str] = None
    violation: Optional[float] = None
    seed: int = Field(default=0, sa_type=BigInteger)  # seeds span 0..2**32-1
    fidelity: Optional[float] = None
    attempts: int = 0
    worker: Optional[str] = None
    ask_seconds: Optional[float] = None
    created_at: datetime = Field(default_factory=utcnow)
    started_at: Optional[datetime] = None
    finished_at: Optional[datetime] = None
    heartbeat_at: Optional[datetime] = None
    finish_seq: Optional[int] = None
    """The order in which the study's trials finished (1, 2, ...): strategies learn results
    in this order, and a proposer finds the results it has not yet told its strategy."""


class TrialParentRow(SQLModel, table=True):
    """Lineage: ``parent_id`` is a parent of ``trial_id`` (mutation, crossover, inheritance)."""

    __tablename__ = "trial_parents"
    trial_id: int = Field(foreign_key="trials.id", primary_key=True)
    parent_id: int = Field(foreign_key="trials.id", primary_key=True)


class MetricRow(SQLModel, table=True):
    """One named value of a trial (objective or other metric), in long format."""

    __tablename__ = "metrics"
    trial_id: int = Field(foreign_key="trials.id", primary_key=True)
    name: str = Field(primary_key=True)
    value: float


class IntermediateRow(SQLModel, table=True):
    """A point of a learning curve: the value of ``name`` at ``step`` of a trial."""

    __tablename__ = "intermediate_values"
    trial_id: int = Field(foreign_key="trials.id", primary_key=True)
    step: int = Field(primary_key=True)
    name: str = Field(primary_key=True)
    value: float


class ArtifactRow(SQLModel, table=True):
    """A file a trial produced (checkpoint, plot), by path."""

    __tablename__ = "artifacts"
    trial_id: int = Field(foreign_key="trials.id", primary_key=True)
    name: str = Field(primary_key=True)
    path: str


class StrategyStateRow(SQLModel, table=True):
    """The serialised state of a study's strategy, saved with every proposal.

    The row is also the study's proposal lock: whoever asks the strategy holds it (see
    :mod:`nasplat.store.proposing`), so workers on any number of machines share one strategy.
    """

    __tablename__ = "strategy_states"
    study_id: int = Field(foreign_key="studies.id", primary_key=True)
    state_json: str
    updated_at: datetime = Field(default_factory=utcnow)
    told_seq: int = 0
    """The strategy in ``state_json`` has been told every trial with ``finish_seq`` up to this."""
    version: int = 0
    """Bumped by every proposal: a worker whose own copy has this version need not reload it."""


class SurrogateReportRow(SQLModel, table=True):
    """Cross-validated quality of a strategy's surrogate on one objective, at one refit.

    Added within schema version 2, without a bump: a store made before it (or migrated from
    version 1) lacks the table until ``writes.record_surrogate_reports_in`` creates it, and
    ``queries.surrogate_reports`` reads such a store as having no reports.
    """

    __tablename__ = "surrogate_reports"
    id: Optional[int] = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="studies.id", index=True)
    objective: str
    observations: int
    """Observations (trials with objective values) the surrogate was fitted on."""
    folds: int
    kendall_tau: Optional[float] = None
    """Kendall tau-b of out-of-fold predictions; NULL where undefined (constant values)."""
    spearman_rho: Optional[float] = None
    rmse: float
    surrogate: str
    created_at: datetime = Field(default_factory=utcnow)
