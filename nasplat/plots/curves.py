"""Learning curves: the intermediate values trials reported, one panel per metric."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from nasplat.errors import ConfigError
from nasplat.plots._common import DOMINATED, FRONT, new_figure
from nasplat.store import queries
from nasplat.study import Study

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def learning_curves(study: Study) -> dict[str, dict[int, tuple[list[int], list[float]]]]:
    """``{metric: {trial number: (steps, values)}}`` of every trial that reported any."""
    assert study.row.id is not None
    curves: dict[str, dict[int, tuple[list[int], list[float]]]] = defaultdict(dict)
    for row in queries.trials(study.store, study.row.id):
        for point in queries.intermediate_values(study.store, row.id or 0):
            steps, values = curves[point.name].setdefault(row.number, ([], []))
            steps.append(point.step)
            values.append(point.value)
    return dict(curves)


def curves_figure(study: Study, metrics: Sequence[str] | None = None) -> Figure:
    """One panel per reported metric (or those chosen), one line per trial; Pareto members
    in colour and labelled by trial number, the others grey."""
    curves = learning_curves(study)
    if not curves:
        raise ConfigError(f"study '{study.name}' has no learning curves: none of its trials "
                          f"reported intermediate values (spaces evaluated without training "
                          f"report none)")
    names = list(metrics or sorted(curves))
    unknown = [n for n in names if n not in curves]
    if unknown:
        raise ConfigError(f"study '{study.name}' has no learning curve of '{unknown[0]}': its "
                          f"trials reported {', '.join(sorted(curves))}")
    front = {t.number for t in study.pareto_front()}
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig = new_figure(5 * cols, 3.8 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, name in zip(axes, names):
        by_trial = curves[name]
        for number in sorted(by_trial, key=lambda n: n in front):  # the front drawn on top
            steps, values = by_trial[number]
            on_front = number in front
            ax.plot(steps, values, marker="." if len(steps) < 30 else None,
                    color=FRONT["color"] if on_front else DOMINATED["color"],
                    alpha=0.9 if on_front else 0.5, linewidth=1.5 if on_front else 0.8,
                    label=f"trial {number}" if on_front else None)
        ax.set_title(f"{name} ({len(by_trial)} trials)")
        ax.set_xlabel("step (epoch)")
        ax.grid(alpha=0.3)
        if any(n in front for n in by_trial) and len(front) <= 10:
            ax.legend(fontsize="small", title="Pareto front")
    for ax in axes[len(names):]:
        ax.set_visible(False)
    fig.suptitle(f"{study.name}: learning curves (Pareto members in colour)")
    return fig
