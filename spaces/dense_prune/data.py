"""Generated images: the default target (glyphs + an OoD set) and the backbone's source task.

Both are drawn on the fly at any ``(channels, height, width)`` and need no files. The target and
the source are different tasks, so the bundled backbone never sees the target's data.
"""

from __future__ import annotations


import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from nasplat.dataset import NO_LABEL, Dataset, Split, cached_arrays

VERSION = 2
"""Bump when a generator changes, so cached files of the old one are not reused."""

GLYPHS = ("disc", "ring", "square", "frame", "cross", "x", "hbar", "vbar", "triangle", "diamond")
SPLIT_SEEDS = {"train": 1, "validation": 2, "test": 3, "ood": 4, "source": 5}


class SyntheticGlyphs(Dataset):
    """28×28 greyscale glyphs in 10 classes (disc, ring, square ...) plus an OoD set; no files.

    Each glyph has a random size, position, stroke intensity and noise. ``ood`` holds shapes
    of none of the classes drawn the same way (:func:`novel_shapes`). Generated with a fixed
    seed on first use and cached.
    """

    name = "synthetic_glyphs"
    task = "image_classification"
    classes = len(GLYPHS)
    extra_sets = {"ood": "crescents, L and T strokes, dot pairs, arcs: shapes of no class "
                         "(out-of-distribution, unlabelled)"}

    class Options(BaseModel):
        """Sizes of the generated splits."""

        model_config = ConfigDict(extra="forbid")
        train: int = Field(default=3000, ge=2)
        validation: int = Field(default=1000, ge=2)
        test: int = Field(default=1000, ge=2)
        ood: int = Field(default=1000, ge=2)
        image_size: int = Field(default=28, ge=12, le=128)
        seed: int = Field(default=0, ge=0)

    def __init__(self, train: int = 3000, validation: int = 1000, test: int = 1000,
                 ood: int = 1000, image_size: int = 28, seed: int = 0) -> None:
        self.counts = {"train": train, "validation": validation, "test": test, "ood": ood}
        self.image_size, self.seed = image_size, seed
        self.input_shape = (1, image_size, image_size)

    def sizes(self) -> dict[str, int]:
        """Samples per split, from the options."""
        return dict(self.counts)

    def load(self, split: str) -> Split:
        """The split, generated on first use and then read from the cache."""
        import torch

        if split not in self.counts:
            raise self.unknown_split(split)
        n, size = self.counts[split], self.image_size
        params = {"version": VERSION, "split": split, "n": n, "size": size, "seed": self.seed}
        rng_key = [self.seed, SPLIT_SEEDS[split]]
        arrays = cached_arrays(self.name, params, lambda: (
            novel_shapes(np.random.default_rng(rng_key), n, size) if split == "ood"
            else glyphs(np.random.default_rng(rng_key), n, size)))
        inputs = torch.from_numpy(arrays["images"]).float().unsqueeze(1) / 255.0
        return Split(((inputs - 0.2) / 0.3).contiguous(),
                     torch.from_numpy(arrays["labels"].astype(np.int64)))


