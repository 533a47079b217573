"""The proposal lock keeps a study's proposers apart without stopping the store's other writers."""

from __future__ import annotations

import threading
import time
import types
from typing import Any

import numpy as np
import pytest

from nasplat import hookimpl, load_study, registry, run_study
from nasplat.store import Store, proposing, queries

ASK_STARTED = threading.Event()
ASK_MAY_END = threading.Event()


class Waiting:
    """Random proposals; each ask waits until the test lets it end."""

    name = "waiting"

    def __init__(self, space: Any, objectives: Any, seed: int = 0) -> None:
        self.space, self.rng = space, np.random.default_rng(seed)

    def ask(self, n: int) -> list:
        ASK_STARTED.set()
        assert ASK_MAY_END.wait(120), "the test never let the ask end"
        return [self.space.sample(self.rng) for _ in range(n)]

    def tell(self, results: Any) -> None:
        pass


@pytest.fixture
def waiting_strategy() -> Any:
    plugin = types.SimpleNamespace(
        nasplat_register_strategies=hookimpl(lambda register: register(Waiting)))
    registry.get().add(plugin, "waiting-strategy")
    ASK_STARTED.clear()
    ASK_MAY_END.clear()
    yield
    ASK_MAY_END.set()
    registry.get().remove("waiting-strategy")


def config(storage: str, study: str, strategy: str, trials: int) -> dict:
    return {"study": study, "space": "toy_int", "strategy": strategy,
            "budget": {"trials": trials}, "storage": storage}


def in_thread(target: Any) -> tuple[threading.Thread, list]:
    errors: list = []

    def run() -> None:
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors


def test_a_long_ask_lets_other_studies_write_and_keeps_its_own_proposers_out(
        storage: str, waiting_strategy: Any) -> None:
    asking, asking_errors = in_thread(lambda: run_study(config(storage, "slow", "waiting", 3)))
    assert ASK_STARTED.wait(60), asking_errors
    # another study in the same store runs to its end while the ask goes on (on SQLite the
    # asking worker used to hold the file's write lock, and this waited for the ask)
    other, other_errors = in_thread(lambda: run_study(config(storage, "other", "random", 4)))
    other.join(60)
    assert not other.is_alive() and not other_errors, other_errors
    assert len(load_study("other", storage).trials(["complete"])) == 4
    # a second proposer of the asking study waits for the ask to end
    store = Store(storage)
    study_id = queries.get_study(store, "slow").id
    entered: list[float] = []

    def propose() -> None:
        with proposing.proposing(store, study_id):
            entered.append(time.perf_counter())

    second, second_errors = in_thread(propose)
    time.sleep(1.0)
    assert not entered, "a second proposer took the lock while the first was asking"
    released = time.perf_counter()
    ASK_MAY_END.set()
    second.join(60)
    asking.join(60)
    store.close()
    assert not second_errors and not asking_errors, (second_errors, asking_errors)
    assert entered and entered[0] > released
    trials = load_study("slow", storage).trials(["complete"])
    assert sorted(t.number for t in trials) == [0, 1, 2]
