"""Live progress of a search on the terminal (rich)."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task,
                           TextColumn, TimeElapsedColumn, TimeRemainingColumn)
from rich.text import Text

from nasplat.engine import ProgressListener
from nasplat.store import StudyRow, TrialRow


class RichProgress(ProgressListener):
    """A progress bar over the study's trial budget, with status counts and the best values."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TimeRemainingColumn(), _StatusColumn(),
            console=self.console, transient=False)
        self.task: Any = None
        self.counts: dict[str, int] = {"complete": 0, "failed": 0, "infeasible": 0}
        self.best: dict[str, float] = {}
        self.directions: dict[str, str] = {}

    def __enter__(self) -> RichProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def start(self, study: StudyRow, total: int | None, done: int) -> None:
        """Show the bar for ``study``."""
        self.directions = {d["name"]: d["direction"] for d in json.loads(study.directions_json)}
        self.task = self.progress.add_task(study.name, total=total, completed=done, status="")

    def trial_started(self, trial: TrialRow) -> None:
        """Show which trial runs."""
        self._update(f"trial {trial.number} running")

    def trial_finished(self, trial: TrialRow, metrics: dict[str, float]) -> None:
        """Count the trial and update the best values."""
        self.counts[trial.status] = self.counts.get(trial.status, 0) + 1
        if trial.status == "complete":
            for name, direction in self.directions.items():
                if name in metrics:
                    old = self.best.get(name)
                    new = metrics[name]
                    if old is None or (new < old if direction == "min" else new > old):
                        self.best[name] = new
        if self.task is not None:
            self.progress.advance(self.task)
        best = " ".join(f"{k}={v:.4g}" for k, v in self.best.items())
        counts = " ".join(f"{k[:4]} {v}" for k, v in self.counts.items() if v)
        self._update(f"{counts} | best {best}" if best else counts)

    def _update(self, status: str) -> None:
        if self.task is not None:
            self.progress.update(self.task, status=status)


class _StatusColumn(ProgressColumn):
    """The ``status`` field of a task; empty for tasks without one (the trainer's bars)."""

    def render(self, task: Task) -> Text:
        """The status text."""
        return Text(str(task.fields.get("status", "")))
