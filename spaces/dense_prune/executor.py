"""``batched_heads``: runs K trials per round and tells the evaluator which K are coming.

The engine hands an executor its jobs and a callable that evaluates one job; only the executor
sees all K at once. So this executor *announces* the jobs (their genomes and seeds) before it
evaluates them one by one: the dense_prune evaluator, on the first call, trains the heads of every
announced genome in one batched computation and answers the following calls from what it kept.
With any other executor the evaluator trains one head per call: same results, K times slower.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


@dataclass(frozen=True)
class Announced:
    """A trial about to be evaluated: its genome (JSON), seed and fidelity."""

    genome_json: Any
    seed: int
    fidelity: float | None = None


_announced: list[Announced] = []


@contextmanager
def announcing(jobs: Sequence[Any]) -> Iterator[None]:
    """Within the block, :func:`announced` lists ``jobs`` (trial rows)."""
    _announced[:] = [Announced(json.loads(job.genome_json), int(job.seed), job.fidelity)
                     for job in jobs]
    try:
        yield
    finally:
        _announced.clear()


def announced() -> list[Announced]:
    """The trials the running executor is about to evaluate (empty outside it)."""
    return list(_announced)


class BatchedHeadsExecutor:
    """Evaluates K trials per round so that dense_prune trains their K heads at once."""

    name = "batched_heads"

    class Options(BaseModel):
        """How many heads are trained at once."""

        model_config = ConfigDict(extra="forbid")
        heads: int = Field(default=32, ge=1, le=1024,
                           description="trials per round, trained as one batched computation")

    def __init__(self, heads: int = 32) -> None:
        self.slots = heads

    def run(self, jobs: Sequence[Any], evaluate: Callable[[Any], Any]
            ) -> Iterator[tuple[Any, Any]]:
        """Announce ``jobs``, then evaluate each in turn (the first call trains them all)."""
        with announcing(jobs):
            for job in jobs:
                yield job, evaluate(job)
