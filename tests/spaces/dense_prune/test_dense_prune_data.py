"""The generated default data: glyph classes and an OoD set of shapes of no class."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nasplat import load_study, run_study
from nasplat.spaces.dense_prune.data import GLYPHS, NOVEL, SyntheticGlyphs, novel_shapes


def test_the_ood_set_is_unlabelled_and_drawn_like_the_glyphs() -> None:
    data = SyntheticGlyphs(train=64, validation=8, test=8, ood=200)
    ood, train = data.load("ood"), data.load("train")
    assert (ood.labels == -1).all() and ood.inputs.shape[1:] == train.inputs.shape[1:]
    # the same ink and noise: similar brightness, unlike textures filling the frame
    assert abs(float(ood.inputs.mean()) - float(train.inputs.mean())) < 0.25
    images = novel_shapes(np.random.default_rng(0), 50, 28)["images"]
    assert images.shape == (50, 28, 28) and len(NOVEL) == 5 and not set(NOVEL) & set(GLYPHS)


@pytest.mark.slow
def test_heads_on_the_bundled_backbone_tell_the_ood_set_apart(tmp_path: Path) -> None:
    """With the bundled backbone (pre-trained on gratings), the earlier OoD set of stripes and
    checkers scored an ODIN AUROC of about 0.05: it looked more familiar than the glyphs."""
    db = f"sqlite:///{tmp_path / 's.db'}"
    run_study({"space": "dense_prune", "strategy": "random", "budget": {"trials": 3},
               "dataset": {"name": "synthetic_glyphs",
                           "options": {"train": 600, "validation": 200, "test": 200, "ood": 200}},
               "trainer": {"epochs": 3}, "storage": db, "study": "s", "seed": 0})
    auroc = [t.values["ood_auroc"] for t in load_study("s", db).trials(["complete"])]
    assert len(auroc) == 3 and np.mean(auroc) > 0.6, auroc  # 0.67 to 0.74 when written
