"""Log studies to MLflow, through nasplat's event hooks alone (as a third party would).

One MLflow run per study (tagged ``nasplat.study``), and under it one nested run per finished
trial with its genome, status, failure reason and every metric. Active only where
``MLFLOW_TRACKING_URI`` is set (MLflow's own variable: ``file:./mlruns``,
``http://host:5000``, ``sqlite:///mlflow.db`` ...); the experiment is
``NASPLAT_MLFLOW_EXPERIMENT`` (default ``nasplat``). Needs ``pip install 'nasplat[mlflow]'``.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from typing import TYPE_CHECKING, Any

from nasplat import hookimpl

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from nasplat.store import StudyRow, TrialRow

EXPERIMENT = "nasplat"
TAG_VALUE_CHARS = 5000
"""MLflow refuses longer tag values (genomes and configs are cut to this)."""

_runs: dict[tuple[str, str], str] = {}
"""The MLflow run id of each study already seen, by (tracking URI, study name)."""
_warned: list[str] = []


def _client() -> MlflowClient | None:
    """An MLflow client when logging is asked for (``MLFLOW_TRACKING_URI``) and possible."""
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        return None
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        if not _warned:
            _warned.append("mlflow")
            print("nasplat: warning: MLFLOW_TRACKING_URI is set but mlflow is not installed, "
                  "so nothing is logged to MLflow: pip install 'nasplat[mlflow]'",
                  file=sys.stderr)
        return None
    return MlflowClient()


def _study_run(client: MlflowClient, study: StudyRow, config: dict[str, Any] | None) -> str:
    """The study's MLflow run: found by its tag (a resumed study goes on in the same run),
    else created."""
    key = (client.tracking_uri, study.name)
    if key in _runs:
        return _runs[key]
    name = os.environ.get("NASPLAT_MLFLOW_EXPERIMENT", EXPERIMENT)
    experiment = client.get_experiment_by_name(name)
    experiment_id = (experiment.experiment_id if experiment is not None
                     else client.create_experiment(name))
    found = client.search_runs([experiment_id], filter_string=(
        f"tags.`nasplat.study` = '{study.name}' and tags.`nasplat.kind` = 'study'"),
        max_results=1)
    if found:
        run_id = found[0].info.run_id
    else:
        tags = {"nasplat.kind": "study", "nasplat.study": study.name,
                "nasplat.space": study.space, "nasplat.strategy": study.strategy}
        if config is not None:
            tags["nasplat.config"] = json.dumps(config)[:TAG_VALUE_CHARS]
        run_id = client.create_run(experiment_id, run_name=study.name, tags=tags).info.run_id
        client.log_param(run_id, "space", study.space)
        client.log_param(run_id, "strategy", study.strategy)
        client.log_param(run_id, "objectives", ", ".join(
            f"{d['name']}:{d['direction']}" for d in json.loads(study.directions_json)))
    _runs[key] = run_id
    return run_id


@hookimpl
def nasplat_study_started(study: StudyRow, config: dict[str, Any]) -> None:
    """Open (or find again, on resume) the study's MLflow run."""
    client = _client()
    if client is not None:
        _study_run(client, study, config)


@hookimpl
def nasplat_trial_finished(study: StudyRow, trial: TrialRow, metrics: dict[str, float]) -> None:
    """Log the trial as a nested run: genome and seed as params, metrics, status tags."""
    client = _client()
    if client is None:
        return
    from mlflow.entities import Metric, Param

    parent = _study_run(client, study, None)
    experiment_id = client.get_run(parent).info.experiment_id
    tags = {"mlflow.parentRunId": parent, "nasplat.kind": "trial",
            "nasplat.study": study.name, "nasplat.trial": str(trial.number),
            "nasplat.status": trial.status}
    if trial.error:
        tags["nasplat.reason"] = trial.error[:TAG_VALUE_CHARS]
    run_id = client.create_run(experiment_id, run_name=f"trial-{trial.number}",
                               tags=tags).info.run_id
    now = int(time.time() * 1000)
    client.log_batch(run_id, metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()
                                      if math.isfinite(v)],
                     params=[Param("genome", trial.genome_json[:6000]),
                             Param("seed", str(trial.seed)), Param("number", str(trial.number))])
    client.set_terminated(run_id, "FINISHED" if trial.status != "failed" else "FAILED")


@hookimpl
def nasplat_study_finished(study: StudyRow, reason: str) -> None:
    """Record why the run stopped and close the study's MLflow run."""
    client = _client()
    if client is None:
        return
    run_id = _study_run(client, study, None)
    client.set_tag(run_id, "nasplat.stopped", reason)
    client.set_terminated(run_id, "FINISHED" if reason != "interrupted" else "KILLED")
