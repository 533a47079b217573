"""``nasplat query``: read-only SQL over the result store."""

from __future__ import annotations

import click

from nasplat.cli._options import emit, format_option, storage_option
from nasplat.store import Store, queries


@click.command("query")
@click.argument("sql")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="At most this many rows.")
@format_option
@storage_option
def query_command(sql: str, limit: int | None, fmt: str, storage: str) -> None:
    """Run one read-only SQL statement (writes are refused by the database).

    Tables: studies, trials, metrics (trial_id, name, value), intermediate_values,
    artifacts, trial_parents, strategy_states, surrogate_reports.
    """
    columns, rows = queries.read_only(Store(storage), sql, limit)
    emit(columns, rows, fmt)
