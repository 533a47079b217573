"""Several worker processes on one machine, evaluating trials of one study at once.

``nasplat run --workers N`` creates (or resumes) the study, then starts N ``nasplat worker``
processes on it and watches them: it shows their progress from the store, and when one dies
(killed, out of memory, a crash in native code) it puts that worker's trial back in the queue
and starts a new worker in its place. The workers coordinate through the store alone, exactly
as workers on other machines do (see :mod:`nasplat.store.proposing`), so nothing here is
needed for correctness: a dead supervisor leaves a study that any worker or `nasplat run
--study` resumes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from nasplat.engine import ProgressListener, RunSummary, local_worker_is_dead
from nasplat.errors import NasplatError
from nasplat.store import Store, StudyRow, proposing, queries, writes

POLL_SECONDS = 0.25


@dataclass
class _Worker:
    slot: int
    process: subprocess.Popen[bytes]
    log: Path
    started: float = field(default_factory=time.monotonic)


class WorkerPool:
    """Runs ``n`` ``nasplat worker`` processes on one study until its budget is spent."""

    def __init__(self, store: Store, study: StudyRow, n: int, *,
                 listener: ProgressListener | None = None, budget: int | None = None,
                 max_attempts: int = 3, log_dir: Path | None = None,
                 gpus: Sequence[str] | None = None) -> None:
        if n < 1:
            raise NasplatError(f"--workers {n}: give at least 1 worker")
        self.store, self.study, self.n = store, study, n
        self.listener = listener or ProgressListener()
        self.budget, self.max_attempts = budget, max_attempts
        self.log_dir = log_dir or Path(os.environ.get("TMPDIR", "/tmp"))
        self.gpus = list(gpus) if gpus is not None else visible_gpus()
        self._seq = 0
        self._restarts = 0

    def run(self) -> RunSummary:
        """Start the workers and wait for them; a dead one is replaced while work remains."""
        started = time.perf_counter()
        done = queries.budget_used(self.store, self._id, count_infeasible=True)
        self.listener.start(self.study, self.budget, done)
        with self.store.engine.connect() as connection:
            self._seq = proposing.last_finish_seq(connection, self._id)
        workers = [self._start(slot) for slot in range(self.n)]
        failures_in_a_row, reason = 0, "budget spent"
        try:
            while workers:
                time.sleep(POLL_SECONDS)
                progressed = self._report_finished()
                if progressed:
                    failures_in_a_row = 0
                for worker in list(workers):
                    code = worker.process.poll()
                    if code is None:
                        continue
                    workers.remove(worker)
                    if code == 0:
                        if worker.log.exists() and worker.log.stat().st_size == 0:
                            worker.log.unlink()
                        continue
                    failures_in_a_row += 1
                    self._requeue(worker)
                    if failures_in_a_row > 2 * self.n:
                        reason = (f"workers keep dying ({failures_in_a_row} in a row without a "
                                  f"finished trial); the last one's output: "
                                  f"{_tail(worker.log)}")
                        self._stop(workers)
                        workers.clear()
                        break
                    print(f"nasplat: worker {worker.slot} (pid {worker.process.pid}) stopped "
                          f"with exit code {code}; starting another", file=sys.stderr)
                    self._restarts += 1
                    workers.append(self._start(worker.slot))
            self._report_finished()
        except KeyboardInterrupt:
            self._stop(workers, signal.SIGINT)
            raise
        self.study = queries.get_study(self.store, self.study.name)
        counts = queries.status_counts(self.store, self._id)
        counts = {s: counts.get(s, 0) for s in ("complete", "failed", "infeasible")}
        return RunSummary(self.study, reason, counts, time.perf_counter() - started)

    @property
    def restarts(self) -> int:
        """How many workers were started again in place of one that died."""
        return self._restarts

    @property
    def _id(self) -> int:
        assert self.study.id is not None
        return self.study.id

    def _start(self, slot: int) -> _Worker:
        env = dict(os.environ)
        if len(self.gpus) > 1:  # one GPU each, round robin when there are more workers
            env["CUDA_VISIBLE_DEVICES"] = self.gpus[slot % len(self.gpus)]
        log = self.log_dir / f"nasplat-{self.study.name}-worker{slot}-{os.getpid()}.log"
        command = [sys.executable, "-m", "nasplat", "worker", "--study", self.study.name,
                   "--storage", self.store.url, "--batch", str(self.n), "--quiet"]
        with open(log, "ab") as out:
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=out, env=env)
        return _Worker(slot, process, log)

    def _report_finished(self) -> bool:
        with self.store.engine.connect() as connection:
            finished = proposing.finished_since(connection, self._id, self._seq)
        for row, metrics in finished:
            self.listener.trial_finished(row, metrics)
            self._seq = row.finish_seq or self._seq
        return bool(finished)

    def _requeue(self, worker: _Worker) -> None:
        """Hand the dead worker's trial back to the queue now, not after the heartbeat grace."""
        pid = worker.process.pid
        writes.requeue_abandoned(
            self.store, self._id, timedelta(days=36500),
            lambda owner: bool(owner) and owner.endswith(f":{pid}")  # type: ignore[union-attr]
            and local_worker_is_dead(owner), self.max_attempts)

    @staticmethod
    def _stop(workers: list[_Worker], sig: int = signal.SIGTERM) -> None:
        for worker in workers:
            if worker.process.poll() is None:
                worker.process.send_signal(sig)
        for worker in workers:
            try:
                worker.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.process.kill()


def visible_gpus() -> list[str]:
    """The GPUs this process may use, as ``CUDA_VISIBLE_DEVICES`` entries (none without CUDA)."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [d.strip() for d in listed.split(",") if d.strip() and d.strip() != "-1"]
    try:
        import torch

        return [str(i) for i in range(torch.cuda.device_count())]
    except ImportError:
        return []


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no output)"
    return " | ".join(text[-lines:]) or "(no output)"
