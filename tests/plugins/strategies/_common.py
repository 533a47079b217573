"""Checks every bundled search strategy passes, through the engine, on the four toy spaces.

A test module subclasses :class:`StrategyContract` and sets ``strategy`` (and ``options``).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import pytest

from nasplat import load_study, registry, run_study
from nasplat.objective import ObjectiveSpec
from nasplat.pareto import hypervolume
from nasplat.strategy import TrialResult
from spaces_for_failures import TinySpace

TOY_SPACES = ["toy_int", "toy_mask", "toy_genes", "toy_cell"]
TOY_INT_REFERENCE = (250.0, 2500.0)
"""Worse than every toy_int genome: error is at most 9 * 5**2 = 225, params at most 2307."""
HV_SEEDS, HV_TRIALS = (0, 1, 2), 100
TOY_INT_OBJECTIVES = [ObjectiveSpec("error", "min"), ObjectiveSpec("params", "min")]


def config(storage: str, strategy: str, space: str = "toy_int", trials: int = 20,
           seed: int = 0, options: dict[str, Any] | None = None, **extra: Any) -> dict:
    """A study config for ``strategy`` on a toy space."""
    return {"study": "s", "space": space, "budget": {"trials": trials}, "storage": storage,
            "strategy": {"name": strategy, "options": options or {}}, "seed": seed, **extra}


def history(storage: str) -> list[tuple[int, str, str, dict[str, float]]]:
    """Each trial's number, status, genome hash and values, in order."""
    return [(t.number, t.status, t.genome_hash, t.values)
            for t in load_study("s", storage).trials()]


def final_hypervolume(storage: str) -> float:
    """Hypervolume of a toy_int study's complete trials, up to :data:`TOY_INT_REFERENCE`."""
    study = load_study("s", storage)
    values = [[t.values[n] for n in study.objective_names] for t in study.trials(["complete"])]
    return hypervolume(values, [d for _, d in study.directions], TOY_INT_REFERENCE)


def mean_hypervolume(folder: Path, strategy: str, options: dict[str, Any] | None = None
                     ) -> float:
    """Mean final hypervolume on toy_int over :data:`HV_SEEDS`, :data:`HV_TRIALS` trials each."""
    total = 0.0
    for seed in HV_SEEDS:
        url = f"sqlite:///{folder / f'{strategy}-{seed}.db'}"
        run_study(config(url, strategy, "toy_int", HV_TRIALS, seed, options))
        total += final_hypervolume(url)
    return total / len(HV_SEEDS)


@cache
def random_hypervolume(folder: Path) -> float:
    """Random search's :func:`mean_hypervolume`: the bar, computed once per test session."""
    return mean_hypervolume(folder, "random")


class StrategyContract:
    """What every evolutionary strategy must do through the engine."""

    strategy: ClassVar[str]
    options: ClassVar[dict[str, Any]] = {"population": 8}
    """Small populations, so that short studies go past the first random generation."""

    @pytest.mark.parametrize("space", TOY_SPACES)
    def test_every_genome_kind_runs_to_budget(self, storage: str, space: str) -> None:
        summary = run_study(config(storage, self.strategy, space, 30, options=self.options))
        trials = load_study("s", storage).trials()
        assert summary.reason == "budget spent"
        assert len(trials) == 30 and all(t.status == "complete" for t in trials)
        assert len({t.genome_hash for t in trials}) == 30

    @pytest.mark.parametrize("space", ["toy_int", "toy_genes"])
    def test_seeded_runs_repeat_exactly(self, tmp_path: Path, space: str) -> None:
        runs = []
        for name, seed in (("a", 5), ("b", 5), ("c", 6)):
            url = f"sqlite:///{tmp_path / f'{name}.db'}"
            run_study(config(url, self.strategy, space, 30, seed, self.options))
            runs.append(history(url))
        assert runs[0] == runs[1]
        assert runs[0] != runs[2]

    @pytest.mark.parametrize("space", TOY_SPACES)
    def test_resume_continues_the_same_sequence(self, tmp_path: Path, space: str) -> None:
        whole = f"sqlite:///{tmp_path / 'whole.db'}"
        run_study(config(whole, self.strategy, space, 30, 3, self.options))
        parts = f"sqlite:///{tmp_path / 'parts.db'}"
        for budget in (7, 19, 30):  # stops inside the first, the second and a later generation
            run_study(config(parts, self.strategy, space, budget, 3, self.options))
        assert history(parts) == history(whole)

    def test_resume_with_cheap_constraints(self, tmp_path: Path) -> None:
        limit = {"constraints": {"params": {"max": 600}}}
        whole = f"sqlite:///{tmp_path / 'whole.db'}"
        run_study(config(whole, self.strategy, "toy_int", 30, 3, self.options, **limit))
        parts = f"sqlite:///{tmp_path / 'parts.db'}"
        run_study(config(parts, self.strategy, "toy_int", 11, 3, self.options, **limit))
        run_study(config(parts, self.strategy, "toy_int", 30, 3, self.options, **limit))
        assert history(parts) == history(whole)

    def test_constraints_keep_infeasible_out_of_the_front(self, storage: str) -> None:
        cfg = config(storage, self.strategy, "toy_int", 60, options=self.options,
                     constraints={"params": {"max": 600}})
        summary = run_study(cfg)
        study = load_study("s", storage)
        complete = study.trials(["complete"])
        assert summary.reason == "budget spent" and len(complete) == 60
        assert study.trials(["infeasible"])  # the constraint did bite
        front = study.pareto_front()
        assert front and all(t.status == "complete" and t.metrics["params"] <= 600
                             for t in front)

    def test_failed_trials_never_stop_the_search(self, storage: str) -> None:
        summary = run_study(config(storage, self.strategy, "flaky", 25, options=self.options))
        trials = load_study("s", storage).trials()
        assert summary.reason == "budget spent" and len(trials) == 25
        assert any(t.status == "failed" for t in trials)

    @pytest.mark.parametrize("seed", range(5))
    def test_never_proposes_a_told_genome_even_after_a_restart(self, seed: int) -> None:
        space = TinySpace()  # four genomes in all
        cls = registry.get().lookup("strategies", self.strategy).cls
        strategy = cls(space, TOY_INT_OBJECTIVES, seed=seed, population=2)
        strategy.tell(evaluated(space, [[1, 1], [1, 2], [2, 1]], 0))
        restarted = cls(space, TOY_INT_OBJECTIVES, seed=0, population=2)
        restarted.load_state_dict(json.loads(json.dumps(strategy.state_dict())))
        assert restarted.ask(1) == [[2, 2]]

    def test_beats_random_search(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        bar = random_hypervolume(tmp_path_factory.getbasetemp())
        ours = mean_hypervolume(tmp_path_factory.mktemp(self.strategy), self.strategy)
        assert ours > bar, f"{self.strategy}: hypervolume {ours:.0f} <= random's {bar:.0f}"


def evaluated(space: Any, genomes: list[Any], first: int,
              objectives: tuple[str, ...] = ("error", "params")) -> list[TrialResult]:
    """Complete results of ``genomes`` from the toy space's analytic metrics (no engine)."""
    out = []
    for i, genome in enumerate(genomes):
        metrics = {**space.cheap_metrics(genome), **space.evaluate(genome)}
        out.append(TrialResult(first + i, genome, "complete",
                               {n: metrics[n] for n in objectives}, 0.0, metrics))
    return out
