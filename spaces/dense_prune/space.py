"""The dense_prune space: binary masks over the features a frozen backbone gives its dense head."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from nasplat.objective import MetricObjective
from nasplat.space import Genome, SearchSpace, check

if TYPE_CHECKING:
    import torch

    from nasplat.config import StudyConfig
    from nasplat.spaces.dense_prune.backbone import Backbone


class DensePruneSpace(SearchSpace):
    """MO-EvoPruneDeepTL: masks over the P backbone features entering a dense head.

    A frozen, pre-trained CNN turns each image into P features; the genome keeps (1) or cuts
    (0) every link from one feature into the head (hidden FC layer + output layer). Evolved for
    accuracy, the share of active features and OoD detection (Poyatos et al., 2023,
    arXiv 2302.10253). Heads train on cached features, K at once with the batched_heads executor.
    """

    name = "dense_prune"
    kind = "bit_mask"
    task = "image_classification"
    default_dataset = "synthetic_glyphs"
    default_objectives = ("val_accuracy", "active", "ood_auroc")

    class Options(BaseModel):
        """The backbone, the head and the variation operators."""

        model_config = ConfigDict(extra="forbid")
        backbone: str | None = Field(default=None, description=(
            "a frozen feature extractor as package.module:factory; default: the bundled "
            "SmallResNet, pre-trained by nasplat on a generated source task"))
        weights: str | None = Field(default=None, description="state-dict file for backbone")
        input_shape: tuple[int, int, int] = Field(default=(1, 28, 28),
                                                  description="(channels, height, width)")
        width: int = Field(default=128, ge=8, le=512,
                           description="bundled backbone's last stage; P = 4 x width")
        source_samples: int = Field(default=4000, ge=16, description="bundled pre-training")
        source_epochs: int = Field(default=2, ge=1, description="bundled pre-training")
        hidden: int = Field(default=64, ge=1, description="units of the head's hidden layer")
        classes: int = Field(default=10, ge=2, description="outputs of the head")
        mutation_rate: float | None = Field(default=None, gt=0, le=1, description=(
            "probability that mutation flips each bit; default 1/P (at least one bit flips)"))
        density: float = Field(default=0.5, gt=0, le=1,
                               description="share of ones in sampled masks")
        odin: Literal["temperature", "full"] = Field(default="temperature", description=(
            "temperature: ODIN's temperature scaling on the head's logits over cached "
            "features; full: also the input perturbation, through the backbone (slow)"))

    def __init__(self, backbone: str | None = None, weights: str | None = None,
                 input_shape: tuple[int, int, int] = (1, 28, 28), width: int = 128,
                 source_samples: int = 4000, source_epochs: int = 2, hidden: int = 64,
                 classes: int = 10, mutation_rate: float | None = None, density: float = 0.5,
                 odin: str = "temperature") -> None:
        self.backbone_spec, self.weights = backbone, weights
        self.input_shape = tuple(input_shape)
        self.width, self.source_samples, self.source_epochs = width, source_samples, source_epochs
        self.hidden, self.classes, self.density, self.odin = hidden, classes, density, odin
        self._backbone: Backbone | None = None
        if backbone is not None:  # P is known only from the module: load it now
            self.features = self.backbone().features
        else:
            self.features = 4 * width
        self.mutation_rate = mutation_rate or 1.0 / self.features

    # --- the genome --------------------------------------------------------------------------

    def sample(self, rng: np.random.Generator) -> Genome:
        """Each feature kept with probability ``density``."""
        return self._repaired((rng.random(self.features) < self.density).astype(int), rng)

    def mutate(self, genome: Genome, rng: np.random.Generator) -> Genome:
        """Bit flips, each bit with probability ``mutation_rate``; at least one flips."""
        mask = np.array(genome, dtype=int)
        flips = rng.random(self.features) < self.mutation_rate
        if not flips.any():
            flips[rng.integers(self.features)] = True
        return self._repaired(np.where(flips, 1 - mask, mask), rng)

    def crossover(self, a: Genome, b: Genome, rng: np.random.Generator) -> Genome:
        """Uniform crossover or one-point crossover, with equal chance."""
        a, b = np.array(a, dtype=int), np.array(b, dtype=int)
        if rng.random() < 0.5:
            child = np.where(rng.random(self.features) < 0.5, a, b)
        else:
            cut = int(rng.integers(1, self.features))
            child = np.concatenate([a[:cut], b[cut:]])
        return self._repaired(child, rng)

    def repair(self, genome: Genome) -> Genome:
        """An all-zero mask keeps feature 0; anything else is returned as it is."""
        mask = np.array(genome, dtype=int)
        if not mask.any():
            mask[0] = 1
        return tuple(int(v) for v in mask)

    def _repaired(self, mask: np.ndarray, rng: np.random.Generator) -> Genome:
        """An all-zero mask keeps one random feature: a head needs an input."""
        if not mask.any():
            mask = mask.copy()
            mask[rng.integers(self.features)] = 1
        return tuple(int(v) for v in mask)

    def validate(self, genome: Genome) -> None:
        """A tuple of P zeros and ones, at least one of them 1."""
        check(isinstance(genome, (tuple, list)) and len(genome) == self.features,
              f"a dense_prune genome is a mask of {self.features} bits, got "
              f"{str(genome)[:60]!r}")
        check(all(type(v) is int and v in (0, 1) for v in genome),
              "every bit of a dense_prune mask must be 0 or 1")
        check(any(genome), "a dense_prune mask must keep at least one feature (all zeros)")

    def to_json(self, genome: Genome) -> Any:
        """The mask as a string of P characters ``0`` and ``1``: compact and readable."""
        return "".join(str(v) for v in genome)

    def from_json(self, data: Any) -> Genome:
        """The mask from its string of ``0`` and ``1``."""
        check(isinstance(data, str) and set(data) <= {"0", "1"},
              f"a dense_prune genome is stored as a string of 0 and 1, got {str(data)[:60]!r}")
        genome = tuple(int(c) for c in data)
        self.validate(genome)
        return genome

    def cardinality(self) -> float:
        """``2^P - 1`` masks (all but the empty one)."""
        return float(2 ** self.features - 1) if self.features < 1000 else math.inf

    def int_bounds(self) -> list[tuple[int, int]]:
        """Each bit is an integer in [0, 1]."""
        return [(0, 1)] * self.features

    # --- what the surrogates and the constraints see -----------------------------------------

    def encode(self, genome: Genome) -> np.ndarray:
        """The mask itself."""
        return np.asarray(genome, dtype=float)

    def cheap_metrics(self, genome: Genome) -> dict[str, float]:
        """``active``: share of kept features (MO-EvoPruneDeepTL's MEM; also ``active_units``);
        ``params``: the head's weights and biases."""
        from nasplat.spaces.dense_prune.head import head_params

        kept = int(sum(genome))
        share = kept / self.features
        return {"active": share, "active_units": share,
                "params": float(head_params(kept, self.hidden, self.classes))}

    def objectives(self) -> list[MetricObjective]:
        """``active``: the share of kept features, to minimise; cheap."""
        return [MetricObjective("active", "min", cheap=True, best=0.0)]

    # --- the model and its evaluation --------------------------------------------------------

    def build(self, genome: Genome) -> torch.nn.Module:
        """The pruned head of ``genome``: it takes the P features and uses the kept ones."""
        from nasplat.spaces.dense_prune.head import PrunedHead

        return PrunedHead(genome, self.hidden, self.classes)

    def dummy_input(self, batch_size: int = 2) -> Any:
        """A batch of P features."""
        import torch

        return torch.randn(batch_size, self.features)

    def backbone(self, log: Any = print) -> Backbone:
        """The frozen feature extractor, loaded (or pre-trained and cached) on first use."""
        if self._backbone is None:
            from nasplat.spaces.dense_prune import backbone as backbones

            if self.backbone_spec is not None:
                self._backbone = backbones.load_factory(self.backbone_spec, self.weights,
                                                        self.input_shape)
                log(f"dense_prune: backbone: {self._backbone.description} "
                    f"(P={self._backbone.features})")
            else:
                self._backbone = backbones.bundled(self.input_shape, self.width,
                                                   self.source_samples, self.source_epochs,
                                                   seed=0, log=log)
        return self._backbone

    def make_evaluator(self, config: StudyConfig) -> Any:
        """Heads trained on cached backbone features instead of the shared trainer."""
        from nasplat.spaces.dense_prune.evaluator import DensePruneEvaluator

        return DensePruneEvaluator(self, config)
