"""``nasplat ensemble STUDY``: ensembles of a dense_prune study's Pareto members."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from nasplat.cli._options import storage_option
from nasplat.errors import ConfigError
from nasplat.study import load_study

if TYPE_CHECKING:
    from nasplat.spaces.dense_prune.ensemble import EnsembleResult
    from nasplat.study import Study


@click.command("ensemble")
@click.argument("study")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for ensembles.json and ensembles.png (default: STUDY-ensembles/).")
@storage_option
def ensemble_command(study: str, out_dir: str | None, storage: str) -> None:
    """Ensembles of the Pareto members of dense_prune study STUDY (all of them, and quantile
    groups by validation accuracy and by OoD AUROC): accuracy and AUROC of each beside its best
    member, stored as study STUDY.ensembles (one trial per ensemble) and drawn as a PNG."""
    from nasplat.config import validate_config
    from nasplat.problem import resolve
    from nasplat.spaces.dense_prune import ensemble
    from nasplat.spaces.dense_prune.evaluator import Candidate, DensePruneEvaluator

    handle = load_study(study, storage)
    if handle.row.space != "dense_prune":
        raise ConfigError(f"study '{study}' searched space '{handle.row.space}': "
                          f"`nasplat ensemble` needs a dense_prune study")
    front = handle.pareto_front()
    if not front:
        raise ConfigError(f"study '{study}' has no complete trial yet: run it first")
    config = validate_config(handle.config, f"study {study}")
    problem = resolve(config)
    evaluator = DensePruneEvaluator(problem.space, config,
                                    log=lambda m: click.echo(m, err=True))
    if "ood" not in evaluator.splits:
        raise ConfigError(f"study '{study}' has no OoD set, so no AUROC: give its dataset one")
    space = problem.space
    numbers = [t.number for t in front]
    # the heads are trained again, at once, with the study's settings and each trial's seed:
    # the same heads the search evaluated, without keeping every head's outputs in the store
    batch = [Candidate(space.from_json(t.genome), t.seed) for t in front]
    logits, _ = evaluator.logits(batch)
    labels = evaluator.features()["test"].labels
    temperature = evaluator.odin.get("test", 1000.0)
    val = [t.metrics.get("val_accuracy", float("nan")) for t in front]
    area = [t.metrics.get("ood_auroc", float("nan")) for t in front]
    further = {split: logits[split] for split in evaluator.extra_ood}  # ood2 ...
    results = ensemble.evaluate_groups(ensemble.groups(numbers, val, area), numbers,
                                       logits["test"], logits["ood"], labels, temperature,
                                       further)
    folder = Path(out_dir or f"{study}-ensembles").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    summary = folder / "ensembles.json"
    summary.write_text(json.dumps({"study": study, "temperature": temperature,
                                   "ensembles": [r.as_dict() for r in results]}, indent=2))
    figure = folder / "ensembles.png"
    ensemble.plot(results, str(figure), f"{study}: Pareto ensembles vs best member")
    name = store_results(handle, results, temperature, {"json": str(summary),
                                                         "plot": str(figure)})
    click.echo(f"{'ensemble':<14}{'members':>8}{'accuracy':>10}{'best':>8}{'AUROC':>8}"
               f"{'best':>8}  beats both" + "".join(f"{s + ' AUROC':>13}{'best':>8}"
                                                    for s in further))
    for r in results:
        click.echo(f"{r.group:<14}{len(r.members):>8}{r.accuracy:>10.4f}"
                   f"{r.best_member_accuracy:>8.4f}{r.auroc:>8.4f}{r.best_member_auroc:>8.4f}"
                   f"  {'yes' if r.beats_best_member else 'no':<10}"
                   + "".join(f"{a:>13.4f}{b:>8.4f}" for a, b in r.further.values()))
    click.echo(f"stored as study '{name}'; {summary}, {figure}", file=sys.stderr)


def store_results(handle: Study, results: list[EnsembleResult], temperature: float,
                  artifacts: dict[str, str]) -> str:
    """Each ensemble as a complete trial of study ``<STUDY>.ensembles`` (created on first use),
    so ``nasplat trials`` and ``nasplat query`` read them like any trial."""
    from nasplat.derived import DerivedTrial, store_derived

    trials = []
    for r in results:
        metrics = {k: float(v) for k, v in r.as_dict().items() if k not in ("group", "members")}
        metrics["members"] = float(len(r.members))
        trials.append(DerivedTrial({"group": r.group, "members": r.members}, metrics,
                                   artifacts=artifacts))
    name, _ = store_derived(
        handle, "ensembles", "ensemble", {"temperature": temperature},
        [{"name": "accuracy", "direction": "max"}, {"name": "auroc", "direction": "max"}],
        trials)
    return name
