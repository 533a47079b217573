"""A tiny search through the command line, trained by the shared trainer."""

from __future__ import annotations

from pathlib import Path

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
    import json

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
