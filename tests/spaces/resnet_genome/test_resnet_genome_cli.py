"""A tiny NSGA-II search on resnet_genome through the command line: embedded data and MNIST."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from nasplat import load_study
from nasplat.cli import cli
from nasplat.spaces.resnet_genome.space import ResNetGenome

TINY = ["--strategy", "nsga2", "--budget", "4", "--quiet", "--seed", "1",
        "--set", "strategy.options.population=2", "--set", "space.options.max_channels=16",
        "--set", "space.options.init_length=4", "--set", "trainer.steps=3",
        "--set", "trainer.batch_size=16"]


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NASPLAT_CACHE_DIR", str(tmp_path / "cache"))


def search(runner: CliRunner, storage: str, *args: str) -> list:
    result = runner.invoke(cli, ["run", "--space", "resnet_genome", "--study", "s",
                                 "--storage", storage, *TINY, *args])
    assert result.exit_code == 0, result.output
    trials = load_study("s", storage).trials()
    assert [t.status for t in trials] == ["complete"] * 4, [t.error for t in trials]
    return trials


def check_trials(trials: list, space: ResNetGenome) -> None:
    """Both default objectives are recorded, and params is the genome's cheap count."""
    for trial in trials:
        assert set(trial.values) == {"val_accuracy", "val_loss"}
        assert 0 <= trial.values["val_accuracy"] <= 1 and trial.values["val_loss"] > 0
        genome = space.from_json(trial.genome)
        assert trial.metrics["params"] == space.cheap_metrics(genome)["params"]
    assert len({t.genome_hash for t in trials}) == len(trials)


def test_a_tiny_search_on_the_embedded_default(runner: CliRunner, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'store.db'}"
    trials = search(runner, storage, "--set", "space.options.input_shape=[3,16,16]",
                    "--set", "dataset.name=synthetic_person",
                    "--set", "dataset.options.image_size=16",
                    "--set", "dataset.options.train=64", "--set", "dataset.options.validation=32",
                    "--set", "dataset.options.test=8", "--set", "dataset.options.ood=2")
    check_trials(trials, ResNetGenome(input_shape=(3, 16, 16), max_channels=16))


def test_a_tiny_search_on_mnist(runner: CliRunner, tmp_path: Path, shared_data: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'store.db'}"
    trials = search(runner, storage, "--dataset", "mnist",
                    "--set", f"dataset.options.path={shared_data / 'mnist'}",
                    "--set", "dataset.options.train_limit=64",
                    "--set", "dataset.options.validation=64",
                    "--set", "space.options.input_shape=[1,28,28]",
                    "--set", "space.options.classes=10")
    check_trials(trials, ResNetGenome(input_shape=(1, 28, 28), classes=10, max_channels=16))


def test_a_mismatched_input_shape_is_a_clear_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["run", "--space", "resnet_genome", "--dataset", "mnist",
                                 "--storage", f"sqlite:///{tmp_path / 'store.db'}", *TINY])
    assert result.exit_code == 2
    assert "inputs of shape (3, 64, 64) but dataset 'mnist' gives (1, 28, 28)" in result.output
