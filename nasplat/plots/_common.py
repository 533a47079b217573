"""What every plot shares: a figure on the Agg canvas, and a study's trials sorted by role."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nasplat.errors import ConfigError
from nasplat.objective import Direction
from nasplat.pareto import pareto_indices
from nasplat.study import Study, TrialRecord

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FRONT = {"color": "tab:red", "label": "Pareto front"}
DOMINATED = {"color": "0.6", "label": "dominated"}
INFEASIBLE = {"color": "tab:orange", "label": "infeasible"}
"""One colour per role, the same in every plot and in the HTML report."""


@dataclass(frozen=True)
class Roles:
    """A study's trials by what they are on the chosen objectives."""

    objectives: list[str]
    directions: list[Direction]
    front: list[TrialRecord]
    dominated: list[TrialRecord]
    infeasible: list[TrialRecord]
    """Infeasible trials that have every chosen objective's value (a cheap constraint rejects
    a trial before it is evaluated: it has no value to plot)."""
    unplotted: dict[str, int]
    """Trials without values, by status: failed ones, and infeasible ones never evaluated."""

    def values(self, trials: Sequence[TrialRecord]) -> list[list[float]]:
        """The chosen objectives' values of ``trials``, row by row."""
        return [[t.values[n] for n in self.objectives] for t in trials]

    def without_values(self) -> str:
        """``"not shown (no values): 3 failed, 1 infeasible"``, or ``""``."""
        counts = ", ".join(f"{n} {status}" for status, n in self.unplotted.items() if n)
        return f"not shown (no values): {counts}" if counts else ""


def choose_objectives(study: Study, objectives: Sequence[str] | None, least: int = 1
                      ) -> tuple[list[str], list[Direction]]:
    """The chosen objectives (default: all of the study's) with their directions; unknown
    names and too few objectives are errors that say what the study has."""
    directions = dict(study.directions)
    names = list(objectives or study.objective_names)
    unknown = [n for n in names if n not in directions]
    if unknown:
        raise ConfigError(f"study '{study.name}' has no objective '{unknown[0]}': its "
                          f"objectives are {', '.join(study.objective_names)}")
    if len(names) < least:
        if objectives:
            raise ConfigError(f"this plot needs at least {least} objectives, and you chose "
                              f"{len(names)} ({', '.join(names)}): name more with --objectives")
        raise ConfigError(f"this plot needs at least {least} objectives, and study "
                          f"'{study.name}' has {len(names)} ({', '.join(names)}): plot it "
                          f"with --kind pareto instead")
    return names, [directions[n] for n in names]


def roles(study: Study, objectives: Sequence[str] | None = None, least: int = 1) -> Roles:
    """Sort the study's finished trials into front, dominated, infeasible and unplotted; the
    front is the non-dominated set of complete trials on the chosen objectives."""
    names, directions = choose_objectives(study, objectives, least)
    complete, infeasible, unplotted = [], [], {"failed": 0, "infeasible": 0}
    for trial in study.trials(["complete", "failed", "infeasible"]):
        has_values = all(n in trial.values for n in names)
        if trial.status == "complete" and has_values:
            complete.append(trial)
        elif trial.status == "infeasible" and has_values:
            infeasible.append(trial)
        elif trial.status == "infeasible":
            unplotted["infeasible"] += 1
        else:
            unplotted["failed"] += 1
    rows = [[t.values[n] for n in names] for t in complete]
    on_front = set(pareto_indices(rows, directions))
    return Roles(names, directions, [t for i, t in enumerate(complete) if i in on_front],
                 [t for i, t in enumerate(complete) if i not in on_front], infeasible,
                 unplotted)


def new_figure(width: float, height: float) -> Figure:
    """A figure on the Agg canvas directly, not pyplot: no global backend switch and no
    figure left open in the caller's process."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def arrow(direction: Direction) -> str:
    """``↓`` for a minimised objective, ``↑`` for a maximised one."""
    return "↓" if direction == "min" else "↑"


def save(fig: Figure, path: Path | str, dpi: int = 110) -> Path:
    """Write ``fig`` as a PNG to ``path`` (folders created); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path
