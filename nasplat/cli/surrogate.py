"""``nasplat surrogate``: how well a study's surrogate predicted, as the study went on."""

from __future__ import annotations

from collections import defaultdict

import click

from nasplat import registry
from nasplat.cli._options import emit, format_option, image_path, storage_option
from nasplat.errors import ConfigError, PluginError
from nasplat.store import queries
from nasplat.store.tables import SurrogateReportRow
from nasplat.study import Study, load_study

COLUMNS = ["objective", "observations", "folds", "kendall_tau", "spearman_rho", "rmse",
           "surrogate"]
UNDEFINED = "–"


@click.command("surrogate")
@click.argument("study")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
              metavar="PNG", help="Also draw tau, rho and RMSE against observations to PNG.")
@format_option
@storage_option
def surrogate_command(study: str, plot_path: str | None, fmt: str, storage: str) -> None:
    """Show the cross-validated quality of a study's surrogate after each report.

    Kendall tau and Spearman rho rank the out-of-fold predictions against the observed
    values (1: the surrogate orders architectures perfectly); RMSE is in the objective's
    units. One row per report: how the quality evolved with the number of observations.
    """
    if plot_path:
        plot_path = image_path(plot_path, "--plot")
    handle = load_study(study, storage)
    rows = queries.surrogate_reports(handle.store, handle.row.id or 0)
    if not rows:
        raise ConfigError(_why_none(handle))
    by_objective: dict[str, list[SurrogateReportRow]] = defaultdict(list)
    for row in rows:
        by_objective[row.objective].append(row)
    order = [n for n in handle.objective_names if n in by_objective]
    order += sorted(set(by_objective) - set(order))
    if fmt != "table":
        emit(COLUMNS, [[getattr(r, c) for c in COLUMNS] for n in order
                       for r in by_objective[n]], fmt)
    else:
        _print_tables(handle, {n: by_objective[n] for n in order})
    if plot_path:
        from nasplat.plots._common import save
        from nasplat.plots.surrogate import surrogate_figure

        path = save(surrogate_figure(handle.name, {n: by_objective[n] for n in order}),
                    plot_path)
        click.echo(f"wrote {path}")


def _print_tables(study: Study, reports: dict[str, list[SurrogateReportRow]]) -> None:
    arrows = {name: "↓" if d == "min" else "↑" for name, d in study.directions}
    undefined = False
    for objective, rows in reports.items():
        table = []
        for r in rows:
            undefined |= r.kendall_tau is None or r.spearman_rho is None
            table.append([r.observations, r.folds, _number(r.kendall_tau),
                          _number(r.spearman_rho), _number(r.rmse)])
        surrogates = ", ".join(dict.fromkeys(r.surrogate for r in rows))
        emit(["observations", "folds", "Kendall τ", "Spearman ρ", "RMSE"], table, "table",
             title=f"{objective} {arrows.get(objective, '')}: surrogate {surrogates} "
                   f"({study.row.strategy}), cross-validated")
        click.echo(_evolution(objective, rows))
    if undefined:
        click.echo(f"{UNDEFINED}: undefined, the observed values or the predictions were all "
                   f"equal")


def _evolution(objective: str, rows: list[SurrogateReportRow]) -> str:
    """``error: tau 0.21 -> 0.64, rho ..., RMSE ... from 10 to 200 observations``."""
    first, last = rows[0], rows[-1]
    if len(rows) == 1:
        return f"{objective}: one report, at {first.observations} observations"
    parts = [f"{label} {_number(getattr(first, field))} → {_number(getattr(last, field))}"
             for label, field in (("τ", "kendall_tau"), ("ρ", "spearman_rho"), ("RMSE", "rmse"))]
    return (f"{objective}: {', '.join(parts)} from {first.observations} to "
            f"{last.observations} observations ({len(rows)} reports)")


def _number(value: float | None) -> str:
    return UNDEFINED if value is None else f"{value:.4g}"


def _why_none(study: Study) -> str:
    """Why a study has no surrogate reports, and which strategies make them."""
    reporting = sorted(name for name, reg in registry.get().registry("strategies").items()
                       if callable(getattr(reg.cls, "surrogate_reports", None)))
    which = (f"strategies that report: {', '.join(reporting)}" if reporting
             else "no installed strategy reports")
    strategy = study.row.strategy
    try:
        cls = registry.get().lookup("strategies", strategy).cls
    except PluginError:
        cls = None
    if cls is not None and callable(getattr(cls, "surrogate_reports", None)):
        fields = getattr(getattr(cls, "Options", None), "model_fields", {})
        stored = (study.config.get("strategy") or {}).get("options") or {}
        settings = ", ".join(f"{name} = {stored.get(name, info.default)}"
                             for name, info in fields.items() if "report" in name)
        return (f"study '{study.name}' has no surrogate reports yet: strategy '{strategy}' "
                f"makes them once its surrogate is fitted, as often as its options say"
                f"{f' ({settings})' if settings else ''}. Run more trials with "
                f"`nasplat run --study {study.name} --budget N`")
    return (f"study '{study.name}' has no surrogate reports: its strategy '{strategy}' fits "
            f"no surrogate that reports its quality ({which}; e.g. `nasplat run --strategy "
            f"{reporting[0] if reporting else 'bo'} ...`)")