def _grid(n: int, size: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    cx, cy = (rng.uniform(0.35, 0.65, (2, n, 1, 1))).astype(np.float32)
    r = rng.uniform(0.15, 0.3, (n, 1, 1)).astype(np.float32)
    return xx[None] - cx, yy[None] - cy, r


def glyphs(rng: np.random.Generator, n: int, size: int) -> dict[str, np.ndarray]:
    """``n`` glyph images (uint8, ``(n, size, size)``) with their class labels."""
    labels = rng.integers(len(GLYPHS), size=n)
    x, y, r = _grid(n, size, rng)
    w = r / 3  # stroke width
    shapes = {
        "disc": x ** 2 + y ** 2 < r ** 2,
        "ring": np.abs(np.sqrt(x ** 2 + y ** 2) - r) < w / 2,
        "square": (np.abs(x) < r) & (np.abs(y) < r),
        "frame": (np.maximum(np.abs(x), np.abs(y)) < r) & (np.maximum(np.abs(x), np.abs(y)) > r - w),
        "cross": ((np.abs(x) < w / 2) | (np.abs(y) < w / 2)) & (np.maximum(np.abs(x), np.abs(y)) < r),
        "x": ((np.abs(x - y) < w / 1.4) | (np.abs(x + y) < w / 1.4)) & (np.maximum(np.abs(x), np.abs(y)) < r),
        "hbar": (np.abs(y) < w / 2) & (np.abs(x) < r),
        "vbar": (np.abs(x) < w / 2) & (np.abs(y) < r),
        "triangle": (y < r / 2) & (y > -r) & (np.abs(x) < (y + r) / 1.5),
        "diamond": np.abs(x) + np.abs(y) < r,
    }
    masks = np.stack([shapes[g] for g in GLYPHS])[labels, np.arange(n)]
    ink = rng.uniform(0.6, 1.0, (n, 1, 1)).astype(np.float32)
    image = masks * ink + 0.15 * rng.standard_normal(masks.shape).astype(np.float32)
    return {"images": (np.clip(image, 0, 1) * 255).round().astype(np.uint8),
            "labels": labels.astype(np.int8)}


NOVEL = ("crescent", "ell", "tee", "pair", "arc")
"""The OoD set's shapes: drawn like the glyphs (stroke, ink, noise), unlike any of them."""


def novel_shapes(rng: np.random.Generator, n: int, size: int) -> dict[str, np.ndarray]:
    """``n`` images of shapes no class has (crescents, L and T strokes, pairs of dots, arcs),
    labelled ``NO_LABEL``: near out-of-distribution, with the glyphs' strokes and noise.

    Not textures: the bundled backbone is pre-trained on gratings, so stripes and checkers
    excite its features more than any glyph does and look *more* familiar to a head (an ODIN
    AUROC of about 0.05 on such a set)."""
    kinds = rng.integers(len(NOVEL), size=n)
    x, y, r = _grid(n, size, rng)
    w = r / 3
    shapes = {
        "crescent": (x ** 2 + y ** 2 < r ** 2) & ((x - r / 2) ** 2 + y ** 2 > (0.8 * r) ** 2),
        "ell": (((np.abs(x + r / 2) < w / 2) & (np.abs(y) < r))
                | ((np.abs(y - r + w / 2) < w / 2) & (x > -r) & (x < r / 2))),
        "tee": (((np.abs(y + r - w / 2) < w / 2) & (np.abs(x) < r))
                | ((np.abs(x) < w / 2) & (y > -r) & (y < r))),
        "pair": (((x + r / 2) ** 2 + y ** 2 < (r / 3) ** 2)
                 | ((x - r / 2) ** 2 + y ** 2 < (r / 3) ** 2)),
        "arc": (np.abs(np.sqrt(x ** 2 + y ** 2) - r) < w / 2) & (y < -r / 4),
    }
    masks = np.stack([shapes[k] for k in NOVEL])[kinds, np.arange(n)]
    ink = rng.uniform(0.6, 1.0, (n, 1, 1)).astype(np.float32)
    image = masks * ink + 0.15 * rng.standard_normal(masks.shape).astype(np.float32)
    return {"images": (np.clip(image, 0, 1) * 255).round().astype(np.uint8),
            "labels": np.full(n, NO_LABEL, dtype=np.int8)}


SOURCE_CLASSES = 12
"""The source task: an oriented grating (6 orientations) × thin or thick strokes."""


def source_images(n: int, shape: tuple[int, ...], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` source-task images ``(n, *shape)`` in [0, 1] standardised, and labels: gratings of 6 orientations
    and 2 stroke widths inside a random window, for pre-training the bundled backbone."""
    rng = np.random.default_rng([seed, SPLIT_SEEDS["source"]])
    channels, height, width = shape
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    yy, xx = yy / height, xx / width
    labels = rng.integers(SOURCE_CLASSES, size=n)
    angle = (labels % 6) * np.pi / 6 + rng.normal(0, 0.05, n)
    freq = np.where(labels < 6, 6.0, 3.0) * rng.uniform(0.9, 1.1, n)
    phase = rng.uniform(0, 2 * np.pi, n)
    arg = (np.cos(angle)[:, None, None] * xx + np.sin(angle)[:, None, None] * yy)
    grating = np.sin(2 * np.pi * freq[:, None, None] * arg + phase[:, None, None]) > 0.3
    x0, y0 = rng.uniform(0.0, 0.4, (2, n, 1, 1))
    window = (xx > x0) & (xx < x0 + 0.6) & (yy > y0) & (yy < y0 + 0.6)
    image = (grating & window).astype(np.float32)
    colour = rng.uniform(0.5, 1.0, (n, channels, 1, 1)).astype(np.float32)
    images = image[:, None] * colour + 0.1 * rng.standard_normal((n, channels, height, width))
    images = np.clip(images, 0, 1)
    images = (images - images.mean()) / images.std()  # standardised, as datasets give inputs
    return images.astype(np.float32), labels.astype(np.int64)
