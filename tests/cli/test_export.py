"""``nasplat export`` with weights: the PyTorch and ONNX models equal the trained original;
a trial without weights is exported as genome only, or retrained with --retrain."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import nasplat
from nasplat import load_study, prepare, registry
from nasplat.cli import cli
from nasplat.store import queries

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
import trainable_toys  # noqa: E402



@pytest.fixture(autouse=True, scope="module")
def _trainable_toys() -> Iterator[None]:
    """train_mlp registered for these tests only: registered at import, every registered
    space would also be collected into tests/test_contract.py's suite."""
    added = "trainable_toys" not in registry.get().info
    if added:
        registry.get().add(trainable_toys, "trainable_toys", "nasplat-tests", "0")
    yield
    if added:
        registry.get().remove("trainable_toys")


TRAINER = {"epochs": 2, "batch_size": 64}


def _study(storage: str, tmp_path: Path, keep: str) -> None:
    prepare({"study": "t", "space": "train_mlp", "budget": {"trials": 3}, "seed": 2,
             "trainer": {**TRAINER, "keep_weights": keep}, "storage": storage},
            artifact_root=tmp_path / "artifacts").run()


def _export(runner: CliRunner, storage: str, *args: str) -> str:
    result = runner.invoke(cli, ["export", "t", *args, "--storage", storage])
    assert result.exit_code == 0, result.output
    return result.output


def test_round_trip_pytorch_and_onnx(runner: CliRunner, storage: str, tmp_path: Path) -> None:
    _study(storage, tmp_path, "all")
    out = _export(runner, storage, "--pareto", "--out", str(tmp_path / "front"))
    study = load_study("t", storage)
    front = study.pareto_front()
    assert sorted(p.name for p in (tmp_path / "front").iterdir()) == sorted(
        f"trial-{t.number}" for t in front)
    trial = front[0]
    folder = tmp_path / "front" / f"trial-{trial.number}"
    values = json.loads((folder / "values.json").read_text())
    assert values["space"] == "train_mlp" and values["objectives"] == trial.values

    # the original: the study's space, built and filled with the weights the trial kept
    row = queries.trial_by_number(study.store, study.row.id or 0, trial.number)
    stored = queries.artifacts(study.store, row.id or 0)["weights"]
    original = trainable_toys.ToyMlp().build(trial.genome)
    original.load_state_dict(torch.load(stored, weights_only=True))
    original.eval()
    x = torch.randn(5, trainable_toys.FEATURES)
    with torch.no_grad():
        expected = original(x)
        assert torch.equal(nasplat.load_model(folder)(x), expected)
    readme = (folder / "README.md").read_text()
    assert f'nasplat.load_model("{folder}")' in readme

    pytest.importorskip("onnxruntime")
    import onnxruntime

    assert (folder / "model.onnx").is_file() and "checked with ONNX Runtime" in out
    session = onnxruntime.InferenceSession(str(folder / "model.onnx"))
    (got,) = session.run(None, {"input": x.numpy()})
    np.testing.assert_allclose(got, expected.numpy(), rtol=1e-4, atol=1e-5)
    assert "onnxruntime.InferenceSession" in readme


def test_without_weights_genome_only_then_retrain(runner: CliRunner, storage: str,
                                                  tmp_path: Path) -> None:
    _study(storage, tmp_path, "none")
    number = load_study("t", storage).pareto_front()[0].number
    folder = tmp_path / "x" / f"trial-{number}"
    out = _export(runner, storage, "--trial", str(number), "--out", str(tmp_path / "x"),
                  "--no-onnx")
    assert "exported as genome only" in out and "--retrain" in out
    assert not (folder / "state_dict.pt").exists()
    assert "genome only" in (folder / "README.md").read_text()
    with pytest.raises(nasplat.errors.ConfigError, match="no trained weights.*--retrain"):
        nasplat.load_model(folder)

    out = _export(runner, storage, "--trial", str(number), "--out", str(tmp_path / "x"),
                  "--no-onnx", "--retrain")
    assert "weights retrained" in out and (folder / "state_dict.pt").is_file()
    values = json.loads((folder / "values.json").read_text())
    assert values["retrained_metrics"]["val_accuracy"] == pytest.approx(
        values["metrics"]["val_accuracy"], abs=0.05)  # same seed, same settings
    model = nasplat.load_model(folder)
    assert isinstance(model, torch.nn.Module) and not model.training


def test_analytic_space_has_no_weights(runner: CliRunner, storage: str, tmp_path: Path) -> None:
    runner.invoke(cli, ["run", "--space", "toy_int", "--budget", "4", "--study", "t",
                        "--storage", storage, "--quiet"])
    out = _export(runner, storage, "--pareto", "--out", str(tmp_path / "a"), "--retrain")
    assert "evaluated without training" in out and "retrained" not in out
