"""MO-ResNet's typed genes, what makes a gene code valid, and its variation operators.

A genome is a tuple of genes read left to right: a convolutional part (conv and pool genes,
starting with a conv gene), then a fully connected part (FC genes). MO-ResNet (Wang, Tang,
Ouyang, arXiv 2505.01313) mutates one gene of one type (add, remove or modify a conv, pool or
FC gene) and crosses variable-length parents with one cut point in each.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar, Union

import numpy as np

from nasplat.errors import InvalidGenome

CHANNELS = (8, 16, 32, 64, 128, 256, 512)
KERNELS = (1, 3, 5)       # odd, padded by k // 2: a convolution never shrinks a map below 1
STRIDES = (1, 2)
POOLS = ("max", "avg")
UNITS = (32, 64, 128, 256, 512)
DROPOUTS = (0.0, 0.25, 0.5)
MIN_LENGTH = 2
STRIDE2_PROB = 0.25       # a random conv gene downsamples one time in four
ATTEMPTS = 30             # mutations tried before the always-valid fallback


@dataclass(frozen=True)
class ConvGene:
    """A residual basic block to ``channels`` with ``kernel``×``kernel`` convolutions."""

    channels: int
    kernel: int = 3
    stride: int = 1
    type: ClassVar[str] = "conv"


@dataclass(frozen=True)
class PoolGene:
    """A 2×2 pooling of stride 2, ``max`` or ``avg``: halves the feature map."""

    op: str = "max"
    type: ClassVar[str] = "pool"


@dataclass(frozen=True)
class FCGene:
    """A fully connected layer of ``units`` with ReLU and ``dropout``."""

    units: int
    dropout: float = 0.0
    type: ClassVar[str] = "fc"


Gene = Union[ConvGene, PoolGene, FCGene]
GENE_TYPES: dict[str, type] = {"conv": ConvGene, "pool": PoolGene, "fc": FCGene}
FIELDS = {"conv": ("channels", "kernel", "stride"), "pool": ("op",), "fc": ("units", "dropout")}


def gene_to_json(gene: Gene) -> dict[str, Any]:
    """``{"type": "conv", "channels": 32, "kernel": 3, "stride": 1}`` and the like."""
    return {"type": gene.type, **{f: getattr(gene, f) for f in FIELDS[gene.type]}}


def gene_from_json(data: Any, index: int) -> Gene:
    """The gene of ``gene_to_json``; raises :class:`InvalidGenome` on anything else."""
    kind = data.get("type") if isinstance(data, dict) else None
    if not isinstance(kind, str) or kind not in GENE_TYPES:
        raise InvalidGenome(f"gene {index} must be an object with type conv, pool or fc, got "
                            f"{data!r}")
    if set(data) != {"type", *FIELDS[kind]}:
        raise InvalidGenome(f"gene {index} ({kind}) must have exactly the keys "
                            f"{', '.join(FIELDS[kind])}, got {sorted(set(data) - {'type'})}")
    values = {f: data[f] for f in FIELDS[kind]}
    for field in ("channels", "kernel", "stride", "units"):
        if field in values and type(values[field]) is not int:
            raise InvalidGenome(f"gene {index} ({kind}): {field} must be an integer, got "
                                f"{values[field]!r}")
    if kind == "fc":
        if type(values["dropout"]) not in (int, float):
            raise InvalidGenome(f"gene {index} (fc): dropout must be a number, got "
                                f"{values['dropout']!r}")
        values["dropout"] = float(values["dropout"])
    return GENE_TYPES[kind](**values)


def body_length(genome: tuple[Gene, ...]) -> int:
    """Genes before the first FC gene: the convolutional part."""
    return next((i for i, g in enumerate(genome) if g.type == "fc"), len(genome))


@dataclass(frozen=True)
class Rules:
    """What makes a gene code valid for one space: its input size and its bounds."""

    input_shape: tuple[int, int, int]
    max_channels: int
    max_length: int

    @property
    def channels(self) -> tuple[int, ...]:
        """The channel counts a conv gene may take."""
        return tuple(c for c in CHANNELS if c <= self.max_channels)

    def problem(self, genome: Any) -> str | None:
        """Why ``genome`` is not a valid gene code, or ``None`` when it is."""
        if not isinstance(genome, (tuple, list)):
            return f"a resnet_genome genome is a sequence of genes, got {genome!r}"
        if not MIN_LENGTH <= len(genome) <= self.max_length:
            return f"a genome has {MIN_LENGTH} to {self.max_length} genes, got {len(genome)}"
        for i, gene in enumerate(genome):
            bad = self._gene_problem(gene)
            if bad:
                return f"gene {i}: {bad}"
        if genome[0].type != "conv":
            return f"the first gene must be a conv gene, got {genome[0].type}"
        body = body_length(genome)
        if any(g.type != "fc" for g in genome[body:]):
            return "FC genes must come after every conv and pool gene"
        return self.map_problem(genome[:body])

    def map_problem(self, body: Any) -> str | None:
        """Why the convolutional part ``body`` empties the feature map, or ``None``."""
        height, width = self.input_shape[1:]
        for i, gene in enumerate(body):
            if gene.type == "pool":
                if min(height, width) < 2:
                    return (f"gene {i} pools a {height}×{width} map: the map would vanish "
                            f"(input {self.input_shape})")
                height, width = height // 2, width // 2
            else:  # an odd kernel padded by k // 2: ⌊(h − 1) / s⌋ + 1, never below 1
                height, width = (height - 1) // gene.stride + 1, (width - 1) // gene.stride + 1
        return None

    def _gene_problem(self, gene: Any) -> str | None:
        if isinstance(gene, ConvGene):
            if gene.channels not in self.channels:
                return f"channels must be one of {self.channels}, got {gene.channels!r}"
            if gene.kernel not in KERNELS or gene.stride not in STRIDES:
                return (f"kernel must be one of {KERNELS} and stride one of {STRIDES}, got "
                        f"{gene.kernel!r}, {gene.stride!r}")
        elif isinstance(gene, PoolGene):
            if gene.op not in POOLS:
                return f"pool op must be one of {POOLS}, got {gene.op!r}"
        elif isinstance(gene, FCGene):
            if gene.units not in UNITS or gene.dropout not in DROPOUTS:
                return (f"units must be one of {UNITS} and dropout one of {DROPOUTS}, got "
                        f"{gene.units!r}, {gene.dropout!r}")
        else:
            return f"expected a ConvGene, PoolGene or FCGene, got {gene!r} (JSON: use from_json)"
        return None

    def valid(self, genome: tuple[Gene, ...]) -> bool:
        """Whether :meth:`problem` finds nothing."""
        return self.problem(genome) is None


# --- random genes ----------------------------------------------------------------------------


def _pick(rng: np.random.Generator, choices: tuple, exclude: Any = None) -> Any:
    options = [c for c in choices if c != exclude] or list(choices)
    return options[int(rng.integers(len(options)))]


def random_conv(rules: Rules, rng: np.random.Generator) -> ConvGene:
    """A conv gene: channels and kernel uniform, stride 2 with probability ``STRIDE2_PROB``."""
    return ConvGene(int(_pick(rng, rules.channels)), int(_pick(rng, KERNELS)),
                    2 if rng.random() < STRIDE2_PROB else 1)


def random_pool(rng: np.random.Generator) -> PoolGene:
    """A max or average pooling gene."""
    return PoolGene(str(_pick(rng, POOLS)))


def random_fc(rng: np.random.Generator) -> FCGene:
    """An FC gene: units and dropout uniform."""
    return FCGene(int(_pick(rng, UNITS)), float(_pick(rng, DROPOUTS)))


def sample(rules: Rules, longest: int, rng: np.random.Generator) -> tuple[Gene, ...]:
    """A random valid genome of 2 to ``longest`` genes, at most 2 of them FC genes."""
    length = int(rng.integers(MIN_LENGTH, max(MIN_LENGTH, longest) + 1))
    fc = int(rng.integers(0, min(2, length - 1) + 1))
    body: list[Gene] = [random_conv(rules, rng)]
    while len(body) < length - fc:
        gene = random_pool(rng) if rng.random() < 0.3 else random_conv(rules, rng)
        if rules.map_problem((*body, gene)) is not None:
            gene = replace(random_conv(rules, rng), stride=1)  # a pool too many: no shrinking
        body.append(gene)
    return (*body, *(random_fc(rng) for _ in range(fc)))


# --- mutation --------------------------------------------------------------------------------


def _insert(genome: tuple, low: int, high: int, gene: Gene, rng: np.random.Generator) -> tuple:
    at = int(rng.integers(low, high + 1))
    return (*genome[:at], gene, *genome[at:])


def _positions(genome: tuple, kind: str) -> list[int]:
    return [i for i, g in enumerate(genome) if g.type == kind]


def _remove(genome: tuple, kind: str, rng: np.random.Generator) -> tuple | None:
    where = _positions(genome, kind)
    if not where:
        return None
    at = where[int(rng.integers(len(where)))]
    return genome[:at] + genome[at + 1:]


def _modify(genome: tuple, kind: str, rules: Rules, rng: np.random.Generator,
            field: str | None = None) -> tuple | None:
    where = _positions(genome, kind)
    if not where:
        return None
    at = where[int(rng.integers(len(where)))]
    gene = genome[at]
    choices = {"channels": rules.channels, "kernel": KERNELS, "stride": STRIDES, "op": POOLS,
               "units": UNITS, "dropout": DROPOUTS}
    field = field or str(_pick(rng, FIELDS[kind]))
    changed = replace(gene, **{field: _pick(rng, choices[field], getattr(gene, field))})
    return (*genome[:at], changed, *genome[at + 1:])


MUTATIONS = ("add_conv", "remove_conv", "modify_conv", "add_pool", "remove_pool",
             "modify_pool", "add_fc", "remove_fc", "modify_fc")
"""MO-ResNet's per-type mutations: add, remove or modify one conv, pool or FC gene."""


