"""The interactive front (plotly): hover text carries trial number, genome and values."""

from __future__ import annotations

import json

import pytest

from nasplat.plots import pareto_html, roles
from nasplat.study import Study

pytest.importorskip("plotly")


def test_hover_shows_trial_genome_values(mixed_study: Study) -> None:
    page = pareto_html(mixed_study, ["error", "params"], include_plotlyjs=False)
    front = roles(mixed_study, ["error", "params"]).front
    assert front
    for trial in front:
        assert f"trial {trial.number} (complete)" in page
        assert json.dumps(json.dumps(trial.genome))[1:-1] in page
        assert f"error = {trial.values['error']:.6g}" in page
    assert "Pareto front (%d)" % len(front) in page
