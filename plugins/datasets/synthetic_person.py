"""A generated "person / no person" image set with skin-tone groups and lighting conditions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from nasplat import hookimpl
from nasplat.dataset import NO_LABEL, Dataset, Split, cached_arrays

if TYPE_CHECKING:  # torch is imported where tensors are made: `nasplat --help` stays fast
    import torch

VERSION = 1
"""Bump when the generator changes, so cached files of the old generator are not reused."""

MONK_TONES = ("#f6ede4", "#f3e7db", "#f7ead0", "#eadaba", "#d7bd96",
              "#a07e56", "#825c43", "#604134", "#3a312a", "#292420")
"""The 10 tones of the Monk Skin Tone scale (Monk, 2019; Google's MST), light to dark."""

CLASSES = ("no_person", "person")
CONDITIONS = ("well_lit", "poorly_lit")
SPLIT_SEEDS = {"train": 1, "validation": 2, "test": 3, "ood": 4}


class SyntheticPerson(Dataset):
    """RGB images, "person / no person", 10 skin-tone groups, well/poorly lit; no download.

    A person is a head (in one of the 10 Monk skin tones) on a torso; a no-person image holds a
    skin-coloured object of another shape, so colour alone does not decide. Train and validation
    under-represent dark tones (group i is drawn with weight 1/(1+0.4 i)) and are 20 % poorly
    lit; test is shifted: tones uniform, 50 % poorly lit, cooler backgrounds. ``ood`` holds
    texture images with no scene at all. Generated with a fixed seed on first use and cached.
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
    weights = np.ones(10) if shifted else 1.0 / (1.0 + 0.4 * np.arange(10))
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
    n = len(labels)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    # background: a colour gradient (cooler hues in the shifted test split)
    base = rng.uniform(0.2, 0.8, (n, 1, 1, 3)).astype(np.float32)
    if shifted:
        base[..., 2] = np.clip(base[..., 2] + 0.2, 0, 1)
    slope = rng.uniform(-0.3, 0.3, (n, 1, 1, 3)).astype(np.float32)
    image = base + slope * (xx[None, :, :, None] - 0.5) + slope[..., ::-1] * (
        yy[None, :, :, None] - 0.5)
    tone = np.array([[int(h[i:i + 2], 16) / 255 for i in (1, 3, 5)] for h in MONK_TONES],
                    dtype=np.float32)[group]
    cloth = rng.uniform(0.0, 1.0, (n, 3)).astype(np.float32)
    scale = rng.uniform(0.10, 0.16, n).astype(np.float32)
    cx = rng.uniform(0.3, 0.7, n).astype(np.float32)
    cy = rng.uniform(0.25, 0.45, n).astype(np.float32)
    x, y = xx[None] - cx[:, None, None], yy[None] - cy[:, None, None]
    s = scale[:, None, None]
    head = x ** 2 + y ** 2 < s ** 2
    torso = (np.abs(x) < 1.3 * s) & (y > 1.1 * s) & (y < 3.6 * s)
    square = (np.abs(x) < s) & (np.abs(y) < s)  # a skin-coloured box, not a head
    blob = ((x - 1.5 * s) ** 2 / 4 + (y - 2 * s) ** 2 < s ** 2)  # a cloth-coloured blob
    person = labels.astype(bool)[:, None, None]
    skin_mask = np.where(person, head, square)
    cloth_mask = np.where(person, torso, blob)
    image = np.where(cloth_mask[..., None], cloth[:, None, None, :], image)
    image = np.where(skin_mask[..., None], tone[:, None, None, :], image)
    # lighting: poorly lit images are dark and noisy, which hides dark tones the most
    dark = condition.astype(bool)
    light = np.where(dark, rng.uniform(0.25, 0.45, n), rng.uniform(0.85, 1.15, n))
    noise = np.where(dark, 0.08, 0.03)[:, None, None, None]
    image = image * light[:, None, None, None].astype(np.float32)
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
