"""Toy spaces whose evaluations fail, sleep or report, for engine and resume tests."""

from __future__ import annotations

import math
import os
import signal
import time
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from nasplat import hookimpl
from nasplat.errors import TrialFailed
from toys import ToyIntVector


class FlakySpace(ToyIntVector):
    """Integer vectors whose evaluation fails depending on the first gene."""

    name = "flaky"

    def evaluate(self, genome: Any) -> dict[str, float]:
        first = genome[0]
        if first == 1:
            raise RuntimeError("boom in the model")
        if first == 2:
            return {"error": math.nan}
        if first == 3:
            raise TrialFailed("loss diverged at epoch 2")
        if first == 4:
            raise MemoryError()
        return super().evaluate(genome)


class SlowSpace(ToyIntVector):
    """Integer vectors that take a while to evaluate (for kill-and-resume tests)."""

    name = "slow"

    class Options(BaseModel):
        """How long one evaluation takes."""

        model_config = ConfigDict(extra="forbid")
        seconds: float = 0.05

    def __init__(self, seconds: float = 0.05) -> None:
        super().__init__()
        self.seconds = seconds

    def evaluate(self, genome: Any) -> dict[str, float]:
        time.sleep(self.seconds)
        return super().evaluate(genome)


class DeadlySpace(SlowSpace):
    """Slow integer vectors; evaluating one whose first gene is 1 kills the worker process."""

    name = "deadly"

    def evaluate(self, genome: Any) -> dict[str, float]:
        if genome[0] == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().evaluate(genome)


class WhereSpace(ToyIntVector):
    """Integer vectors whose evaluation reports the id of the process that ran it."""

    name = "where"

    def evaluate(self, genome: Any) -> dict[str, float]:
        return {**super().evaluate(genome), "pid": float(os.getpid())}


class TinySpace(ToyIntVector):
    """Only four architectures: the engine must notice when it has seen them all."""

    name = "tiny"
    LENGTH, LOW, HIGH = 2, 1, 2

    def sample(self, rng: np.random.Generator) -> Any:
        return [int(x) for x in rng.integers(1, 3, 2)]


@hookimpl
def nasplat_register_spaces(register: Any) -> None:
    """Register the failure-test spaces."""
    for cls in (FlakySpace, SlowSpace, DeadlySpace, WhereSpace, TinySpace):
        register(cls)
