"""Scores computed from evaluation records: what objective plugins are made of."""

from __future__ import annotations

import numpy as np

from nasplat.dataset import NO_LABEL
from nasplat.errors import TrialFailed
from nasplat.evaluation import EvaluationRecord, SplitRecord

ODIN_SCORE = "odin_score"
"""Where the evaluator keeps each sample's ODIN score: ``SplitRecord.attributes[ODIN_SCORE]``."""


def split_of(record: EvaluationRecord, split: str, objective: str) -> SplitRecord:
    """``record.splits[split]``, or a :class:`TrialFailed` saying which objective needed it."""
    if split not in record.splits:
        have = ", ".join(sorted(record.splits)) or "none"
        raise TrialFailed(f"objective '{objective}' needs the evaluation of split '{split}', "
                          f"which the evaluator did not produce (it produced: {have})")
    return record.splits[split]


def attribute_of(split: SplitRecord, name: str, objective: str) -> np.ndarray:
    """A per-sample attribute of a split, or a :class:`TrialFailed` naming what exists."""
    if name not in split.attributes:
        have = ", ".join(sorted(split.attributes)) or "none"
        raise TrialFailed(f"objective '{objective}' needs per-sample attribute '{name}', which "
                          f"the dataset does not provide (it provides: {have}); pick a dataset "
                          f"with it, e.g. synthetic_person")
    return split.attributes[name]


def accuracy(split: SplitRecord, mask: np.ndarray | None = None) -> float:
    """Share of labelled samples (within ``mask``) predicted right; NaN when there are none."""
    labelled = split.labels != NO_LABEL
    if mask is not None:
        labelled &= mask
    if not labelled.any():
        return float("nan")
    return float(np.mean(split.predictions[labelled] == split.labels[labelled]))


def top_k_accuracy(split: SplitRecord, k: int) -> float:
    """Share of labelled samples whose label is among the ``k`` most probable classes."""
    if split.probabilities is None:
        raise TrialFailed("top-k accuracy needs class probabilities, which the evaluation did "
                          "not keep")
    labelled = split.labels != NO_LABEL
    probs, labels = split.probabilities[labelled], split.labels[labelled]
    # a label is in the top k when fewer than k classes are strictly more probable
    own = probs[np.arange(len(labels)), labels]
    return float(np.mean((probs > own[:, None]).sum(axis=1) < k))


def group_accuracies(split: SplitRecord, groups: np.ndarray) -> dict[object, tuple[float, int]]:
    """Accuracy and sample count of each group value, over labelled samples."""
    out: dict[object, tuple[float, int]] = {}
    labelled = split.labels != NO_LABEL
    for value in np.unique(groups[labelled]):
        mask = labelled & (groups == value)
        out[value.item() if hasattr(value, "item") else value] = (accuracy(split, mask),
                                                                   int(mask.sum()))
    return out


def auroc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Area under the ROC curve for scores where ``positive`` should rank above ``negative``.

    The Mann-Whitney form: the chance that a random positive scores above a random negative,
    ties counting one half.
    """
    if len(positive) == 0 or len(negative) == 0:
        return float("nan")
    scores = np.concatenate([positive, negative]).astype(np.float64)
    order = scores.argsort(kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    # average ranks over ties (1-based)
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(average, counts)
    n_pos, n_neg = len(positive), len(negative)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
