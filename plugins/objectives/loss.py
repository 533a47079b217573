"""Cross-entropy loss on validation and test, and perplexity for language modelling."""

from __future__ import annotations

import math
from typing import Any, ClassVar

from nasplat import hookimpl
from nasplat.errors import TrialFailed
from nasplat.evaluation import EvaluationRecord
from nasplat.objective import Direction
from nasplat.scores import split_of


class ValLoss:
    """Validation cross-entropy, mean over labelled samples (tokens for language models).

    MO-ResNet's auxiliary objective: it tells apart models of equal accuracy by how confident
    they are. No label smoothing is applied in evaluation.
    """

    name: ClassVar[str] = "val_loss"
    direction: Direction = "min"
    cheap = False
    best: float | None = 0.0
    split: ClassVar[str] = "validation"

    @property
    def needs(self) -> frozenset[str]:
        """The split it reads."""
        return frozenset({f"split:{self.split}"})

    def compute(self, record: EvaluationRecord) -> float:
        """``−(1/N) Σ log p(yᵢ | xᵢ)``."""
        loss = split_of(record, self.split, self.name).loss
        if loss is None:
            raise TrialFailed(f"objective '{self.name}': split '{self.split}' has no labels")
        return loss


class TestLoss(ValLoss):
    """Test cross-entropy, mean over labelled samples (tokens for language models)."""

    name = "test_loss"
    split = "test"


class ValPerplexity(ValLoss):
    """Validation perplexity: ``exp`` of the mean per-token cross-entropy (in nats).

    The language-modelling measure of Jelinek et al. (1977), as reported on Penn Treebank.
    """

    name = "val_perplexity"
    best = 1.0

    def compute(self, record: EvaluationRecord) -> float:
        """``exp(−(1/N) Σ log p(wᵢ | w₍<ᵢ₎))``."""
        return math.exp(min(super().compute(record), 700.0))  # exp(709) overflows a float


class TestPerplexity(ValPerplexity):
    """Test perplexity: ``exp`` of the mean per-token cross-entropy (in nats)."""

    name = "test_perplexity"
    split = "test"


@hookimpl
def nasplat_register_objectives(register: Any) -> None:
    """Register the loss and perplexity objectives."""
    for cls in (ValLoss, TestLoss, ValPerplexity, TestPerplexity):
        register(cls)
