"""The ``moe_mobilevit`` space: experts per Switch-FFN layer of MobileViTv2 (MoENAS)."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from nasplat.objective import Objective
from nasplat.space import SearchSpace, check
from nasplat.spaces.moe_mobilevit.model import (ATTENTION_LAYERS, MoEMobileViT, Widths,
                                                 param_count)
from nasplat.spaces.moe_mobilevit.objectives import SkinFairness

if TYPE_CHECKING:
    import torch

Genome = list[int]
"""Experts of each of the 9 attention layers' Switch-FFN, in order, each 1 (dense) to 8."""

LAYERS = sum(ATTENTION_LAYERS)
MAX_EXPERTS = 8

FIDELITIES: dict[str, dict[str, Any]] = {
    # a search on a 2-core CPU in minutes: 32 px images (the MobileViT blocks then see 4×4,
    # 2×2 and 1×1 patch grids), 2 epochs, a dozen trials, and a wall-clock cap
    "cpu": {"image_size": 32,
            "trainer": {"epochs": 2, "batch_size": 64, "lr": 2e-3, "weight_decay": 0.05},
            "budget": {"trials": 12, "seconds": 660}},
    # MoENAS's setting on a GPU: 256 px inputs, full training (bf16 autocast on CUDA)
    "paper": {"image_size": 256,
              "trainer": {"epochs": 30, "batch_size": 128, "lr": 2e-3, "weight_decay": 0.05},
              "budget": {"trials": 100}},
}
"""Presets of ``space.options.fidelity``: image size, trainer settings and budget; whatever a
study config sets itself wins."""


