"""Cheap objectives, known without training: parameters, FLOPs, latency, active units."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from nasplat import hookimpl
from nasplat.errors import TrialFailed
from nasplat.evaluation import EvaluationRecord
from nasplat.objective import Direction


class _Metric:
    """Reads one metric of the record, put there by the evaluator or the space."""

    name: ClassVar[str]
    direction: Direction = "min"
    cheap = True
    best: float | None = 0.0
    needs: frozenset[str] = frozenset()
    source: ClassVar[str] = "the evaluator"

    def compute(self, record: EvaluationRecord) -> float:
        """``record.metrics[name]``."""
        if self.name not in record.metrics:
            raise TrialFailed(f"objective '{self.name}' needs metric '{self.name}', which "
                              f"{self.source} did not produce for this space")
        return float(record.metrics[self.name])


class Params(_Metric):
    """Number of parameters of the built model (every tensor of ``model.parameters()``)."""

    name = "params"


class Flops(_Metric):
    """FLOPs of one forward pass on one sample, counted by ``torch.utils.flop_counter``.

    A multiply-add counts 2 FLOPs (so MACs = FLOPs / 2); element-wise ops are not counted.
    """

    name = "flops"


class Latency(_Metric):
    """Median milliseconds of a forward pass on CPU, batch 1, after uncounted warm-up passes."""

    name = "latency_ms"

    class Options(BaseModel):
        """How many passes are timed, and how many run before untimed."""

        model_config = ConfigDict(extra="forbid")
        repeats: int = Field(default=30, ge=1)
        warmup: int = Field(default=5, ge=0)

    def __init__(self, repeats: int = 30, warmup: int = 5) -> None:
        self.repeats, self.warmup = repeats, warmup
        self.needs = frozenset({"latency"})


class ActiveUnits(_Metric):
    """Share of the units a genome keeps active (pruning masks ...), where the space defines it.

    Kept neurons / all neurons, as in MO-EvoPruneDeepTL's pruned layers. The space reports it
    as the cheap metric ``active_units``.
    """

    name = "active_units"
    source = "the search space (its cheap_metrics)"


@hookimpl
def nasplat_register_objectives(register: Any) -> None:
    """Register the cheap objectives."""
    for cls in (Params, Flops, Latency, ActiveUnits):
        register(cls)
