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
from collections.abc import Iterator, Sequence
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
from nasplat.problem import Problem, make_executor, make_strategy
from nasplat.space import Genome, has_capability
from nasplat.store import Store, StudyRow, TrialRow, queries, writes
from nasplat.store.writes import NewTrial, Outcome
from nasplat.strategy import Proposal, TrialResult, saves_state

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
                 artifact_root: Path | None = None) -> None:
        self.store, self.study, self.problem = store, study, problem
        self.config: StudyConfig = problem.config
        self.space = problem.space
        self.evaluator = evaluator or make_evaluator(self.space, self.config)
        self.executor = make_executor(self.config)
        self.listener = listener or ProgressListener()
        self.artifact_root = artifact_root
        self.worker = worker_id()
        self.strategy = self._restore_strategy()
        self._fruitless = 0
        self._mark = time.perf_counter()
        self._heartbeat = _Heartbeat(store, self.config.heartbeat_seconds)

    # --- the loop ------------------------------------------------------------------------------

    def run(self) -> RunSummary:
        """Search until the budget is spent; safe to call again on a resumed study."""
        started = self._mark = time.perf_counter()
        self._base_elapsed = self.study.elapsed_seconds
        requeued = writes.requeue_abandoned(
            self.store, self._id, timedelta(seconds=self.config.stale_after_seconds),
            local_worker_is_dead)
        if requeued:
            print(f"nasplat: re-running trial(s) {', '.join(map(str, requeued))} left unfinished "
                  f"by a process that stopped")
        # Counted once per run, then kept up to date as this run adds and finishes trials:
        # counting in the store before every trial scans all of the study's trials, and the
        # cost of a trial would grow with their number. (Trials another process queues during
        # the run, with `nasplat enqueue`, still run; they count from the next run on.)
        self._used = queries.budget_used(self.store, self._id,
                                         self.config.budget.count_infeasible)
        budget = self.config.budget
        self.listener.start(self.study, budget.trials, self._used)
        plugin_registry.call_event("nasplat_study_started", study=self.study,
                                   config=json.loads(self.study.config_json))
        reason = "budget spent"
        try:
            while True:
                stop = self._stop_reason(started)
                if stop:
                    reason = stop
                    break
                jobs = self._claim(self.executor.slots)
                if not jobs:
                    if not self._propose():
                        reason = (f"no new feasible genome in the last {MAX_FRUITLESS_PROPOSALS}"
                                  f" proposals: the space looks exhausted")
                        break
                    continue
                for trial, outcome in self.executor.run(jobs, self._evaluate):
                    self._commit(trial, outcome)
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
        if budget.trials is not None and self._used >= budget.trials:
            if not queries.has_queued(self.store, self._id):  # queued ones run past the budget
                return "budget spent"
        if budget.seconds is not None:
            spent = self._base_elapsed + time.perf_counter() - started
            if spent >= budget.seconds:
                return "time budget spent"
        return None

    # --- asking --------------------------------------------------------------------------------

    def _propose(self) -> bool:
        """Ask for genomes, queue the new feasible ones; False when the space looks exhausted."""
        budget = self.config.budget
        n = self.executor.slots
        if budget.trials is not None:
            n = min(n, budget.trials - self._used)
        t0 = time.perf_counter()
        genomes = self.strategy.ask(n)
        ask_seconds = (time.perf_counter() - t0) / max(len(genomes), 1)
        if not genomes:
            self._fruitless += n
            return self._fruitless < MAX_FRUITLESS_PROPOSALS
        hashes, seen = [], set()
        queued: list[NewTrial] = []
        infeasible: list[tuple[NewTrial, Outcome, Genome]] = []
        lineage = self._lineage(genomes)
        for item in genomes:
            genome, parents, fidelity = _unpack(item)
            genome, error = self._checked(genome)
            digest = self.space.genome_hash(genome) if error is None else f"invalid:{uuid4().hex}"
            hashes.append(digest)
            if digest in seen:
                continue
            seen.add(digest)
            new = NewTrial(json.dumps(self.space.to_json(genome)) if error is None else "null",
                           digest, 0, parent_ids=[lineage[p] for p in parents if p in lineage],
                           fidelity=fidelity, ask_seconds=ask_seconds)
            if error is not None:
                infeasible.append((new, Outcome("failed", error=error), genome))
                continue
            cheap = self._cheap_metrics(genome)
            violation = self._violation(cheap, cheap_only=True)
            if violation > 0:
                why = self._violated(cheap)
                infeasible.append((new, Outcome("infeasible", cheap, why, violation), genome))
            else:
                queued.append(new)
        known = queries.known_hashes(self.store, self._id, [t.genome_hash for t in queued]
                                     + [t.genome_hash for t, _, _ in infeasible])
        queued = [t for t in queued if t.genome_hash not in known]
        infeasible = [x for x in infeasible if x[0].genome_hash not in known]
        if not queued:
            self._fruitless += len(genomes)
        else:
            self._fruitless = 0
        self._record_unevaluated(infeasible)
        if queued:
            writes.enqueue(self.store, self._id, queued, self._state(), self._seed_of)
            self._used += len(queued)
        elif saves_state(self.strategy):
            writes.enqueue(self.store, self._id, [], self._state())
        return self._fruitless < MAX_FRUITLESS_PROPOSALS

    def _lineage(self, proposals: Sequence[Any]) -> dict[int, int]:
        """Trial ids of the parents the proposals name, by trial number."""
        numbers = [n for item in proposals if isinstance(item, Proposal) for n in item.parents]
        return queries.trial_ids(self.store, self._id, numbers) if numbers else {}

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

    def _record_unevaluated(self, items: Sequence[tuple[NewTrial, Outcome, Genome]]) -> None:
        """Store infeasible (never evaluated) and invalid proposals, and tell the strategy."""
        if not items:
            return
        rows = writes.enqueue(self.store, self._id, [t for t, _, _ in items],
                              seed_of=self._seed_of)
        results = []
        for row, (_, outcome, genome) in zip(rows, items, strict=True):
            row = writes.finish(self.store, row, outcome)
            plugin_registry.call_event("nasplat_trial_finished", study=self.study, trial=row,
                                       metrics=dict(outcome.metrics))
            if self._counts(outcome.status):
                self._used += 1
            results.append(TrialResult(row.number, genome, outcome.status,
                                       violation=outcome.violation or 0.0,
                                       metrics=dict(outcome.metrics)))
        self.strategy.tell(results)

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

    def _evaluate(self, trial: TrialRow) -> Outcome:
        """Evaluate one trial; every failure becomes a failed outcome with its reason."""
        genome = self.space.from_json(json.loads(trial.genome_json))
        self.listener.trial_started(trial)
        plugin_registry.call_event("nasplat_trial_started", study=self.study, trial=trial)
        parent = queries.first_parent(self.store, trial.id or 0)
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
        genome = self.space.from_json(json.loads(trial.genome_json))
        names = [o.name for o in self.problem.objectives]
        result = TrialResult(trial.number, genome, outcome.status,  # type: ignore[arg-type]
                             values={k: outcome.metrics[k] for k in names
                                     if k in outcome.metrics and outcome.status != "failed"},
                             violation=outcome.violation or 0.0, metrics=dict(outcome.metrics))
        self.strategy.tell([result])
        now = time.perf_counter()
        elapsed, self._mark = now - self._mark, now
        row = writes.finish(self.store, trial, outcome, self._state(), elapsed)
        self.study.elapsed_seconds += elapsed
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

    def _state(self) -> Any | None:
        return self.strategy.state_dict() if saves_state(self.strategy) else None

    def _restore_strategy(self) -> Any:
        strategy = make_strategy(self.problem)
        if saves_state(strategy):
            state = queries.strategy_state(self.store, self._id)
            if state is not None:
                strategy.load_state_dict(state)
            return strategy
        results = [_as_result(self.space, row, metrics, self.problem)
                   for row, metrics in queries.finished(self.store, self._id)]
        if results:
            strategy.tell(results)
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
                                 lambda worker: worker == self.worker)


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

