"""The MLflow logger, against a local file-based MLflow store: one run per study, one nested
run per trial with its metrics, status and reason; nothing without MLFLOW_TRACKING_URI."""

from __future__ import annotations

from pathlib import Path

import pytest

from nasplat import load_study, registry, run_study
from nasplat.plugins.loggers import mlflow as mlflow_logger

mlflow = pytest.importorskip("mlflow")


@pytest.fixture
def tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A file-based MLflow store in a temporary folder, and the logger registered."""
    uri = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 prefers a database
    added = "mlflow" not in registry.get().info
    if added:
        registry.get().add(mlflow_logger, "mlflow", "nasplat", "0")
    yield mlflow.tracking.MlflowClient(uri)
    if added:
        registry.get().remove("mlflow")
    mlflow_logger._runs.clear()


def _runs(client, kind: str):
    (experiment,) = [e for e in client.search_experiments() if e.name == "nasplat"]
    return client.search_runs([experiment.experiment_id],
                              filter_string=f"tags.`nasplat.kind` = '{kind}'", max_results=1000)


def test_study_and_trials_logged(tracking, storage: str) -> None:
    run_study({"study": "m", "space": "flaky", "budget": {"trials": 8}, "storage": storage})
    run_study({"study": "m", "space": "flaky", "budget": {"trials": 12}, "storage": storage})
    (parent,) = _runs(tracking, "study")  # the resumed study went on in the same run
    assert parent.info.run_name == "m" and parent.data.params["space"] == "flaky"
    assert parent.data.tags["nasplat.stopped"] == "budget spent"
    trials = {int(r.data.tags["nasplat.trial"]): r for r in _runs(tracking, "trial")}
    stored = {t.number: t for t in load_study("m", storage).trials()}
    assert sorted(trials) == sorted(stored) and len(trials) == 12
    for number, run in trials.items():
        trial = stored[number]
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert run.data.tags["nasplat.status"] == trial.status
        assert run.info.status == ("FAILED" if trial.status == "failed" else "FINISHED")
        assert run.data.tags.get("nasplat.reason") == trial.error
        for name, value in trial.metrics.items():
            assert run.data.metrics[name] == pytest.approx(value)
        assert run.data.params["genome"].replace(" ", "") == str(trial.genome).replace(" ", "")


def test_silent_without_tracking_uri(tmp_path: Path, storage: str,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    added = "mlflow" not in registry.get().info
    if added:
        registry.get().add(mlflow_logger, "mlflow", "nasplat", "0")
    try:
        run_study({"study": "q", "space": "toy_int", "budget": {"trials": 2}, "storage": storage})
    finally:
        if added:
            registry.get().remove("mlflow")
    assert not (tmp_path / "mlruns").exists() and not (tmp_path / "mlflow.db").exists()
