"""A dense_prune study end to end: its own evaluator, K heads at once, `nasplat ensemble`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from nasplat import load_study, run_study
from nasplat.cli import cli
from nasplat.config import validate_config
from nasplat.dataset import NO_LABEL
from nasplat.errors import ConfigError
from nasplat.evaluation import make_evaluator
from nasplat.problem import resolve
from nasplat.spaces.dense_prune.evaluator import DensePruneEvaluator, _split_outputs

TRAINER = {"epochs": 2, "batch_size": 32}
TINY = {"width": 16, "source_samples": 64, "source_epochs": 1, "hidden": 8}
TINY_DATA = {"name": "synthetic_glyphs",
             "options": {"train": 256, "validation": 64, "test": 64, "ood": 64}}


def _config(storage: str, **extra) -> dict:
    return {"space": {"name": "dense_prune", "options": TINY}, "dataset": TINY_DATA,
            "trainer": TRAINER, "storage": storage, "seed": 3} | extra


def test_the_space_brings_its_own_evaluator(tmp_path: Path) -> None:
    config = validate_config(_config(f"sqlite:///{tmp_path / 's.db'}"))
    problem = resolve(config)
    assert [o.name for o in problem.objectives] == ["val_accuracy", "active", "ood_auroc"]
    assert isinstance(make_evaluator(problem.space, config), DensePruneEvaluator)


def test_a_dataset_of_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    config = validate_config(_config(f"sqlite:///{tmp_path / 's.db'}", dataset={
        "name": "synthetic_glyphs", "options": {"image_size": 32}}))
    with pytest.raises(ConfigError, match=r"set space.options.input_shape = \[1, 32, 32\]"):
        DensePruneEvaluator(resolve(config).space, config)


@pytest.mark.slow
def test_batched_study_matches_one_by_one_and_ensembles(tmp_path: Path, runner) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    budget = {"trials": 8}
    strategy = {"name": "nsga2", "options": {"population": 4}}
    run_study(_config(db, study="batched", budget=budget, strategy=strategy,
                      executor={"name": "batched_heads", "options": {"heads": 4}}))
    run_study(_config(db, study="alone", budget=budget, strategy=strategy))
    batched, alone = load_study("batched", db).trials(), load_study("alone", db).trials()
    assert [t.status for t in batched] == ["complete"] * 8
    assert {t.metrics["heads_at_once"] for t in batched} == {4.0}
    assert {t.metrics["heads_at_once"] for t in alone} == {1.0}
    assert [t.genome for t in batched] == [t.genome for t in alone]
    for a, b in zip(batched, alone):  # same heads, trained 4 at a time or one at a time
        for name in ("val_accuracy", "ood_auroc", "active"):
            assert a.values[name] == pytest.approx(b.values[name], abs=0.02)
    out = tmp_path / "ens"
    result = runner.invoke(cli, ["ensemble", "batched", "--storage", db, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "beats both" in result.output
    summary = json.loads((out / "ensembles.json").read_text())
    groups = {e["group"] for e in summary["ensembles"]}
    assert {"all", "accuracy_q50", "auroc_q75"} <= groups
    assert (out / "ensembles.png").stat().st_size > 1000
    stored = load_study("batched.ensembles", db).trials()
    assert {t.status for t in stored} == {"complete"}
    assert {json.loads(t.genome)["group"] if isinstance(t.genome, str) else t.genome["group"]
            for t in stored} == groups
    assert all("accuracy" in t.metrics and "best_member_auroc" in t.metrics for t in stored)


@pytest.mark.slow
def test_fashion_mnist_with_mnist_as_ood(tmp_path: Path, shared_data: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    run_study(_config(db, study="fm", budget={"trials": 4}, trainer={"epochs": 5, "lr": 0.01},
                      executor={"name": "batched_heads", "options": {"heads": 4}},
                      dataset={"name": "fashion_mnist", "options": {
                          "path": str(shared_data / "fashion_mnist"),
                          "ood_path": str(shared_data / "mnist"),
                          "train_limit": 1000, "validation": 500}}))
    trials = load_study("fm", db).trials()
    assert [t.status for t in trials] == ["complete"] * 4
    for t in trials:  # above chance (0.1) even with a tiny backbone
        assert t.values["val_accuracy"] > 0.3, t.values


def test_full_odin_through_the_backbone_matches_temperature_scaling_at_epsilon_0(
        tmp_path: Path) -> None:
    from nasplat.scores import ODIN_SCORE
    from nasplat.spaces.dense_prune.evaluator import Candidate

    def evaluator(odin: str, epsilon: float) -> DensePruneEvaluator:
        config = validate_config(_config(
            f"sqlite:///{tmp_path / 's.db'}",
            space={"name": "dense_prune", "options": TINY | {"odin": odin}},
            objectives=[{"name": "val_accuracy"},
                        {"name": "ood_auroc", "options": {"epsilon": epsilon}}]))
        return DensePruneEvaluator(resolve(config).space, config, log=lambda m: None)

    space = evaluator("temperature", 0.0).space
    candidate = [Candidate(space.sample(__import__("numpy").random.default_rng(0)), 5)]
    cached = evaluator("temperature", 0.0).evaluate_many(candidate)[0]
    full = evaluator("full", 0.0).evaluate_many(candidate)[0]
    perturbed = evaluator("full", 0.01).evaluate_many(candidate)[0]
    for split in ("test", "ood"):
        a, b = cached.splits[split].attributes[ODIN_SCORE], full.splits[split].attributes[
            ODIN_SCORE]
        assert abs(a - b).max() < 1e-5
        assert abs(perturbed.splits[split].attributes[ODIN_SCORE] - a).max() > 1e-7


def test_every_heads_outputs_at_once_are_each_heads_own() -> None:
    logits = torch.randn(3, 4, 9)  # K = 3 heads, 4 classes, 9 samples, class-major
    labels = torch.tensor([0, 1, 2, 3, NO_LABEL, 1, 0, 3, 2])
    outputs = _split_outputs(logits, labels, temperature=10.0)
    for k in range(3):
        by_sample, record = logits[k].T, outputs.record(k)
        assert np.array_equal(record.predictions, by_sample.argmax(dim=1).numpy())
        np.testing.assert_allclose(record.probabilities, by_sample.softmax(dim=1).numpy(),
                                   rtol=1e-6)
        labelled = labels != NO_LABEL
        assert record.loss == pytest.approx(torch.nn.functional.cross_entropy(
            by_sample[labelled], labels[labelled]).item(), rel=1e-6)
        np.testing.assert_allclose(outputs.odin[k].numpy(),
                                   (by_sample / 10.0).softmax(dim=1).amax(dim=1).numpy(),
                                   rtol=1e-6)


def test_a_second_ood_set_gets_its_auroc_as_a_metric(tmp_path: Path, runner) -> None:
    """ood2 holds the test images themselves: no score can tell them apart, AUROC 0.5, for
    every head and every ensemble."""
    rng = np.random.default_rng(0)
    x_test = rng.integers(0, 256, (40, 28, 28), dtype=np.uint8)
    np.savez(tmp_path / "d.npz", x_train=rng.integers(0, 256, (120, 28, 28), dtype=np.uint8),
             y_train=np.arange(120) % 10, x_test=x_test, y_test=np.arange(40) % 10)
    np.savez(tmp_path / "ood.npz", x28=rng.integers(0, 256, (30, 28, 28), dtype=np.uint8))
    np.savez(tmp_path / "ood2.npz", x28=x_test)
    db = f"sqlite:///{tmp_path / 's.db'}"
    run_study(_config(db, study="s", budget={"trials": 2}, dataset={
        "name": "fashion_mnist", "options": {
            "path": str(tmp_path / "d.npz"), "validation": 20,
            "ood_path": str(tmp_path / "ood.npz"), "ood2_path": str(tmp_path / "ood2.npz")}}))
    trials = load_study("s", db).trials(["complete"])
    assert len(trials) == 2
    for trial in trials:
        assert trial.metrics["ood2_auroc"] == pytest.approx(0.5)
        assert 0 <= trial.values["ood_auroc"] <= 1
    out = tmp_path / "ens"
    result = runner.invoke(cli, ["ensemble", "s", "--storage", db, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "ood2 AUROC" in result.output
    for stored in json.loads((out / "ensembles.json").read_text())["ensembles"]:
        assert stored["ood2_auroc"] == stored["best_member_ood2_auroc"] == pytest.approx(0.5)
    assert all(t.metrics["ood2_auroc"] == pytest.approx(0.5)
               for t in load_study("s.ensembles", db).trials())
    # ood_auroc reading ood2 instead: the objective's value, and no metric of ood's by its name
    run_study(_config(db, study="t", budget={"trials": 1}, dataset={
        "name": "fashion_mnist", "options": {
            "path": str(tmp_path / "d.npz"), "validation": 20,
            "ood_path": str(tmp_path / "ood.npz"), "ood2_path": str(tmp_path / "ood2.npz")}},
        objectives=["val_accuracy", {"name": "ood_auroc", "options": {"ood_split": "ood2"}}]))
    (trial,) = load_study("t", db).trials(["complete"])
    assert trial.values["ood_auroc"] == pytest.approx(0.5) and "ood2_auroc" not in trial.metrics