def apply_mutation(name: str, genome: tuple, rules: Rules,
                   rng: np.random.Generator) -> tuple | None:
    """The genome after mutation ``name`` (possibly invalid), or ``None`` when inapplicable."""
    action, kind = name.split("_")
    body = body_length(genome)
    if action == "remove":
        return _remove(genome, kind, rng)
    if action == "modify":
        return _modify(genome, kind, rules, rng)
    if kind == "conv":
        return _insert(genome, 0, body, random_conv(rules, rng), rng)
    if kind == "pool":
        return _insert(genome, 1, body, random_pool(rng), rng)
    return _insert(genome, body, len(genome), random_fc(rng), rng)


def mutate(genome: tuple, rules: Rules, rng: np.random.Generator) -> tuple:
    """One per-type mutation drawn uniformly among those that give a new valid genome."""
    genome = tuple(genome)
    for _ in range(ATTEMPTS):
        name = MUTATIONS[int(rng.integers(len(MUTATIONS)))]
        child = apply_mutation(name, genome, rules, rng)
        if child is not None and child != genome and rules.valid(child):
            return child
    # a new kernel size changes no map size and no gene order: always valid
    child = _modify(genome, "conv", rules, rng, field="kernel")
    assert child is not None  # the first gene is a conv gene
    return child


