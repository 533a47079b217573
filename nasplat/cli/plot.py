"""``nasplat plot``: a study's Pareto front, parallel coordinates, hypervolume or learning
curves as a PNG (or the front as interactive HTML)."""

from __future__ import annotations

import re

import click

from nasplat.cli._options import image_path, storage_option
from nasplat.study import load_study

KINDS = ("pareto", "parallel", "hypervolume", "curves")


@click.command("plot")
@click.argument("study")
@click.option("--kind", type=click.Choice(KINDS), default="pareto", show_default=True,
              help="pareto: front scatter; parallel: parallel coordinates (3+ objectives); "
                   "hypervolume: its history; curves: learning curves.")
@click.option("--objectives", default=None, metavar="A,B",
              help="Objectives to plot (default: all of the study's); for curves, metrics.")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="File to write: .png, or .html for an interactive front (needs plotly). "
                   "[default: STUDY-KIND.png]")
@storage_option
def plot_command(study: str, kind: str, objectives: str | None, out: str | None,
                 storage: str) -> None:
    """Plot a study's results to a file."""
    from nasplat.plots import plot

    default = f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', study)}-{kind}.png"
    path = image_path(out, "--out", html=True) if out else default
    handle = load_study(study, storage)
    chosen = [n.strip() for n in objectives.split(",") if n.strip()] if objectives else None
    click.echo(f"wrote {plot(handle, kind, path, chosen)}")
