"""Why synthetic_person is harder on dark skin tones: contrast of the head, and rarity."""

from __future__ import annotations

import numpy as np
import pytest

from nasplat.plugins.datasets.synthetic_person import _generate, _scenes


def head_contrast(tone: int, condition: int, n: int = 200, size: int = 32) -> float:
    """Mean colour difference a head makes to its scene: the same scenes drawn with and
    without a person (every random draw is the same; only the head's pixels differ)."""
    def render(label: int) -> np.ndarray:
        scenes = _scenes(np.random.default_rng(5), np.full(n, label, np.int8),
                         np.full(n, tone, np.int8), np.full(n, condition, np.int8), size, False)
        return scenes.astype(np.float32) / 255

    diff = np.abs(render(1) - render(0)).mean(axis=-1)
    head = diff > 0
    assert 0.03 * size ** 2 < head.sum() / n < 0.09 * size ** 2  # a head: π (0.10-0.16)² of it
    return float(diff[head].mean())


@pytest.mark.parametrize("condition", [0, 1], ids=["well_lit", "poorly_lit"])
def test_a_dark_head_stands_out_less_from_the_scene(condition: int) -> None:
    light = np.mean([head_contrast(t, condition) for t in (0, 1, 2)])   # Monk tones 1-3
    dark = np.mean([head_contrast(t, condition) for t in (7, 8, 9)])    # Monk tones 8-10
    assert dark < 0.5 * light, (light, dark)
    if condition == 1:  # a dim scene sinks a dark head to the level of its noise (σ = 0.08)
        assert dark < 0.1


def test_dark_tones_are_rare_in_train_and_validation_only() -> None:
    for split in ("train", "validation"):
        group = _generate(split, 4000, 16, 0)["group"]
        assert np.mean(group >= 7) < 0.08 < 0.6 < np.mean(group <= 2), split
    test = _generate("test", 4000, 16, 0)["group"]
    assert 0.25 < np.mean(test >= 7) < 0.35
