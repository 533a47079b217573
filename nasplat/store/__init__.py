"""The result store: SQL tables for studies, trials and metrics; named queries and writes."""

from nasplat.store import proposing, queries, writes
from nasplat.store._store import Store
from nasplat.store.tables import (SCHEMA_VERSION, ArtifactRow, IntermediateRow, MetricRow,
                                  StrategyStateRow, StudyRow, TrialParentRow, TrialRow)

__all__ = ["SCHEMA_VERSION", "ArtifactRow", "IntermediateRow", "MetricRow", "Store",
           "StrategyStateRow", "StudyRow", "TrialParentRow", "TrialRow", "proposing", "queries", "writes"]
