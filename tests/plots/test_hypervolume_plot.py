"""Hypervolume history: one point per evaluation, rising, with its reference point shown."""

from __future__ import annotations

import numpy as np
import pytest

from nasplat.pareto import hypervolume
from nasplat.plots import hypervolume_figure, roles
from nasplat.study import Study


def test_curves_end_at_the_fronts_hypervolume(mixed_study: Study) -> None:
    reference = [100.0, 1100.0, 0.0]
    fig = hypervolume_figure(mixed_study, reference=reference)
    by_number, by_time = fig.axes
    evaluated = [t for t in mixed_study.trials() if t.status in ("complete", "failed")]
    (line,) = by_number.lines
    x, y = line.get_xdata(), line.get_ydata()
    assert list(x) == list(range(1, len(evaluated) + 1))
    assert np.all(np.diff(y) >= 0)
    sorted_ = roles(mixed_study)
    final = hypervolume(sorted_.values(sorted_.front), sorted_.directions, reference)
    assert y[-1] == pytest.approx(final)
    (timed,) = by_time.lines
    assert len(timed.get_xdata()) == len(evaluated)
    assert timed.get_ydata()[-1] == pytest.approx(final)
    assert np.all(np.diff(timed.get_xdata()) >= 0)
    assert "seconds" in by_time.get_xlabel()
    assert "reference point: error = 100, params = 1100, spread = 0" in fig.texts[0].get_text()


def test_default_reference_and_chosen_objectives(mixed_study: Study) -> None:
    fig = hypervolume_figure(mixed_study, ["error", "params"])
    text = fig.texts[0].get_text()
    assert "hypervolume of error, params" in text and "spread" not in text
    assert fig.axes[0].lines[0].get_ydata()[-1] > 0
