"""``nasplat worker``: evaluate trials of an existing study, beside any number of others."""

from __future__ import annotations

import click

from nasplat.cli._options import storage_option
from nasplat.study import prepare, resume_config


@click.command("worker")
@click.option("--study", required=True, help="Name of the study to work on (it must exist).")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
              help="Genomes to ask for when the queue runs dry: about the number of workers.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@storage_option
def worker_command(study: str, batch: int, quiet: bool, storage: str) -> None:
    """Pull trials of STUDY from the store and evaluate them until its budget is spent.

    Start one per GPU or machine, all with the same --storage (PostgreSQL for several
    machines): they share the study's strategy and queue through the store. A worker that
    dies leaves its trial to be re-run by another once its heartbeat goes stale.
    """
    config = resume_config(study, storage, {})
    if quiet:
        engine = prepare(config, batch=batch)
        summary = engine.run()
    else:
        from nasplat.progress import RichProgress

        with RichProgress() as progress:
            engine = prepare(config, listener=progress, batch=batch)
            summary = engine.run()
    counts = ", ".join(f"{n} {k}" for k, n in summary.counts.items() if n) or "no trials"
    click.echo(f"worker {engine.worker} on study '{study}': {summary.reason} ({counts})")
