"""Plots of a study: Pareto front, parallel coordinates, hypervolume history, learning curves.

Each function takes a :class:`~nasplat.study.Study` and returns a matplotlib ``Figure`` drawn
on the Agg canvas (no pyplot, no display needed); :func:`save` writes it as a PNG.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nasplat.plots._common import Roles, roles, save
from nasplat.plots.curves import curves_figure, learning_curves
from nasplat.plots.hypervolume import hypervolume_figure
from nasplat.plots.interactive import has_plotly, pareto_html
from nasplat.plots.parallel import parallel_figure
from nasplat.plots.pareto import pareto_figure
from nasplat.study import Study

if TYPE_CHECKING:
    from matplotlib.figure import Figure

KINDS: dict[str, Callable[..., Any]] = {
    "pareto": pareto_figure,
    "parallel": parallel_figure,
    "hypervolume": hypervolume_figure,
    "curves": curves_figure,
}
"""Plot kinds by the name ``nasplat plot --kind`` takes."""


def figure(study: Study, kind: str, objectives: Sequence[str] | None = None) -> Figure:
    """The figure of ``kind`` (a key of :data:`KINDS`); for ``curves``, ``objectives`` names
    the learning-curve metrics to show."""
    return KINDS[kind](study, objectives)


def plot(study: Study, kind: str, path: Path | str,
         objectives: Sequence[str] | None = None) -> Path:
    """Write the plot of ``kind`` to ``path``: a PNG, or for ``pareto`` an interactive HTML
    page when ``path`` ends in ``.html`` (needs plotly)."""
    path = Path(path)
    if path.suffix.lower() == ".html":
        from nasplat.errors import ConfigError

        if kind != "pareto":
            raise ConfigError(f"only the pareto plot has an interactive HTML form, not "
                              f"'{kind}': write {path.with_suffix('.png').name} instead")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(pareto_html(study, objectives), encoding="utf-8")
        return path
    return save(figure(study, kind, objectives), path)


__all__ = ["KINDS", "Roles", "curves_figure", "figure", "has_plotly", "hypervolume_figure",
           "learning_curves", "parallel_figure", "pareto_figure", "pareto_html", "plot", "roles",
           "save"]
