"""Expected hypervolume improvement by Monte Carlo, probability of feasibility, greedy batches.

Everything here works in minimisation form on objectives already normalised so that the
reference point is the vector of ones (see ``BayesianOptimisation._normaliser``).
"""

from __future__ import annotations

import numpy as np
from pymoo.indicators.hv import HV
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting
from scipy.special import ndtr

REFERENCE_MARGIN = 0.1
"""The reference point is the observed nadir plus this share of the observed range per
objective, so that the extreme points of the front still add hypervolume."""


def reference_point(Y: np.ndarray) -> np.ndarray:
    """Nadir of the observed values ``Y`` (n, m) plus :data:`REFERENCE_MARGIN` of their range."""
    low, high = Y.min(axis=0), Y.max(axis=0)
    spread = np.where(high > low, high - low, np.maximum(np.abs(high), 1.0))
    return high + REFERENCE_MARGIN * spread


def nondominated(F: np.ndarray) -> np.ndarray:
    """The rows of ``F`` (n, m) that no other row dominates."""
    if len(F) <= 1:
        return F
    return F[NonDominatedSorting().do(F, only_non_dominated_front=True)]


def hv_improvement(points: np.ndarray, front: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Hypervolume each of ``points`` (n, m) would add to ``front`` (k, m), up to ``ref``."""
    if points.shape[1] == 2:
        return _hv_improvement_2d(points, front, ref)
    gain = np.zeros(len(points))
    inside = np.all(points < ref, axis=1)
    if len(front):  # a point some front member weakly dominates adds nothing
        inside &= ~np.any(np.all(front[None, :, :] <= points[:, None, :], axis=2), axis=1)
    indicator = HV(ref_point=ref)
    base = float(indicator(front)) if len(front) else 0.0
    for i in np.flatnonzero(inside):
        gain[i] = float(indicator(np.vstack([front, points[i]]))) - base
    return gain


def _hv_improvement_2d(points: np.ndarray, front: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Exact 2-D improvement, vectorised: the front is a staircase of k + 1 vertical strips.

    Sorted by the first objective, strip j spans ``[lo_j, hi_j)`` and the front reaches down
    to ``top_j`` there (``ref[1]`` left of the first member); a point ``y`` gains
    ``sum_j max(0, hi_j - max(lo_j, y_0)) * max(0, top_j - y_1)``.
    """
    front = nondominated(front[np.all(front < ref, axis=1)])
    front = front[np.argsort(front[:, 0], kind="stable")]
    lo = np.concatenate([[-np.inf], front[:, 0]])
    hi = np.concatenate([front[:, 0], [ref[0]]])
    top = np.concatenate([[ref[1]], front[:, 1]])
    width = np.clip(hi[None, :] - np.maximum(lo[None, :], points[:, :1]), 0.0, None)
    height = np.clip(top[None, :] - points[:, 1:2], 0.0, None)
    return (width * height).sum(axis=1)


def expected_hv_improvement(mean: np.ndarray, std: np.ndarray, z: np.ndarray,
                            front: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """EHVI (Emmerich et al. 2006) of each candidate, by Monte Carlo over N(mean, std).

    ``z`` (s, m) are standard normal draws shared by all candidates (common random numbers:
    candidates are compared on the same draws, which steadies the argmax).
    """
    samples = mean[:, None, :] + std[:, None, :] * z[None, :, :]
    gain = hv_improvement(samples.reshape(-1, mean.shape[1]), front, ref)
    return gain.reshape(len(mean), len(z)).mean(axis=1)


def probability_feasible(mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """P(violation <= 0) under a normal prediction of the constraint violation."""
    return ndtr(-mean / np.maximum(std, 1e-9))


def greedy_batch(q: int, mean: np.ndarray, std: np.ndarray, z: np.ndarray, front: np.ndarray,
                 ref: np.ndarray, feasible: np.ndarray) -> list[int]:
    """Indices of ``q`` candidates maximising EHVI x P(feasible), one at a time.

    After each pick its predicted mean joins the front as if observed (the "Kriging believer"
    of Ginsbourger et al. 2010), so the next pick improves on a different part of the front.
    When no candidate is expected to improve, the pick is the likely-feasible candidate
    closest to the front (smallest additive epsilon).
    """
    chosen: list[int] = []
    for _ in range(min(q, len(mean))):
        score = expected_hv_improvement(mean, std, z, front, ref) * feasible
        score[chosen] = -np.inf
        if score.max() <= 0:
            score = _closeness(mean, front) * (feasible >= 0.5 * feasible.max())
            score[chosen] = -np.inf
        pick = int(np.argmax(score))
        chosen.append(pick)
        front = nondominated(np.vstack([front, mean[pick]]))
    return chosen


def _closeness(mean: np.ndarray, front: np.ndarray) -> np.ndarray:
    """How close each candidate's mean comes to the front, in (0, 1]; 1 is the closest.

    The distance is the additive epsilon by which the candidate misses the front (the sum of
    its objectives when there is no front); positive scores let a feasibility mask zero them.
    """
    if len(front):
        distance = np.max(mean[:, None, :] - front[None, :, :], axis=2).min(axis=1)
    else:
        distance = mean.sum(axis=1)
    return np.exp(-(distance - distance.min()))
