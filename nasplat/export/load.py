"""Rebuilding an exported model: the space plugin builds it, the exported weights fill it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from nasplat.errors import ConfigError
from nasplat.problem import instantiate
from nasplat.space import SearchSpace

if TYPE_CHECKING:
    import torch


def _folder(path: Path | str) -> Path:
    path = Path(path)
    folder = path.parent if path.is_file() else path
    if not (folder / "values.json").is_file():
        raise ConfigError(f"{path} is not an exported architecture: it has no values.json "
                          f"(write one with `nasplat export STUDY --trial N --out DIR`)")
    return folder


def space_of(path: Path | str) -> SearchSpace:
    """The search space an exported folder was made in, with the study's options."""
    values = json.loads((_folder(path) / "values.json").read_text())
    return instantiate("spaces", values["space"], values.get("space_options") or {},
                       f"{path}: space_options")


def load_model(path: Path | str, weights: bool = True) -> torch.nn.Module:
    """The model of an exported architecture (its folder, or a file in it), rebuilt by its
    space plugin with the exported trained weights, in eval mode. ``weights=False`` gives the
    freshly initialised model of a folder exported without weights."""
    import torch

    folder = _folder(path)
    space = space_of(folder)
    model = space.build(space.from_json(json.loads((folder / "genome.json").read_text())))
    state = folder / "state_dict.pt"
    if weights:
        if not state.is_file():
            raise ConfigError(f"{folder} has no trained weights (state_dict.pt): export it with "
                              f"--retrain, or pass weights=False for an untrained model")
        model.load_state_dict(torch.load(state, map_location="cpu", weights_only=True))
    return model.eval()
