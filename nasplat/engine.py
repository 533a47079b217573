"""The ask/tell engine: proposes, deduplicates, checks, evaluates and records trials.

One loop, in the order things happen: re-queue trials abandoned by a dead process, ask the
strategy for as many genomes as the executor has slots (saving the strategy state with them),
claim queued trials, evaluate them, commit each result together with the strategy's state
after ``tell``, and stop when the budget is spent.
"""

from __future__ import annotations

import gc
import json
import math
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import numpy as np

from nasplat import registry as plugin_registry
from nasplat.config import StudyConfig
from nasplat.errors import InvalidGenome, NasplatError, TrialFailed
from nasplat.evaluation import EvaluationRecord, Evaluator, TrialContext, make_evaluator
from nasplat.objective import is_finite
from nasplat.pareto import pareto_indices
from nasplat.problem import Problem, make_executor, make_strategy, resolve
from nasplat.space import Genome, has_capability
from nasplat.store import Store, StudyRow, TrialRow, proposing, queries, writes
from nasplat.store.writes import NewTrial, Outcome
from nasplat.strategy import Proposal, TrialResult, accepts_pending, saves_state
from nasplat.surrogate_quality import drain_reports

MAX_FRUITLESS_PROPOSALS = 1000
"""Stop when this many proposals in a row were duplicates or infeasible: the space (or the
feasible part of it) is exhausted, or the strategy is stuck."""


@dataclass
class RunSummary:
    """How a run of a study ended."""

    study: StudyRow
    reason: str
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


class ProgressListener:
    """Receives engine events; the CLI's rich progress bar implements this."""

    def start(self, study: StudyRow, total: int | None, done: int) -> None:
        """The run starts with ``done`` of ``total`` trials already spent."""

    def trial_started(self, trial: TrialRow) -> None:
        """A trial is about to be evaluated."""

    def trial_finished(self, trial: TrialRow, metrics: dict[str, float]) -> None:
        """A trial was committed."""


