"""A tiny search through the command line, trained by the shared trainer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from nasplat import load_study
from nasplat.cli import cli

TINY = ["--dataset", "synthetic_person",
        "--set", "space.options.image_size=16",
        "--set", "dataset.options.train=64", "--set", "dataset.options.validation=40",
        "--set", "dataset.options.test=40", "--set", "dataset.options.ood=2",
        "--set", "trainer.steps=2", "--set", "trainer.batch_size=16",
        "--set", "trainer.device=cpu"]


def test_tiny_search_through_the_cli(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'moe.db'}"
    result = CliRunner().invoke(cli, ["run", "--space", "moe_mobilevit", "--strategy", "random",
                                      "--budget", "2", "--study", "tiny", "--storage", storage,
                                      "--quiet", *TINY])
    assert result.exit_code == 0, result.output
    study = load_study("tiny", storage)
    trials = study.trials()
    assert [t.status for t in trials] == ["complete", "complete"], [t.error for t in trials]
    for trial in trials:
        assert set(trial.values) == {"test_accuracy", "skin_fairness", "robust_accuracy",
                                     "overfitting"}
        assert 0 <= trial.values["robust_accuracy"] <= 1
    # the space's defaults landed in the stored config, under what the command line set
    assert study.config["trainer"]["steps"] == 2
    assert study.config["trainer"]["lr"] == 2e-3
    assert study.config["dataset"]["options"]["image_size"] == 16


def test_prune_and_routing_commands(tmp_path: Path) -> None:
    import torch

    from nasplat.spaces.moe_mobilevit.model import MoEMobileViT, param_count

    storage = f"sqlite:///{tmp_path / 'moe.db'}"
    runner = CliRunner()
    result = runner.invoke(cli, ["run", "--space", "moe_mobilevit", "--budget", "1", "--study",
                                 "p", "--storage", storage, "--quiet", *TINY])
    assert result.exit_code == 0, result.output
    (trial,) = load_study("p", storage).trials()
    out = tmp_path / "pruned"
    # max drop 1.0: every step is kept, down to the dense model
    result = runner.invoke(cli, ["prune", "p", "--trial", str(trial.number), "--max-drop",
                                 "1.0", "--out", str(out), "--storage", storage])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "pruning.json").read_text())
    steps = report["steps"]
    assert len(steps) == 1 + sum(e - 1 for e in trial.genome)
    assert steps[-1]["experts"] == [1] * 9
    assert [s["params"] for s in steps] == [param_count(s["experts"]) for s in steps]
    assert all({"val_accuracy", "skin_fairness", "robust_accuracy"} <= set(s["metrics"])
               for s in steps)
    assert (out / "pruning.png").stat().st_size > 0
    saved = torch.load(out / "pruned.pt", weights_only=True)
    model = MoEMobileViT(saved["experts"])
    model.load_state_dict(saved["state_dict"])  # the experts are gone from the weights too
    assert sum(p.numel() for p in model.parameters()) == steps[-1]["params"]
    assert "of study 'p.trial0.pruning'" in result.output
    check_stored_pruning(storage, steps, run=1, out=out)

    # a second run adds its own chain and takes over the files it rewrote
    result = runner.invoke(cli, ["prune", "p", "--trial", str(trial.number), "--max-drop",
                                 "1.0", "--out", str(out), "--storage", storage])
    assert result.exit_code == 0, result.output
    check_stored_pruning(storage, steps, run=2, out=out)
    result = runner.invoke(cli, ["prune", "p", "--trial", "0", "--max-drop", "-0.1",
                                 "--storage", storage])
    assert result.exit_code == 2 and "-0.1 is not in the range x>=0" in result.output

    folder = tmp_path / "routing"
    result = runner.invoke(cli, ["routing", "p", "--trial", str(trial.number), "--out",
                                 str(folder), "--storage", storage])
    assert result.exit_code == 0, result.output
    assert "layer 9" in result.output
    for name in ("routing.csv", "paths_group.png", "heatmap_group.png",
                 "paths_condition.png", "heatmap_condition.png"):
        assert (folder / name).stat().st_size > 0
    result = runner.invoke(cli, ["routing", "p", "--trial", "7", "--storage", storage])
    assert result.exit_code == 2 and "no complete trial 7" in result.output


def test_a_bad_genome_option_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["run", "--space", "moe_mobilevit", "--quiet",
                                      "--storage", f"sqlite:///{tmp_path / 'x.db'}",
                                      "--set", "space.options.width=0.6"])
    assert result.exit_code == 2
    assert "space.options, width = 0.6" in result.output


def check_stored_pruning(storage: str, steps: list[dict], run: int, out: Path) -> None:
    """Run ``run`` of ``nasplat prune`` is in the store: one trial per step, chained."""
    from nasplat.store import Store, queries

    store = Store(storage)
    study = queries.get_study(store, "p.trial0.pruning")
    rows = queries.trials(store, study.id)
    assert len(rows) == run * len(steps)
    ours = rows[-len(steps):]
    metrics = queries.metrics(store, [r.id for r in ours])
    parents = queries.parents(store, [r.id for r in ours])
    for row, step, previous in zip(ours, steps, [None, *ours]):
        m = metrics[row.id]
        assert row.status == "complete"  # max drop 1.0: every step kept
        assert json.loads(row.genome_json)["experts"] == step["experts"]
        assert m["run"] == run and m["iteration"] == step["iteration"]
        assert m["params"] == step["params"] and m["kept"] == 1.0
        for name in ("val_accuracy", "test_accuracy", "skin_fairness", "robust_accuracy",
                     "overfitting"):
            assert m[name] == pytest.approx(step["metrics"][name])
        assert parents[row.id] == ([] if previous is None else [previous.id])
    files = {"json": str(out.resolve() / "pruning.json"),
             "plot": str(out.resolve() / "pruning.png")}
    assert queries.artifacts(store, ours[0].id) == files
    assert queries.artifacts(store, ours[-1].id) == {
        **files, "pruned_model": str(out.resolve() / "pruned.pt")}
    for row in rows[:-len(steps)]:  # an earlier run into the same folder: its files are gone
        assert queries.artifacts(store, row.id) == {}
    # and the study reads like any other: the pruned models' front over the objectives
    front = load_study("p.trial0.pruning", storage).pareto_front()
    assert front and {"params", "val_accuracy", "skin_fairness"} <= set(front[0].values)
