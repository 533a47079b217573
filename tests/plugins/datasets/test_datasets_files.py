"""Datasets read from local folders: MNIST-style files and word-level corpora."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from nasplat.errors import ConfigError
from nasplat.plugins.datasets.mnist import FashionMnist, Mnist, read_idx
from nasplat.plugins.datasets.text_corpus import TextCorpus


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    gzip.open(path, "wb").write(header + array.astype(np.uint8).tobytes())


def tiny_digits(folder: Path) -> None:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 30), ("t10k", 10)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)


def test_idx_folder_splits_and_normalisation(tmp_path: Path) -> None:
    tiny_digits(tmp_path / "digits")
    data = Mnist(path=str(tmp_path / "digits"), validation=10)
    assert data.sizes() == {"train": 20, "validation": 10, "test": 10}
    train, val = data.load("train"), data.load("validation")
    assert train.inputs.shape == (20, 1, 28, 28) and train.labels.tolist() == list(range(10)) * 2
    assert val.labels.tolist() == list(range(10))
    raw = read_idx(tmp_path / "digits" / "train-images-idx3-ubyte.gz")
    assert train.inputs[0, 0, 0, 0].item() == pytest.approx((raw[0, 0, 0] / 255 - 0.1307) / 0.3081)


def test_npz_file_and_an_ood_set(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "d.npz", x_train=rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
             y_train=np.arange(12) % 10, x_test=np.zeros((4, 28, 28), np.uint8),
             y_test=np.arange(4))
    np.savez(tmp_path / "ood.npz", x28=np.zeros((5, 28, 28), np.uint8))
    data = FashionMnist(path=str(tmp_path / "d.npz"), validation=2,
                        ood_path=str(tmp_path / "ood.npz"))
    assert data.splits() == ("train", "validation", "test", "ood")
    assert data.sizes() == {"train": 10, "validation": 2, "test": 4, "ood": 5}
    ood = data.load("ood")
    assert (ood.labels == -1).all()
    assert ood.inputs[0, 0, 0, 0].item() == pytest.approx(-0.2860 / 0.3530)
    # a second OoD set, as split ood2
    np.savez(tmp_path / "ood2.npz", x=np.full((3, 28, 28), 255, np.uint8))
    two = FashionMnist(path=str(tmp_path / "d.npz"), validation=2,
                       ood_path=str(tmp_path / "ood.npz"), ood2_path=str(tmp_path / "ood2.npz"))
    assert two.splits() == ("train", "validation", "test", "ood", "ood2")
    assert two.sizes()["ood2"] == 3 and (two.load("ood2").labels == -1).all()
    assert two.load("ood2").inputs[0, 0, 0, 0].item() == pytest.approx((1 - 0.2860) / 0.3530)
    with pytest.raises(ConfigError, match="give the first as ood_path"):
        FashionMnist(path=str(tmp_path / "d.npz"), ood2_path=str(tmp_path / "ood2.npz"))


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: None, "path .*missing does not exist: expected a folder with train-images"),
    (lambda p: (p / "missing").mkdir(), "has no train-images-idx3-ubyte.gz"),
    (lambda p: np.savez(p / "missing", x_train=np.zeros(1)), "lacks y_train, x_test, y_test"),
])
def test_a_missing_or_malformed_path_says_what_is_expected(tmp_path: Path, make,
                                                            message: str) -> None:
    make(tmp_path)
    target = tmp_path / ("missing.npz" if (tmp_path / "missing.npz").exists() else "missing")
    with pytest.raises(ConfigError, match=message) as info:
        Mnist(path=str(target)).load("train")
    assert "\n" not in str(info.value)


def test_a_corrupt_idx_file(tmp_path: Path) -> None:
    tiny_digits(tmp_path / "digits")
    gzip.open(tmp_path / "digits" / "t10k-labels-idx1-ubyte.gz", "wb").write(b"\x01\x02")
    with pytest.raises(ConfigError, match="is not an IDX file"):
        Mnist(path=str(tmp_path / "digits"), validation=10).load("test")


def test_no_path_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="set dataset.options.path"):
        Mnist().load("train")


def test_text_corpus_windows_and_unknown_words(tmp_path: Path) -> None:
    (tmp_path / "train.txt").write_text("a b c\nb c a <unk>\n")
    (tmp_path / "valid.txt").write_text("a z b\n")
    (tmp_path / "test.txt").write_text("c a b\n")
    data = TextCorpus(path=str(tmp_path), seq_len=3)
    assert data.vocab == {"<eos>": 0, "<unk>": 1, "a": 2, "b": 3, "c": 4} and data.classes == 5
    train = data.load("train")  # a b c <eos> b c a <unk> <eos>: 9 words → 2 windows
    assert train.inputs.tolist() == [[2, 3, 4], [0, 3, 4]]
    assert train.labels.tolist() == [[3, 4, 0], [3, 4, 2]]
    valid = data.load("validation")  # a z b <eos>: z becomes <unk>
    assert valid.inputs.tolist() == [[2, 1, 3]] and valid.labels.tolist() == [[1, 3, 0]]


def test_text_corpus_layout_errors(tmp_path: Path) -> None:
    (tmp_path / "train.txt").write_text("a\n")
    with pytest.raises(ConfigError, match="has no ptb.valid.txt or valid.txt: expected a folder"):
        TextCorpus(path=str(tmp_path))
    with pytest.raises(ConfigError, match="is not a folder"):
        TextCorpus(path=str(tmp_path / "train.txt"))


def test_real_mnist_and_fashion_mnist(shared_data: Path) -> None:
    mnist = Mnist(path=str(shared_data / "mnist"), ood_path=str(shared_data / "ood" /
                                                               "uci_digits.npz"))
    assert mnist.sizes() == {"train": 55000, "validation": 5000, "test": 10000, "ood": 1797}
    test = mnist.load("test")
    assert np.bincount(test.labels.numpy()).tolist()[:3] == [980, 1135, 1032]
    fashion = FashionMnist(path=str(shared_data / "fashion_mnist"), ood_path=str(
        shared_data / "mnist"))
    assert (np.bincount(fashion.load("test").labels.numpy()) == 1000).all()
    assert len(fashion.load("ood")) == 10000  # MNIST's test images as the OoD set


@pytest.mark.parametrize(("folder", "tokens"), [("ptb", 929589), ("austen_lm", 596240)])
def test_real_word_corpora(shared_data: Path, folder: str, tokens: int) -> None:
    data = TextCorpus(path=str(shared_data / folder))
    assert data.classes == 10000 + (folder == "austen_lm")  # PTB's 10,000 types hold <eos>
    assert data.sizes()["train"] == (tokens - 1) // 35