def worker_id() -> str:
    """This process as a worker: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def local_worker_is_dead(worker: str | None) -> bool:
    """Whether ``worker`` was a process on this host that no longer runs."""
    if not worker or ":" not in worker:
        return False
    host, _, pid_text = worker.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return True  # a trial of an earlier process that had our pid: we claim nothing yet
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def trial_seed(study_seed: int, number: int) -> int:
    """The seed of trial ``number``: independent of the order trials run in."""
    return int(np.random.SeedSequence([study_seed, number]).generate_state(1)[0])


class Engine:
    """Runs one study until its budget is spent. Build with :func:`open_study`."""

    def __init__(self, store: Store, study: StudyRow, problem: Problem,
                 evaluator: Evaluator | None = None,
                 listener: ProgressListener | None = None,
                 artifact_root: Path | None = None, batch: int | None = None,
                 executor: Any | None = None) -> None:
        self.store, self.study, self.problem = store, study, problem
        self.config: StudyConfig = problem.config
        self.space = problem.space
        self.evaluator = evaluator or make_evaluator(self.space, self.config)
        self.executor = executor or make_executor(self.config)
        self.listener = listener or ProgressListener()
        self.artifact_root = artifact_root
        self.worker = worker_id()
        self.batch = batch or self.executor.slots
        """How many genomes to ask for when the queue is empty (idle workers to feed)."""
        proposing.create_lock(store, self._id)
        self._version: int | None = None  # the stored state's version our copy matches
        self._told_seq = 0  # our copy of the strategy has been told results up to this
        self.strategy = self._restore_strategy()
        self._fruitless = 0
        self._next_requeue = 0.0
        # Whether the queue may hold a trial for us: False only when our last proposal saw
        # no queued trial left over and no other worker running (one worker, the usual case,
        # then skips a claim that would find nothing; a trial queued meanwhile by another
        # process is seen, and claimed, at the next proposal).
        self._may_claim = True
        self._parents: dict[int, bool] = {}  # whether trials this worker queued have parents
        self._started = time.perf_counter()
        self._base_elapsed = self.study.elapsed_seconds  # the study's run time when ours began
        self._heartbeat = _Heartbeat(store, self.config.heartbeat_seconds)

    # --- the loop ------------------------------------------------------------------------------

    def run(self) -> RunSummary:
        """Search until the budget is spent; safe to call again on a resumed study."""
        started = self._started = time.perf_counter()
        self._base_elapsed = self.study.elapsed_seconds
        self._requeue_abandoned(force=True)
        # Counted once per run, then taken again under the proposal lock each time this
        # worker proposes (other workers add trials too).
        self._used = queries.budget_used(self.store, self._id,
                                         self.config.budget.count_infeasible)
        self.listener.start(self.study, self.config.budget.trials, self._used)
        plugin_registry.call_event("nasplat_study_started", study=self.study,
                                   config=json.loads(self.study.config_json))
        reason = "budget spent"
        try:
            while True:
                stop = self._stop_reason(started)
                if stop:
                    reason = stop
                    break
                self._requeue_abandoned()
                jobs = self._claim(self.executor.slots) if self._may_claim else []
                if not jobs:
                    proposed, jobs = self._propose()
                if jobs:
                    for trial, outcome in self.executor.run(jobs, self._evaluation()):
                        self._commit(trial, outcome)
                    continue
                if proposed == "queued":
                    continue
                if proposed == "exhausted":
                    reason = (f"no new feasible genome in the last {MAX_FRUITLESS_PROPOSALS}"
                              f" proposals: the space looks exhausted")
                    break
                if not self._wait_for_others():
                    break
            self._drop_dominated_weights()
        except KeyboardInterrupt:
            reason = "interrupted"
            self._requeue_mine()
            raise
        finally:
            self._heartbeat.stop()
            self.study = queries.get_study(self.store, self.study.name)
            plugin_registry.call_event("nasplat_study_finished", study=self.study, reason=reason)
        counts = queries.status_counts(self.store, self._id)
        counts = {s: counts.get(s, 0) for s in ("complete", "failed", "infeasible")}
        return RunSummary(self.study, reason, counts, time.perf_counter() - started)

    @property
    def _id(self) -> int:
        assert self.study.id is not None
        return self.study.id

    def _counts(self, status: str) -> bool:
        """Whether a never-evaluated trial of ``status`` counts toward the trial budget
        (an evaluated one always does: it was trained)."""
        return status != "infeasible" or self.config.budget.count_infeasible

    def _stop_reason(self, started: float) -> str | None:
        budget = self.config.budget
        if budget.seconds is not None:
            spent = self._base_elapsed + time.perf_counter() - started
            if spent >= budget.seconds:
                return "time budget spent"
        return None

    def _wait_for_others(self) -> bool:
        """The budget is spent and nothing is queued: while other workers still run trials,
        wait (one of them may die and its trial come back to the queue); False when none do."""
        if not queries.has_running(self.store, self._id):
            return False
        time.sleep(min(1.0, self.config.heartbeat_seconds))
        return True

    def _requeue_abandoned(self, force: bool = False) -> None:
        """Re-queue trials whose worker is gone: at the start of a run, then every quarter
        of ``stale_after_seconds`` (a worker on another machine may die at any time)."""
        now = time.monotonic()
        if not force and now < self._next_requeue:
            return
        self._next_requeue = now + self.config.stale_after_seconds / 4
        # At the start nothing of this process runs yet: a trial under our pid is a dead
        # process's that had it before; later, our own running trials are alive.
        def gone(worker: str | None) -> bool:
            return (force or worker != self.worker) and local_worker_is_dead(worker)

        requeued = writes.requeue_abandoned(
            self.store, self._id, timedelta(seconds=self.config.stale_after_seconds),
            gone, self.config.max_attempts)
        if requeued:
            self._may_claim = True
            print(f"nasplat: re-running trial(s) {', '.join(map(str, requeued))} left "
                  f"unfinished by a worker that stopped")

    # --- asking --------------------------------------------------------------------------------

    def _propose(self) -> tuple[str, list[TrialRow]]:
        """Under the study's proposal lock: bring the strategy up to date, ask it for genomes,
        queue the new feasible ones and claim as many as this worker has free slots.

        Returns ``"queued"`` (or at least asked), ``"spent"`` (the trial budget is used up)
        or ``"exhausted"``, with the claimed trials.
        """
        try:
            with proposing.proposing(self.store, self._id) as lock:
                outcome, finished, jobs = self._propose_locked(lock)
            self._version = lock.version
        except BaseException:
            self._version = None  # our copy may be ahead of what was committed: reload it
            raise
        for row, outcome_ in finished:
            plugin_registry.call_event("nasplat_trial_finished", study=self.study, trial=row,
                                       metrics=dict(outcome_.metrics))
        return outcome, jobs

    def _propose_locked(self, lock: proposing.Proposing
                        ) -> tuple[str, list[tuple[TrialRow, Outcome]], list[TrialRow]]:
        pending = self._catch_up(lock)
        budget = self.config.budget
        self._used, last_number = lock.budget_used(budget.count_infeasible)
        slots = self.executor.slots
        # Trials queued before we took the lock (by another worker, `nasplat enqueue`) first.
        waiting = [row for row in pending if row.status == "queued"]
        jobs = [row for row in waiting[:slots] if writes.claim_in(lock.connection, row,
                                                                  self.worker)]
        others = any(row.status == "running" and row.worker != self.worker for row in pending)
        self._may_claim = others or len(waiting) > len(jobs)
        if len(jobs) == slots:
            self._save_state(lock)
            return "queued", [], jobs
        n = max(1, self.batch - len(pending))  # a genome for each idle worker
        if budget.trials is not None:
            n = min(n, budget.trials - self._used)
            if n <= 0:
                self._save_state(lock)
                return ("queued" if jobs else "spent"), [], jobs
        t0 = time.perf_counter()
        with lock.released():  # on SQLite, other writers of the file go on meanwhile
            genomes = self._ask(n, pending)
        ask_seconds = (time.perf_counter() - t0) / max(len(genomes), 1)
        if lock.pausable:  # `nasplat enqueue` may have numbered trials while the lock was off
            self._used, last_number = lock.budget_used(budget.count_infeasible)
        if budget.trials is not None and len(genomes) > budget.trials - self._used:
            genomes = genomes[:max(budget.trials - self._used, 0)]
            if not genomes:
                self._save_state(lock)
                return ("queued" if jobs else "spent"), [], jobs
        if not genomes:
            self._fruitless += n
            self._save_state(lock)
            return ("queued" if self._fruitless < MAX_FRUITLESS_PROPOSALS or jobs
                    else "exhausted"), [], jobs
        seen: set[str] = set()
        queued: list[NewTrial] = []
        infeasible: list[tuple[NewTrial, Outcome]] = []
        numbers = [n for item in genomes if isinstance(item, Proposal) for n in item.parents]
        lineage = lock.trial_ids(numbers) if numbers else {}
        for item in genomes:
            genome, parents, fidelity = _unpack(item)
            genome, error = self._checked(genome)
            digest = self.space.genome_hash(genome) if error is None else f"invalid:{uuid4().hex}"
            if digest in seen:
                continue
            seen.add(digest)
            new = NewTrial(json.dumps(self.space.to_json(genome)) if error is None else "null",
                           digest, 0, parent_ids=[lineage[p] for p in parents if p in lineage],
                           fidelity=fidelity, ask_seconds=ask_seconds)
            if error is not None:
                infeasible.append((new, Outcome("failed", error=error)))
                continue
            cheap = self._cheap_metrics(genome)
            violation = self._violation(cheap, cheap_only=True)
            if violation > 0:
                infeasible.append((new, Outcome("infeasible", cheap, self._violated(cheap),
                                                violation)))
            else:
                queued.append(new)
        known = lock.known_hashes([t.genome_hash for t in queued]
                                  + [t.genome_hash for t, _ in infeasible])
        queued = [t for t in queued if t.genome_hash not in known]
        infeasible = [x for x in infeasible if x[0].genome_hash not in known]
        self._fruitless = self._fruitless + len(genomes) if not queued else 0
        # Never-evaluated trials are finished here and told to the strategy at the next
        # proposal, in finish order, like every other result.
        rows = writes.enqueue_in(lock.connection, self._id, [t for t, _ in infeasible],
                                 self._seed_of, last_number)
        if rows:
            last_number = rows[-1].number
        finished = [(writes.finish_in(lock.connection, row, outcome), outcome)
                    for row, (_, outcome) in zip(rows, infeasible, strict=True)]
        self._used += sum(self._counts(outcome.status) for _, outcome in infeasible)
        claims = slots - len(jobs)
        rows = writes.enqueue_in(lock.connection, self._id, queued, self._seed_of, last_number,
                                 claimed_by=self.worker, claims=claims)
        jobs += rows[:claims]
        self._may_claim = self._may_claim or len(rows) > claims
        self._used += len(rows)
        self._parents.update((row.id, bool(t.parent_ids)) for row, t in zip(rows, queued))
        self._save_state(lock)
        if self._fruitless >= MAX_FRUITLESS_PROPOSALS and not jobs:
            return "exhausted", finished, jobs
        return "queued", finished, jobs

    def _catch_up(self, lock: proposing.Proposing) -> list[TrialRow]:
        """Make our copy of the strategy the stored one, told every result since; return
        the trials pending (queued or running)."""
        if saves_state(self.strategy) and self._version != lock.version - 1:
            strategy = make_strategy(self.problem)
            state = lock.state()
            if state is not None:
                strategy.load_state_dict(state)
            self.strategy, self._told_seq = strategy, lock.told_seq
        results, pending = lock.news(self._told_seq)
        if results:
            self.strategy.tell([_as_result(self.space, row, metrics, self.problem)
                                for row, metrics in results])
            self._told_seq = results[-1][0].finish_seq or self._told_seq
        return pending

    def _ask(self, n: int, pending: Sequence[TrialRow]) -> list[Any]:
        """Ask for ``n`` genomes, telling a strategy that takes them the pending trials."""
        if not accepts_pending(self.strategy):
            return list(self.strategy.ask(n))
        genomes = [self.space.from_json(json.loads(row.genome_json)) for row in pending
                   if row.genome_json != "null"]
        return list(self.strategy.ask(n, pending=genomes))

    def _save_state(self, lock: proposing.Proposing) -> None:
        if saves_state(self.strategy):
            writes.save_state_in(lock.connection, self._id, self.strategy.state_dict(),
                                 self._told_seq)
        # reports made by this ask land with the state that knows they were made
        writes.record_surrogate_reports_in(lock.connection, self._id,
                                           drain_reports(self.strategy))

    def _checked(self, genome: Genome) -> tuple[Genome, str | None]:
        try:
            self.space.validate(genome)
            return genome, None
        except InvalidGenome as exc:
            if has_capability(self.space, "repair"):
                try:
                    repaired = self.space.repair(genome)  # type: ignore[attr-defined]
                    self.space.validate(repaired)
                    return repaired, None
                except InvalidGenome:
                    pass
            return genome, f"invalid genome from strategy '{self.config.strategy.name}': {exc}"

    def _seed_of(self, number: int) -> int:
        """The seed of trial ``number``, given to it as it is queued."""
        return trial_seed(self.config.seed, number)

    # --- evaluating ------------------------------------------------------------------------------

    def _claim(self, slots: int) -> list[TrialRow]:
        jobs = []
        for _ in range(slots):
            trial = writes.claim(self.store, self._id, self.worker)
            if trial is None:
                break
            jobs.append(trial)
        return jobs

    def _evaluation(self) -> Callable[[TrialRow], Outcome]:
        """What the executor calls per trial: this engine's own method, or for an executor
        whose trials run in other processes (``remote = True``), a picklable stand-in."""
        if getattr(self.executor, "remote", False):
            return RemoteEvaluation(self.store.url, self.study.name,
                                    str(self.artifact_root) if self.artifact_root else None)
        return self._evaluate

    def _evaluate(self, trial: TrialRow) -> Outcome:
        """Evaluate one trial; every failure becomes a failed outcome with its reason."""
        genome = self.space.from_json(json.loads(trial.genome_json))
        self.listener.trial_started(trial)
        plugin_registry.call_event("nasplat_trial_started", study=self.study, trial=trial)
        has_parents = self._parents.pop(trial.id or 0, True)  # unknown: look it up
        parent = queries.first_parent(self.store, trial.id or 0) if has_parents else None
        ctx = TrialContext(
            number=trial.number, genome=genome, seed=trial.seed, fidelity=trial.fidelity,
            parent_genome=(self.space.from_json(json.loads(parent.genome_json))
                           if parent is not None else None),
            parent_artifacts=(queries.artifacts(self.store, parent.id or 0)
                              if parent is not None else {}),
            artifact_dir=(self.artifact_root / self.study.name / f"trial-{trial.number}"
                          if self.artifact_root else None),
            report=lambda step, name, value: writes.record_intermediate(
                self.store, trial.id or 0, step, name, float(value)))
        cheap = self._cheap_metrics(genome)
        try:
            with self._heartbeat.beating(trial.id or 0):
                record = self.evaluator.evaluate(ctx)
            return self._outcome(cheap, record)
        except KeyboardInterrupt:
            raise
        except (TrialFailed, InvalidGenome) as exc:
            reason = str(exc)
        except MemoryError:
            reason = "out of memory (host RAM)"
        except Exception as exc:  # a failing trial must not stop the search
            reason = _failure_reason(exc)
        _release_memory()  # a failed trial may leave tensors behind (OOM above all)
        return Outcome("failed", cheap, reason)

    def _outcome(self, cheap: dict[str, float], record: EvaluationRecord) -> Outcome:
        record.metrics = {**cheap, **record.metrics}
        values = {o.name: float(o.compute(record)) for o in self.problem.objectives}
        bad = [f"{k} = {v}" for k, v in values.items() if not is_finite(v)]
        if bad:
            return Outcome("failed", record.metrics, f"objective value not finite: {', '.join(bad)}")
        metrics = {**record.metrics, **values}
        violation = self._violation(metrics, cheap_only=False)
        if violation == math.inf:
            missing = [m for m in self.problem.constraints if m not in metrics]
            return Outcome("failed", metrics, f"constraint metric(s) {', '.join(missing)} were not "
                           f"produced by the evaluation: remove the constraint or fix the metric")
        if violation > 0:
            return Outcome("infeasible", metrics, self._violated(metrics), violation,
                           record.artifacts)
        return Outcome("complete", metrics, None, 0.0, record.artifacts)

    def _commit(self, trial: TrialRow, outcome: Outcome) -> None:
        if outcome.status == "failed" and outcome.error:
            outcome.metrics = {k: v for k, v in outcome.metrics.items() if is_finite(v)}
        run_seconds = self._base_elapsed + time.perf_counter() - self._started
        row = writes.finish(self.store, trial, outcome, run_seconds=run_seconds)
        self.study.elapsed_seconds = max(self.study.elapsed_seconds, run_seconds)
        self.listener.trial_finished(row, dict(outcome.metrics))
        plugin_registry.call_event("nasplat_trial_finished", study=self.study, trial=row,
                                   metrics=dict(outcome.metrics))

    # --- helpers ---------------------------------------------------------------------------------

    def _cheap_metrics(self, genome: Genome) -> dict[str, float]:
        return {k: float(v) for k, v in self.space.cheap_metrics(genome).items()}

    def _violation(self, metrics: dict[str, float], cheap_only: bool) -> float:
        total = 0.0
        for name, bound in self.problem.constraints.items():
            if name not in metrics:
                if cheap_only:
                    continue
                return math.inf
            total += bound.violation(metrics[name])
        return total

    def _violated(self, metrics: dict[str, float]) -> str:
        parts = []
        for name, bound in self.problem.constraints.items():
            if name in metrics and bound.violation(metrics[name]) > 0:
                rng = f"[{'' if bound.min is None else f'{bound.min:g}'}, " \
                      f"{'' if bound.max is None else f'{bound.max:g}'}]"
                parts.append(f"{name} = {metrics[name]:g} outside {rng}")
        return "constraint violated: " + "; ".join(parts)

    def _restore_strategy(self) -> Any:
        """A new strategy; one that keeps no state of its own is told every finished trial
        again, in finish order (one that does is loaded from the store when it is asked)."""
        strategy = make_strategy(self.problem)
        if not saves_state(strategy):
            with self.store.engine.connect() as connection:
                results = proposing.finished_since(connection, self._id, 0)
            if results:
                strategy.tell([_as_result(self.space, row, metrics, self.problem)
                               for row, metrics in results])
                self._told_seq = results[-1][0].finish_seq or 0
        return strategy

    def _drop_dominated_weights(self) -> None:
        """With ``keep_weights = "pareto"``, delete the saved weights of every trial off the
        Pareto front (they were kept while the front was unknown)."""
        if self.config.trainer.keep_weights != "pareto":
            return
        finished = queries.finished(self.store, self._id)
        names = [o.name for o in self.problem.objectives]
        complete = [(row, m) for row, m in finished
                    if row.status == "complete" and all(n in m for n in names)]
        values = [[m[n] for n in names] for _, m in complete]
        front = {complete[i][0].id for i in pareto_indices(
            values, [o.direction for o in self.problem.objectives])}
        off = [row.id for row, _ in finished if row.id not in front and row.id is not None]
        paths = queries.artifact_paths(self.store, off, "weights")
        for path in paths.values():
            Path(path).unlink(missing_ok=True)
        if paths:
            writes.delete_artifacts(self.store, list(paths), "weights")

    def _requeue_mine(self) -> None:
        """On Ctrl-C, put this process's running trials back in the queue for the resume."""
        writes.requeue_abandoned(self.store, self._id, timedelta(days=36500),
                                 lambda worker: worker == self.worker, count_attempt=False)


