"""Progress of one trial's training: a callback, silent unless one is given."""

from __future__ import annotations

from typing import Any, Protocol

from rich.progress import Progress


class TrainingProgress(Protocol):
    """Receives training events of each trial; :class:`RichTrainingProgress` draws a bar."""

    def trial_started(self, number: int, epochs: int, steps: int) -> None:
        """Trial ``number`` starts: ``steps`` optimiser steps over ``epochs`` epochs."""

    def step(self) -> None:
        """One batch was trained on."""

    def epoch_finished(self, epoch: int, values: dict[str, float]) -> None:
        """An epoch ended with these values (``train_loss``, ``val_loss`` ...)."""

    def trial_finished(self) -> None:
        """The trial's training and evaluation are over (also when it failed)."""


class SilentProgress:
    """Shows nothing: the default, and what tests use."""

    def trial_started(self, number: int, epochs: int, steps: int) -> None:
        """Nothing to show."""

    def step(self) -> None:
        """Nothing to show."""

    def epoch_finished(self, epoch: int, values: dict[str, float]) -> None:
        """Nothing to show."""

    def trial_finished(self) -> None:
        """Nothing to show."""


class RichTrainingProgress:
    """A bar per trial over its batches, in a rich ``Progress`` the caller owns (and starts)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: Any = None
        self.head = ""
        self.epochs = 0

    def trial_started(self, number: int, epochs: int, steps: int) -> None:
        """Add the trial's bar."""
        self.epochs, self.head = epochs, f"trial {number}"
        self.task = self.progress.add_task(f"{self.head} epoch 1/{epochs}", total=steps)

    def step(self) -> None:
        """Advance the bar by one batch."""
        self.progress.advance(self.task)

    def epoch_finished(self, epoch: int, values: dict[str, float]) -> None:
        """Show the epoch and its latest values."""
        shown = " ".join(f"{k} {v:.4g}" for k, v in values.items())
        upcoming = min(epoch + 1, self.epochs)
        self.progress.update(self.task,
                             description=f"{self.head} epoch {upcoming}/{self.epochs} {shown}")

    def trial_finished(self) -> None:
        """Remove the trial's bar."""
        if self.task is not None and self.task in self.progress.task_ids:
            self.progress.remove_task(self.task)
        self.task = None
