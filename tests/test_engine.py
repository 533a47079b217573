"""The ask/tell engine: budgets, deduplication, constraints, failures, resume, determinism."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from nasplat import hookimpl, load_study, registry, run_study
from nasplat.engine import trial_seed
from nasplat.store import Store, queries, writes
from nasplat.store.tables import utcnow


def config(storage: str, space: str = "toy_int", trials: int = 20, **extra: Any) -> dict:
    return {"study": "s", "space": space, "budget": {"trials": trials}, "storage": storage,
            **extra}


@pytest.mark.parametrize("space", ["toy_int", "toy_mask", "toy_genes", "toy_cell"])
def test_every_genome_kind_runs_to_budget(storage: str, space: str) -> None:
    summary = run_study(config(storage, space, 15))
    study = load_study("s", storage)
    trials = study.trials()
    assert summary.reason == "budget spent"
    assert len(trials) == 15 and all(t.status == "complete" for t in trials)
    assert [t.number for t in trials] == list(range(15))
    assert len({t.genome_hash for t in trials}) == 15
    front = study.pareto_front()
    assert front and all(t.status == "complete" for t in front)


def test_values_match_the_analytic_objectives(storage: str) -> None:
    run_study(config(storage, trials=10))
    for t in load_study("s", storage).trials():
        assert t.values["error"] == sum((g - 3) ** 2 for g in t.genome)
        widths = [4, *(2 * g for g in t.genome), 3]
        assert t.values["params"] == sum(a * b + b for a, b in zip(widths, widths[1:]))


def test_seeded_runs_repeat_exactly(tmp_path) -> None:
    runs = []
    for i in range(2):
        url = f"sqlite:///{tmp_path / f'{i}.db'}"
        run_study(config(url, "toy_genes", 12, seed=7))
        runs.append([(t.genome, t.values, t.seed) for t in load_study("s", url).trials()])
    assert runs[0] == runs[1]
    other = f"sqlite:///{tmp_path / 'other.db'}"
    run_study(config(other, "toy_genes", 12, seed=8))
    assert [t.genome for t in load_study("s", other).trials()] != [g for g, _, _ in runs[0]]


def test_trial_seeds_depend_on_study_seed_and_number(storage: str) -> None:
    run_study(config(storage, trials=3, seed=5))
    assert [t.seed for t in load_study("s", storage).trials()] == [trial_seed(5, n)
                                                                   for n in range(3)]


def test_resume_continues_the_same_sequence(tmp_path) -> None:
    whole = f"sqlite:///{tmp_path / 'whole.db'}"
    run_study(config(whole, "toy_cell", 20, seed=3))
    parts = f"sqlite:///{tmp_path / 'parts.db'}"
    run_study(config(parts, "toy_cell", 8, seed=3))
    run_study(config(parts, "toy_cell", 20, seed=3))  # same study, larger budget: resumes
    a = [(t.genome_hash, t.values) for t in load_study("s", whole).trials()]
    b = [(t.genome_hash, t.values) for t in load_study("s", parts).trials()]
    assert a == b


def test_resume_keeps_the_total_budget(storage: str) -> None:
    run_study(config(storage, trials=10))
    summary = run_study(config(storage, trials=10))
    assert summary.reason == "budget spent"
    assert len(load_study("s", storage).trials()) == 10


def test_resume_refuses_a_changed_space(storage: str) -> None:
    from nasplat.errors import StoreError

    run_study(config(storage, trials=2))
    with pytest.raises(StoreError, match="different space"):
        run_study(config(storage, "toy_mask", 2))


def test_duplicates_are_not_evaluated_and_exhaustion_stops(storage: str) -> None:
    summary = run_study(config(storage, "tiny", 50))
    trials = load_study("s", storage).trials()
    assert len(trials) == 4  # the whole space, each architecture once
    assert len({t.genome_hash for t in trials}) == 4
    assert "exhausted" in summary.reason


def test_cheap_constraints_skip_evaluation_and_do_not_count(storage: str) -> None:
    run_study(config(storage, trials=15, constraints={"params": {"max": 600}}))
    trials = load_study("s", storage).trials()
    infeasible = [t for t in trials if t.status == "infeasible"]
    complete = [t for t in trials if t.status == "complete"]
    assert len(complete) == 15 and infeasible
    assert all(t.metrics["params"] > 600 for t in infeasible)
    assert all("error" not in t.metrics for t in infeasible)  # never evaluated
    assert all(t.metrics["params"] <= 600 for t in complete)
    assert all("params = " in (t.error or "") for t in infeasible)


def test_infeasible_can_count_toward_the_budget(storage: str) -> None:
    cfg = config(storage, trials=15, constraints={"params": {"max": 600}})
    cfg["budget"]["count_infeasible"] = True
    run_study(cfg)
    assert len(load_study("s", storage).trials()) == 15


def test_expensive_constraints_mark_evaluated_trials_infeasible(storage: str) -> None:
    run_study(config(storage, trials=20, constraints={"error": {"max": 40}}))
    trials = load_study("s", storage).trials()
    assert len(trials) == 20  # evaluated infeasible trials were trained: they count
    assert any(t.status == "infeasible" for t in trials)
    for t in trials:
        assert "error" in t.metrics
        assert (t.status == "complete") == (t.metrics["error"] <= 40)
    study = load_study("s", storage)
    assert all(t.metrics["error"] <= 40 for t in study.pareto_front())


def test_failing_trials_are_recorded_and_the_search_goes_on(storage: str) -> None:
    summary = run_study(config(storage, "flaky", 40))
    trials = load_study("s", storage).trials()
    assert len(trials) == 40 and summary.reason == "budget spent"
    reasons = {t.genome[0]: t.error for t in trials if t.status == "failed"}
    assert "RuntimeError: boom in the model" in reasons[1]
    assert "not finite" in reasons[2] and "nan" in reasons[2]
    assert reasons[3] == "loss diverged at epoch 2"
    assert "out of memory" in reasons[4]
    assert all(t.status == "complete" for t in trials if t.genome[0] > 4)
    assert all(t.values == {} for t in trials if t.status == "failed")


def test_abandoned_running_trial_is_rerun_with_its_genome(storage: str) -> None:
    run_study(config(storage, trials=5, stale_after_seconds=60))
    store = Store(storage)
    study = queries.get_study(store, "s")
    victim = queries.trials(store, study.id)[2]
    with store.session() as session:  # pretend a dead worker left trial 2 running
        row = session.get(type(victim), victim.id)
        row.status, row.worker = "running", "elsewhere:1"
        row.heartbeat_at = utcnow() - timedelta(minutes=5)
        session.add(row)
        session.exec(__import__("sqlalchemy").text(f"DELETE FROM metrics WHERE trial_id = {victim.id}"))
    run_study(config(storage, trials=5, stale_after_seconds=60))
    after = load_study("s", storage).trials()
    assert len(after) == 5 and all(t.status == "complete" for t in after)
    assert after[2].genome_hash == victim.genome_hash and after[2].attempts == 2


def test_fresh_heartbeat_of_a_live_remote_worker_is_left_alone(storage: str) -> None:
    run_study(config(storage, trials=2))
    store = Store(storage)
    study = queries.get_study(store, "s")
    rows = writes.enqueue(store, study.id, [writes.NewTrial("[1,1,1,1,1,1,1,1,1]", "h", 0)])
    claimed = writes.claim(store, study.id, "otherhost:123")
    assert claimed is not None and claimed.id == rows[0].id
    assert writes.requeue_abandoned(store, study.id, timedelta(seconds=60)) == []


def test_intermediate_values_and_event_hooks(storage: str) -> None:
    from nasplat.evaluation import EvaluationRecord
    from nasplat.study import prepare

    events: list[tuple[str, Any]] = []

    class Listener:
        @hookimpl
        def nasplat_study_started(self, study, config):
            events.append(("started", study.name))

        @hookimpl
        def nasplat_trial_started(self, study, trial):
            events.append(("trial_started", trial.number))

        @hookimpl
        def nasplat_trial_finished(self, study, trial, metrics):
            events.append(("trial_finished", (trial.number, trial.status)))

        @hookimpl
        def nasplat_study_finished(self, study, reason):
            events.append(("finished", reason))

    class Curve:
        def evaluate(self, ctx):
            for step in range(3):
                ctx.report(step, "loss", 1.0 / (step + 1))
            return EvaluationRecord(metrics={"error": 1.0})

    registry.get().add(Listener(), "listener")
    try:
        engine = prepare(config(storage, trials=2))
        engine.evaluator = Curve()
        engine.run()
    finally:
        registry.get().remove("listener")
    assert events[0] == ("started", "s") and events[-1] == ("finished", "budget spent")
    assert [e for e in events if e[0] == "trial_finished"] == [
        ("trial_finished", (0, "complete")), ("trial_finished", (1, "complete"))]
    store = Store(storage)
    trial = queries.trials(store, queries.get_study(store, "s").id)[1]
    curve = queries.intermediate_values(store, trial.id)
    assert [(c.step, c.name, c.value) for c in curve] == [(0, "loss", 1.0), (1, "loss", 0.5),
                                                           (2, "loss", 1 / 3)]


def test_a_failing_event_hook_does_not_stop_the_search(storage: str, capsys) -> None:
    class Broken:
        @hookimpl
        def nasplat_trial_finished(self, study, trial, metrics):
            raise ValueError("logger down")

    heard: list[int] = []

    class Working:
        @hookimpl
        def nasplat_trial_finished(self, study, trial, metrics):
            heard.append(trial.number)

    registry.get().add(Broken(), "broken-listener")
    registry.get().add(Working(), "working-listener")
    try:
        run_study(config(storage, trials=3))
    finally:
        registry.get().remove("broken-listener")
        registry.get().remove("working-listener")
    assert len(load_study("s", storage).trials(["complete"])) == 3
    assert heard == [0, 1, 2]  # the broken listener silenced no other
    err = capsys.readouterr().err
    assert "plugin 'broken-listener' failed in nasplat_trial_finished" in err
    assert "logger down" in err


def test_time_budget(storage: str) -> None:
    cfg = config(storage, "slow", 1000)
    cfg["budget"]["seconds"] = 0.5
    summary = run_study(cfg)
    assert summary.reason == "time budget spent"
    n = len(load_study("s", storage).trials())
    assert 2 <= n < 40


def test_strategy_state_is_saved_with_every_tell(storage: str) -> None:
    run_study(config(storage, trials=4))
    store = Store(storage)
    state = queries.strategy_state(store, queries.get_study(store, "s").id)
    assert state["rng"]["bit_generator"] == "PCG64"
    cfg = json.loads(queries.get_study(store, "s").config_json)
    assert cfg["space"]["name"] == "toy_int" and cfg["budget"]["trials"] == 4


def test_a_strategy_that_takes_pending_genomes_gets_those_other_workers_run(storage) -> None:
    import types

    import numpy as np

    from nasplat.study import prepare
    from toys import ToyIntVector

    calls: list[tuple[int, list]] = []

    class Recording:
        """Random proposals; remembers what each ask was told was pending."""

        name = "recording"

        def __init__(self, space, objectives, seed: int = 0) -> None:
            self.space = space

        def ask(self, n: int, pending=()) -> list:
            calls.append((n, list(pending)))
            rng = np.random.default_rng(100 + len(calls))  # no state kept: vary the draws
            return [self.space.sample(rng) for _ in range(n)]

        def tell(self, results) -> None:
            pass

    plugin = types.SimpleNamespace(
        nasplat_register_strategies=hookimpl(lambda register: register(Recording)))
    registry.get().add(plugin, "recording-strategy")
    try:
        cfg = {**config(storage, trials=10), "strategy": "recording"}
        run_study({**cfg, "budget": {"trials": 2}})
        store = Store(storage)
        study = queries.get_study(store, "s")
        genome = ToyIntVector().sample(np.random.default_rng(7))
        writes.enqueue(store, study.id, [writes.NewTrial(json.dumps(genome), "elsewhere", 0)])
        assert writes.claim(store, study.id, "otherhost:1") is not None  # runs elsewhere
        calls.clear()
        engine = prepare(cfg, batch=3)
        proposed, jobs = engine._propose()
        assert proposed == "queued" and len(jobs) == 1
        assert calls == [(2, [genome])], "3 workers, 1 busy elsewhere: ask 2, knowing its genome"
    finally:
        registry.get().remove("recording-strategy")


def test_a_trial_queued_by_another_process_during_a_run_is_run(storage: str) -> None:
    """One worker skips claiming while its own proposals are all it sees; a trial that another
    process queues meanwhile is still found, at the next proposal, and run."""
    import numpy as np

    from toys import ToyIntVector

    genome = ToyIntVector().sample(np.random.default_rng(12345))
    queued: list[int] = []

    class Enqueuer:
        @hookimpl
        def nasplat_trial_finished(self, study, trial, metrics):
            if trial.number == 2 and not queued:
                other = Store(storage)  # another connection, as another process would have
                try:
                    (row,) = writes.enqueue(other, study.id, [writes.NewTrial(
                        json.dumps(genome), "from-elsewhere", 0)])
                finally:
                    other.close()
                queued.append(row.number)

    registry.get().add(Enqueuer(), "enqueuer")
    try:
        summary = run_study(config(storage, trials=8))
    finally:
        registry.get().remove("enqueuer")
    assert summary.counts["complete"] == 8
    trials = load_study("s", storage).trials()
    assert len(trials) == 8 and len({t.number for t in trials}) == 8
    (mine,) = [t for t in trials if t.number == queued[0]]
    assert mine.status == "complete" and mine.genome == genome and mine.attempts == 1
    started = sorted(trials, key=lambda t: t.started_at)
    assert started.index(mine) <= queued[0] + 1, "run at the next proposal, not at the end"


def test_a_resumed_study_adds_its_run_time(storage: str) -> None:
    run_study(config(storage, "slow", 3))
    first = queries.get_study(Store(storage), "s").elapsed_seconds
    assert first >= 3 * 0.05
    run_study({**config(storage, "slow", 3), "budget": {"trials": 6}})
    second = queries.get_study(Store(storage), "s").elapsed_seconds
    assert second >= first + 3 * 0.05
