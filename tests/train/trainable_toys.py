"""A tiny trainable space and dataset for the trainer's tests, plus a space whose genomes fail."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from nasplat import hookimpl
from nasplat.dataset import NO_LABEL, Dataset, Split
from nasplat.space import Genome, SearchSpace, check

FEATURES, CLASSES = 8, 3


class ToyBlobs(Dataset):
    """Three Gaussian blobs in 8-D; a minority group; noisy samples; OoD points between blobs."""

    name = "toy_blobs"
    task = "tabular_classification"
    input_shape = (FEATURES,)
    classes = CLASSES
    attributes = {"group": ("a", "b"), "condition": ("clean", "noisy")}
    extra_sets = {"ood": "points far from every blob"}
    COUNTS = {"train": 240, "validation": 90, "test": 90, "ood": 60}

    class Options(BaseModel):
        """The generator's seed."""

        model_config = ConfigDict(extra="forbid")
        seed: int = Field(default=0, ge=0)

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def load(self, split: str) -> Split:
        if split not in self.COUNTS:
            raise self.unknown_split(split)
        rng = np.random.default_rng([self.seed, list(self.COUNTS).index(split)])
        n = self.COUNTS[split]
        centres = np.random.default_rng(self.seed).normal(0, 3, (CLASSES, FEATURES))
        if split == "ood":
            x = rng.normal(0, 0.5, (n, FEATURES))  # between the blobs, where no class is sure
            return Split(torch.tensor(x, dtype=torch.float32), torch.full((n,), NO_LABEL))
        y = rng.integers(0, CLASSES, n)
        noisy = (rng.random(n) < 0.3).astype(np.int8)
        x = centres[y] + rng.normal(0, 1, (n, FEATURES)) * (1 + 1.5 * noisy[:, None])
        group = (rng.random(n) < 0.25).astype(np.int8)  # group "b" is the minority
        return Split(torch.tensor(x, dtype=torch.float32), torch.tensor(y),
                     {"group": group, "condition": noisy})


class ToyMlp(SearchSpace):
    """An MLP on toy_blobs: the genome is [hidden width, depth]."""

    name = "train_mlp"
    kind = "int_vector"
    task = "tabular_classification"
    default_dataset = "toy_blobs"
    default_objectives = ("val_accuracy", "params")

    def sample(self, rng: np.random.Generator) -> Genome:
        return [int(rng.choice([4, 8, 16, 32])), int(rng.integers(1, 3))]

    def mutate(self, genome: Genome, rng: np.random.Generator) -> Genome:
        return self.sample(rng)

    def crossover(self, a: Genome, b: Genome, rng: np.random.Generator) -> Genome:
        return [a[0], b[1]]

    def validate(self, genome: Genome) -> None:
        check(isinstance(genome, list) and len(genome) == 2, "genome is [width, depth]")

    def encode(self, genome: Genome) -> np.ndarray:
        return np.asarray(genome, dtype=float)

    def cheap_metrics(self, genome: Genome) -> dict[str, float]:
        return {}

    def build(self, genome: Genome) -> nn.Module:
        width, depth = genome
        layers: list[nn.Module] = []
        size = FEATURES
        for _ in range(depth):
            layers += [nn.Linear(size, width), nn.ReLU()]
            size = width
        return nn.Sequential(*layers, nn.Linear(size, CLASSES))

    def dummy_input(self, batch_size: int = 2) -> torch.Tensor:
        return torch.randn(batch_size, FEATURES)

    def inherit(self, parent_genome: Genome, parent_state: dict[str, Any],
                child_genome: Genome) -> dict[str, Any]:
        """Copy every tensor whose name and shape the child shares."""
        child = self.build(child_genome).state_dict()
        return {k: parent_state[k] if k in parent_state and parent_state[k].shape == v.shape
                else v for k, v in child.items()}


FAULTS = ("ok", "nan", "raise", "oom", "diverge")


