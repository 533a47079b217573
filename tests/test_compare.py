"""``nasplat.compare``: the numbers in the table agree with hypervolumes recomputed from the
store, a rerun skips finished runs, the PNG is written, and the U test is right."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from nasplat import load_study
from nasplat.compare import compare, load, mann_whitney_u
from nasplat.compare.stats import mean_sd, ranks
from nasplat.pareto import hypervolume

pytest.importorskip("optuna")

STRATEGIES = ["random", "optuna:random"]
SEEDS, BUDGET = 2, 12


@pytest.fixture
def grid(storage: str) -> str:
    result = compare("c", ["zdt1_int"], STRATEGIES, SEEDS, BUDGET, storage)
    assert (result.ran, result.skipped) == (4, 0)
    return storage


def by_hand(storage: str) -> tuple[np.ndarray, dict[str, list[list[float]]]]:
    """Reference point and the HV after 3, 6 and 12 evaluations, straight from the trials."""
    values = {}
    for strategy in STRATEGIES:
        for k in range(SEEDS):
            trials = load_study(f"c/zdt1_int/{strategy}/seed{k}", storage).trials()
            assert [t.status for t in trials] == ["complete"] * BUDGET
            values[strategy, k] = [[t.values["f1"], t.values["f2"]] for t in trials]
    everything = np.array([v for vs in values.values() for v in vs])
    nadir, ideal = everything.max(axis=0), everything.min(axis=0)
    ref = nadir + 0.1 * (nadir - ideal)
    hv = {s: [[hypervolume(values[s, k][:n], ["min", "min"], ref) for k in range(SEEDS)]
              for n in (3, 6, 12)] for s in STRATEGIES}
    return ref, hv


def test_table_agrees_with_the_store(grid: str) -> None:
    result = load("c", grid)
    (space,) = result.spaces
    ref, hv = by_hand(grid)
    assert space.space == "zdt1_int" and space.budget == BUDGET
    assert space.reference == pytest.approx(ref.tolist())
    assert space.checkpoints() == [3, 6, 12]
    rows = {r.strategy: r for r in space.strategies}
    for strategy in STRATEGIES:
        for fraction, per_seed in zip((0.25, 0.5, 1.0), hv[strategy], strict=True):
            assert rows[strategy].at[fraction] == pytest.approx(mean_sd(per_seed))
    finals = {s: hv[s][2] for s in STRATEGIES}
    best = max(STRATEGIES, key=lambda s: np.mean(finals[s]))
    assert space.best == best
    other = next(s for s in STRATEGIES if s != best)
    assert rows[best].test is None
    assert rows[other].test == mann_whitney_u(finals[other], finals[best])
    per_seed = [ranks([-finals[s][k] for s in STRATEGIES]) for k in range(SEEDS)]  # 1 = best
    for i, s in enumerate(STRATEGIES):
        assert rows[s].mean_rank == pytest.approx(np.mean([r[i] for r in per_seed]))
    curve = rows[best].curves.mean(axis=0)
    target = np.mean(finals[other])
    assert rows[best].evals_to_match == int(np.argmax(curve >= target)) + 1
    assert rows[other].evals_to_match is None or rows[other].curves.mean(axis=0)[-1] >= \
        np.mean(finals[best])


def test_rerun_skips_finished_runs_and_a_larger_budget_resumes(grid: str) -> None:
    again = compare("c", ["zdt1_int"], STRATEGIES, SEEDS, BUDGET, grid)
    assert (again.ran, again.skipped) == (0, 4)
    more = compare("c", ["zdt1_int"], STRATEGIES, SEEDS, BUDGET + 4, grid)
    assert (more.ran, more.skipped) == (4, 0)
    assert len(load_study("c/zdt1_int/random/seed1", grid).trials()) == BUDGET + 4
    assert more.spaces[0].budget == BUDGET + 4


def test_png_is_written(grid: str, tmp_path: Path) -> None:
    path = load("c", grid).plot(tmp_path / "out")
    assert path == tmp_path / "out" / "c-hv.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_u_test_exact_by_hand() -> None:
    """x entirely below y: U = 0, and only 1 of the C(6, 3) = 20 orderings is as extreme on
    each side, so p = 2 / 20."""
    result = mann_whitney_u([1, 2, 3], [4, 5, 6])
    assert (result.u, result.method) == (0, "exact")
    assert result.p == pytest.approx(0.1)
    assert mann_whitney_u([4, 5, 6], [1, 2, 3]).u == 9


def test_u_test_with_ties_by_hand() -> None:
    """Pooled 1, 2, 2 | 2, 3, 4: ranks 1, 3, 3 | 3, 5, 6, so U = 7 - 6 = 1. Mean 4.5; variance
    9/12 * (7 - (27 - 3) / 30) = 4.65; z = (3.5 - 0.5) / sqrt(4.65); p = erfc(z / sqrt 2)."""
    result = mann_whitney_u([1, 2, 2], [2, 3, 4])
    assert (result.u, result.method) == (1, "normal")
    z = 3 / math.sqrt(4.65)
    assert result.p == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert result.p == pytest.approx(0.16416, abs=1e-5)
    assert mann_whitney_u([1, 1], [1, 1]).p == 1.0
