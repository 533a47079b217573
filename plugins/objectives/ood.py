"""Out-of-distribution detection: AUROC of ODIN scores, in-distribution test vs an OoD set."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from nasplat import hookimpl
from nasplat.evaluation import EvaluationRecord
from nasplat.objective import Direction
from nasplat.scores import ODIN_SCORE, attribute_of, auroc, split_of


class OodAuroc:
    """AUROC of telling in-distribution test samples from an OoD set by their ODIN score.

    ODIN (Liang, Li & Srikant, ICLR 2018): temperature scaling (T = 1000) and an input
    perturbation of size ε against the gradient of the top class's log-softmax; the score is
    the top softmax probability. 1 separates perfectly, 0.5 is chance. The evaluator computes
    the scores (they need the model) and stores them in the record.
    """

    name: ClassVar[str] = "ood_auroc"
    direction: Direction = "max"
    cheap = False
    best: float | None = 1.0

    class Options(BaseModel):
        """ODIN's temperature and perturbation, and which splits to compare."""

        model_config = ConfigDict(extra="forbid")
        temperature: float = Field(default=1000.0, gt=0)
        epsilon: float = Field(default=0.0014, ge=0)  # ODIN's value for CIFAR-10 DenseNet
        in_split: str = "test"
        ood_split: str = "ood"

    def __init__(self, temperature: float = 1000.0, epsilon: float = 0.0014,
                 in_split: str = "test", ood_split: str = "ood") -> None:
        self.temperature, self.epsilon = temperature, epsilon
        self.in_split, self.ood_split = in_split, ood_split

    @property
    def needs(self) -> frozenset[str]:
        """ODIN scores on both splits."""
        return frozenset({f"odin:{self.in_split}", f"odin:{self.ood_split}"})

    def compute(self, record: EvaluationRecord) -> float:
        """P(score of a random in-distribution sample > score of a random OoD sample)."""
        inside = split_of(record, self.in_split, self.name)
        outside = split_of(record, self.ood_split, self.name)
        return auroc(attribute_of(inside, ODIN_SCORE, self.name),
                     attribute_of(outside, ODIN_SCORE, self.name))


@hookimpl
def nasplat_register_objectives(register: Any) -> None:
    """Register the OoD detection objective."""
    register(OodAuroc)
