"""Per-trial overhead of nasplat's ask + tell + store, beside Optuna's RDBStorage on SQLite.

Both run random search on the same analytic space (nine integers in 1..8, two objectives
computed in microseconds), so the wall time of a whole run divided by its trials is the cost of
proposing, recording and committing a trial. Each run gets a fresh SQLite file in a temporary
folder; nasplat's store is in its default configuration (WAL). The target is at most 5 ms per
trial and flat in n: 10k trials may cost at most 1.5 times as much per trial as 1k.

    python benchmarks/store_overhead.py            # 1,000 and 10,000 trials
    python benchmarks/store_overhead.py --quick    # 200 and 1,000 trials, for a smoke test

Needs Optuna (``pip install -e ".[bench]"``); without it the script says so and exits 2.
Optuna's SQLite store keeps its defaults (a rollback journal, synced at every commit), so the
ratio compares the two as each is used out of the box.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from nasplat import hookimpl, registry, run_study
from nasplat.objective import MetricObjective
from nasplat.space import Genome, SearchSpace, check

TARGET_MS = 5.0
FLATNESS_LIMIT = 1.5
LENGTH, LOW, HIGH = 9, 1, 8


def error(genome: Genome) -> float:
    """Squared distance from the all-3 genome: the analytic stand-in for a validation error."""
    return float(sum((g - 3) ** 2 for g in genome))


def params(genome: Genome) -> float:
    """Parameters of an MLP 4 -> 2*g_1 -> ... -> 2*g_9 -> 3 (a cheap metric, known unbuilt)."""
    widths = [4, *(2 * g for g in genome), 3]
    return float(sum(a * b + b for a, b in zip(widths, widths[1:])))


class BenchIntVector(SearchSpace):
    """Nine integers in 1..8 with analytic objectives: no model, no training."""

    name = "bench_int"
    kind = "int_vector"
    task = "benchmark"
    default_objectives = ("error", "params")

    def sample(self, rng: np.random.Generator) -> Genome:
        return [int(x) for x in rng.integers(LOW, HIGH + 1, LENGTH)]

    def mutate(self, genome: Genome, rng: np.random.Generator) -> Genome:
        child = list(genome)
        child[int(rng.integers(LENGTH))] = int(rng.integers(LOW, HIGH + 1))
        return child

    def crossover(self, a: Genome, b: Genome, rng: np.random.Generator) -> Genome:
        return [int(x if t else y) for x, y, t in zip(a, b, rng.random(LENGTH) < 0.5)]

    def validate(self, genome: Genome) -> None:
        check(isinstance(genome, list) and len(genome) == LENGTH
              and all(isinstance(g, int) and LOW <= g <= HIGH for g in genome),
              f"genome must be a list of {LENGTH} integers in {LOW}..{HIGH}, got {genome!r}")

    def cardinality(self) -> float:
        return float((HIGH - LOW + 1) ** LENGTH)

    def encode(self, genome: Genome) -> np.ndarray:
        return np.asarray(genome, dtype=float)

    def cheap_metrics(self, genome: Genome) -> dict[str, float]:
        return {"params": params(genome)}

    def evaluate(self, genome: Genome) -> dict[str, float]:
        return {"error": error(genome)}

    def objectives(self) -> list[MetricObjective]:
        return [MetricObjective("error", "min"), MetricObjective("params", "min", cheap=True)]


class BenchPlugin:
    """Registers the benchmark space, as a plugin would."""

    @hookimpl
    def nasplat_register_spaces(self, register: Any) -> None:
        register(BenchIntVector)


def nasplat_run(n: int, folder: Path) -> float:
    """Seconds for a nasplat study of ``n`` random-search trials in a fresh store."""
    config = {"study": "bench", "space": "bench_int", "strategy": "random",
              "budget": {"trials": n}, "seed": 0,
              "storage": f"sqlite:///{folder / f'nasplat-{n}.db'}"}
    start = time.perf_counter()
    summary = run_study(config)
    seconds = time.perf_counter() - start
    done = sum(summary.counts.values())
    if done != n:
        raise SystemExit(f"nasplat ran {done} trials instead of {n} ({summary.reason})")
    return seconds


def optuna_run(n: int, folder: Path) -> float:
    """Seconds for an Optuna study of ``n`` random-sampler trials on RDBStorage (SQLite)."""
    import optuna

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        genome = [trial.suggest_int(f"g{i}", LOW, HIGH) for i in range(LENGTH)]
        return error(genome), params(genome)

    start = time.perf_counter()
    storage = optuna.storages.RDBStorage(f"sqlite:///{folder / f'optuna-{n}.db'}")
    study = optuna.create_study(storage=storage, directions=["minimize", "minimize"],
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=n)
    seconds = time.perf_counter() - start
    storage.engine.dispose()
    return seconds


def per_trial_ms(run: Callable[[int, Path], float], n: int) -> float:
    """Milliseconds per trial of one run of ``n`` trials, in its own temporary folder."""
    with tempfile.TemporaryDirectory(prefix="nasplat-bench-") as folder:
        return 1000 * run(n, Path(folder)) / n


def main(argv: list[str] | None = None) -> int:
    """Run both systems at two sizes and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 and 1,000 trials (smoke test)")
    args = parser.parse_args(argv)
    try:
        import optuna
    except ImportError:
        print("store_overhead compares against Optuna, which is not installed: "
              "pip install -e '.[bench]'  (or: pip install 'optuna>=4')", file=sys.stderr)
        return 2
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    registry.get().add(BenchPlugin(), "bench")

    sizes = (200, 1000) if args.quick else (1000, 10_000)
    for run in (nasplat_run, optuna_run):  # once per process (imports, plugins): not per run
        per_trial_ms(run, 20)
    print(f"ask + tell + store per trial: random search on {BenchIntVector.name}, a fresh SQLite "
          f"file per run (nasplat: its default WAL store; optuna {optuna.__version__}: "
          f"RDBStorage defaults)")
    print(f"{'n':>7}  {'nasplat ms/trial':>16}  {'optuna ms/trial':>15}  {'ratio':>6}")
    ours = []
    for n in sizes:
        nasplat_ms = per_trial_ms(nasplat_run, n)
        optuna_ms = per_trial_ms(optuna_run, n)
        ours.append(nasplat_ms)
        print(f"{n:>7}  {nasplat_ms:>16.2f}  {optuna_ms:>15.2f}  {nasplat_ms / optuna_ms:>6.2f}",
              flush=True)
    flatness = ours[-1] / ours[0]
    met = max(ours) <= TARGET_MS and flatness <= FLATNESS_LIMIT
    print(f"flatness {sizes[-1]}/{sizes[0]}: {flatness:.2f}   target: nasplat <= {TARGET_MS:g} "
          f"ms/trial, flatness <= {FLATNESS_LIMIT:g}: {'met' if met else 'MISSED'}")
    if hasattr(os, "getloadavg"):  # wall times include waiting for a core on a busy machine
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
