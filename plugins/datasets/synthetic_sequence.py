"""A generated token stream for language models: a sparse Markov chain, no download."""

from __future__ import annotations

from typing import TYPE_CHECKING

import math
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from nasplat import hookimpl
from nasplat.dataset import Dataset, Split, cached_arrays

if TYPE_CHECKING:  # torch is imported where tensors are made: `nasplat --help` stays fast
    import torch

VERSION = 1
"""Bump when the generator changes, so cached files of the old generator are not reused."""

SUCCESSOR_PROBS = (0.6, 0.3, 0.1)
"""Each token is followed by one of three tokens with these chances: the best possible
perplexity is exp(H) = exp(−Σ p ln p) ≈ 2.45, against ``vocab`` for a model that learnt nothing."""

SPLIT_SEEDS = {"train": 1, "validation": 2, "test": 3}


def best_perplexity() -> float:
    """The perplexity of the true chain: a model cannot do better."""
    return math.exp(-sum(p * math.log(p) for p in SUCCESSOR_PROBS))


class SyntheticSequence(Dataset):
    """Next-token prediction on a Markov chain of ``vocab`` tokens; windows of ``seq_len``.

    Each token has three successors (chances 0.6 / 0.3 / 0.1) fixed by ``seed``, so perplexity
    falls from ``vocab`` towards 2.45 as a model learns. Generated on first use and cached.
    """

    name = "synthetic_sequence"
    task = "language_modelling"

    class Options(BaseModel):
        """Vocabulary, window length and windows per split."""

        model_config = ConfigDict(extra="forbid")
        vocab: int = Field(default=64, ge=4, le=65536)
        seq_len: int = Field(default=32, ge=2)
        train: int = Field(default=1000, ge=1)
        validation: int = Field(default=100, ge=1)
        test: int = Field(default=100, ge=1)
        seed: int = Field(default=0, ge=0)

    def __init__(self, vocab: int = 64, seq_len: int = 32, train: int = 1000,
                 validation: int = 100, test: int = 100, seed: int = 0) -> None:
        self.classes, self.seq_len, self.seed = vocab, seq_len, seed
        self.input_shape = (seq_len,)
        self.counts = {"train": train, "validation": validation, "test": test}

    def sizes(self) -> dict[str, int]:
        """Windows per split, known from the options."""
        return dict(self.counts)

    def load(self, split: str) -> Split:
        """Windows of ``seq_len`` tokens and, as labels, the token after each."""
        import torch

        if split not in self.counts:
            raise self.unknown_split(split)
        params = {"version": VERSION, "split": split, "n": self.counts[split],
                  "vocab": self.classes, "seq_len": self.seq_len, "seed": self.seed}
        arrays = cached_arrays(self.name, params, lambda: {"tokens": self._stream(split)})
        tokens = torch.from_numpy(arrays["tokens"].astype(np.int64))
        n, t = self.counts[split], self.seq_len
        return Split(tokens[:n * t].view(n, t), tokens[1:n * t + 1].view(n, t))

    def _stream(self, split: str) -> np.ndarray:
        """``n × seq_len + 1`` tokens walked along the chain."""
        table = np.random.default_rng([self.seed, 0])  # the chain is the same in every split
        successors = np.stack([table.choice(self.classes, 3, replace=False)
                               for _ in range(self.classes)])
        rng = np.random.default_rng([self.seed, SPLIT_SEEDS[split]])
        length = self.counts[split] * self.seq_len + 1
        picks = rng.choice(3, size=length, p=SUCCESSOR_PROBS)
        out = np.empty(length, dtype=np.int32)
        out[0] = rng.integers(self.classes)
        for i in range(1, length):
            out[i] = successors[out[i - 1], picks[i]]
        return out


@hookimpl
def nasplat_register_datasets(register: Any) -> None:
    """Register the synthetic sequence dataset."""
    register(SyntheticSequence)
