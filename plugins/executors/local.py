"""The default executor: one trial at a time, in this process."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from nasplat import hookimpl


class LocalExecutor:
    """Evaluates trials one after another in the current process."""

    name = "local"
    slots = 1

    class Options(BaseModel):
        """The local executor takes no options."""

        model_config = ConfigDict(extra="forbid")

    def run(self, jobs: Sequence[Any], evaluate: Callable[[Any], Any]
            ) -> Iterator[tuple[Any, Any]]:
        """Evaluate each job in turn."""
        for job in jobs:
            yield job, evaluate(job)


@hookimpl
def nasplat_register_executors(register: Any) -> None:
    """Register the local executor."""
    register(LocalExecutor)
