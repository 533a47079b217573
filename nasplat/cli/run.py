"""``nasplat run``: start a study, or resume one with ``--study NAME``."""

from __future__ import annotations

import json
import re
from contextlib import nullcontext
from typing import Any

import click

from nasplat.cli._options import storage_option
from nasplat.cli.studies import print_pareto
from nasplat.config import load_config_file, normalise, parse_value, set_path, validate_config
from nasplat.errors import ConfigError
from nasplat.progress import RichProgress
from nasplat.store import Store, queries
from nasplat.study import Study, prepare
from nasplat.workers import WorkerPool

_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(<=|>=)\s*([-+0-9.eE]+)\s*$")


@click.command("run")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Study config file (.toml or .yaml); flags override it.")
@click.option("--space", help="Search space name (see `nasplat spaces`).")
@click.option("--strategy", help="Strategy name (default: random).")
@click.option("--budget", type=int, help="Number of trials (total, across resumes).")
@click.option("--seconds", type=float, help="Run-time budget in seconds (total).")
@click.option("--seed", type=int, help="Random seed of the study.")
@click.option("--study", help="Study name; an existing study of that name is resumed.")
@click.option("--dataset", help="Dataset name (default: the space's).")
@click.option("--objective", "objectives", multiple=True,
              help="Objective NAME or NAME:min / NAME:max; repeat for several.")
@click.option("--constraint", "constraints", multiple=True,
              help="Constraint such as 'params<=3e6' or 'params>=1e6'; repeat for several.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="Any config value, e.g. --set space.options.width=0.75 --set trainer.epochs=3")
@click.option("--executor", help="Where trials run: local (default), ray, or a plugin's.")
@click.option("--ray-address", help="Address of a running Ray cluster for --executor ray "
                                    "('auto' inside one); without it Ray starts locally.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes evaluating trials at once (one GPU each where there are "
                   "several).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@storage_option
def run_command(config_path: str | None, space: str | None, strategy: str | None,
                budget: int | None, seconds: float | None, seed: int | None, study: str | None,
                dataset: str | None, objectives: tuple[str, ...], constraints: tuple[str, ...],
                assignments: tuple[str, ...], executor: str | None, ray_address: str | None,
                workers: int, quiet: bool, storage: str) -> None:
    """Search a space, storing every trial; print the Pareto front at the end."""
    data = normalise(load_config_file(config_path)) if config_path else {}
    stored = _stored_config(study, storage) if study else None
    if stored is not None:
        data = {**stored, **{k: v for k, v in data.items() if k == "budget"}}
    source = config_path or "command line"
    for key, value in {"seed": seed, "study": study, "storage": storage}.items():
        if value is not None:
            data[key] = value
    for key, name in {"space": space, "strategy": strategy, "dataset": dataset,
                      "executor": executor}.items():
        if name is not None:
            data[key] = _choose(data.get(key), name)
    if ray_address is not None:
        chosen = data.get("executor")
        if (chosen if isinstance(chosen, str) else (chosen or {}).get("name")) != "ray":
            raise ConfigError("--ray-address is an option of the ray executor: add "
                              "--executor ray")
        data["executor"] = _choose(chosen, "ray")
        set_path(data, "executor.options.address", ray_address)
    if budget is not None:
        set_path(data, "budget.trials", budget)
    if seconds is not None:
        set_path(data, "budget.seconds", seconds)
    if objectives:
        data["objectives"] = [_objective(text) for text in objectives]
    for text in constraints:
        name, bound = _constraint(text)
        data.setdefault("constraints", {}).setdefault(name, {}).update(bound)
    for text in assignments:
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {text!r}: write KEY=VALUE, e.g. --set trainer.epochs=3")
        set_path(data, key.strip(), parse_value(value))
    if "space" not in data:
        raise ConfigError("no search space given: pass --space NAME (`nasplat spaces` lists "
                          "them), --config FILE, or --study NAME of a study to resume")
    config = validate_config(data, source)
    with (nullcontext() if quiet else RichProgress()) as progress:
        engine = prepare(config, listener=progress)
        if workers > 1:
            pool = WorkerPool(engine.store, engine.study, workers, listener=progress,
                              budget=engine.config.budget.trials,
                              max_attempts=engine.config.max_attempts)
            summary = pool.run()
        else:
            if progress is not None and hasattr(engine.evaluator, "progress"):
                from nasplat.train import RichTrainingProgress  # a bar per trial, nested

                engine.evaluator.progress = RichTrainingProgress(progress.progress)
            summary = engine.run()
    counts = ", ".join(f"{n} {k}" for k, n in summary.counts.items() if n) or "no trials"
    click.echo(f"study '{summary.study.name}': {summary.reason} ({counts}) in "
               f"{summary.seconds:.1f} s; store {config.storage}")
    print_pareto(Study(engine.store, summary.study), "table")


def _choose(current: Any, name: str) -> dict[str, Any]:
    """A plugin choice for ``name``, keeping the configured options when the name is the same."""
    if isinstance(current, str):
        current = {"name": current}
    if isinstance(current, dict) and current.get("name") == name:
        return current
    return {"name": name}


def _stored_config(name: str, storage: str) -> dict[str, Any] | None:
    try:
        store = Store(storage)
    except Exception:
        return None
    row = queries.find_study(store, name)
    return json.loads(row.config_json) if row else None


def _objective(text: str) -> dict[str, str]:
    name, _, direction = text.partition(":")
    if direction and direction not in ("min", "max"):
        raise ConfigError(f"--objective {text!r}: the direction must be min or max, "
                          f"e.g. --objective params:min")
    return {"name": name, "direction": direction} if direction else {"name": name}


def _constraint(text: str) -> tuple[str, dict[str, float]]:
    match = _CONSTRAINT.match(text)
    if not match:
        raise ConfigError(f"--constraint {text!r}: write NAME<=VALUE or NAME>=VALUE, "
                          f"e.g. --constraint 'params<=3e6'")
    name, op, value = match.groups()
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"--constraint {text!r}: {value!r} is not a number") from None
    return name, ({"max": number} if op == "<=" else {"min": number})
