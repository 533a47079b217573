"""The fast path: batches sliced from a split's tensors, with no DataLoader in between."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from nasplat.dataset import Split

Batch = tuple[torch.Tensor, torch.Tensor]


class TensorBatches:
    """A split's tensors on the device (or in pinned host memory when too big) and their batches.

    Built once per split and reused by every trial: the copy to the device happens once.
    """

    def __init__(self, split: Split, device: torch.device, max_bytes: int) -> None:
        self.device = device
        size = _nbytes(split.inputs) + _nbytes(split.labels)
        # a split that fits goes to the device once; a bigger one stays on the host and each
        # batch is copied over (pinned memory lets that copy overlap compute on CUDA)
        self.on_device = device.type == "cpu" or size <= max_bytes
        target = device if self.on_device else torch.device("cpu")
        self.inputs = split.inputs.to(target)
        self.labels = split.labels.to(target)
        if not self.on_device and device.type == "cuda":
            self.inputs, self.labels = self.inputs.pin_memory(), self.labels.pin_memory()

    def __len__(self) -> int:
        return len(self.labels)

    def steps_per_epoch(self, batch_size: int) -> int:
        """Full batches per epoch (at least one: a split smaller than a batch is one batch)."""
        return max(len(self) // batch_size, 1)

    def shuffled(self, batch_size: int, generator: torch.Generator) -> Iterator[Batch]:
        """One epoch of full batches in a random order drawn from ``generator``."""
        n = len(self)
        order = torch.randperm(n, generator=generator).to(self.inputs.device)
        size = min(batch_size, n)
        # the last partial batch is dropped: a batch of one breaks batch norm, and each epoch
        # reshuffles, so every sample is still seen
        for start in range(0, n - size + 1, size):
            index = order[start:start + size]
            yield self._move(self.inputs[index], self.labels[index])

    def in_order(self, batch_size: int) -> Iterator[Batch]:
        """Every sample once, in order, in batches (the last may be smaller)."""
        for start in range(0, len(self), batch_size):
            yield self._move(self.inputs[start:start + batch_size],
                             self.labels[start:start + batch_size])

    def _move(self, inputs: torch.Tensor, labels: torch.Tensor) -> Batch:
        if self.on_device:
            return inputs, labels
        return (inputs.to(self.device, non_blocking=True),
                labels.to(self.device, non_blocking=True))


def _nbytes(tensor: torch.Tensor) -> int:
    return tensor.numel() * tensor.element_size()
