"""Hypervolume of nasplat's strategies beside Optuna's samplers on the benchmark problems.

Runs ``nasplat.compare`` on zdt1_int, zdt2_int and dtlz2_int (10 seeds, 200 evaluations) and
prints, per problem, each strategy's mean hypervolume after 50, 100 and 200 evaluations (read
off the same runs: none of the strategies compared here plans by its budget), ``bo`` first.
The store is kept in --out, so an interrupted run resumes where it stopped.

    python benchmarks/strategy_hv.py                      # the full grid (optuna:gp takes hours)
    python benchmarks/strategy_hv.py --quick              # 2 seeds, 20 evaluations, smoke test
    python benchmarks/strategy_hv.py --strategies bo,optuna:tpe
    python benchmarks/strategy_hv.py --seeds 3 --budget 100   # a reduced plan (25/50/100)

Needs Optuna (``pip install -e ".[optuna]"``); strategies that are not installed are skipped
with a note.

BLAS and OpenMP run on one thread here unless the environment says otherwise: on a busy
2-core machine their spinning threads made one optuna:gp ask 40-140 s instead of 6-30 s.
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")  # before numpy, scipy and torch load

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from nasplat import registry  # noqa: E402
from nasplat.compare import GridProgress, compare, render  # noqa: E402

PROBLEMS = ("zdt1_int", "zdt2_int", "dtlz2_int")
STRATEGIES = ("bo", "optuna:tpe", "optuna:nsga2", "optuna:gp", "optuna:random", "nsga2",
              "evolution", "random")
FULL = {"seeds": 10, "budget": 200, "checkpoints": (50, 100, 200)}
QUICK = {"seeds": 2, "budget": 20, "checkpoints": (5, 10, 20)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", default=",".join(STRATEGIES),
                        help="comma-separated strategies [%(default)s]")
    parser.add_argument("--problems", default=",".join(PROBLEMS), help="[%(default)s]")
    parser.add_argument("--quick", action="store_true", help="2 seeds x 20 evaluations")
    parser.add_argument("--seeds", type=int, help="seeds per strategy [10; --quick: 2]")
    parser.add_argument("--budget", type=int,
                        help="evaluations per run, HV read at 1/4, 1/2 and all of it "
                             "[200; --quick: 20]")
    parser.add_argument("--out", default="strategy_hv", help="folder of the store and the PNG")
    args = parser.parse_args()
    plan = dict(QUICK if args.quick else FULL)
    if args.seeds:
        plan["seeds"] = args.seeds
    if args.budget:
        budget = plan["budget"] = args.budget
        plan["checkpoints"] = tuple(sorted({max(1, budget // 4), max(1, budget // 2), budget}))
    console = Console(width=150)
    installed = registry.get().registry("strategies")
    wanted = [s.strip() for s in args.strategies.split(",") if s.strip()]
    strategies = [s for s in wanted if s in installed]
    for name in wanted:
        if name not in installed:
            console.print(f"note: strategy '{name}' is not installed here: skipped")
    if not strategies:
        console.print("no strategy to compare")
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "quick" if args.quick else "full"
    problems = [p.strip() for p in args.problems.split(",") if p.strip()]
    with GridProgress(len(problems) * len(strategies) * plan["seeds"]) as progress:
        result = compare(name, problems, strategies, plan["seeds"], plan["budget"],
                         f"sqlite:///{out / 'store.db'}", progress=progress)
    for summary in result.spaces:
        table = Table(title=f"{summary.space}: mean hypervolume over {plan['seeds']} seeds "
                            f"(reference point as below)")
        table.add_column("evaluations", justify="right")
        rows = sorted(summary.strategies, key=lambda r: (r.strategy != "bo", r.strategy))
        for row in rows:
            table.add_column(row.strategy, justify="right")
        for n in plan["checkpoints"]:
            table.add_row(str(n), *(f"{row.curves[:, n - 1].mean():.4g}" for row in rows))
        console.print(table)
        for part in render(summary):
            console.print(part)
    console.print(f"runs made {result.ran}, found finished {result.skipped}; "
                  f"curves: {result.plot(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
