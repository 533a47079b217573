"""``nasplat report``: a study as one self-contained HTML file."""

from __future__ import annotations

import re

import click

from nasplat.cli._options import storage_option
from nasplat.study import load_study


@click.command("report")
@click.argument("study")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="HTML file to write. [default: STUDY-report.html]")
@storage_option
def report_command(study: str, out: str | None, storage: str) -> None:
    """Write a study's report: summary, Pareto table, plots, failures (one HTML file)."""
    from nasplat.report import write_report

    path = out or f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', study)}-report.html"
    click.echo(f"wrote {write_report(load_study(study, storage), path)}")
