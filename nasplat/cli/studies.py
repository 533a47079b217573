"""``nasplat studies``, ``trials`` and ``pareto``: reading the result store."""

from __future__ import annotations

import json

import click

from nasplat.cli._options import emit, format_option, storage_option
from nasplat.store.tables import TRIAL_STATUSES
from nasplat.study import Study, list_studies, load_study


@click.command("studies")
@format_option
@storage_option
def studies_command(fmt: str, storage: str) -> None:
    """List the studies in a store with their trial counts."""
    rows = []
    for study, counts in list_studies(storage):
        directions = ", ".join(f"{d['name']}:{d['direction']}"
                               for d in json.loads(study.directions_json))
        rows.append((study.name, study.space, study.strategy, directions,
                     sum(counts.values()), counts.get("complete", 0), counts.get("failed", 0),
                     counts.get("infeasible", 0), f"{study.created_at:%Y-%m-%d %H:%M}"))
    emit(["study", "space", "strategy", "objectives", "trials", "complete", "failed",
          "infeasible", "created"], rows, fmt)


@click.command("trials")
@click.argument("study")
@click.option("--status", "statuses", multiple=True, type=click.Choice(TRIAL_STATUSES),
              help="Only trials of this status; repeat for several.")
@format_option
@storage_option
def trials_command(study: str, statuses: tuple[str, ...], fmt: str, storage: str) -> None:
    """List the trials of a study with their objective values."""
    handle = load_study(study, storage)
    names = handle.objective_names
    rows = []
    for t in handle.trials(list(statuses) or None):
        rows.append((t.number, t.status, *(t.values.get(n) for n in names),
                     _genome(t.genome, fmt),
                     t.error, t.duration))
    emit(["number", "status", *names, "genome", "reason", "seconds"], rows, fmt,
         title=f"trials of {study}")


@click.command("pareto")
@click.argument("study")
@format_option
@storage_option
def pareto_command(study: str, fmt: str, storage: str) -> None:
    """Show the Pareto front of a study (complete trials no other trial dominates)."""
    print_pareto(load_study(study, storage), fmt)


def print_pareto(study: Study, fmt: str) -> None:
    """Print the Pareto front of ``study``."""
    names = study.objective_names
    arrows = {"min": "↓", "max": "↑"}
    columns = ["number", *(f"{n} {arrows[d]}" if fmt == "table" else n
                           for n, d in study.directions), "genome"]
    rows = [(t.number, *(t.values[n] for n in names),
             _genome(t.genome, fmt))
            for t in sorted(study.pareto_front(), key=lambda t: t.values[names[0]])]
    emit(columns, rows, fmt, title=f"Pareto front of {study.name} ({len(rows)} trials)")


def _genome(genome: object, fmt: str) -> object:
    """JSON keeps the genome as data; CSV gets its JSON text; a table a shortened form."""
    if fmt == "json":
        return genome
    return json.dumps(genome) if fmt == "csv" else _short(genome)


def _short(genome: object, width: int = 60) -> str:
    text = json.dumps(genome, separators=(",", ":"))
    return text if len(text) <= width else text[: width - 1] + "…"
