"""The Dataset interface: a task's data as in-memory splits, plus the cache for generated data.

A dataset declares its task, input shape, number of classes (the vocabulary size for language
modelling), its per-sample attributes (``group``, ``condition`` ...) and any extra evaluation
sets (an out-of-distribution set ...). ``load(split)`` returns a :class:`Split` of tensors; the
trainer slices batches straight from them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import hashlib
import inspect
import json
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel

from nasplat.errors import ConfigError, NasplatError
from nasplat.space import NoOptions, Task

if TYPE_CHECKING:  # torch is imported where tensors are made: `nasplat --help` stays fast
    import torch

SPLITS = ("train", "validation", "test")
"""The splits every dataset has; extra evaluation sets come after them."""

NO_LABEL = -1
"""Label of a sample that has none (an out-of-distribution image): ignored by loss and accuracy."""


@dataclass
class Split:
    """One split in memory: inputs, labels and per-sample attributes (integer codes).

    ``inputs`` is ``(N, *input_shape)``; ``labels`` is ``(N,)`` for classification or
    ``(N, T)`` for language modelling (the next token at each position). ``attributes[a][i]``
    indexes the value names the dataset declares for attribute ``a``.
    """

    inputs: torch.Tensor
    labels: torch.Tensor
    attributes: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.labels)
        if len(self.inputs) != n:
            raise NasplatError(f"split has {len(self.inputs)} inputs but {n} labels: a dataset "
                               f"must give one label (row) per input")
        for name, values in self.attributes.items():
            if len(values) != n:
                raise NasplatError(f"split attribute '{name}' has {len(values)} values for {n} "
                                   f"samples: give one value per sample")

    def __len__(self) -> int:
        return len(self.labels)


class Dataset(ABC):
    """A task's data: train / validation / test splits, attributes and extra evaluation sets.

    Subclass, set the class attributes, set ``input_shape`` and ``classes`` (on the class or in
    ``__init__``), implement :meth:`load`, and register the class through
    ``nasplat_register_datasets``. ``Options`` (a pydantic model) declares what a study config
    may pass under ``dataset.options``; they arrive as keyword arguments.
    """

    name: ClassVar[str]
    task: ClassVar[Task]
    Options: ClassVar[type[BaseModel]] = NoOptions
    input_shape: tuple[int, ...]
    classes: int
    """Number of classes; the vocabulary size for language modelling."""
    attributes: Mapping[str, tuple[str, ...]] = MappingProxyType({})
    """Per-sample attributes and the names of their values, e.g. ``{"condition": ("well_lit",
    "poorly_lit")}``; a split's codes index these names."""
    extra_sets: Mapping[str, str] = MappingProxyType({})
    """Extra evaluation sets and what each is, e.g. ``{"ood": "out-of-distribution images"}``."""

    @abstractmethod
    def load(self, split: str) -> Split:
        """The split named ``split`` (one of :meth:`splits`), in memory."""

    def splits(self) -> tuple[str, ...]:
        """Every split's name: train, validation, test, then the extra evaluation sets."""
        return (*SPLITS, *self.extra_sets)

    def sizes(self) -> dict[str, int]:
        """Samples per split (loads the splits unless a subclass knows without loading)."""
        return {split: len(self.load(split)) for split in self.splits()}

    def describe(self) -> str:
        """One paragraph for ``nasplat datasets``: defaults to the class docstring."""
        return inspect.cleandoc(type(self).__doc__ or "")

    def unknown_split(self, split: str) -> ConfigError:
        """The error for a split this dataset does not have (subclasses raise it)."""
        return ConfigError(f"dataset '{self.name}' has no split '{split}': it has "
                           f"{', '.join(self.splits())}")


# --- the cache of generated data ------------------------------------------------------------


def cache_dir() -> Path:
    """Where nasplat keeps generated data: ``$NASPLAT_CACHE_DIR``, else the XDG cache dir."""
    if os.environ.get("NASPLAT_CACHE_DIR"):
        return Path(os.environ["NASPLAT_CACHE_DIR"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "nasplat"


def cached_arrays(name: str, params: Mapping[str, Any],
                  make: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Arrays kept in the cache under ``name`` and ``params``; ``make()`` builds them once.

    The file name holds a hash of ``params``, so other options build (and keep) another file.
    The write is atomic: two processes generating at once both end with a complete file.
    """
    digest = hashlib.sha256(json.dumps(dict(params), sort_keys=True).encode()).hexdigest()[:12]
    path = cache_dir() / "datasets" / f"{name}-{digest}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as archive:
                return {key: archive[key] for key in archive.files}
        except (OSError, ValueError):
            pass  # a damaged cache file is rebuilt below
    arrays = make()
    save_arrays(path, arrays)
    return arrays


def save_arrays(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` (``.npz``) atomically; an unwritable cache is skipped, as it
    only costs computing the arrays again next time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(tmp, path)
    except OSError:
        pass
