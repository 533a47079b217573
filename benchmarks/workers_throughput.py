"""Toy-trial throughput with 1, 2 and 4 workers on SQLite and PostgreSQL, beside Optuna.

Both systems run random search on the same analytic problem (``zdt1_int``: ten integers, two
objectives computed in microseconds) with the same storage, in the same run, so a trial costs
what coordinating it costs: proposing, claiming, recording. nasplat runs ``nasplat run
--workers K``; Optuna runs K processes calling ``study.optimize`` on one RDBStorage study.
Throughput is trials per second between the first trial's start and the last one's end, read
from each store, so process start-up (imports) is left out of both.

Then nasplat's overhead per trial on PostgreSQL at 1,000 and 10,000 trials in one process,
from the first trial's start to the last one's end as for the throughput (the whole call, with
its fixed start-up, is printed too). Target: <= 5 ms per trial and flat: 10k may cost at most
1.5x as much per trial as 1k.

    python benchmarks/workers_throughput.py --postgres postgresql://user@host/db
    python benchmarks/workers_throughput.py --quick     # fewer trials, a smoke test

The PostgreSQL URL may also come from NASPLAT_TEST_POSTGRES; the user must be allowed to
create databases (one fresh database per run, dropped after). Without one, SQLite alone.
Needs Optuna and psycopg (``pip install -e ".[bench,postgres]"``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, text

from nasplat.store.scratch import scratch_database

TARGET_MS = 5.0
FLATNESS_LIMIT = 1.5
SPACE = "zdt1_int"

OPTUNA_WORKER = """
import sys
import optuna
from nasplat.spaces.benchmarks.problems import ZDT1Int
optuna.logging.set_verbosity(optuna.logging.WARNING)
space = ZDT1Int()
def objective(trial):
    genome = [trial.suggest_int(f"g{i}", 0, space.levels - 1) for i in range(space.n_var)]
    values = space.evaluate(genome)
    return values["f1"], values["f2"]
study = optuna.load_study(study_name="bench", storage=sys.argv[1],
                          sampler=optuna.samplers.RandomSampler())
study.optimize(objective, n_trials=int(sys.argv[2]))
"""


@contextmanager
def fresh_store(backend: str, postgres: str | None, folder: Path) -> Iterator[str]:
    """The URL of a new, empty database: a SQLite file, or a PostgreSQL database dropped after."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'{uuid.uuid4().hex[:8]}.db'}"
        return
    assert postgres is not None
    with scratch_database(postgres, "nasplat_bench") as url:
        yield url


def span_rate(url: str, sql: str) -> tuple[int, float]:
    """(trials, trials per second) from the first start to the last finish a query returns."""
    engine = create_engine(url)
    with engine.connect() as connection:
        n, first, last = connection.execute(text(sql)).one()
    engine.dispose()
    first, last = (datetime.fromisoformat(v) if isinstance(v, str) else v for v in (first, last))
    return int(n), int(n) / max((last - first).total_seconds(), 1e-9)


def nasplat_rate(url: str, trials: int, workers: int) -> float:
    """Trials per second of ``nasplat run --workers``."""
    subprocess.run([sys.executable, "-m", "nasplat", "run", "--space", SPACE, "--strategy",
                    "random", "--budget", str(trials), "--workers", str(workers), "--study",
                    "bench", "--storage", url, "--quiet"], check=True, stdout=subprocess.DEVNULL)
    n, rate = span_rate(url, "SELECT count(*), min(started_at), max(finished_at) FROM trials "
                             "WHERE status = 'complete'")
    if n != trials:
        raise SystemExit(f"nasplat completed {n} trials instead of {trials}")
    return rate


