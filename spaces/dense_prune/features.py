"""Backbone features of every split, computed once per (backbone, dataset) and kept on disk.

The cache file is named by a hash of the backbone's weights and a hash of the dataset's data
(every split's inputs and labels), so new weights or changed data compute anew, and anything
else reuses the file: a whole study trains heads on features read once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from nasplat.dataset import Dataset, Split, cache_dir, save_arrays

VERSION = 1


@dataclass
class SplitFeatures:
    """The backbone's features of one split, ``(N, P)`` float32, and its labels ``(N,)``."""

    features: torch.Tensor
    labels: torch.Tensor


def data_hash(splits: dict[str, Split]) -> str:
    """A hash of every split's inputs and labels: changed data, another cache file."""
    digest = hashlib.sha256()
    for name in sorted(splits):
        digest.update(name.encode())
        for tensor in (splits[name].inputs, splits[name].labels):
            digest.update(str(tuple(tensor.shape)).encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:24]


def cache_path(backbone_key: str, dataset_key: str) -> Path:
    """Where the features of one (backbone, dataset) pair are kept."""
    return cache_dir() / "dense_prune" / "features" / f"v{VERSION}-{backbone_key}-{dataset_key}.npz"


def extract(backbone: nn.Module, inputs: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """``backbone`` applied to ``inputs`` in batches, without gradients, flattened to ``(N, P)``."""
    backbone.eval()
    with torch.inference_mode():
        out = [backbone(inputs[i:i + batch_size]).flatten(1).float()
               for i in range(0, len(inputs), batch_size)]
    return torch.cat(out)


def cached_features(backbone: nn.Module, backbone_key: str, dataset: Dataset,
                    splits: tuple[str, ...], log: Any = print) -> dict[str, SplitFeatures]:
    """Features of ``splits`` of ``dataset``: read from the cache, or computed once and kept."""
    loaded = {name: dataset.load(name) for name in splits}
    path = cache_path(backbone_key, data_hash(loaded))
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as archive:
                if all(f"{name}_x" in archive.files for name in splits):
                    log(f"dense_prune: features of {dataset.name} read from {path}")
                    return {name: SplitFeatures(torch.from_numpy(archive[f"{name}_x"]),
                                                loaded[name].labels) for name in splits}
        except (OSError, ValueError):
            pass  # a damaged file is computed again below
    log(f"dense_prune: computing backbone features of {dataset.name} "
        f"({', '.join(f'{n} {len(s)}' for n, s in loaded.items())}); cached at {path}")
    out = {name: SplitFeatures(extract(backbone, split.inputs), split.labels)
           for name, split in loaded.items()}
    save_arrays(path, {f"{name}_x": f.features.numpy() for name, f in out.items()})
    return out

