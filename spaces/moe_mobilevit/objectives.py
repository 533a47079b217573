"""MoENAS's fairness objective: skin-tone fairness over the images that show a person."""

from __future__ import annotations

import dataclasses

import numpy as np

from nasplat.dataset import NO_LABEL
from nasplat.evaluation import EvaluationRecord
from nasplat.plugins.objectives.fairness import Fairness

PERSON = 1
"""Label of a person in ``synthetic_person`` (classes ``no_person``, ``person``)."""


class SkinFairness(Fairness):
    """MoENAS fairness ``(β − SPD) / β`` across skin tones, on test images of a person.

    The ``fairness`` objective over the ``group`` attribute with every non-person image left
    out: a no-person image has a tone only by construction of the data, not a skin tone.
    """

    name = "skin_fairness"

    def __init__(self, split: str = "test", attribute: str = "group", beta: float = 0.2) -> None:
        super().__init__(split, attribute, beta)

    def _accuracies(self, record: EvaluationRecord) -> dict[object, tuple[float, int]]:
        split = record.splits.get(self.split)
        if split is None:
            return super()._accuracies(record)  # fails the trial naming the missing split
        # unlabelled samples are skipped by every score: unlabel the no-person images
        persons = dataclasses.replace(
            split, labels=np.where(split.labels == PERSON, split.labels, NO_LABEL))
        return super()._accuracies(EvaluationRecord(splits={self.split: persons}))
