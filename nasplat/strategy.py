"""The Strategy interface: proposes genomes (``ask``) and learns from results (``tell``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from pydantic import BaseModel

    from nasplat.space import Genome

Status = Literal["queued", "running", "complete", "failed", "infeasible"]


@dataclass(frozen=True)
class TrialResult:
    """A finished trial as a strategy sees it.

    ``values`` holds the objective values (empty for a failed trial and for an infeasible one
    that was never evaluated); ``violation`` is 0 for a feasible trial and the summed relative
    constraint violation otherwise; ``metrics`` holds every other recorded metric.
    """

    number: int
    genome: Genome
    status: Status
    values: dict[str, float] = field(default_factory=dict)
    violation: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Proposal:
    """A genome plus where it came from; ``ask`` may return these instead of bare genomes.

    ``parents`` are trial numbers: they are stored as the child's lineage, and the first
    parent's genome and artifacts (its trained weights) reach the evaluator, so a space with
    ``inherit`` can warm-start the child. ``fidelity`` overrides the study's training budget
    for this trial (e.g. fewer epochs for a child that inherits its parent's weights).
    """

    genome: Genome
    parents: tuple[int, ...] = ()
    fidelity: float | None = None


@runtime_checkable
class Strategy(Protocol):
    """Proposes genomes and learns from their results.

    A strategy class is constructed as ``cls(space=..., objectives=..., seed=..., **options)``
    where ``objectives`` is a list of :class:`~nasplat.objective.ObjectiveSpec` and ``options``
    are validated by the class's pydantic ``Options`` model when it has one.

    Its state must survive a restart. Either implement ``state_dict() -> JSON`` and
    ``load_state_dict(state)`` (saved in the store with every ask and tell, restored on resume),
    or implement neither: the engine then rebuilds the strategy by telling it every finished
    trial again, in order.

    A model-based strategy may also implement ``surrogate_reports() ->
    list[SurrogateReport]``, returning the :class:`~nasplat.surrogate_quality.SurrogateReport`
    objects made since the last call (typically by
    :func:`~nasplat.surrogate_quality.cross_validate` after a refit). The engine calls it
    after every ask and stores the reports in the same transaction as the strategy state;
    ``nasplat surrogate STUDY`` shows them.
    """

    name: ClassVar[str]
    Options: ClassVar[type[BaseModel]]

    def ask(self, n: int) -> list[Genome | Proposal]:
        """Return up to ``n`` genomes (or :class:`Proposal` objects) to evaluate next.

        A strategy may take a keyword ``pending``: the engine then passes the genomes that
        are queued or running (proposed earlier, by this or another worker, results not yet
        known), so a batch for parallel workers need not repeat or crowd them.
        """
        ...

    def tell(self, results: Sequence[TrialResult]) -> None:
        """Learn from finished trials (complete, failed or infeasible)."""
        ...


def saves_state(strategy: object) -> bool:
    """Whether the strategy serialises its own state (``state_dict`` / ``load_state_dict``)."""
    return callable(getattr(strategy, "state_dict", None)) and callable(
        getattr(strategy, "load_state_dict", None))


def accepts_pending(strategy: object) -> bool:
    """Whether the strategy's ``ask`` takes the ``pending`` keyword."""
    import inspect

    try:
        return "pending" in inspect.signature(strategy.ask).parameters  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        return False


def rng_state(rng: Any) -> dict[str, Any]:
    """A JSON-serialisable snapshot of a numpy ``Generator``."""
    return rng.bit_generator.state


def set_rng_state(rng: Any, state: dict[str, Any]) -> None:
    """Restore a numpy ``Generator`` from :func:`rng_state`."""
    rng.bit_generator.state = state