def optuna_rate(url: str, trials: int, workers: int) -> float:
    """Trials per second of ``workers`` Optuna processes sharing one RDBStorage study."""
    import optuna

    optuna.create_study(study_name="bench", storage=url, directions=["minimize", "minimize"])
    share = [trials // workers + (i < trials % workers) for i in range(workers)]
    processes = [subprocess.Popen([sys.executable, "-c", OPTUNA_WORKER, url, str(n)])
                 for n in share]
    if any(p.wait() != 0 for p in processes):
        raise SystemExit("an Optuna worker failed")
    n, rate = span_rate(url, "SELECT count(*), min(datetime_start), max(datetime_complete) "
                             "FROM trials WHERE state = 'COMPLETE'")
    if n != trials:
        raise SystemExit(f"optuna completed {n} trials instead of {trials}")
    return rate


def overhead_ms(url: str, trials: int) -> tuple[float, float]:
    """Milliseconds per trial of one in-process nasplat study of ``trials`` trials: from the
    first trial's start to the last one's end, and of the whole call (with opening the store
    and loading the plugins, a fixed cost spread over the trials)."""
    from nasplat import run_study

    start = time.perf_counter()
    summary = run_study({"study": "bench", "space": SPACE, "strategy": "random",
                         "budget": {"trials": trials}, "seed": 0, "storage": url})
    seconds = time.perf_counter() - start
    if sum(summary.counts.values()) != trials:
        raise SystemExit(f"nasplat ran {summary.counts} instead of {trials} ({summary.reason})")
    _, rate = span_rate(url, "SELECT count(*), min(started_at), max(finished_at) FROM trials "
                             "WHERE status = 'complete'")
    return 1000 / rate, 1000 * seconds / trials


def main(argv: list[str] | None = None) -> int:
    """Measure and print both tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("NASPLAT_TEST_POSTGRES"),
                        help="PostgreSQL server URL (a user that may create databases)")
    parser.add_argument("--trials", type=int, default=400, help="trials per throughput run")
    parser.add_argument("--quick", action="store_true", help="100 trials; overhead at 200/1,000")
    args = parser.parse_args(argv)
    try:
        import optuna
    except ImportError:
        print("workers_throughput compares against Optuna, which is not installed: "
              "pip install -e '.[bench]'", file=sys.stderr)
        return 2
    trials = 100 if args.quick else args.trials
    backends = ["sqlite"] + (["postgresql"] if args.postgres else [])
    if not args.postgres:
        print("no PostgreSQL: pass --postgres URL (or set NASPLAT_TEST_POSTGRES) to measure it")
    print(f"throughput, trials/s: random search on {SPACE}, {trials} trials per run, "
          f"optuna {optuna.__version__} with the same storage")
    print(f"{'backend':<11} {'workers':>7} {'nasplat':>9} {'optuna':>9} {'ratio':>6}")
    with tempfile.TemporaryDirectory(prefix="nasplat-bench-") as tmp:
        folder = Path(tmp)
        for backend in backends:
            for workers in (1, 2, 4):
                with fresh_store(backend, args.postgres, folder) as url:
                    ours = nasplat_rate(url, trials, workers)
                with fresh_store(backend, args.postgres, folder) as url:
                    theirs = optuna_rate(url, trials, workers)
                print(f"{backend:<11} {workers:>7} {ours:>9.1f} {theirs:>9.1f} "
                      f"{ours / theirs:>6.2f}", flush=True)
        if args.postgres:
            sizes = (200, 1000) if args.quick else (1000, 10_000)
            per_trial, whole = [], []
            for n in sizes:
                with fresh_store("postgresql", args.postgres, folder) as url:
                    steady, total = overhead_ms(url, n)
                per_trial.append(steady)
                whole.append(total)
            flatness = per_trial[-1] / per_trial[0]
            met = max(per_trial) <= TARGET_MS and flatness <= FLATNESS_LIMIT
            print("overhead per trial on PostgreSQL, one process, first start to last end: "
                  + ", ".join(f"{n}: {ms:.2f} ms" for n, ms in zip(sizes, per_trial))
                  + f"; flatness {flatness:.2f}; target <= {TARGET_MS:g} ms and flatness <= "
                  f"{FLATNESS_LIMIT:g}: {'met' if met else 'MISSED'}")
            print("  with opening the store and loading the plugins, per trial: "
                  + ", ".join(f"{n}: {ms:.2f} ms" for n, ms in zip(sizes, whole)))
    if hasattr(os, "getloadavg"):
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
