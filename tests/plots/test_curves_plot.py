"""Learning curves: one line per trial and metric, as stored."""

from __future__ import annotations

import pytest

from nasplat import load_study, run_study
from nasplat.errors import ConfigError
from nasplat.plots import curves_figure, learning_curves
from nasplat.study import Study


def test_one_panel_per_metric_one_line_per_trial(mixed_study: Study) -> None:
    curves = learning_curves(mixed_study)
    assert sorted(curves) == ["train_loss", "val_loss"] and len(curves["val_loss"]) == 3
    fig = curves_figure(mixed_study)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["train_loss (3 trials)", "val_loss (3 trials)"]
    for ax, name in zip(panels, ["train_loss", "val_loss"]):
        assert len(ax.lines) == 3
        stored = sorted(tuple(values) for _, values in curves[name].values())
        assert sorted(tuple(line.get_ydata()) for line in ax.lines) == stored
    (only,) = [ax for ax in curves_figure(mixed_study, ["val_loss"]).axes if ax.get_visible()]
    assert only.get_title().startswith("val_loss")


def test_a_study_without_curves_says_so(storage: str) -> None:
    run_study({"study": "plain", "space": "toy_int", "budget": {"trials": 3}, "storage": storage})
    with pytest.raises(ConfigError, match="no learning curves"):
        curves_figure(load_study("plain", storage))