# --- crossover -------------------------------------------------------------------------------


def crossover(a: tuple, b: tuple, rules: Rules, rng: np.random.Generator) -> tuple:
    """One cut in each parent, child ``a[:i] + b[j:]``, drawn among cuts that give a valid
    child other than the parents (``a`` when there is none).

    Cuts are pre-filtered on length and gene order (no conv or pool gene after an FC gene);
    the map sizes are then checked on the drawn candidates only.
    """
    a, b = tuple(a), tuple(b)
    body_a, body_b = body_length(a), body_length(b)
    cuts = [(i, j) for i in range(1, len(a) + 1) for j in range(len(b) + 1)
            if MIN_LENGTH <= i + len(b) - j <= rules.max_length and (i <= body_a or j >= body_b)]
    for k in rng.permutation(len(cuts)):
        i, j = cuts[int(k)]
        child = a[:i] + b[j:]
        if child != a and child != b and rules.valid(child):
            return child
    return a


# --- repair ----------------------------------------------------------------------------------


def _nearest(value: Any, choices: tuple, default: Any) -> Any:
    """The choice nearest ``value`` on a log scale (channels, units), ties to the larger."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    log = np.log2(max(value, 1))
    return min(choices, key=lambda c: (abs(np.log2(c) - log), -c))


def repair(genome: tuple, rules: Rules) -> tuple:
    """The nearest valid genome: fields snapped to allowed values, FC genes moved after the
    convolutional part, pools that would empty the map dropped, length bounded."""
    genes: list[Gene] = []
    for gene in genome:
        if isinstance(gene, ConvGene):
            genes.append(ConvGene(_nearest(gene.channels, rules.channels, rules.channels[0]),
                                  min(KERNELS, key=lambda k: (abs(k - gene.kernel), -k))
                                  if isinstance(gene.kernel, int) else 3,
                                  2 if isinstance(gene.stride, int) and gene.stride >= 2 else 1))
        elif isinstance(gene, PoolGene):
            genes.append(gene if gene.op in POOLS else PoolGene("max"))
        elif isinstance(gene, FCGene):
            dropout = gene.dropout if isinstance(gene.dropout, (int, float)) else 0.0
            genes.append(FCGene(_nearest(gene.units, UNITS, UNITS[0]),
                                min(DROPOUTS, key=lambda d: abs(d - dropout))))
    body = [g for g in genes if g.type != "fc"]
    fc = [g for g in genes if g.type == "fc"]
    while body and body[0].type == "pool":
        body.pop(0)
    if not body:
        body = [ConvGene(rules.channels[min(1, len(rules.channels) - 1)])]
    kept: list[Gene] = []
    for gene in body:  # drop each pool that finds a map under 2×2
        if rules.map_problem((*kept, gene)) is None:
            kept.append(gene)
    excess = len(kept) + len(fc) - rules.max_length
    if excess > 0:
        fc = fc[:max(0, len(fc) - excess)]
        kept = kept[:rules.max_length - len(fc)]
    if len(kept) + len(fc) < MIN_LENGTH:
        kept.append(ConvGene(kept[-1].channels if kept[-1].type == "conv" else rules.channels[0]))
    return (*kept, *fc)
