"""Expert pruning: drop the least-used expert while validation accuracy holds (MoENAS)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from nasplat.spaces.moe_mobilevit.model import MoEMobileViT
from nasplat.train.cost import count_params

if TYPE_CHECKING:
    from nasplat.study import Study

Evaluate = Callable[[MoEMobileViT], dict[str, float]]
"""A model's metrics; must hold ``val_accuracy``, which decides whether a step is kept."""
Usage = Callable[[MoEMobileViT], list[np.ndarray]]
"""Per layer, the share of validation tokens each expert takes."""


@dataclass
class PruneStep:
    """One iteration: which expert went, the genome and size after, the metrics, kept or not."""

    iteration: int
    removed: tuple[int, int] | None
    """``(layer, expert)``, or None for the unpruned model."""
    usage: float | None
    """The removed expert's share of its layer's validation tokens."""
    experts: list[int]
    params: int
    metrics: dict[str, float] = field(default_factory=dict)
    kept: bool = True

    def as_json(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return asdict(self)


def least_used(usage: list[np.ndarray]) -> tuple[int, int, float] | None:
    """``(layer, expert, share)`` of the least-used expert of a layer with 2+ experts."""
    candidates = [(float(u[k]), layer, k) for layer, u in enumerate(usage) if len(u) > 1
                  for k in range(len(u))]
    if not candidates:
        return None
    share, layer, expert = min(candidates)
    return layer, expert, share


def prune(model: MoEMobileViT, evaluate: Evaluate, usage_of: Usage,
          max_drop: float = 0.01) -> tuple[list[PruneStep], MoEMobileViT]:
    """Remove least-used experts one at a time while validation accuracy drops ≤ ``max_drop``.

    Returns every step (the last one not kept when it dropped too much) and the smallest model
    within the threshold, its experts physically removed.
    """
    base = evaluate(model)
    steps = [PruneStep(0, None, None, model.experts(), count_params(model), base)]
    while (choice := least_used(usage_of(model))) is not None:
        layer, expert, share = choice
        candidate = copy.deepcopy(model)
        candidate.switch_ffns()[layer].remove_expert(expert)
        metrics = evaluate(candidate)
        kept = base["val_accuracy"] - metrics["val_accuracy"] <= max_drop
        steps.append(PruneStep(len(steps), (layer, expert), share, candidate.experts(),
                               count_params(candidate), metrics, kept))
        if not kept:
            break
        model = candidate
    return steps, model


def store_steps(source: Study, number: int, steps: list[PruneStep], max_drop: float,
                files: Mapping[str, str], pruned_file: str) -> tuple[str, list[int]]:
    """Every iteration as a trial of study ``<STUDY>.trial<N>.pruning`` (created on first use).

    A step kept is a complete trial, the rejected last step an infeasible one (its violation:
    how far its validation-accuracy drop exceeds ``max_drop``); each step's parent is the step
    it pruned. Metrics: ``run`` (1 for the first ``nasplat prune`` of the trial, then 2...),
    ``iteration``, ``params``, ``experts``, ``kept``, ``max_drop``, ``val_drop``, the removed
    ``removed_layer``, ``removed_expert``, ``removed_usage``, and every metric of the step
    (validation and test accuracy, the source study's objectives). ``files`` become every
    trial's artifacts; ``pruned_file`` the artifact ``pruned_model`` of the smallest kept model.
    Returns the study's name and the trials' numbers.
    """
    from nasplat.derived import DerivedTrial, store_derived
    from nasplat.store import queries

    suffix = f"trial{number}.pruning"
    directions = [{"name": "params", "direction": "min"},
                  {"name": "val_accuracy", "direction": "max"}]
    directions += [{"name": name, "direction": d} for name, d in source.directions
                   if name not in ("params", "val_accuracy")]
    existing = queries.find_study(source.store, f"{source.name}.{suffix}")
    runs = [m.get("run", 0.0) for m in queries.study_metrics(
        source.store, existing.id).values()] if existing and existing.id else []
    run = int(max(runs, default=0)) + 1
    base = steps[0].metrics["val_accuracy"]
    last_kept = max(s.iteration for s in steps if s.kept)
    results = []
    for step in steps:
        drop = base - step.metrics["val_accuracy"]
        metrics = {**step.metrics, "run": run, "iteration": step.iteration,
                   "params": step.params, "experts": sum(step.experts),
                   "kept": float(step.kept), "max_drop": max_drop, "val_drop": drop}
        if step.removed is not None:
            metrics.update(removed_layer=step.removed[0], removed_expert=step.removed[1],
                           removed_usage=step.usage or 0.0)
        artifacts = dict(files)
        if step.iteration == last_kept:
            artifacts["pruned_model"] = pruned_file
        results.append(DerivedTrial(
            {"experts": step.experts,
             "removed": None if step.removed is None else list(step.removed)},
            {k: float(v) for k, v in metrics.items()},
            "complete" if step.kept else "infeasible",
            None if step.kept else drop - max_drop,
            None if step.iteration == 0 else step.iteration - 1, artifacts))
    return store_derived(source, suffix, "prune", {"source_trial": number}, directions,
                         results)


def plot_pruning(steps: list[PruneStep], path: object) -> object:
    """Parameters against accuracy, fairness and robustness, one point per iteration."""
    from nasplat.plots._common import new_figure, save

    fig = new_figure(7, 5)
    top, bottom = fig.subplots(2, 1, sharex=True)
    params = [s.params / 1e6 for s in steps]
    for ax, names in ((top, ("val_accuracy", "test_accuracy", "robust_accuracy")),
                      (bottom, ("skin_fairness",))):  # fairness has its own scale (β = 0.2)
        for name in names:
            ax.plot(params, [s.metrics.get(name, np.nan) for s in steps], marker="o", label=name)
        for s, p in zip(steps, params, strict=True):
            if not s.kept:
                ax.axvline(p, color="grey", linestyle=":", label="rejected step")
        ax.legend(fontsize="small")
    bottom.invert_xaxis()  # pruning runs right to left: fewer parameters each step
    bottom.set_xlabel("parameters (M)")
    top.set_ylabel("accuracy")
    bottom.set_ylabel("fairness")
    top.set_title("expert pruning")
    return save(fig, path)
