"""``nasplat compare``: run a grid of strategies x spaces x seeds and compare hypervolumes."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from nasplat import compare as comparison
from nasplat.cli._options import storage_option
from nasplat.errors import ConfigError


def _names(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


@click.command("compare")
@click.option("--spaces", help="Comma-separated search spaces, e.g. zdt1_int,dtlz2_int.")
@click.option("--strategies", help="Comma-separated strategies, e.g. random,nsga2,optuna:tpe.")
@click.option("--seeds", type=click.IntRange(min=1), default=10, show_default=True,
              help="Runs per pair.")
@click.option("--budget", type=click.IntRange(min=1),
              help="Evaluations per run [default: 100; with --plot-only: the most any stored "
                   "run has].")
@click.option("--name", default="compare", show_default=True,
              help="Comparison name: studies are NAME/SPACE/STRATEGY/seedK; rerunning resumes.")
@click.option("--out", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Folder for the PNG of hypervolume curves.")
@click.option("--plot-only", is_flag=True, help="Summarise and plot the stored runs of --name; "
              "run nothing.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@storage_option
def compare_command(spaces: str | None, strategies: str | None, seeds: int, budget: int | None,
                    name: str, out: str, plot_only: bool, quiet: bool, storage: str) -> None:
    """Compare strategies by hypervolume over seeds; print tables, write a PNG."""
    if plot_only:
        result = comparison.load(name, storage, budget)
    else:
        if not _names(spaces) or not _names(strategies):
            raise ConfigError("compare needs --spaces and --strategies (comma-separated, e.g. "
                              "--spaces zdt1_int --strategies random,optuna:tpe), or "
                              "--plot-only to summarise a stored comparison")
        args = (name, _names(spaces), _names(strategies), seeds,
                100 if budget is None else budget, storage)
        total = len(args[1]) * len(args[2]) * seeds
        if quiet:
            result = comparison.compare(*args)
        else:
            with comparison.GridProgress(total) as progress:
                result = comparison.compare(*args, progress=progress)
        click.echo(f"comparison '{name}': {result.ran} run(s) made, {result.skipped} found "
                   f"finished; store {storage}")
    console = Console(soft_wrap=False, width=max(120, Console().width))
    for summary in result.spaces:
        for part in comparison.render(summary):
            console.print(part)
    path = result.plot(Path(out))
    click.echo(f"hypervolume curves: {path}")
