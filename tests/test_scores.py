"""Record math: accuracy, top-k, group accuracies and AUROC on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from nasplat.errors import TrialFailed
from nasplat.evaluation import EvaluationRecord, SplitRecord
from nasplat.scores import accuracy, auroc, group_accuracies, split_of, top_k_accuracy


def test_accuracy_skips_unlabelled_samples_and_respects_a_mask() -> None:
    split = SplitRecord(labels=np.array([0, 1, 2, -1]), predictions=np.array([0, 1, 0, 2]))
    assert accuracy(split) == pytest.approx(2 / 3)
    assert accuracy(split, np.array([False, False, True, True])) == 0.0
    assert np.isnan(accuracy(split, np.zeros(4, bool)))


def test_top_k_accuracy() -> None:
    probs = np.array([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7], [0.2, 0.2, 0.6]])
    split = SplitRecord(labels=np.array([1, 0, 1]), predictions=probs.argmax(1),
                        probabilities=probs)
    assert top_k_accuracy(split, 1) == 0.0
    # sample 1: label 0 ranks 3rd; sample 2: label 1 ties for 2nd and counts
    assert top_k_accuracy(split, 2) == pytest.approx(2 / 3)
    assert top_k_accuracy(split, 3) == 1.0


def test_group_accuracies() -> None:
    split = SplitRecord(labels=np.array([0, 0, 1, 1, 1]), predictions=np.array([0, 1, 1, 1, 0]))
    groups = np.array(["a", "a", "b", "b", "b"])
    assert group_accuracies(split, groups) == {"a": (0.5, 2), "b": (pytest.approx(2 / 3), 3)}


def test_auroc_by_hand() -> None:
    assert auroc(np.array([3.0, 4.0]), np.array([1.0, 2.0])) == 1.0
    assert auroc(np.array([1.0, 2.0]), np.array([3.0, 4.0])) == 0.0
    # pairs (pos, neg): (3,1) 1, (3,3) ½, (2,1) 1, (2,3) 0 → 2.5 / 4
    assert auroc(np.array([3.0, 2.0]), np.array([1.0, 3.0])) == pytest.approx(0.625)


def test_a_missing_split_names_the_objective() -> None:
    record = EvaluationRecord(splits={"validation": SplitRecord(np.zeros(1), np.zeros(1))})
    with pytest.raises(TrialFailed, match="objective 'x' needs .* split 'test'.*validation"):
        split_of(record, "test", "x")
