"""MNIST and Fashion-MNIST from a local folder (IDX files, gzipped or not) or a ``.npz`` file."""

from __future__ import annotations

from typing import TYPE_CHECKING

import gzip
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from nasplat import hookimpl
from nasplat.dataset import NO_LABEL, Dataset, Split
from nasplat.errors import ConfigError

if TYPE_CHECKING:  # torch is imported where tensors are made: `nasplat --help` stays fast
    import torch

IDX_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
LAYOUT = ("a folder with train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
          "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (or without .gz), or an "
          ".npz file with x_train, y_train, x_test, y_test")
OOD_KEYS = ("x28", "x_test", "x", "images")


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzipped when its name ends in .gz) as a uint8 array of its shape."""
    raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise ConfigError(f"{path} is not an IDX file of unsigned bytes (magic 0x0008..): "
                          f"expected {LAYOUT}")
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * dims)
    if data.size != int(np.prod(shape)):
        raise ConfigError(f"{path} is truncated: its header says {shape}, it holds {data.size} "
                          f"values")
    return data.reshape(shape)


def read_digits(path: Path, what: str) -> dict[str, np.ndarray]:
    """``x_train, y_train, x_test, y_test`` from an IDX folder or an ``.npz`` file."""
    if path.is_file() and path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            missing = [k for k in ("x_train", "y_train", "x_test", "y_test")
                       if k not in archive.files]
            if missing:
                raise ConfigError(f"{what} file {path} lacks {', '.join(missing)}: expected "
                                  f"{LAYOUT}")
            return {k: archive[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    if not path.is_dir():
        raise ConfigError(f"{what} path {path} does not exist: expected {LAYOUT}")
    out = {}
    for split, names in IDX_FILES.items():
        for key, stem in zip(("x", "y"), names, strict=True):
            found = [p for p in (path / f"{stem}.gz", path / stem) if p.is_file()]
            if not found:
                raise ConfigError(f"{what} folder {path} has no {stem}.gz: expected {LAYOUT}")
            out[f"{key}_{split}"] = read_idx(found[0])
    return out


class _Digits(Dataset):
    """28×28 greyscale images in 10 classes, from a local folder."""

    task = "image_classification"
    input_shape = (1, 28, 28)
    classes = 10
    mean: ClassVar[float]
    std: ClassVar[float]

    class Options(BaseModel):
        """Where the files are, how much of train to hold out, and up to two OoD sets."""

        model_config = ConfigDict(extra="forbid")
        path: str | None = None
        validation: int = Field(default=5000, ge=1)
        train_limit: int | None = Field(default=None, ge=1)
        ood_path: str | None = None
        ood2_path: str | None = None
        """A second OoD set (split ``ood2``), e.g. a covariate shift beside ``ood_path``'s
        semantic one: the UCI digits in ``../shared/data/ood/uci_digits.npz``."""

    def __init__(self, path: str | None = None, validation: int = 5000,
                 train_limit: int | None = None, ood_path: str | None = None,
                 ood2_path: str | None = None) -> None:
        self.path = Path(path).expanduser() if path else None
        self.validation, self.train_limit = validation, train_limit
        self.ood_paths = {split: Path(p).expanduser()
                          for split, p in (("ood", ood_path), ("ood2", ood2_path)) if p}
        if "ood2" in self.ood_paths and "ood" not in self.ood_paths:
            raise ConfigError(f"dataset '{self.name}': ood2_path is the second OoD set; give "
                              f"the first as ood_path")
        self.extra_sets = {split: f"out-of-distribution images from {p}"
                           for split, p in self.ood_paths.items()}
        if self.path is not None and not self.path.exists():
            raise ConfigError(f"dataset '{self.name}': path {self.path} does not exist: "
                              f"expected {LAYOUT}")
        self._arrays: dict[str, np.ndarray] | None = None

    def load(self, split: str) -> Split:
        """Train is the first 60000 − ``validation`` images, validation the rest of them."""
        import torch

        if split in self.ood_paths:
            images = _ood_images(self.ood_paths[split])
            return Split(self._normalise(images), torch.full((len(images),), NO_LABEL))
        if split not in ("train", "validation", "test"):
            raise self.unknown_split(split)
        arrays = self._read()
        if split == "test":
            x, y = arrays["x_test"], arrays["y_test"]
        else:
            cut = len(arrays["x_train"]) - self.validation
            if cut < 1:
                raise ConfigError(f"dataset '{self.name}': validation = {self.validation} "
                                  f"leaves no training images; use fewer")
            sl = slice(0, cut) if split == "train" else slice(cut, None)
            x, y = arrays["x_train"][sl], arrays["y_train"][sl]
            if split == "train" and self.train_limit:
                x, y = x[:self.train_limit], y[:self.train_limit]
        return Split(self._normalise(x), torch.from_numpy(y.astype(np.int64)))

    def sizes(self) -> dict[str, int]:
        """Samples per split (reads the label files)."""
        arrays = self._read()
        train = len(arrays["y_train"]) - self.validation
        sizes = {"train": min(train, self.train_limit or train), "validation": self.validation,
                 "test": len(arrays["y_test"])}
        for split, path in self.ood_paths.items():
            sizes[split] = len(_ood_images(path))
        return sizes

    def _read(self) -> dict[str, np.ndarray]:
        if self.path is None:
            raise ConfigError(f"dataset '{self.name}' needs its files: set dataset.options.path "
                              f"to {LAYOUT}")
        if self._arrays is None:
            self._arrays = read_digits(self.path, f"dataset '{self.name}'")
        return self._arrays

    def _normalise(self, images: np.ndarray) -> torch.Tensor:
        import torch

        x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)) / 255.0
        return ((x - self.mean) / self.std).unsqueeze(1)


def _ood_images(path: Path) -> np.ndarray:
    """28×28 images from an ``.npz`` (keys x28, x_test, x or images) or an IDX folder's test."""
    if path.is_dir():
        return read_digits(path, "ood_path")["x_test"]
    if not path.is_file() or path.suffix != ".npz":
        raise ConfigError(f"ood_path {path} does not exist or is no .npz: give an .npz with "
                          f"x28 (or x_test, x, images) of shape (N, 28, 28), or an IDX folder")
    with np.load(path, allow_pickle=False) as archive:
        key = next((k for k in OOD_KEYS if k in archive.files), None)
        if key is None or archive[key].shape[1:] != (28, 28):
            raise ConfigError(f"ood_path {path} holds no (N, 28, 28) array under "
                              f"{', '.join(OOD_KEYS)}")
        return archive[key]


class Mnist(_Digits):
    """MNIST handwritten digits (LeCun et al., 1998) from a local folder or .npz file."""

    name = "mnist"
    mean, std = 0.1307, 0.3081  # the training set's pixel statistics


class FashionMnist(_Digits):
    """Fashion-MNIST clothing images (Xiao et al., 2017) from a local folder or .npz file."""

    name = "fashion_mnist"
    mean, std = 0.2860, 0.3530  # the training set's pixel statistics


@hookimpl
def nasplat_register_datasets(register: Any) -> None:
    """Register MNIST and Fashion-MNIST."""
    register(Mnist)
    register(FashionMnist)
