"""The Executor interface: where and how many trials run at once."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

Job = TypeVar("Job")


@runtime_checkable
class Executor(Protocol):
    """Runs evaluations: in this process, in worker processes, or on a cluster.

    ``slots`` is how many trials it runs at once; the engine asks the strategy for that many
    genomes at a time. ``run`` calls ``evaluate(job)`` for each job and yields each
    ``(job, outcome)`` as it finishes, in any order.
    """

    name: ClassVar[str]
    slots: int

    def run(self, jobs: Sequence[Job], evaluate: Callable[[Job], Any]) -> Iterator[tuple[Job, Any]]:
        """Evaluate ``jobs``, yielding ``(job, outcome)`` pairs as they finish."""
        ...
