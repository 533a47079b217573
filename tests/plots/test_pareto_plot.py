"""The Pareto plot: every trial with values drawn once, in its role; the rest counted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nasplat.errors import ConfigError
from nasplat.plots import pareto_figure, plot, roles
from nasplat.study import Study


def _points(ax) -> dict[str, np.ndarray]:
    """The scatter sets of a 2-D or 3-D axes by legend label (without the count)."""
    out = {}
    for collection in ax.collections:
        label = collection.get_label().rsplit(" (", 1)[0]
        if hasattr(collection, "_offsets3d"):
            out[label] = np.column_stack([np.asarray(c) for c in collection._offsets3d])
        else:
            out[label] = np.asarray(collection.get_offsets())
    return out


def test_roles_match_the_store(mixed_study: Study) -> None:
    sorted_ = roles(mixed_study)
    statuses = [t.status for t in mixed_study.trials()]
    assert len(sorted_.front) + len(sorted_.dominated) == statuses.count("complete")
    assert {t.number for t in sorted_.front} == {t.number for t in mixed_study.pareto_front()}
    assert sorted_.unplotted["failed"] == statuses.count("failed") > 0
    assert len(sorted_.infeasible) + sorted_.unplotted["infeasible"] == statuses.count(
        "infeasible")
    assert sorted_.infeasible and sorted_.unplotted["infeasible"]  # both kinds are exercised


def test_three_objectives_give_one_3d_panel(mixed_study: Study, tmp_path: Path) -> None:
    fig = pareto_figure(mixed_study)
    (ax,) = fig.axes
    assert ax.name == "3d"
    sorted_ = roles(mixed_study)
    points = _points(ax)
    front = np.asarray(sorted_.values(sorted_.front))
    assert sorted(map(tuple, points["Pareto front"])) == sorted(map(tuple, front))
    assert len(points["dominated"]) == len(sorted_.dominated)
    assert len(points["infeasible"]) == len(sorted_.infeasible)
    assert f"{sorted_.unplotted['failed']} failed" in fig.texts[0].get_text()
    assert [ax.get_xlabel(), ax.get_ylabel(), ax.get_zlabel()] == [
        "error ↓", "params ↓", "spread ↑"]
    path = plot(mixed_study, "pareto", tmp_path / "front.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_chosen_pair_has_its_own_front(mixed_study: Study) -> None:
    fig = pareto_figure(mixed_study, ["params", "spread"])
    (ax,) = fig.axes
    points = _points(ax)
    complete = [t for t in mixed_study.trials(["complete"])]
    front = points["Pareto front"]
    for x, y in front:  # no complete trial is better on both of the pair
        assert not any(t.values["params"] <= x and t.values["spread"] >= y
                       and (t.values["params"], t.values["spread"]) != (x, y) for t in complete)
    assert len(front) + len(points["dominated"]) == len(complete)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("params ↓", "spread ↑")


def test_bad_choices_are_errors(mixed_study: Study) -> None:
    with pytest.raises(ConfigError, match="at least 2 objectives"):
        pareto_figure(mixed_study, ["error"])
    with pytest.raises(ConfigError, match="no objective 'latency'.*error, params, spread"):
        pareto_figure(mixed_study, ["error", "latency"])


def test_four_objectives_one_panel_per_pair(storage: str) -> None:
    from nasplat import load_study, run_study

    run_study({"study": "four", "space": {"name": "dtlz2_int", "options": {"n_obj": 4}},
               "budget": {"trials": 20}, "storage": storage})
    study = load_study("four", storage)
    fig = pareto_figure(study)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 6  # 4 choose 2
    assert {(ax.get_xlabel(), ax.get_ylabel()) for ax in panels} == {
        (f"f{i} ↓", f"f{j} ↓") for i in range(1, 5) for j in range(i + 1, 5)}
    front = {t.number for t in study.pareto_front()}
    for ax in panels:
        assert len(_points(ax)["Pareto front"]) == len(front)
