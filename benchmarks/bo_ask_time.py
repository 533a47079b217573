"""Time of one ``bo`` ask at 100, 300 and 500 observations, on a toy-like integer space.

The space is toy_int's shape (nine widths in 1..8, objectives error and params, computed in
microseconds), defined here so the script needs nothing from tests/. For each size the
strategy is told that many random genomes, then asked for one genome ``--repeats`` times
(each ask refits the surrogate and scores every candidate); the median is printed. The
target from the issue: at most 1 s at 500 observations on 2 CPU cores.

    python benchmarks/bo_ask_time.py                       # xgboost, the default surrogate
    python benchmarks/bo_ask_time.py --surrogate lightgbm
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

    def encode(self, genome: Genome) -> np.ndarray:
        return np.asarray(genome, dtype=float)

    def cheap_metrics(self, genome: Genome) -> dict[str, float]:
        widths = [4, *(2 * g for g in genome), 3]
        return {"params": float(sum(a * b + b for a, b in zip(widths, widths[1:])))}

    def values(self, genome: Genome) -> dict[str, float]:
        """Both objectives of ``genome``."""
        return {"error": float(sum((g - 3) ** 2 for g in genome)), **self.cheap_metrics(genome)}


def ask_seconds(surrogate: str, observations: int, repeats: int) -> float:
    """Median seconds of ``ask(1)`` after ``observations`` random results were told."""
    space = Widths()
    rng = np.random.default_rng(0)
    strategy = BayesianOptimisation(space, [ObjectiveSpec("error", "min"),
                                            ObjectiveSpec("params", "min")],
                                    seed=0, surrogate=surrogate)
    results = []
    for number in range(observations):
        genome = space.sample(rng)
        results.append(TrialResult(number, genome, "complete", space.values(genome)))
    strategy.tell(results)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        strategy.ask(1)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Print the ask time per number of observations."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--surrogate", default="xgboost")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"bo ask(1) with surrogate '{args.surrogate}', median of {args.repeats}")
    for n in (100, 300, 500):
        seconds = ask_seconds(args.surrogate, n, args.repeats)
        verdict = "ok" if seconds <= TARGET_SECONDS else f"over the {TARGET_SECONDS:g} s target"
        print(f"  {n:>4} observations: {seconds:6.3f} s  {verdict}")


if __name__ == "__main__":
    main()
