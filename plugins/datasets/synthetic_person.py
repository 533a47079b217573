"""A generated "person / no person" image set with skin-tone groups and lighting conditions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from nasplat import hookimpl
from nasplat.dataset import NO_LABEL, Dataset, Split, cached_arrays

if TYPE_CHECKING:  # torch is imported where tensors are made: `nasplat --help` stays fast
    import torch

VERSION = 2
"""Bump when the generator changes, so cached files of the old generator are not reused."""

MONK_TONES = ("#f6ede4", "#f3e7db", "#f7ead0", "#eadaba", "#d7bd96",
              "#a07e56", "#825c43", "#604134", "#3a312a", "#292420")
"""The 10 tones of the Monk Skin Tone scale (Monk, 2019; Google's MST), light to dark."""

TONE_RGB = np.array([[int(h[i:i + 2], 16) / 255 for i in (1, 3, 5)] for h in MONK_TONES],
                    dtype=np.float32)
"""The Monk tones as RGB in [0, 1], shape (10, 3)."""

CLASSES = ("no_person", "person")
CONDITIONS = ("well_lit", "poorly_lit")
SPLIT_SEEDS = {"train": 1, "validation": 2, "test": 3, "ood": 4}
TONE_RATIO = 0.7
"""In train and validation each tone is this many times as common as the next lighter one."""
BRIGHT_BACKGROUNDS = 0.15
"""Share of scenes with a bright background (walls, sky); the rest are mid to dark."""
CLUTTER = 3
"""Background shapes (discs and boxes in the background's palette) per scene."""
HEAD_RADIUS = (0.10, 0.16)
"""Range of a head's radius, as a share of the image side."""


class SyntheticPerson(Dataset):
    """RGB images, "person / no person", 10 skin-tone groups, well/poorly lit; no download.

    Every scene has a mid-to-dark cluttered background, a body-shaped cloth (a person's torso,
    or a coat on a stand) and a box in the scene's skin tone; a person also has a head of that
    tone on the body, so the head is the one cue. Like COCO, train and validation are skewed to
    light tones (each Monk tone 0.7 times as common as the next lighter one: tones 8-10 are 6 %
    of the images) and 20 % poorly lit; like FACET, test has uniform tones, 50 % poorly lit
    scenes and cooler backgrounds. A dark head stands out less from the background, above all in
    a dim scene, and is rare in training: a model trained on this data misses dark-toned people
    more often. ``ood`` holds texture images with no scene at all. Generated with a fixed seed
    on first use and cached.
    """

    name = "synthetic_person"
    task = "image_classification"
    classes = 2
    attributes = {"group": tuple(f"tone_{i}" for i in range(1, 11)), "condition": CONDITIONS}
    extra_sets = {"ood": "texture images with no scene (out-of-distribution, unlabelled)"}

    class Options(BaseModel):
        """Sizes of the generated splits and of the images."""

        model_config = ConfigDict(extra="forbid")
        image_size: int = Field(default=64, ge=16, le=256)
        train: int = Field(default=2000, ge=2)
        validation: int = Field(default=500, ge=2)
        test: int = Field(default=500, ge=2)
        ood: int = Field(default=300, ge=2)
        seed: int = Field(default=0, ge=0)

    def __init__(self, image_size: int = 64, train: int = 2000, validation: int = 500,
                 test: int = 500, ood: int = 300, seed: int = 0) -> None:
        self.image_size, self.seed = image_size, seed
        self.counts = {"train": train, "validation": validation, "test": test, "ood": ood}
        self.input_shape = (3, image_size, image_size)

    def sizes(self) -> dict[str, int]:
        """Samples per split, known from the options without generating anything."""
        return dict(self.counts)

    def load(self, split: str) -> Split:
        """The split, generated on first use and then read from the cache."""
        import torch

        if split not in self.counts:
            raise self.unknown_split(split)
        params = {"version": VERSION, "split": split, "n": self.counts[split],
                  "size": self.image_size, "seed": self.seed}
        arrays = cached_arrays(self.name, params, lambda: _generate(split, self.counts[split],
                                                                    self.image_size, self.seed))
        images = torch.from_numpy(arrays["images"]).permute(0, 3, 1, 2).float()
        inputs = (images / 255.0 - 0.5) / 0.25  # roughly zero mean, unit variance
        labels = torch.from_numpy(arrays["labels"].astype(np.int64))
        attributes = {k: arrays[k] for k in ("group", "condition") if k in arrays}
        return Split(inputs.contiguous(), labels, attributes)


def _generate(split: str, n: int, size: int, seed: int) -> dict[str, np.ndarray]:
    """Draw ``n`` images of ``split`` (uint8, NHWC) with their labels and attributes."""
    rng = np.random.default_rng([seed, SPLIT_SEEDS[split]])
    if split == "ood":
        return {"images": _textures(rng, n, size),
                "labels": np.full(n, NO_LABEL, dtype=np.int8)}
    shifted = split == "test"
    weights = np.ones(10) if shifted else TONE_RATIO ** np.arange(10)
    group = rng.choice(10, size=n, p=weights / weights.sum()).astype(np.int8)
    condition = (rng.random(n) < (0.5 if shifted else 0.2)).astype(np.int8)
    labels = (rng.random(n) < 0.5).astype(np.int8)
    images = np.empty((n, size, size, 3), dtype=np.uint8)
    for start in range(0, n, 256):  # in chunks: a (256, 64, 64, 3) float block at a time
        end = min(start + 256, n)
        images[start:end] = _scenes(rng, labels[start:end], group[start:end],
                                    condition[start:end], size, shifted)
    return {"images": images, "labels": labels, "group": group, "condition": condition}


def _scenes(rng: np.random.Generator, labels: np.ndarray, group: np.ndarray,
            condition: np.ndarray, size: int, shifted: bool) -> np.ndarray:
    """Draw one chunk of scenes (float work, uint8 out): background, clutter, figure, light."""
    n = len(labels)

    def uniform(low: float, high: float, *shape: int) -> np.ndarray:
        return rng.uniform(low, high, (n, *shape)).astype(np.float32)

    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)[:, None] / size  # (1, size, size) each
    # 1. background: mostly the mid and dark colours of rooms, shade, wood and foliage (0.05-0.6
    #    a channel), the range the dark skin tones fall in; a few bright walls and skies
    bright = rng.random((n, 1, 1, 1)) < BRIGHT_BACKGROUNDS
    base = np.where(bright, uniform(0.6, 0.95, 1, 1, 3), uniform(0.05, 0.6, 1, 1, 3))
    if shifted:  # the test split's scenes are cooler
        base[..., 2] = np.clip(base[..., 2] + 0.15, 0, 1)
    slope = uniform(-0.2, 0.2, 1, 1, 3)
    image = base + slope * (xx[..., None] - 0.5) + slope[..., ::-1] * (yy[..., None] - 0.5)
    # 2. clutter: discs and boxes in the background's own palette
    for _ in range(CLUTTER):
        colour = np.clip(base + uniform(-0.25, 0.25, 1, 1, 3), 0, 1)
        x, y, r = xx - uniform(0, 1, 1, 1), yy - uniform(0, 1, 1, 1), uniform(0.04, 0.14, 1, 1)
        shape = np.where(rng.random((n, 1, 1)) < 0.5, x ** 2 + y ** 2 < r ** 2,
                         (np.abs(x) < r) & (np.abs(y) < r))
        image = np.where(shape[..., None], colour, image)
    # 3. the figure: a body-shaped cloth in every scene (a torso, or a coat on a stand), a box
    #    of the scene's skin tone somewhere, and in a person a head of that tone on the body:
    #    the head is the one cue, so a head that does not stand out is a person missed
    s = uniform(*HEAD_RADIUS, 1, 1)
    x, y = xx - uniform(0.3, 0.7, 1, 1), yy - uniform(0.22, 0.42, 1, 1)
    torso = (np.abs(x) < 1.3 * s) & (y > 1.1 * s) & (y < 3.6 * s)
    head = (x ** 2 + y ** 2 < s ** 2) & labels.astype(bool)[:, None, None]
    x, y = xx - uniform(0.1, 0.9, 1, 1), yy - uniform(0.1, 0.9, 1, 1)
    box = (np.abs(x) < 0.8 * s) & (np.abs(y) < 0.6 * s) & ~torso
    image = np.where(torso[..., None], uniform(0, 1, 1, 1, 3), image)
    image = np.where((head | box)[..., None], TONE_RGB[group][:, None, None, :], image)
    # 4. lighting: a poorly lit scene is dim and noisy, which sinks a dark head into the
    #    background long before a light one
    dim = condition.astype(bool)[:, None, None, None]
    image = image * np.where(dim, uniform(0.25, 0.45, 1, 1, 1), uniform(0.85, 1.15, 1, 1, 1))
    noise = np.where(dim, np.float32(0.08), np.float32(0.03))
    image = image + noise * rng.standard_normal(image.shape, dtype=np.float32)
    return (np.clip(image, 0, 1) * 255).round().astype(np.uint8)


def _textures(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """Stripes and checkerboards in random colours: no scene, no person, no object."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    freq = rng.uniform(3, 12, (n, 1, 1)).astype(np.float32)
    angle = rng.uniform(0, np.pi, (n, 1, 1)).astype(np.float32)
    stripes = np.sin(2 * np.pi * freq * (np.cos(angle) * xx + np.sin(angle) * yy))
    checker = np.sign(np.sin(2 * np.pi * freq * xx) * np.sin(2 * np.pi * freq * yy))
    pattern = np.where(rng.random((n, 1, 1)) < 0.5, stripes, checker)[..., None]
    a, b = rng.uniform(0, 1, (2, n, 1, 1, 3)).astype(np.float32)
    image = a + (b - a) * (pattern + 1) / 2
    image = image + 0.03 * rng.standard_normal(image.shape, dtype=np.float32)
    return (np.clip(image, 0, 1) * 255).round().astype(np.uint8)


@hookimpl
def nasplat_register_datasets(register: Any) -> None:
    """Register the synthetic person dataset."""
    register(SyntheticPerson)
