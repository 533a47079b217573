"""``nasplat prune`` and ``nasplat routing``: a moe_mobilevit trial's experts, after search."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from nasplat.cli._options import storage_option
from nasplat.errors import ConfigError

if TYPE_CHECKING:
    from nasplat.study import Study


@dataclass
class LoadedTrial:
    """A trained trial of a moe_mobilevit study: its model, data and objectives."""

    model: Any
    genome: list[int]
    splits: dict[str, Any]
    """validation and test: :class:`~nasplat.dataset.Split` with attribute value names."""
    attributes: dict[str, dict[str, Any]]
    objectives: list[Any]
    study: Study
    """The study the trial belongs to."""


def load_trial(study: str, number: int, storage: str) -> LoadedTrial:
    """Rebuild trial ``number`` of ``study`` with its saved weights, and its study's data."""
    import numpy as np
    import torch

    from nasplat.config import validate_config
    from nasplat.problem import resolve
    from nasplat.store import queries
    from nasplat.study import load_study
    from nasplat.train.evaluator import open_dataset

    handle = load_study(study, storage)
    if handle.row.space != "moe_mobilevit":
        raise ConfigError(f"study '{study}' searched space '{handle.row.space}': this command "
                          f"needs a moe_mobilevit study")
    row = queries.trial_by_number(handle.store, handle.row.id, number)
    if row is None or row.status != "complete":
        done = [t.number for t in handle.trials(["complete"])]
        raise ConfigError(f"study '{study}' has no complete trial {number}: complete trials "
                          f"are {done or 'none'}")
    weights = queries.artifacts(handle.store, row.id).get("weights")
    if not weights or not Path(weights).is_file():
        raise ConfigError(f"trial {number} of study '{study}' kept no weights ({weights or 'none'}"
                          f"): run the study with trainer.keep_weights = all or pareto")
    problem = resolve(validate_config(handle.config, f"study {study}"))
    space = problem.space
    genome = space.from_json(json.loads(row.genome_json))
    model = space.build(genome)
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    dataset = open_dataset(space, problem.config)
    splits, attributes = {}, {}
    for name in ("validation", "test"):
        split = dataset.load(name)
        splits[name] = split
        attributes[name] = {k: np.asarray(dataset.attributes[k])[v]
                            for k, v in split.attributes.items() if k in dataset.attributes}
    return LoadedTrial(model, genome, splits, attributes, problem.objectives, handle)


def evaluate(loaded: LoadedTrial, model: Any) -> dict[str, float]:
    """Validation and test accuracy plus the study's objectives, for ``model``."""
    import torch

    from nasplat.evaluation import EvaluationRecord
    from nasplat.scores import accuracy
    from nasplat.train.batches import TensorBatches
    from nasplat.train.evaluate import evaluate_split

    record = EvaluationRecord()
    for name, split in loaded.splits.items():
        batches = TensorBatches(split, torch.device("cpu"), 2**40)
        record.splits[name] = evaluate_split(model, batches, batch_size=256,
                                             attributes=loaded.attributes[name])
    out = {"val_accuracy": accuracy(record.splits["validation"]),
           "test_accuracy": accuracy(record.splits["test"])}
    for objective in loaded.objectives:
        out[objective.name] = float(objective.compute(record))
    return out


@click.command("prune")
@click.argument("study")
@click.option("--trial", "number", type=int, required=True, help="Trial number to prune.")
@click.option("--max-drop", type=click.FloatRange(min=0.0), default=0.01, show_default=True,
              help="Largest validation-accuracy drop allowed (0.01 = 1 point).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Folder for pruning.json, pruning.png, pruned.pt (default STUDY-trialN-pruned).")
@storage_option
def prune_command(study: str, number: int, max_drop: float, out_dir: str | None,
                  storage: str) -> None:
    """Prune the least-used experts of a moe_mobilevit trial while accuracy holds; every
    iteration is stored as a trial of study STUDY.trialN.pruning."""
    import torch

    from nasplat.spaces.moe_mobilevit.pruning import plot_pruning, prune, store_steps
    from nasplat.spaces.moe_mobilevit.routing import expert_choices, expert_usage

    loaded = load_trial(study, number, storage)
    inputs = loaded.splits["validation"].inputs

    def usage_of(model: Any) -> list[Any]:
        return expert_usage(expert_choices(model, inputs), model.experts())

    steps, pruned = prune(loaded.model, lambda m: evaluate(loaded, m), usage_of, max_drop)
    folder = Path(out_dir or f"{study}-trial{number}-pruned").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pruning.json").write_text(json.dumps(
        {"study": study, "trial": number, "max_drop": max_drop,
         "steps": [s.as_json() for s in steps]}, indent=1))
    plot_pruning(steps, folder / "pruning.png")
    torch.save({"experts": pruned.experts(), "state_dict": pruned.state_dict()},
               folder / "pruned.pt")
    stored, numbers = store_steps(
        loaded.study, number, steps, max_drop,
        {"json": str(folder / "pruning.json"), "plot": str(folder / "pruning.png")},
        str(folder / "pruned.pt"))
    for s in steps:
        removed = "-" if s.removed is None else f"layer {s.removed[0]} expert {s.removed[1]}"
        click.echo(f"{s.iteration:>3} {removed:<20} params {s.params:>9,d}  "
                   f"val {s.metrics['val_accuracy']:.4f}  "
                   f"{'kept' if s.kept else 'rejected'}")
    click.echo(f"pruned {loaded.genome} -> {pruned.experts()}; files in {folder}")
    click.echo(f"stored as trials {numbers[0]}-{numbers[-1]} of study '{stored}'")


@click.command("routing")
@click.argument("study")
@click.option("--trial", "number", type=int, required=True, help="Trial number to analyse.")
@click.option("--split", type=click.Choice(["validation", "test"]), default="test",
              show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Folder for routing.csv and the plots (default STUDY-trialN-routing).")
@storage_option
def routing_command(study: str, number: int, split: str, out_dir: str | None,
                    storage: str) -> None:
    """Expert choices of a moe_mobilevit trial per layer, skin tone and lighting."""
    import csv

    from nasplat.spaces.moe_mobilevit import routing

    loaded = load_trial(study, number, storage)
    choices = routing.expert_choices(loaded.model, loaded.splits[split].inputs)
    experts = loaded.model.experts()
    attributes = loaded.attributes[split]
    folder = Path(out_dir or f"{study}-trial{number}-routing")
    folder.mkdir(parents=True, exist_ok=True)
    rows = routing.routing_rows(choices, experts, attributes)
    with open(folder / "routing.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for name, values in attributes.items():
        shares = routing.group_shares(choices, experts, values)
        routing.plot_paths(shares, name, folder / f"paths_{name}.png")
        routing.plot_heatmaps(shares, experts, name, folder / f"heatmap_{name}.png")
    usage = routing.expert_usage(choices, experts)
    for layer, u in enumerate(usage):
        shown = " ".join(f"{x:.2f}" for x in u)
        click.echo(f"layer {layer + 1} ({experts[layer]} experts): {shown}")
    for layer, expert, share in routing.collapsed_layers(choices, experts):
        click.echo(f"warning: router collapse in layer {layer + 1}: expert {expert} takes "
                   f"{share:.0%} of the tokens", err=True)
    click.echo(f"files in {folder}")
