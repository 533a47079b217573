"""A run killed with SIGKILL loses no completed trial and re-runs the interrupted one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nasplat import load_study
from nasplat.store import Store, queries

TESTS = Path(__file__).resolve().parent

SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
import spaces_for_failures, toys
from nasplat import registry
registry.get().add(toys, "toys")
registry.get().add(spaces_for_failures, "failures")
from nasplat.cli import cli
cli({args!r}, prog_name="nasplat")
"""


def nasplat(args: list[str], **kwargs) -> subprocess.Popen:
    code = SCRIPT.format(tests=str(TESTS), args=args)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def completed(storage: str) -> dict[int, tuple[str, str]]:
    try:
        store = Store(storage)
        study = queries.find_study(store, "k")
        if study is None:
            return {}
        rows = queries.trials(store, study.id, ["complete"])
        store.close()
    except Exception:
        return {}
    return {r.number: (r.genome_hash, r.genome_json) for r in rows}


def running_now(storage: str) -> bool:
    """Whether a trial of study ``k`` is running at this moment."""
    try:
        store = Store(storage)
        study = queries.find_study(store, "k")
        found = study is not None and bool(queries.trials(store, study.id, ["running"]))
        store.close()
    except Exception:
        return False
    return found


@pytest.mark.slow
def test_sigkill_then_resume(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'kill.db'}"
    args = ["run", "--space", "slow", "--set", "space.options.seconds=0.25", "--budget", "30",
            "--study", "k", "--storage", storage, "--quiet", "--seed", "11"]
    proc = nasplat(args)
    deadline = time.time() + 60
    while len(completed(storage)) < 8:
        assert proc.poll() is None, proc.communicate()
        assert time.time() < deadline, "the run made no progress"
        time.sleep(0.05)
    while not running_now(storage):  # kill in the middle of a trial, not between two
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = completed(storage)
    store = Store(storage)
    study = queries.get_study(store, "k")
    running = queries.trials(store, study.id, ["running"])
    assert len(running) == 1, "SIGKILL should leave exactly the trial in progress running"
    interrupted = running[0]

    resume = nasplat(["run", "--study", "k", "--storage", storage, "--quiet"])
    out, err = resume.communicate(timeout=120)
    assert resume.returncode == 0, err
    assert f"re-running trial(s) {interrupted.number}" in out

    after = load_study("k", storage).trials()
    assert len(after) == 30 and all(t.status == "complete" for t in after)
    by_number = {t.number: t for t in after}
    for number, (digest, genome_json) in before.items():  # no completed trial lost or redone
        assert by_number[number].genome_hash == digest
        assert by_number[number].attempts == 1
    redone = by_number[interrupted.number]
    assert redone.genome_hash == interrupted.genome_hash and redone.attempts == 2
    assert json.dumps(redone.genome) == json.dumps(json.loads(interrupted.genome_json))

    # the killed-and-resumed study proposes the same genomes as an uninterrupted one
    whole = f"sqlite:///{tmp_path / 'whole.db'}"
    proc = nasplat(["run", "--space", "slow", "--set", "space.options.seconds=0", "--budget",
                    "30", "--study", "k", "--storage", whole, "--quiet", "--seed", "11"])
    proc.communicate(timeout=120)
    assert [t.genome_hash for t in load_study("k", whole).trials()] == \
        [t.genome_hash for t in after]
