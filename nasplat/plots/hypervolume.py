"""The hypervolume of the front found so far, against evaluations and against wall-clock time."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from nasplat.compare.curves import EVALUATED, hv_curve, load_run, reference_point, to_directions
from nasplat.errors import ConfigError
from nasplat.plots._common import choose_objectives, new_figure
from nasplat.study import Study

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def hypervolume_figure(study: Study, objectives: Sequence[str] | None = None,
                       reference: Sequence[float] | None = None) -> Figure:
    """Two panels: hypervolume after each evaluation, and against seconds since the first
    trial started. The reference point (default: nasplat.compare's, the nadir plus a margin)
    is given in the objectives' own directions and written on the plot."""
    names, directions = choose_objectives(study, objectives)
    run = load_run(study)
    keep = [run.objectives.index(n) for n in names]
    run = dataclasses.replace(run, objectives=tuple(names), directions=tuple(directions),
                              points=tuple(None if p is None else tuple(p[i] for i in keep)
                                           for p in run.points))
    if not any(p is not None for p in run.points):
        raise ConfigError(f"study '{study.name}' has no complete trial with values of "
                          f"{', '.join(names)}: no hypervolume to plot")
    if reference is None:
        ref = reference_point([run])
    else:
        signs = np.array([1.0 if d == "min" else -1.0 for d in directions])
        ref = np.asarray(reference, dtype=float) * signs
    by_number = hv_curve(run, ref, run.evaluations)

    trials = study.trials(EVALUATED)  # the same trials, in the same order, as run.points
    start = min((t.started_at for t in trials if t.started_at), default=None)
    timed = sorted((t.finished_at, p) for t, p in zip(trials, run.points) if t.finished_at)
    seconds = [(when - start).total_seconds() for when, _ in timed] if start else []
    by_time = hv_curve(dataclasses.replace(run, points=tuple(p for _, p in timed)), ref,
                       len(timed))

    fig = new_figure(11, 4.2)
    ax_n, ax_t = fig.subplots(1, 2)
    ax_n.step(np.arange(1, run.evaluations + 1), by_number, where="post")
    ax_n.set_xlabel("evaluations (complete and failed trials)")
    ax_t.step(seconds, by_time, where="post")
    ax_t.set_xlabel("seconds since the first trial started")
    for ax in (ax_n, ax_t):
        ax.set_ylabel("hypervolume")
        ax.grid(alpha=0.3)
    shown = ", ".join(f"{n} = {v:.4g}" for n, v in zip(names, to_directions(ref, directions)))
    fig.suptitle(f"{study.name}: hypervolume of {', '.join(names)}\nreference point: {shown}")
    return fig