@dataclass(frozen=True)
class RemoteEvaluation:
    """Evaluates trials of a study in another process (a Ray task, a cluster job).

    Picklable: it carries the store's URL and the study's name, and builds the study's
    evaluator in the process it runs in, once per process.
    """

    storage: str
    study: str
    artifact_root: str | None = None

    def __call__(self, trial: TrialRow) -> Outcome:
        """Evaluate ``trial``; every failure becomes a failed outcome with its reason."""
        return _remote_engine(self)._evaluate(trial)


class _InProcess:
    """Runs jobs one by one here: the executor of an engine that only evaluates."""

    name, slots = "in-process", 1

    def run(self, jobs: Sequence[Any], evaluate: Callable[[Any], Any]
            ) -> Iterator[tuple[Any, Any]]:
        for job in jobs:
            yield job, evaluate(job)


_REMOTE_ENGINES: dict[RemoteEvaluation, Engine] = {}


def _remote_engine(spec: RemoteEvaluation) -> Engine:
    if spec not in _REMOTE_ENGINES:
        store = Store(spec.storage)
        row = queries.get_study(store, spec.study)
        config = StudyConfig.model_validate_json(row.config_json).model_copy(
            update={"storage": spec.storage})
        _REMOTE_ENGINES[spec] = Engine(
            store, row, resolve(config), executor=_InProcess(),
            artifact_root=Path(spec.artifact_root) if spec.artifact_root else None)
    return _REMOTE_ENGINES[spec]


