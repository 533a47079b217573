"""Expected hypervolume improvement, probability of feasibility, greedy batches.

Everything here works in minimisation form on objectives already normalised so that the
reference point is the vector of ones (see ``BayesianOptimisation._select``). The region a new
point can add hypervolume in (below the reference point, dominated by no front member) is cut
into axis-aligned boxes once per front; a point's improvement is then a sum over boxes of
products over objectives, and so is its expectation under independent normal predictions,
in closed form (Emmerich et al. 2006; the box form as in Yang et al. 2019).
"""

from __future__ import annotations

import numpy as np
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting
from scipy.special import ndtr

REFERENCE_MARGIN = 0.1
"""The reference point is the observed nadir plus this share of the observed range per
objective, so that the extreme points of the front still add hypervolume."""

CHUNK = 1 << 21
"""Candidate x box x objective entries evaluated at once: bounds the memory of one call."""


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


def improvement_boxes(front: np.ndarray, ref: np.ndarray, floor: np.ndarray | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint boxes ``[lower, upper)`` (each (b, m)) whose union is the part of the box below
    ``ref`` that no member of ``front`` (k, m) weakly dominates; lower bounds are -inf, or
    ``floor`` (m,) where given: the best value each objective can take (-inf where unknown),
    so that no value beyond it counts as an improvement.
    """
    lower, upper = _improvement_boxes(front, ref)
    if floor is not None:
        lower = np.maximum(lower, floor)
        keep = np.all(upper > lower, axis=1)
        lower, upper = lower[keep], upper[keep]
    return lower, upper


def _improvement_boxes(front: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`improvement_boxes` without a floor.

    Sweeps the last objective: between two consecutive values of it, the members at or below
    the lower one dominate the same region, a cylinder over their (m-1)-dimensional
    non-dominated boxes. In two objectives this is the staircase of k + 1 strips.
    """
    m = len(ref)
    front = front[np.all(front < ref, axis=1)]
    if len(front):
        front = nondominated(front)
    if m == 1:
        top = front[:, 0].min() if len(front) else ref[0]
        return np.array([[-np.inf]]), np.array([[top]])
    levels = np.unique(front[:, -1])
    bottoms = np.concatenate([[-np.inf], levels])
    tops = np.concatenate([levels, [ref[-1]]])
    lowers, uppers = [], []
    for bottom, top in zip(bottoms, tops, strict=True):
        lower, upper = _improvement_boxes(front[front[:, -1] <= bottom, :-1], ref[:-1])
        lowers.append(np.column_stack([lower, np.full(len(lower), bottom)]))
        uppers.append(np.column_stack([upper, np.full(len(upper), top)]))
    lower, upper = np.vstack(lowers), np.vstack(uppers)
    keep = np.all(upper > lower, axis=1)
    return lower[keep], upper[keep]


def _chunks(n: int, boxes: int, m: int) -> list[slice]:
    size = max(1, CHUNK // max(1, boxes * m))
    return [slice(i, i + size) for i in range(0, n, size)]


def hv_improvement(points: np.ndarray, front: np.ndarray, ref: np.ndarray,
                   floor: np.ndarray | None = None) -> np.ndarray:
    """Hypervolume each of ``points`` (n, m) would add to ``front`` (k, m), up to ``ref``
    (and down to ``floor``: see :func:`improvement_boxes`)."""
    lower, upper = improvement_boxes(front, ref, floor)
    gain = np.zeros(len(points))
    for part in _chunks(len(points), len(lower), len(ref)):
        p = points[part, None, :]
        side = np.clip(upper[None] - np.maximum(lower[None], p), 0.0, None)
        gain[part] = side.prod(axis=2).sum(axis=1)
    return gain


def expected_hv_improvement(mean: np.ndarray, std: np.ndarray, front: np.ndarray,
                            ref: np.ndarray, floor: np.ndarray | None = None,
                            boxes: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Exact EHVI of each candidate under independent normals N(``mean``, ``std``), (n, m).

    The improvement is a sum over boxes of products over objectives of
    ``max(0, upper - max(lower, y))``; for independent objectives the expectation of each
    product is the product of one-dimensional expectations, each in closed form. ``floor``:
    see :func:`improvement_boxes`; ``boxes``: its result where the caller has it already.
    """
    lower, upper = boxes if boxes is not None else improvement_boxes(front, ref, floor)
    gain = np.zeros(len(mean))
    for part in _chunks(len(mean), len(lower), len(ref)):
        gain[part] = _expected_box_sides(mean[part, None, :], std[part, None, :],
                                         lower[None], upper[None]).prod(axis=2).sum(axis=1)
    return np.maximum(gain, 0.0)


def _expected_box_sides(mu: np.ndarray, sigma: np.ndarray, lower: np.ndarray,
                        upper: np.ndarray) -> np.ndarray:
    """``E[max(0, upper - max(lower, Y))]`` for ``Y ~ N(mu, sigma)``, broadcast.

    Equals ``(upper - lower) P(Y < lower) + (upper - mu) P(lower <= Y < upper)
    + sigma (pdf(b) - pdf(a))`` with ``a, b`` the standardised bounds.
    """
    certain = sigma <= 1e-12
    s = np.where(certain, 1.0, sigma)
    a, b = (lower - mu) / s, (upper - mu) / s
    cdf_a, cdf_b = ndtr(a), ndtr(b)
    pdf_a = np.exp(-0.5 * np.where(np.isfinite(a), a, 0.0) ** 2) * np.isfinite(a)
    pdf_b = np.exp(-0.5 * b**2)
    below = np.where(cdf_a > 0, (upper - np.where(np.isfinite(lower), lower, 0.0)) * cdf_a, 0.0)
    side = below + (upper - mu) * (cdf_b - cdf_a) + s * (pdf_b - pdf_a) / np.sqrt(2 * np.pi)
    exact = np.clip(upper - np.maximum(lower, mu), 0.0, None)
    return np.where(certain, exact, np.clip(side, 0.0, None))


def mc_expected_hv_improvement(mean: np.ndarray, std: np.ndarray, z: np.ndarray,
                               front: np.ndarray, ref: np.ndarray,
                               floor: np.ndarray | None = None) -> np.ndarray:
    """EHVI estimated by Monte Carlo over ``z`` (s, m) standard normal draws shared by all
    candidates (common random numbers); converges to :func:`expected_hv_improvement`."""
    samples = mean[:, None, :] + std[:, None, :] * z[None, :, :]
    gain = hv_improvement(samples.reshape(-1, mean.shape[1]), front, ref, floor)
    return gain.reshape(len(mean), len(z)).mean(axis=1)


def probability_feasible(mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """P(violation <= 0) under a normal prediction of the constraint violation."""
    return ndtr(-mean / np.maximum(std, 1e-9))


def greedy_batch(q: int, mean: np.ndarray, std: np.ndarray, front: np.ndarray,
                 ref: np.ndarray, feasible: np.ndarray, z: np.ndarray | None = None,
                 ehvi: np.ndarray | None = None, floor: np.ndarray | None = None
                 ) -> list[int]:
    """Indices of ``q`` candidates maximising EHVI x P(feasible), one at a time.

    EHVI is exact unless ``z`` (standard normal draws) asks for the Monte Carlo estimate.
    After each pick its predicted mean joins the front as if observed (the "Kriging believer"
    of Ginsbourger et al. 2010), so the next pick improves on a different part of the front.
    When no candidate is expected to improve, the pick is the likely-feasible candidate
    closest to the front (smallest additive epsilon). ``ehvi``: the candidates' exact EHVI
    against ``front`` where the caller has it (spares the first pick computing it again);
    ``floor``: see :func:`improvement_boxes`.
    """
    chosen: list[int] = []
    for _ in range(min(q, len(mean))):
        if ehvi is None or chosen:
            ehvi = (expected_hv_improvement(mean, std, front, ref, floor) if z is None
                    else mc_expected_hv_improvement(mean, std, z, front, ref, floor))
        score = ehvi * feasible
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
