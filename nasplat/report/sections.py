"""The report's sections, each built from the study alone."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable

from nasplat.errors import NasplatError
from nasplat.plots import curves_figure, hypervolume_figure, parallel_figure, pareto_figure
from nasplat.plots._common import arrow
from nasplat.problem import instantiate
from nasplat.report.page import Section, image, note, table
from nasplat.space import has_capability
from nasplat.store import queries
from nasplat.study import Study, TrialRecord

GENOME_CHARS = 120
"""Genomes longer than this are cut in tables (the full genome is in `nasplat export`)."""


def summary(study: Study, trials: list[TrialRecord]) -> Section:
    """Space, strategy, objectives, budget, times and counts by status."""
    config, row = study.config, study.row
    counts = queries.status_counts(study.store, row.id or 0)
    budget = config.get("budget", {})
    starts = [t.started_at for t in trials if t.started_at]
    ends = [t.finished_at for t in trials if t.finished_at]
    rows = [
        ("space", f"{row.space} {json.dumps(config['space'].get('options') or {})}"),
        ("strategy", f"{row.strategy} {json.dumps(config['strategy'].get('options') or {})}"),
        ("objectives", ", ".join(f"{n} {arrow(d)}" for n, d in study.directions)),
        ("constraints", ", ".join(_bound(k, v) for k, v in config.get("constraints", {}).items())
         or "none"),
        ("budget", ", ".join(f"{k} = {v}" for k, v in budget.items() if v is not None)),
        ("seed", config.get("seed")),
        ("created", f"{row.created_at:%Y-%m-%d %H:%M:%S}"),
        ("first trial started", f"{min(starts):%Y-%m-%d %H:%M:%S}" if starts else "-"),
        ("last trial finished", f"{max(ends):%Y-%m-%d %H:%M:%S}" if ends else "-"),
        ("run time", f"{row.elapsed_seconds:.1f} s"),
        ("trials", sum(counts.values())),
        *((f"  {status}", n) for status, n in sorted(counts.items())),
    ]
    return Section("Summary", table(["", "study"], rows, "summary"))


def pareto_table(study: Study) -> Section:
    """The front's trials with genome and objective values."""
    front = study.pareto_front()
    names, directions = study.objective_names, dict(study.directions)
    rows = [(t.number, _short(t.genome), *(t.values[n] for n in names),
             None if t.duration is None else round(t.duration, 2)) for t in front]
    columns = ["trial", "genome", *(f"{n} {arrow(directions[n])}" for n in names), "seconds"]
    if not front:
        return Section("Pareto front", note("no complete trial yet: the front is empty"))
    return Section("Pareto front", f"<p>{len(front)} architecture(s).</p>"
                   + table(columns, rows, "pareto"))


def plots(study: Study) -> list[Section]:
    """Each plot kind that applies, or a line saying why it does not."""
    figures: list[tuple[str, Callable[[Study], object]]] = [
        ("Pareto front plot", pareto_figure), ("Hypervolume", hypervolume_figure),
        ("Learning curves", curves_figure)]
    if len(study.objective_names) >= 3:
        figures.insert(1, ("Parallel coordinates", parallel_figure))
    out = []
    for title, draw in figures:
        try:
            body = image(draw(study), title)  # type: ignore[arg-type]
        except NasplatError as exc:
            body = note(str(exc))
        out.append(Section(title, body))
    return out


def failures(trials: list[TrialRecord]) -> Section:
    """Failed and infeasible trials grouped by reason, most frequent first."""
    parts = []
    for status in ("failed", "infeasible"):
        grouped: dict[str, list[TrialRecord]] = {}
        for t in trials:
            if t.status == status:
                grouped.setdefault(_reason_kind(t.error), []).append(t)
        if not grouped:
            parts.append(f"<p>No {status} trial.</p>")
            continue
        order = Counter({kind: len(group) for kind, group in grouped.items()})
        rows = [(n, kind, f"trial {grouped[kind][0].number}: {grouped[kind][0].error}",
                 _numbers([t.number for t in grouped[kind]])) for kind, n in order.most_common()]
        parts.append(f"<h3>{status} ({sum(order.values())})</h3>"
                     + table(["trials", "reason", "for example", "trial numbers"], rows, status))
    return Section("Failures", "\n".join(parts))


def space_sections(study: Study) -> list[Section]:
    """What the space adds through its optional ``report_sections(study)`` method."""
    config = study.config["space"]
    try:
        space = instantiate("spaces", config["name"], config.get("options") or {},
                            "space.options")
    except NasplatError as exc:
        return [Section(f"Space {config['name']}", note(f"space sections left out: {exc}"))]
    if not has_capability(space, "report_sections"):
        return []
    try:
        given = list(space.report_sections(study))  # type: ignore[attr-defined]
        return [Section(str(title), str(html)) for title, html in given]
    except Exception as exc:  # a plugin's bug must not cost the user the rest of the report
        return [Section(f"Space {space.name}", note(
            f"space '{space.name}' report_sections failed: {type(exc).__name__}: {exc}"))]


def _reason_kind(reason: str | None) -> str:
    """A failure reason with its numbers replaced by ``#``, so that ``params = 1047 outside
    [, 1000]`` and ``params = 1365 outside [, 1000]`` group together."""
    return _NUMBER.sub("#", reason) if reason else "(no reason recorded)"


_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w.])", re.IGNORECASE)


def _bound(metric: str, bound: dict[str, float | None]) -> str:
    low, high = bound.get("min"), bound.get("max")
    if low is not None and high is not None:
        return f"{low:g} ≤ {metric} ≤ {high:g}"
    return f"{metric} ≥ {low:g}" if low is not None else f"{metric} ≤ {high:g}"


def _short(genome: object) -> str:
    text = json.dumps(genome)
    return text if len(text) <= GENOME_CHARS else text[:GENOME_CHARS - 3] + "..."


def _numbers(numbers: list[int], shown: int = 12) -> str:
    more = f" ... (+{len(numbers) - shown})" if len(numbers) > shown else ""
    return ", ".join(map(str, numbers[:shown])) + more


__all__ = ["failures", "pareto_table", "plots", "space_sections", "summary"]