def _unpack(item: Any) -> tuple[Genome, tuple[int, ...], float | None]:
    if isinstance(item, Proposal):
        return item.genome, item.parents, item.fidelity
    return item, (), None


def _as_result(space: Any, row: TrialRow, metrics: dict[str, float], problem: Problem
               ) -> TrialResult:
    genome = space.from_json(json.loads(row.genome_json)) if row.genome_json != "null" else None
    values = {o.name: metrics[o.name] for o in problem.objectives
              if o.name in metrics and row.status != "failed"}
    return TrialResult(row.number, genome, row.status,  # type: ignore[arg-type]
                       values, row.violation or 0.0, metrics)


class _Heartbeat:
    """Keeps the heartbeat of this process's running trials fresh, from one background thread.

    One thread for the whole run rather than one per trial: starting and joining a thread for
    every trial cost more than an analytic trial itself. A trial's heartbeat is never older
    than ``every`` seconds while it runs, as with a thread of its own.
    """

    def __init__(self, store: Store, every: float) -> None:
        self.store, self.every = store, every
        self._running: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @contextmanager
    def beating(self, trial_id: int) -> Iterator[None]:
        """Beat for ``trial_id`` while the block runs."""
        with self._lock:
            self._running.add(trial_id)
            if self._thread is None:
                self._thread = threading.Thread(target=self._beat, daemon=True)
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._running.discard(trial_id)

    def stop(self) -> None:
        """Stop the thread (at the end of a run); a later ``beating`` starts a new one."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
            self._stop.clear()

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            with self._lock:
                running = list(self._running)
            for trial_id in running:
                try:
                    writes.heartbeat(self.store, trial_id)
                except Exception:  # a missed heartbeat is retried at the next beat
                    pass


def _failure_reason(exc: BaseException) -> str:
    name = type(exc).__name__
    if "OutOfMemory" in name or "out of memory" in str(exc).lower():
        return f"out of memory: {str(exc).splitlines()[0] if str(exc) else name}"
    if isinstance(exc, NasplatError):
        return str(exc)
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return f"{name}: {exc}{where}"


def _release_memory() -> None:
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass

