"""The dense head a mask prunes: hidden FC layer + output layer over the P backbone features."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class PrunedHead(nn.Module):
    """The head of one mask, physically pruned: only the active feature components enter.

    ``forward`` takes all ``P`` features and gathers the active ones, so a masked component has
    no link (no weight) into the head: its value cannot change the output, and nothing of it is
    trained. ``params`` counts exactly these weights.
    """

    def __init__(self, mask: np.ndarray | list[int], hidden: int, classes: int) -> None:
        super().__init__()
        active = np.flatnonzero(np.asarray(mask))
        self.register_buffer("active", torch.as_tensor(active, dtype=torch.long))
        self.hidden = nn.Linear(len(active), hidden)
        self.out = nn.Linear(hidden, classes)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.hidden(features.index_select(1, self.active))))


def head_params(active: int, hidden: int, classes: int) -> int:
    """Weights and biases of a head with ``active`` inputs: those of :class:`PrunedHead`."""
    return active * hidden + hidden + hidden * classes + classes
