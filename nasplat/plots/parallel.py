"""Parallel coordinates: one vertical axis per objective, one line per trial."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from nasplat.plots._common import DOMINATED, FRONT, INFEASIBLE, arrow, new_figure, roles
from nasplat.study import Study

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def parallel_figure(study: Study, objectives: Sequence[str] | None = None) -> Figure:
    """The trials on every chosen objective (at least three), each axis scaled to the observed
    range with the better end at the bottom; Pareto members in colour, on top."""
    sorted_ = roles(study, objectives, least=3)
    names, directions = sorted_.objectives, sorted_.directions
    everything = np.asarray(sorted_.values([*sorted_.dominated, *sorted_.infeasible,
                                            *sorted_.front]), dtype=float)
    everything = everything.reshape(-1, len(names))
    low = everything.min(axis=0) if len(everything) else np.zeros(len(names))
    high = everything.max(axis=0) if len(everything) else np.ones(len(names))
    span = np.where(high > low, high - low, 1.0)
    flip = np.array([d == "max" for d in directions])

    def scaled(values: list[list[float]]) -> np.ndarray:
        unit = (np.asarray(values, dtype=float).reshape(-1, len(names)) - low) / span
        return np.where(flip, 1.0 - unit, unit)  # the better end of every axis at the bottom

    fig = new_figure(max(6.0, 1.8 * len(names)), 4.5)
    ax = fig.add_subplot()
    x = np.arange(len(names))
    for trials, style, width, alpha in ((sorted_.dominated, DOMINATED, 0.8, 0.5),
                                        (sorted_.infeasible, INFEASIBLE, 0.8, 0.6),
                                        (sorted_.front, FRONT, 1.8, 0.9)):
        for k, row in enumerate(scaled(sorted_.values(trials))):
            ax.plot(x, row, color=style["color"], linewidth=width, alpha=alpha,
                    label=f"{style['label']} ({len(trials)})" if k == 0 else None)
    for i in x:
        ax.axvline(i, color="black", linewidth=0.8)
        bottom, top = (high[i], low[i]) if flip[i] else (low[i], high[i])
        ax.annotate(f"{bottom:.4g}", (i, 0), xytext=(0, -14), textcoords="offset points",
                    ha="center", fontsize="small")
        ax.annotate(f"{top:.4g}", (i, 1), xytext=(0, 6), textcoords="offset points",
                    ha="center", fontsize="small")
    ax.set_xticks(x, [f"{n} {arrow(d)}" for n, d in zip(names, directions)])
    ax.tick_params(axis="x", pad=18)
    ax.set_yticks([])
    ax.set_ylim(-0.08, 1.12)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_xlim(-0.3, len(names) - 0.7)
    ax.legend(fontsize="small", loc="upper right")
    title = f"{study.name}: parallel coordinates (better ends at the bottom)"
    if sorted_.without_values():
        title += f"\n{sorted_.without_values()}"
    ax.set_title(title)
    return fig
