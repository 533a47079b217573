"""The hypervolume curves of a comparison as a PNG: one panel per space, mean ± sd bands."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nasplat.compare.report import SpaceSummary


def plot_curves(summaries: Sequence[SpaceSummary], path: Path, title: str = "") -> Path:
    """Write the curves to ``path`` (PNG); return it."""
    # The Agg canvas directly, not pyplot: no global backend switch in the caller's process.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cols = min(3, len(summaries)) or 1
    rows = math.ceil(len(summaries) / cols) or 1
    fig = Figure(figsize=(5 * cols, 3.8 * rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, summary in zip(axes, summaries):
        x = np.arange(1, summary.budget + 1)
        for row in summary.strategies:
            mean, sd = row.curves.mean(axis=0), row.curves.std(axis=0, ddof=min(1, len(row.seeds) - 1))
            line, = ax.plot(x, mean, label=f"{row.strategy} (n={len(row.seeds)})")
            ax.fill_between(x, mean - sd, mean + sd, color=line.get_color(), alpha=0.2,
                            linewidth=0)
        ax.set_title(summary.space)
        ax.set_xlabel("evaluations")
        ax.set_ylabel("hypervolume")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    for ax in axes[len(summaries):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(f"{title}: hypervolume, mean ± sd over seeds")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
