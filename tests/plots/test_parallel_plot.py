"""Parallel coordinates: one line per trial with values, Pareto members in the front colour."""

from __future__ import annotations

import numpy as np
import pytest

from nasplat.errors import ConfigError
from nasplat.plots import parallel_figure, roles
from nasplat.plots._common import FRONT
from nasplat.study import Study


def test_one_line_per_trial_front_highlighted(mixed_study: Study) -> None:
    fig = parallel_figure(mixed_study)
    (ax,) = fig.axes
    trials = [line for line in ax.lines if len(line.get_xdata()) == 3]
    sorted_ = roles(mixed_study)
    front = [line for line in trials if line.get_color() == FRONT["color"]]
    assert len(front) == len(sorted_.front)
    assert len(trials) == len(sorted_.front) + len(sorted_.dominated) + len(sorted_.infeasible)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["error ↓", "params ↓", "spread ↑"]
    # every axis runs 0..1 with the better end at the bottom: the best error of the front is 0
    ys = np.array([line.get_ydata() for line in trials])
    assert ys.min() == pytest.approx(0) and ys.max() == pytest.approx(1)
    best_error = min(t.values["error"] for t in sorted_.front + sorted_.dominated
                     + sorted_.infeasible)
    assert any(t.values["error"] == best_error for t in sorted_.front)
    assert min(line.get_ydata()[0] for line in front) == pytest.approx(0)


def test_needs_three_objectives(mixed_study: Study) -> None:
    with pytest.raises(ConfigError, match="at least 3 objectives, and you chose 2.*--objectives"):
        parallel_figure(mixed_study, ["error", "params"])