class MoEMobileViTSpace(SearchSpace):
    """MoENAS: MobileViTv2 with 1-8 top-1 experts in each of its 9 Switch-FFN layers.

    A genome is 9 integers, the experts of each attention layer's Switch-FFN (1 = the dense
    FFN). Searched for accuracy, skin-tone fairness, robustness to poor lighting and low
    overfitting on ``synthetic_person``. Mecharbat et al., 2025, arXiv 2502.07422.
    """

    name = "moe_mobilevit"
    kind = "int_vector"
    task = "image_classification"
    default_dataset = "synthetic_person"
    default_objectives = ("test_accuracy", "skin_fairness", "robust_accuracy", "overfitting")

    class Options(BaseModel):
        """Model width, input, and the Switch-FFN's training settings."""

        model_config = ConfigDict(extra="forbid")
        width: Literal[0.5, 0.75, 1.0] = Field(
            default=0.5, description="MobileViTv2 width multiplier (0.5: 1.1M-3.8M parameters)")
        fidelity: Literal["cpu", "paper"] = Field(
            default="cpu", description="cpu: 32 px, 2 epochs, 12 trials; paper: 256 px, GPU")
        image_size: int | None = Field(
            default=None, ge=16, le=512, description="input height and width (default: the "
                                                     "fidelity's)")
        classes: int = Field(default=2, ge=2, description="outputs of the head")
        aux_loss_coef: float = Field(default=0.01, ge=0, description="load-balancing loss "
                                                                     "weight α (Switch: 0.01)")
        capacity_factor: float | None = Field(
            default=None, gt=0, description="tokens an expert takes, ×tokens/experts; "
                                            "overflow is dropped (none: no limit)")
        dispatch: Literal["auto", "sorted", "grouped"] = Field(
            default="auto", description="auto: grouped GEMM on CUDA in bf16, else sorted")

    def __init__(self, width: float = 0.5, fidelity: str = "cpu", image_size: int | None = None,
                 classes: int = 2, aux_loss_coef: float = 0.01,
                 capacity_factor: float | None = None, dispatch: str = "auto") -> None:
        self.width, self.fidelity, self.classes = width, fidelity, classes
        self.image_size = image_size or FIDELITIES[fidelity]["image_size"]
        self.aux_loss_coef, self.capacity_factor, self.dispatch = (aux_loss_coef,
                                                                   capacity_factor, dispatch)

    # --- the genome -----------------------------------------------------------------------------

    def sample(self, rng: np.random.Generator) -> Genome:
        """Experts of each layer, uniformly in 1..8."""
        return [int(e) for e in rng.integers(1, MAX_EXPERTS + 1, size=LAYERS)]

    def mutate(self, genome: Genome, rng: np.random.Generator) -> Genome:
        """A copy with one layer given another number of experts."""
        child = list(genome)
        i = int(rng.integers(LAYERS))
        child[i] = int(rng.choice([e for e in range(1, MAX_EXPERTS + 1) if e != child[i]]))
        return child

    def crossover(self, a: Genome, b: Genome, rng: np.random.Generator) -> Genome:
        """Each layer's experts from ``a`` or ``b`` with equal chance (uniform crossover)."""
        take_a = rng.random(LAYERS) < 0.5
        return [int(x if t else y) for x, y, t in zip(a, b, take_a, strict=True)]

    def validate(self, genome: Genome) -> None:
        """Raise ``InvalidGenome`` unless ``genome`` is 9 integers in 1..8."""
        check(isinstance(genome, list) and len(genome) == LAYERS,
              f"a moe_mobilevit genome is a list of {LAYERS} expert counts (one per attention "
              f"layer, 1..{MAX_EXPERTS}), e.g. [1, 4, 8, 2, 2, 1, 1, 8, 4]; got {genome!r}")
        for i, experts in enumerate(genome):
            check(type(experts) is int and 1 <= experts <= MAX_EXPERTS,
                  f"layer {i} of a moe_mobilevit genome must have 1..{MAX_EXPERTS} experts, "
                  f"got {experts!r}")

    def from_json(self, data: Any) -> Genome:
        """The genome, validated."""
        self.validate(data)
        return [int(e) for e in data]

    def cardinality(self) -> float:
        """``8 ** 9`` genomes."""
        return float(MAX_EXPERTS ** LAYERS)

    def int_bounds(self) -> list[tuple[int, int]]:
        """Inclusive bounds of each gene, for strategies that sample integers themselves."""
        return [(1, MAX_EXPERTS)] * LAYERS

    # --- what strategies, surrogates and constraints see ----------------------------------------

    def encode(self, genome: Genome) -> np.ndarray:
        """The expert counts themselves."""
        return np.asarray(genome, dtype=float)

    def cheap_metrics(self, genome: Genome) -> dict[str, float]:
        """``params`` (exactly the built model's) and ``active_params`` (what one token uses:
        the dense model plus the routers)."""
        dims = [d for d, n in zip(Widths.of(self.width).attn, ATTENTION_LAYERS, strict=True)
                for _ in range(n)]
        routers = sum(d * e for d, e in zip(dims, genome, strict=True) if e > 1)
        return {"params": float(param_count(genome, self.width, self.classes)),
                "active_params": float(param_count([1] * LAYERS, self.width, self.classes)
                                       + routers)}

    def objectives(self) -> list[Objective]:
        """``skin_fairness``: MoENAS fairness over skin tones, person images of the test split."""
        return [SkinFairness(split="test", attribute="group", beta=0.2)]

    def defaults(self) -> dict[str, Any]:
        """Study settings this space suggests (its fidelity preset); the config's own win."""
        preset = FIDELITIES[self.fidelity]
        return {
            "trainer": dict(preset["trainer"]),
            "budget": dict(preset["budget"]),
            "dataset": {"name": "synthetic_person", "options": {"image_size": self.image_size}},
            # MoENAS's four objectives: robustness and overfitting on the test split as in
            # the paper (the plugins default to validation)
            "objectives": [{"name": "test_accuracy"}, {"name": "skin_fairness"},
                           {"name": "robust_accuracy",
                            "options": {"split": "test", "attribute": "condition",
                                        "value": "poorly_lit"}},
                           {"name": "overfitting"}],
        }

    # --- the model ------------------------------------------------------------------------------

    def build(self, genome: Genome) -> torch.nn.Module:
        """MobileViTv2 at this width with ``genome[i]`` experts in layer ``i``."""
        return MoEMobileViT(genome, self.width, self.classes, self.aux_loss_coef,
                            self.capacity_factor, self.dispatch)  # type: ignore[arg-type]

    def dummy_input(self, batch_size: int = 2) -> Any:
        """A batch of random RGB images of the space's size."""
        import torch

        return torch.randn(batch_size, 3, self.image_size, self.image_size)

    def describe(self) -> str:
        """The docstring, plus the parameter range at this width."""
        low, high = (param_count([e] * LAYERS, self.width, self.classes) for e in (1, 8))
        head = inspect.cleandoc(type(self).__doc__ or "")
        return (f"{head}\n\nAt width {self.width}: {low / 1e6:.2f}M (all dense) to "
                f"{high / 1e6:.2f}M parameters (8 experts everywhere), {self.image_size} px.")
