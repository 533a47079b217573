"""Trials as Ray tasks, with their resource requests, on a Ray cluster (``nasplat[ray]``).

nasplat runs no cluster of its own: give the address of a running Ray cluster (``auto``
inside one), or none to start a local Ray instance on this machine. Each trial is a task
asking for ``num_cpus`` CPUs and ``num_gpus`` GPUs; Ray places it and sets
``CUDA_VISIBLE_DEVICES`` for it. The tasks open the study's store themselves, so on several
machines the store must be reachable from all of them: PostgreSQL, not a SQLite file.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from nasplat import hookimpl
from nasplat.errors import PluginError
from nasplat.store.writes import Outcome


class RayExecutor:
    """Runs each trial as a Ray task; as many at once as the cluster's resources allow."""

    name = "ray"
    remote = True
    """Evaluations run in other processes: the engine hands over a picklable evaluation."""

    class Options(BaseModel):
        """Where the cluster is and what one trial asks of it."""

        model_config = ConfigDict(extra="forbid")
        address: str | None = None
        """A Ray cluster's address (``auto``: the cluster this machine belongs to); none
        starts a local Ray instance."""
        num_cpus: float = Field(default=1.0, gt=0)
        """CPUs one trial asks for."""
        num_gpus: float = Field(default=0.0, ge=0)
        """GPUs one trial asks for (fractions share a GPU)."""
        max_concurrent: int | None = Field(default=None, ge=1)
        """Trials at once; default: as many as the cluster's CPUs and GPUs fit."""
        max_retries: int = Field(default=2, ge=0)
        """Times Ray re-runs a trial whose worker process died (then it is failed)."""

    def __init__(self, address: str | None = None, num_cpus: float = 1.0, num_gpus: float = 0.0,
                 max_concurrent: int | None = None, max_retries: int = 2) -> None:
        try:
            import ray
        except ImportError:
            raise PluginError("the ray executor needs Ray: pip install 'nasplat[ray]' "
                              "(or pip install 'ray>=2.9')") from None
        if not ray.is_initialized():
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False,
                         configure_logging=False)
            except ConnectionError as exc:
                raise PluginError(f"cannot reach the Ray cluster at {address!r}: {exc}. Start "
                                  f"it (`ray start --head`), or leave out executor.options."
                                  f"address to run a local Ray instance") from None
        self._ray = ray
        self.slots = max_concurrent or _fits(ray.cluster_resources(), num_cpus, num_gpus)
        self._task = ray.remote(num_cpus=num_cpus, num_gpus=num_gpus,
                                max_retries=max_retries)(_evaluate)

    def run(self, jobs: Sequence[Any], evaluate: Callable[[Any], Any]
            ) -> Iterator[tuple[Any, Any]]:
        """Submit every job as a task; yield each ``(job, outcome)`` as its task ends."""
        ray = self._ray
        waiting = {self._task.remote(evaluate, job): job for job in jobs}
        while waiting:
            done, _ = ray.wait(list(waiting), num_returns=1)
            for ref in done:
                job = waiting.pop(ref)
                try:
                    outcome = ray.get(ref)
                except Exception as exc:  # the task's worker died past its retries
                    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                    outcome = Outcome("failed", error=f"Ray task failed: "
                                                      f"{type(exc).__name__}: {first}"[:500])
                yield job, outcome


def _evaluate(evaluate: Callable[[Any], Any], job: Any) -> Any:
    return evaluate(job)


def _fits(resources: dict[str, float], num_cpus: float, num_gpus: float) -> int:
    """How many trials asking for ``num_cpus`` and ``num_gpus`` fit the cluster at once."""
    fits = math.floor(resources.get("CPU", 0) / num_cpus)
    if num_gpus:
        fits = min(fits, math.floor(resources.get("GPU", 0) / num_gpus))
    if fits < 1:
        raise PluginError(f"no trial fits the Ray cluster: each asks for {num_cpus:g} CPU(s) "
                          f"and {num_gpus:g} GPU(s), the cluster has {resources.get('CPU', 0):g} "
                          f"CPU(s) and {resources.get('GPU', 0):g} GPU(s); lower "
                          f"executor.options.num_cpus / num_gpus")
    return fits


@hookimpl
def nasplat_register_executors(register: Any) -> None:
    """Register the Ray executor."""
    register(RayExecutor)
