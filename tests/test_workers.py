"""Several workers on one study: nothing lost, nothing run twice, dead workers replaced.

Every test starts real ``nasplat`` processes (the workers are processes too) and kills some
of them with SIGKILL; the storage fixture runs each on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from nasplat.store import Store, TrialRow, queries
from nasplat.store.tables import FINISHED, StrategyStateRow

TESTS = Path(__file__).resolve().parent
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
       "NASPLAT_PLUGIN_MODULES": "toys,spaces_for_failures"}


def nasplat(*args: str, **kwargs) -> subprocess.Popen:
    """``nasplat ARGS`` in a new process (group), with the test spaces loadable by workers."""
    return subprocess.Popen([sys.executable, "-m", "nasplat", *args], env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, **kwargs)


def finish(proc: subprocess.Popen, timeout: float = 300) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{err}"
    return out + err


def trials(storage: str, study: str = "k") -> list[TrialRow]:
    store = Store(storage)
    try:
        row = queries.find_study(store, study)
        return queries.trials(store, row.id) if row else []
    finally:
        store.close()


def assert_consistent(storage: str, study: str = "k") -> list[TrialRow]:
    """What must hold of a study's store at any moment, however its processes died."""
    rows = trials(storage, study)
    assert [r.number for r in rows] == list(range(len(rows))), "trial numbers have gaps"
    hashes = [r.genome_hash for r in rows]
    assert len(set(hashes)) == len(hashes), "a genome was queued twice"
    finished = [r for r in rows if r.status in FINISHED]
    seqs = sorted(r.finish_seq for r in finished)
    assert seqs == list(range(1, len(finished) + 1)), "finish order has gaps or repeats"
    assert all(r.finish_seq is None for r in rows if r.status not in FINISHED)
    store = Store(storage)
    try:
        row = queries.get_study(store, study)
        values = queries.study_metrics(store, row.id)
        with store.session() as session:
            state = session.get(StrategyStateRow, row.id)
    finally:
        store.close()
    for r in rows:
        if r.status == "complete":
            assert {"error", "params"} <= set(values.get(r.id, {})), f"trial {r.number} lost metrics"
    if state is not None:
        assert state.told_seq <= len(finished), "the strategy was told a result not in the store"
    return rows


def fresh_running(storage: str, within: float) -> dict[int, int]:
    """``{trial number: worker pid}`` of the trials that started running in the last
    ``within`` seconds (they cannot finish before a kill that follows at once)."""
    try:
        rows = trials(storage)
    except Exception:  # the store may not exist yet
        return {}
    now = datetime.now(timezone.utc)
    out = {}
    for r in rows:
        if r.status == "running" and r.worker and r.started_at:
            started = r.started_at if r.started_at.tzinfo else r.started_at.replace(
                tzinfo=timezone.utc)
            if (now - started).total_seconds() < within:
                out[r.number] = int(r.worker.rpartition(":")[2])
    return out


@pytest.mark.slow
def test_four_workers_complete_exactly_the_budget(storage: str) -> None:
    # 30 ms per trial: toy trials at ~700/s let three workers spend the budget before a fourth,
    # slowed by a loaded machine, had started (CI saw it)
    out = finish(nasplat("run", "--space", "slow", "--set", "space.options.seconds=0.03",
                         "--strategy", "random", "--budget", "800", "--workers", "4", "--study", "k",
                         "--storage", storage, "--quiet"))
    assert "budget spent (800 complete)" in out
    rows = assert_consistent(storage)
    assert len(rows) == 800
    assert all(r.status == "complete" and r.attempts == 1 for r in rows)
    assert len({r.worker for r in rows}) == 4, "every worker should have evaluated trials"


def test_a_killed_worker_is_replaced_and_its_trial_rerun_once(storage: str) -> None:
    proc = nasplat("run", "--space", "slow", "--set", "space.options.seconds=1", "--budget", "16",
                   "--workers", "2", "--study", "k", "--storage", storage, "--quiet")
    killed: dict[int, str] = {}
    deadline = time.time() + 120
    while len(killed) < 3:
        assert proc.poll() is None, proc.communicate()
        assert time.time() < deadline, f"killed only {len(killed)} workers"
        running = {n: pid for n, pid in fresh_running(storage, 0.5).items() if n not in killed}
        done = len([r for r in trials(storage) if r.status == "complete"]) if running else 0
        if running and done >= 2 * len(killed):
            number, pid = min(running.items())
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            hashes = {r.number: r.genome_hash for r in trials(storage)}
            killed[number] = hashes[number]
        time.sleep(0.05)
    out = finish(proc)
    assert out.count("starting another") == 3
    rows = assert_consistent(storage)
    assert len(rows) == 16 and all(r.status == "complete" for r in rows)
    for number, digest in killed.items():
        assert rows[number].genome_hash == digest, "the re-run must evaluate the same genome"
        assert rows[number].attempts == 2, "an interrupted trial is re-run exactly once"
    assert all(r.attempts == 1 for r in rows if r.number not in killed)


def test_a_trial_that_kills_every_worker_fails_after_max_attempts(storage: str) -> None:
    out = finish(nasplat("run", "--space", "deadly", "--set", "space.options.seconds=0.01",
                         "--set", "max_attempts=2", "--budget", "16", "--workers", "2",
                         "--study", "k", "--storage", storage, "--quiet"))
    rows = assert_consistent(storage)
    deadly = [r for r in rows if json.loads(r.genome_json)[0] == 1]
    assert deadly, "the seed should propose a deadly genome among 16"
    for r in deadly:
        assert r.status == "failed" and r.attempts == 2
        assert "its worker stopped while running it, 2 times" in r.error
    assert all(r.status == "complete" for r in rows if r not in deadly)
    assert "budget spent" in out


@pytest.mark.slow
def test_killing_the_whole_run_anywhere_loses_nothing(storage: str) -> None:
    rng = random.Random(20261123)
    args = ["run", "--space", "slow", "--set", "space.options.seconds=0.05", "--strategy",
            "nsga2", "--budget", "150", "--study", "k", "--storage", storage, "--quiet"]
    complete_before: dict[int, str] = {}
    for _ in range(20):
        proc = nasplat(*args, "--workers", str(rng.choice([1, 2, 3])))
        time.sleep(rng.uniform(0.5, 6.0))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        if not trials(storage):
            continue  # killed before the study was created
        rows = assert_consistent(storage)
        complete = {r.number: r.genome_hash for r in rows if r.status == "complete"}
        assert complete_before.items() <= complete.items(), "a completed trial was lost"
        complete_before = complete
    finish(nasplat(*args, "--workers", "2"))
    rows = assert_consistent(storage)
    assert len(rows) == 150 and all(r.status == "complete" for r in rows)
    assert complete_before.items() <= {r.number: r.genome_hash for r in rows}.items()


def test_workers_side_by_side_count_the_run_time_once(storage: str) -> None:
    """The study's run time (what ``--seconds`` budgets across resumes) is wall-clock time:
    three workers busy at once add it once, not three times."""
    finish(nasplat("run", "--space", "slow", "--set", "space.options.seconds=0.4", "--budget",
                   "15", "--workers", "3", "--study", "k", "--storage", storage, "--quiet"))
    rows = assert_consistent(storage)
    busy = sum((r.finished_at - r.started_at).total_seconds() for r in rows)
    assert busy >= 15 * 0.4
    store = Store(storage)
    try:
        run_time = queries.get_study(store, "k").elapsed_seconds
    finally:
        store.close()
    assert 15 * 0.4 / 3 <= run_time <= 0.6 * busy, (run_time, busy)
