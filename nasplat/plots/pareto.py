"""The Pareto front: one 2-D scatter per pair of objectives, or a 3-D scatter for three."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from nasplat.plots._common import (DOMINATED, FRONT, INFEASIBLE, Roles, arrow, new_figure,
                                   roles)
from nasplat.study import Study

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def pareto_figure(study: Study, objectives: Sequence[str] | None = None) -> Figure:
    """Every finished trial on the chosen objectives (default: the study's): the front in
    colour, dominated trials grey, infeasible ones orange, failed ones counted in the title.
    Two objectives give one panel, three one 3-D panel, more one panel per pair."""
    sorted_ = roles(study, objectives, least=2)
    names = sorted_.objectives
    if len(names) == 3:
        fig = new_figure(6.5, 5.5)
        _scatter_3d(fig.add_subplot(projection="3d"), sorted_)
    else:
        pairs = list(itertools.combinations(range(len(names)), 2))
        cols = min(3, len(pairs))
        rows = math.ceil(len(pairs) / cols)
        fig = new_figure(max(6.5, 5 * cols), 4.5 * rows)
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        for ax, (i, j) in zip(axes, pairs):
            _scatter_2d(ax, sorted_, i, j, staircase=len(names) == 2)
        for ax in axes[len(pairs):]:
            ax.set_visible(False)
    title = f"{study.name}: Pareto front ({len(sorted_.front)} of " \
            f"{len(sorted_.front) + len(sorted_.dominated)} complete trials)"
    if sorted_.without_values():
        title += f"\n{sorted_.without_values()}"
    fig.suptitle(title)
    return fig


def _groups(sorted_: Roles) -> list[tuple[np.ndarray, dict[str, object]]]:
    """The point sets to draw, back to front, with their style."""
    out = []
    for trials, style, extra in ((sorted_.dominated, DOMINATED, {"s": 18, "alpha": 0.6}),
                                 (sorted_.infeasible, INFEASIBLE, {"s": 22, "marker": "x"}),
                                 (sorted_.front, FRONT, {"s": 36, "edgecolor": "black",
                                                         "linewidths": 0.6})):
        if not trials:
            continue  # no empty entry in the legend
        values = np.asarray(sorted_.values(trials), dtype=float)
        label = f"{style['label']} ({len(trials)})"
        out.append((values, {"color": style["color"], "label": label, **extra}))
    return out


def _scatter_2d(ax: Axes, sorted_: Roles, i: int, j: int, staircase: bool) -> None:
    for values, style in _groups(sorted_):
        ax.scatter(values[:, i], values[:, j], **style)
    if staircase and sorted_.front:
        _staircase(ax, sorted_, i, j)
    names, directions = sorted_.objectives, sorted_.directions
    ax.set_xlabel(f"{names[i]} {arrow(directions[i])}")
    ax.set_ylabel(f"{names[j]} {arrow(directions[j])}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")


def _staircase(ax: Axes, sorted_: Roles, i: int, j: int) -> None:
    """The attainment front between the front's points (what the front dominates)."""
    front = np.asarray(sorted_.values(sorted_.front), dtype=float)[:, [i, j]]
    front = front[np.argsort(front[:, 0] * (1 if sorted_.directions[i] == "min" else -1))]
    ax.step(front[:, 0], front[:, 1], where="post", color=FRONT["color"], alpha=0.5,
            linewidth=1)


def _scatter_3d(ax: Axes, sorted_: Roles) -> None:
    for values, style in _groups(sorted_):
        style = {k: v for k, v in style.items() if k != "linewidths"}
        ax.scatter(values[:, 0], values[:, 1], values[:, 2], **style)
    names, directions = sorted_.objectives, sorted_.directions
    ax.set_xlabel(f"{names[0]} {arrow(directions[0])}")
    ax.set_ylabel(f"{names[1]} {arrow(directions[1])}")
    ax.set_zlabel(f"{names[2]} {arrow(directions[2])}")
    ax.legend(fontsize="small")
