"""AUROC and ensembles against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nasplat.evaluation import EvaluationRecord, SplitRecord
from nasplat.plugins.objectives.ood import OodAuroc
from nasplat.scores import ODIN_SCORE
from nasplat.spaces.dense_prune import ensemble
from nasplat.spaces.dense_prune.batched import odin_temperature_scores


def test_ood_auroc_of_a_hand_computed_case() -> None:
    # in: 0.9 0.8 0.4; out: 0.7 0.4 0.1. Pairs (in > out): 0.9 beats 3, 0.8 beats 3,
    # 0.4 beats 0.1 and ties 0.4 (one half): (3 + 3 + 1.5) / 9
    def split(scores):
        return SplitRecord(labels=np.zeros(3, dtype=int), predictions=np.zeros(3, dtype=int),
                           attributes={ODIN_SCORE: np.array(scores)})

    record = EvaluationRecord(splits={"test": split([0.9, 0.8, 0.4]),
                                      "ood": split([0.7, 0.4, 0.1])})
    assert OodAuroc().compute(record) == pytest.approx(7.5 / 9)


def test_odin_temperature_score() -> None:
    logits = torch.tensor([[2.0, 0.0], [0.0, 0.0]])
    scores = odin_temperature_scores(logits, temperature=2.0)
    assert scores[0].item() == pytest.approx(math.e / (math.e + 1))
    assert scores[1].item() == pytest.approx(0.5)


def test_ensemble_averages_softmax_outputs() -> None:
    # two heads, two test samples (labels 0, 1), two OoD samples, T = 1
    inside = torch.log(torch.tensor([[[0.6, 0.4], [0.7, 0.3]],      # head a: 1 of 2 right
                                     [[0.2, 0.8], [0.1, 0.9]]]))    # head b: 1 of 2 right
    outside = torch.log(torch.tensor([[[0.5, 0.5], [0.9, 0.1]],
                                      [[0.5, 0.5], [0.3, 0.7]]]))
    labels = torch.tensor([0, 1])
    accuracy, area = ensemble.scores(inside, outside, labels, temperature=1.0)
    # mean: sample 0 (0.4, 0.6) -> 1 (wrong); sample 1 (0.4, 0.6) -> 1 (right)
    assert accuracy == 0.5
    # scores in: 0.6, 0.6; out: 0.5, 0.6 -> pairs: 2 wins + 2 ties -> (2 + 1) / 4
    assert area == pytest.approx(0.75)


def test_quantile_groups_and_best_members() -> None:
    numbers = [3, 5, 8, 9]
    groups = ensemble.groups(numbers, [0.1, 0.4, 0.3, 0.2], [0.9, 0.6, 0.7, 0.8])
    assert groups["all"] == numbers
    assert groups["accuracy_q50"] == [5, 8] and groups["accuracy_q75"] == [5]
    assert groups["auroc_q50"] == [3, 9] and groups["auroc_q75"] == [3]
    generator = torch.Generator().manual_seed(0)
    inside = torch.randn(4, 20, 3, generator=generator)
    outside = torch.randn(4, 10, 3, generator=generator)
    labels = torch.randint(0, 3, (20,), generator=generator)
    results = ensemble.evaluate_groups(groups, numbers, inside, outside, labels, 1000.0)
    by_group = {r.group: r for r in results}
    alone = [ensemble.scores(inside[i:i + 1], outside[i:i + 1], labels, 1000.0)
             for i in range(4)]
    assert by_group["all"].best_member_accuracy == max(a for a, _ in alone)
    assert by_group["all"].best_member_auroc == max(b for _, b in alone)
    single = by_group["accuracy_q75"]  # one member: the ensemble is that member
    assert (single.accuracy, single.auroc) == alone[1]
    assert not single.beats_best_member


def test_a_further_ood_set_is_scored_for_every_ensemble_and_member() -> None:
    numbers = [1, 2, 3]
    generator = torch.Generator().manual_seed(1)
    inside = torch.randn(3, 30, 4, generator=generator)
    outside = torch.randn(3, 12, 4, generator=generator) * 0.3  # flatter: easier to tell apart
    labels = torch.randint(0, 4, (30,), generator=generator)
    groups = ensemble.groups(numbers, [0.5, 0.7, 0.6], [0.8, 0.6, 0.7])
    further = {"ood2": outside, "itself": inside}
    results = ensemble.evaluate_groups(groups, numbers, inside, outside, labels, 2.0, further)
    for r in results:
        rows = [numbers.index(n) for n in r.members]
        area, best = r.further["ood2"]
        assert area == ensemble.ood_auroc(inside[rows], outside[rows], 2.0) == r.auroc
        assert best == max(ensemble.ood_auroc(inside[i:i + 1], outside[i:i + 1], 2.0)
                           for i in rows) == r.best_member_auroc
        assert r.further["itself"] == (0.5, 0.5)  # the test set against itself: chance
        flat = r.as_dict()
        assert (flat["ood2_auroc"], flat["best_member_ood2_auroc"]) == (area, best)
        assert "further" not in flat
    assert all(r.further == {} for r in ensemble.evaluate_groups(
        groups, numbers, inside, outside, labels, 2.0))
