"""Time of one ``bo`` ask at 100, 300 and 500 observations, on a toy-like integer space.

The space is toy_int's shape (nine widths in 1..8, objectives error and params, computed in
microseconds; ``int_bounds`` given, so bo's coordinate search applies), defined here so the script needs nothing from tests/. For each size the
strategy is told that many random genomes, then asked for one genome ``--repeats`` times
(each ask refits the surrogate and scores every candidate); the median is printed. The
target from the issue: at most 1 s at 500 observations on 2 CPU cores.

Two asks are timed at each size, in the same run: a plain one (the baseline: surrogate
reports off) and one that also cross-validates the surrogate for its quality report (what
every ``surrogate_report_every``-th ask costs); the ratio is printed beside them.

    python benchmarks/bo_ask_time.py                       # gp (bo's default) and xgboost
    python benchmarks/bo_ask_time.py --surrogates lightgbm
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from nasplat.objective import ObjectiveSpec
from nasplat.plugins.strategies.bo import BayesianOptimisation
from nasplat.space import Genome, SearchSpace
from nasplat.strategy import TrialResult

TARGET_SECONDS = 1.0


class Widths(SearchSpace):
    """Nine layer widths in 1..8; error is the squared distance to all-3s, params an MLP's."""

    name = "bench_widths"
    kind = "int_vector"
    task = "benchmark"

    def sample(self, rng: np.random.Generator) -> Genome:
        return [int(x) for x in rng.integers(1, 9, 9)]

    def mutate(self, genome: Genome, rng: np.random.Generator) -> Genome:
        child = list(genome)
        child[int(rng.integers(9))] = int(rng.integers(1, 9))
        return child

    def crossover(self, a: Genome, b: Genome, rng: np.random.Generator) -> Genome:
        return [int(x if t else y) for x, y, t in zip(a, b, rng.random(9) < 0.5, strict=True)]

    def validate(self, genome: Genome) -> None:
        pass

    def int_bounds(self) -> list[tuple[int, int]]:
        return [(1, 8)] * 9

    def encode(self, genome: Genome) -> np.ndarray:
        return np.asarray(genome, dtype=float)

    def cheap_metrics(self, genome: Genome) -> dict[str, float]:
        widths = [4, *(2 * g for g in genome), 3]
        return {"params": float(sum(a * b + b for a, b in zip(widths, widths[1:])))}

    def values(self, genome: Genome) -> dict[str, float]:
        """Both objectives of ``genome``."""
        return {"error": float(sum((g - 3) ** 2 for g in genome)), **self.cheap_metrics(genome)}


def ask_seconds(surrogate: str, observations: int, repeats: int, report: bool,
                local_search: str = "auto") -> float:
    """Median seconds of ``ask(1)`` after ``observations`` random results were told; with
    ``report``, every timed ask also cross-validates the surrogate (default folds)."""
    space = Widths()
    rng = np.random.default_rng(0)
    strategy = BayesianOptimisation(space, [ObjectiveSpec("error", "min"),
                                            ObjectiveSpec("params", "min")],
                                    seed=0, surrogate=surrogate, local_search=local_search,
                                    surrogate_report_every=1 if report else 0)
    results = []
    for number in range(observations):
        genome = space.sample(rng)
        results.append(TrialResult(number, genome, "complete", space.values(genome)))
    strategy.tell(results)
    told = strategy.state_dict()  # reloaded before each ask: each one is due for a report
    times = []
    for _ in range(repeats):
        strategy.load_state_dict(told)
        start = time.perf_counter()
        strategy.ask(1)
        times.append(time.perf_counter() - start)
        assert len(strategy.surrogate_reports()) == (2 if report else 0)
    return statistics.median(times)


def verdict(seconds: float) -> str:
    """Whether ``seconds`` meets the target."""
    return "ok" if seconds <= TARGET_SECONDS else f"over the {TARGET_SECONDS:g} s target"


def main() -> None:
    """Print the ask time per number of observations."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--surrogates", default="gp,xgboost",
                        help="comma-separated, each timed in this run [%(default)s]")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--local-search", default="coordinate,mutants",
                        help="bo's local_search modes to time, comma-separated [%(default)s]")
    args = parser.parse_args()
    for surrogate, mode in [(s.strip(), m.strip()) for s in args.surrogates.split(",")
                            for m in args.local_search.split(",") if s.strip() and m.strip()]:
        print(f"bo ask(1) with surrogate '{surrogate}', local_search '{mode}', median of "
              f"{args.repeats}; plain, and with a surrogate report (5-fold CV)")
        for n in (100, 300, 500):
            plain = ask_seconds(surrogate, n, args.repeats, report=False, local_search=mode)
            reporting = ask_seconds(surrogate, n, args.repeats, report=True, local_search=mode)
            print(f"  {n:>4} observations: {plain:6.3f} s plain ({verdict(plain)}), "
                  f"{reporting:6.3f} s reporting ({verdict(reporting)}; "
                  f"{reporting / plain:4.2f}x)")


if __name__ == "__main__":
    main()
