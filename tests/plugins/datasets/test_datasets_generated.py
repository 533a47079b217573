"""The generated datasets: shapes, attributes, the shifted test split, caching, determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from nasplat.dataset import cache_dir
from nasplat.errors import ConfigError
from nasplat.plugins.datasets.synthetic_person import SyntheticPerson
from nasplat.plugins.datasets.synthetic_sequence import SyntheticSequence, best_perplexity

SMALL = {"image_size": 16, "train": 400, "validation": 50, "test": 400, "ood": 20}


def test_person_splits_have_the_declared_shapes_and_attributes() -> None:
    data = SyntheticPerson(**SMALL)
    assert data.splits() == ("train", "validation", "test", "ood")
    assert data.sizes() == {"train": 400, "validation": 50, "test": 400, "ood": 20}
    train = data.load("train")
    assert train.inputs.shape == (400, 3, 16, 16) and train.inputs.dtype == torch.float32
    assert set(train.labels.tolist()) == {0, 1}
    assert set(train.attributes) == {"group", "condition"}
    assert train.attributes["group"].max() < len(data.attributes["group"]) == 10
    ood = data.load("ood")
    assert (ood.labels == -1).all() and ood.attributes == {}


def test_person_test_split_is_shifted() -> None:
    data = SyntheticPerson(**SMALL)
    train, test = data.load("train"), data.load("test")
    tones_train = np.bincount(train.attributes["group"], minlength=10) / 400
    tones_test = np.bincount(test.attributes["group"], minlength=10) / 400
    assert tones_train[0] > 2 * tones_train[9]  # dark tones under-represented in train
    assert tones_test[9] > tones_train[9]  # and not in test
    assert train.attributes["condition"].mean() < 0.3 < test.attributes["condition"].mean()


def test_generation_is_cached_and_repeats(cache: Path) -> None:
    first = SyntheticPerson(**SMALL).load("validation")
    files = list((cache / "datasets").glob("synthetic_person-*.npz"))
    assert len(files) == 1
    again = SyntheticPerson(**SMALL).load("validation")  # read back from the file
    assert torch.equal(first.inputs, again.inputs)
    other = SyntheticPerson(**{**SMALL, "seed": 1}).load("validation")
    assert not torch.equal(first.inputs, other.inputs)
    assert len(list((cache / "datasets").glob("*.npz"))) == 2


def test_a_damaged_cache_file_is_rebuilt(cache: Path) -> None:
    first = SyntheticPerson(**SMALL).load("validation")
    (path,) = (cache / "datasets").glob("*.npz")
    path.write_bytes(b"not a zip")
    assert torch.equal(SyntheticPerson(**SMALL).load("validation").inputs, first.inputs)


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    monkeypatch.setenv("NASPLAT_CACHE_DIR", str(tmp_path / "a"))
    assert cache_dir() == tmp_path / "a"
    monkeypatch.delenv("NASPLAT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "nasplat"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "nasplat"


def test_sequence_windows_are_next_token_pairs() -> None:
    data = SyntheticSequence(vocab=16, seq_len=8, train=20, validation=5, test=5)
    train = data.load("train")
    assert train.inputs.shape == train.labels.shape == (20, 8)
    assert torch.equal(train.inputs[:, 1:], train.labels[:, :-1])
    assert torch.equal(train.inputs.flatten()[1:], train.labels.flatten()[:-1])
    # every token has exactly three successors, the same in every split
    pairs = set()
    for split in ("train", "validation", "test"):
        s = data.load(split)
        pairs |= set(zip(s.inputs.flatten().tolist(), s.labels.flatten().tolist()))
    assert max(sum(1 for a, _ in pairs if a == t) for t in range(16)) <= 3
    assert best_perplexity() == pytest.approx(2.4546, abs=1e-4)  # exp(0.8979)


def test_unknown_split_names_the_real_ones() -> None:
    with pytest.raises(ConfigError, match="no split 'ood': it has train, validation, test"):
        SyntheticSequence().load("ood")
