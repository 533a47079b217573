"""The Ray executor: trials run as Ray tasks in other processes, failures become failed trials."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nasplat import load_study, run_study
from nasplat.errors import PluginError

ray = pytest.importorskip("ray", reason="the ray executor needs Ray: pip install 'nasplat[ray]'")

TESTS = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    """A local Ray instance of 2 CPUs whose workers can load the test spaces."""
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "NASPLAT_PLUGIN_MODULES")}
    os.environ["PYTHONPATH"] = os.pathsep.join([str(TESTS), saved["PYTHONPATH"] or ""])
    os.environ["NASPLAT_PLUGIN_MODULES"] = "toys,spaces_for_failures"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def config(storage: str, space: str, trials: int, **executor: object) -> dict:
    return {"study": "s", "space": space, "strategy": "random", "budget": {"trials": trials},
            "storage": storage, "executor": {"name": "ray", "options": executor}}


def test_trials_run_as_ray_tasks_two_at_a_time(tmp_path) -> None:
    storage = f"sqlite:///{tmp_path / 'store.db'}"
    summary = run_study(config(storage, "where", 8))
    assert summary.counts["complete"] == 8
    pids = {int(t.metrics["pid"]) for t in load_study("s", storage).trials()}
    assert os.getpid() not in pids, "trials must run in Ray's worker processes"
    assert 1 <= len(pids) <= 2


def test_a_task_whose_worker_dies_is_a_failed_trial(tmp_path) -> None:
    storage = f"sqlite:///{tmp_path / 'store.db'}"
    summary = run_study(config(storage, "deadly", 10, max_retries=0))
    trials = load_study("s", storage).trials()
    deadly = [t for t in trials if t.genome[0] == 1]
    assert deadly and all(t.status == "failed" and "Ray task failed" in t.error for t in deadly)
    assert summary.counts["complete"] == 10 - len(deadly)


def test_a_trial_too_big_for_the_cluster_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(PluginError, match="no trial fits the Ray cluster"):
        run_study(config(f"sqlite:///{tmp_path / 'store.db'}", "where", 2, num_gpus=1))