class _Faulty(nn.Module):
    def __init__(self, fault: str) -> None:
        super().__init__()
        self.fault = fault
        self.linear = nn.Linear(FEATURES, CLASSES)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.linear(x)
        if self.training:
            self.calls += 1
            if self.fault == "nan" and self.calls > 3:
                return out * float("nan")
            if self.fault == "raise" and self.calls > 2:
                raise ValueError("boom in forward")
            if self.fault == "oom":
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
            if self.fault == "diverge":
                return out * 2.0 ** min(self.calls, 60)
        return out


class ToyFaulty(SearchSpace):
    """One genome per way a trial can fail (plus one that works)."""

    name = "toy_faulty"
    task = "tabular_classification"
    default_dataset = "toy_blobs"
    default_objectives = ("val_accuracy",)

    def sample(self, rng: np.random.Generator) -> Genome:
        return str(rng.choice(FAULTS))

    def mutate(self, genome: Genome, rng: np.random.Generator) -> Genome:
        return self.sample(rng)

    def crossover(self, a: Genome, b: Genome, rng: np.random.Generator) -> Genome:
        return a

    def validate(self, genome: Genome) -> None:
        check(genome in FAULTS, f"genome is one of {FAULTS}")

    def cardinality(self) -> float:
        return float(len(FAULTS))

    def encode(self, genome: Genome) -> np.ndarray:
        return np.asarray([FAULTS.index(genome)], dtype=float)

    def cheap_metrics(self, genome: Genome) -> dict[str, float]:
        return {}

    def build(self, genome: Genome) -> nn.Module:
        return _Faulty(genome)


class _Fixed(SearchSpace):
    """A one-genome space around a fixed model (shared code of the two below)."""

    def sample(self, rng: np.random.Generator) -> Genome:
        return [int(rng.choice([8, 16]))]

    def mutate(self, genome: Genome, rng: np.random.Generator) -> Genome:
        return self.sample(rng)

    def crossover(self, a: Genome, b: Genome, rng: np.random.Generator) -> Genome:
        return a

    def validate(self, genome: Genome) -> None:
        check(isinstance(genome, list) and len(genome) == 1, "genome is [width]")

    def encode(self, genome: Genome) -> np.ndarray:
        return np.asarray(genome, dtype=float)

    def cheap_metrics(self, genome: Genome) -> dict[str, float]:
        return {}


class ToyBigram(_Fixed):
    """A bigram language model (embedding → linear) of width ``genome[0]``."""

    name = "toy_bigram"
    task = "language_modelling"
    default_dataset = "synthetic_sequence"
    default_objectives = ("val_perplexity",)

    def build(self, genome: Genome) -> nn.Module:
        return nn.Sequential(nn.Embedding(64, genome[0] * 4), nn.Linear(genome[0] * 4, 64))


class ToyConv(_Fixed):
    """A small CNN on 32×32 RGB images, for synthetic_person at image_size 32."""

    name = "toy_conv"
    task = "image_classification"
    default_dataset = "synthetic_person"
    default_objectives = ("val_accuracy",)

    def build(self, genome: Genome) -> nn.Module:
        w = genome[0]
        return nn.Sequential(nn.Conv2d(3, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Conv2d(w, 2 * w, 3, padding=1),
                             nn.BatchNorm2d(2 * w), nn.ReLU(), nn.AdaptiveMaxPool2d(1),
                             nn.Flatten(), nn.Linear(2 * w, 2))

    def dummy_input(self, batch_size: int = 2) -> torch.Tensor:
        return torch.randn(batch_size, 3, 32, 32)


@hookimpl
def nasplat_register_spaces(register: Any) -> None:
    """Register the trainable toy spaces."""
    for cls in (ToyMlp, ToyFaulty, ToyBigram, ToyConv):
        register(cls)


@hookimpl
def nasplat_register_datasets(register: Any) -> None:
    """Register the toy dataset."""
    register(ToyBlobs)
