"""The ``resnet_genome`` space: MO-ResNet's variable-length gene codes of a ResNet-style network."""

from __future__ import annotations

import difflib
import math
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from nasplat.space import SearchSpace, check
from nasplat.spaces.resnet_genome import genes
from nasplat.spaces.resnet_genome.genes import Gene, Rules, body_length

if TYPE_CHECKING:
    import torch

GENE_FEATURES = 9
"""Per position: one-hot type (3), log2 channels, kernel, stride 2, max pooling, log2 units,
dropout; zeros past the genome's end."""
TOTALS = ("length", "conv", "pool", "fc", "stride2", "log10_params", "final_map")


class ResNetGenome(SearchSpace):
    """MO-ResNet: variable-length conv / pool / FC gene codes of a residual network.

    A genome is 2 to ``max_length`` typed genes: conv genes (channels, kernel, stride; each a
    residual basic block with a projection shortcut when the shape changes), pool genes (max or
    average, 2×2), then FC genes (units, dropout); global average pooling joins the two parts
    and a linear head gives the classes. Mutation adds, removes or modifies one gene of one
    type; crossover cuts each parent once. Wang, Tang and Ouyang, arXiv 2505.01313.
    """

    name = "resnet_genome"
    kind = "gene_list"
    task = "image_classification"
    default_dataset = "synthetic_person"
    default_objectives = ("val_accuracy", "val_loss")

    class Options(BaseModel):
        """The input the networks take, and the bounds of a gene code."""

        model_config = ConfigDict(extra="forbid")
        input_shape: tuple[PositiveInt, PositiveInt, PositiveInt] = Field(
            default=(3, 64, 64),
            description="channels, height, width of an input: (3, 64, 64) fits the default "
                        "dataset synthetic_person, (1, 28, 28) fits mnist and fashion_mnist")
        classes: int = Field(default=2, ge=2, description="outputs of the head: 2 for "
                                                          "synthetic_person, 10 for mnist")
        max_channels: int = Field(default=128, ge=8, le=512,
                                  description="widest conv gene (channels 8, 16, ... up to it)")
        max_length: int = Field(default=30, ge=2, le=30, description="most genes in a genome")
        init_length: int = Field(
            default=8, ge=2, le=30,
            description="most genes of a randomly sampled genome; mutation may grow genomes "
                        "up to max_length (long random networks are slow to train first)")

    def __init__(self, input_shape: tuple[int, int, int] = (3, 64, 64), classes: int = 2,
                 max_channels: int = 128, max_length: int = 30, init_length: int = 8) -> None:
        self.input_shape = tuple(int(s) for s in input_shape)
        self.classes = classes
        self.rules = Rules(self.input_shape, max_channels, max_length)  # type: ignore[arg-type]
        self.init_length = min(init_length, max_length)

    # --- the genome ------------------------------------------------------------------------------

    def sample(self, rng: np.random.Generator) -> tuple[Gene, ...]:
        """2 to ``init_length`` random genes, at most two of them FC genes."""
        return genes.sample(self.rules, self.init_length, rng)

    def mutate(self, genome: tuple[Gene, ...], rng: np.random.Generator) -> tuple[Gene, ...]:
        """Add, remove or modify one conv, pool or FC gene; the child is valid."""
        return genes.mutate(genome, self.rules, rng)

    def crossover(self, a: tuple[Gene, ...], b: tuple[Gene, ...],
                  rng: np.random.Generator) -> tuple[Gene, ...]:
        """``a[:i] + b[j:]`` for a random pair of cuts that gives a valid child."""
        return genes.crossover(a, b, self.rules, rng)

    def validate(self, genome: Any) -> None:
        """Raise ``InvalidGenome`` unless ``genome`` is a valid gene code for this input."""
        problem = self.rules.problem(genome)
        check(problem is None, f"{problem}: {genome!r}" if problem else "")

    def repair(self, genome: Any) -> tuple[Gene, ...]:
        """The nearest valid genome (see :func:`genes.repair`)."""
        check(isinstance(genome, (tuple, list)),
              f"a resnet_genome genome is a sequence of genes, got {genome!r}")
        return genes.repair(tuple(genome), self.rules)

    def to_json(self, genome: tuple[Gene, ...]) -> list[dict[str, Any]]:
        """One object per gene: ``{"type": "conv", "channels": 32, "kernel": 3, "stride": 1}``."""
        return [genes.gene_to_json(g) for g in genome]

    def from_json(self, data: Any) -> tuple[Gene, ...]:
        """The genome of :meth:`to_json`, validated."""
        check(isinstance(data, list), f"a resnet_genome genome is a JSON list of genes, got "
                                      f"{data!r}")
        genome = tuple(genes.gene_from_json(item, i) for i, item in enumerate(data))
        self.validate(genome)
        return genome

    # --- what surrogates and constraints see -----------------------------------------------------

    def encode(self, genome: tuple[Gene, ...]) -> np.ndarray:
        """Per-position gene features padded to ``max_length``, then counts and totals."""
        code = np.zeros((self.rules.max_length, GENE_FEATURES))
        for i, gene in enumerate(genome):
            if gene.type == "conv":
                code[i, [0, 3, 4, 5]] = 1, math.log2(gene.channels), gene.kernel, gene.stride - 1
            elif gene.type == "pool":
                code[i, [1, 6]] = 1, gene.op == "max"
            else:
                code[i, [2, 7, 8]] = 1, math.log2(gene.units), gene.dropout
        height, width = self.input_shape[1:]
        for gene in genome[:body_length(genome)]:
            step = 2 if gene.type == "pool" else gene.stride
            height, width = (height - 1) // step + 1, (width - 1) // step + 1
        totals = [len(genome), *(sum(g.type == t for g in genome) for t in ("conv", "pool", "fc")),
                  sum(g.type == "conv" and g.stride == 2 for g in genome),
                  math.log10(self.cheap_metrics(genome)["params"]), height * width]
        return np.concatenate([code.ravel(), np.asarray(totals, dtype=float)])

    def cheap_metrics(self, genome: tuple[Gene, ...]) -> dict[str, float]:
        """``params``, exactly that of :meth:`build`, counted from the genes."""
        from nasplat.spaces.resnet_genome.model import count_params

        return {"params": float(count_params(genome, self.input_shape[0], self.classes))}

    # --- the model -------------------------------------------------------------------------------

    def build(self, genome: tuple[Gene, ...]) -> torch.nn.Module:
        """The residual network of ``genome``, freshly initialised."""
        from nasplat.spaces.resnet_genome.model import build

        return build(genome, self.input_shape[0], self.classes)

    def dummy_input(self, batch_size: int = 2) -> torch.Tensor:
        """A random batch of ``input_shape`` images."""
        import torch

        return torch.randn(batch_size, *self.input_shape)

    def inherit(self, parent_genome: tuple[Gene, ...], parent_state: dict[str, torch.Tensor],
                child_genome: tuple[Gene, ...]) -> dict[str, torch.Tensor]:
        """The parent's tensors for every layer the child keeps; load with ``strict=False``.

        Layers are matched by aligning the two gene codes (each gene with its input width):
        equal genes match, and so do genes at the same place in an equal-length changed run (a
        modified gene). A matched layer takes every parent tensor of the same name and shape;
        the head too when its width is unchanged. Other layers keep their fresh weights.
        """
        import torch

        from nasplat.spaces.resnet_genome.model import build, layer_inputs, layer_prefix

        with torch.device("meta"):  # names and shapes only: nothing allocated
            child_state = build(child_genome, self.input_shape[0], self.classes).state_dict()
        in_channels = self.input_shape[0]
        before = list(zip(parent_genome, layer_inputs(parent_genome, in_channels)))
        after = list(zip(child_genome, layer_inputs(child_genome, in_channels)))
        pairs = [(len(parent_genome), len(child_genome))]  # the heads
        matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
                pairs += zip(range(i1, i2), range(j1, j2))
        inherited: dict[str, torch.Tensor] = {}
        for i, j in pairs:
            source, target = layer_prefix(parent_genome, i), layer_prefix(child_genome, j)
            for key, like in child_state.items():
                if key.startswith(target):
                    tensor = parent_state.get(source + key[len(target):])
                    if tensor is not None and tensor.shape == like.shape:
                        inherited[key] = tensor.clone()
        return inherited
