"""A study as one self-contained HTML page: summary, Pareto table, plots, failures, and the
sections the search space adds (its optional ``report_sections(study)`` method)."""

from __future__ import annotations

from pathlib import Path

from nasplat.report import sections
from nasplat.report.page import Section, page
from nasplat.study import Study


def render_report(study: Study) -> str:
    """The report of ``study`` as HTML text: images embedded, nothing fetched."""
    trials = study.trials()
    parts = [sections.summary(study, trials), sections.pareto_table(study),
             *sections.plots(study), sections.failures(trials),
             *sections.space_sections(study)]
    return page(f"nasplat study {study.name}",
                f"space {study.row.space}, strategy {study.row.strategy}, "
                f"{len(trials)} trials", parts)


def write_report(study: Study, path: Path | str) -> Path:
    """Write the report of ``study`` to ``path``; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(study), encoding="utf-8")
    return path


__all__ = ["Section", "render_report", "write_report"]
