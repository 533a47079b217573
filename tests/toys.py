"""Toy search spaces, one per genome kind, with analytic objectives and tiny real models.

They let every interface be tested on each kind of genome without training: integer vectors,
bit masks, variable-length gene lists, and cell DAGs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from nasplat import hookimpl
from nasplat.objective import MetricObjective
from nasplat.space import Genome, SearchSpace, check


def count_params(model: nn.Module) -> int:
    """Number of parameters of a model."""
    return sum(p.numel() for p in model.parameters())


class ToyIntVector(SearchSpace):
    """Nine layer widths in 1..8 (like MoENAS's expert counts); an MLP of those widths."""

    name = "toy_int"
    kind = "int_vector"
    task = "benchmark"
    default_objectives = ("error", "params")
    LENGTH, LOW, HIGH, IN, OUT = 9, 1, 8, 4, 3

    class Options(BaseModel):
        """Options of the toy integer-vector space."""

        model_config = ConfigDict(extra="forbid")
        target: int = Field(default=3, ge=1, le=8)

    def __init__(self, target: int = 3) -> None:
        self.target = target

    def sample(self, rng: np.random.Generator) -> Genome:
        return [int(x) for x in rng.integers(self.LOW, self.HIGH + 1, self.LENGTH)]

    def mutate(self, genome: Genome, rng: np.random.Generator) -> Genome:
        child = list(genome)
        i = int(rng.integers(self.LENGTH))
        child[i] = int(rng.choice([v for v in range(self.LOW, self.HIGH + 1) if v != child[i]]))
        return child

    def crossover(self, a: Genome, b: Genome, rng: np.random.Generator) -> Genome:
        take = rng.random(self.LENGTH) < 0.5
        return [int(x if t else y) for x, y, t in zip(a, b, take, strict=True)]

    def int_bounds(self) -> list[tuple[int, int]]:
        return [(self.LOW, self.HIGH)] * self.LENGTH

    def validate(self, genome: Genome) -> None:
        check(isinstance(genome, list) and len(genome) == self.LENGTH,
              f"genome must be a list of {self.LENGTH} integers, got {genome!r}")
        for g in genome:
            check(isinstance(g, int) and not isinstance(g, bool) and self.LOW <= g <= self.HIGH,
                  f"every gene must be an integer in {self.LOW}..{self.HIGH}, got {g!r}")

    def cardinality(self) -> float:
        return float((self.HIGH - self.LOW + 1) ** self.LENGTH)

    def encode(self, genome: Genome) -> np.ndarray:
        return np.asarray(genome, dtype=float)

    def cheap_metrics(self, genome: Genome) -> dict[str, float]:
        widths = [self.IN, *(2 * g for g in genome), self.OUT]
        return {"params": float(sum(a * b + b for a, b in zip(widths, widths[1:])))}

    def evaluate(self, genome: Genome) -> dict[str, float]:
        return {"error": float(sum((g - self.target) ** 2 for g in genome))}

    def objectives(self) -> list[MetricObjective]:
        return [MetricObjective("error", "min"), MetricObjective("params", "min", cheap=True)]

    def build(self, genome: Genome) -> nn.Module:
        widths = [self.IN, *(2 * g for g in genome), self.OUT]
        layers: list[nn.Module] = []
        for a, b in zip(widths, widths[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        return nn.Sequential(*layers[:-1])

    def dummy_input(self, batch_size: int = 2) -> torch.Tensor:
        return torch.randn(batch_size, self.IN)


class ToyBitMask(SearchSpace):
    """A mask over 512 input features (like MO-EvoPruneDeepTL); a linear head on the kept ones."""

    name = "toy_mask"
    kind = "bit_mask"
    task = "benchmark"
    default_objectives = ("error", "active")
    BITS, OUT = 512, 4

    def sample(self, rng: np.random.Generator) -> Genome:
        mask = (rng.random(self.BITS) < rng.uniform(0.05, 0.95)).astype(int)
        return self.repair(mask.tolist())

    def mutate(self, genome: Genome, rng: np.random.Generator) -> Genome:
        flips = rng.random(self.BITS) < 4 / self.BITS
        flips[int(rng.integers(self.BITS))] = True
        return self.repair([int(b ^ f) for b, f in zip(genome, flips, strict=True)])

    def crossover(self, a: Genome, b: Genome, rng: np.random.Generator) -> Genome:
        cut = int(rng.integers(1, self.BITS))
        return self.repair(list(a[:cut]) + list(b[cut:]))

    def repair(self, genome: Genome) -> Genome:
        genome = [1 if b else 0 for b in genome]
        if not any(genome):
            genome[0] = 1
        return genome

    def int_bounds(self) -> list[tuple[int, int]]:
        return [(0, 1)] * self.BITS

    def validate(self, genome: Genome) -> None:
        check(isinstance(genome, list) and len(genome) == self.BITS,
              f"genome must be a list of {self.BITS} bits")
        check(all(b in (0, 1) for b in genome), "every bit must be 0 or 1")
        check(any(genome), "at least one bit must be 1 (an all-zero mask cuts every input)")

    def to_json(self, genome: Genome) -> Any:
        return "".join(map(str, genome))

    def from_json(self, data: Any) -> Genome:
        check(isinstance(data, str), f"a mask is stored as a string of 0/1, got {data!r}")
        genome = [1 if c == "1" else 0 if c == "0" else -1 for c in data]
        self.validate(genome)
        return genome

    def cardinality(self) -> float:
        return float(2**self.BITS - 1)

    def encode(self, genome: Genome) -> np.ndarray:
        return np.asarray(genome, dtype=float)

    def cheap_metrics(self, genome: Genome) -> dict[str, float]:
        active = sum(genome)
        return {"active": active / self.BITS, "params": float(active * self.OUT + self.OUT)}

    def evaluate(self, genome: Genome) -> dict[str, float]:
        wanted = sum(genome[: self.BITS // 4])
        return {"error": 1.0 - wanted / (self.BITS // 4) + 0.2 * sum(genome) / self.BITS}

    def objectives(self) -> list[MetricObjective]:
        return [MetricObjective("error", "min"), MetricObjective("active", "min", cheap=True)]

    def build(self, genome: Genome) -> nn.Module:
        return _MaskedHead(genome, self.OUT)

    def dummy_input(self, batch_size: int = 2) -> torch.Tensor:
        return torch.randn(batch_size, self.BITS)


class _MaskedHead(nn.Module):
    def __init__(self, mask: list[int], out: int) -> None:
        super().__init__()
        self.register_buffer("keep", torch.tensor([i for i, b in enumerate(mask) if b]))
        self.head = nn.Linear(int(sum(mask)), out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x[:, self.keep])


GENE_FIELDS: dict[str, dict[str, tuple[int, ...]]] = {
    "conv": {"channels": (2, 4, 8), "kernel": (1, 3)}, "pool": {}, "fc": {"units": (4, 8, 16)}}
"""The genes of :class:`ToyGeneList` and the values each field takes."""


class ToyGeneList(SearchSpace):
    """A variable-length list of conv / pool / fc genes (like MO-ResNet) on 1×8×8 inputs."""

    name = "toy_genes"
    kind = "gene_list"
    task = "benchmark"
    default_objectives = ("error", "params")
    MAX_LEN, SIZE, OUT = 8, 8, 3

    def _random_gene(self, rng: np.random.Generator, kind: str) -> dict[str, Any]:
        if kind == "conv":
            return {"type": "conv", "channels": int(rng.choice([2, 4, 8])),
                    "kernel": int(rng.choice([1, 3]))}
        if kind == "pool":
            return {"type": "pool"}
        return {"type": "fc", "units": int(rng.choice([4, 8, 16]))}

    def sample(self, rng: np.random.Generator) -> Genome:
        n_conv = int(rng.integers(1, 4))
        n_fc = int(rng.integers(0, 3))
        convs = [self._random_gene(rng, "conv") for _ in range(n_conv)]
        for _ in range(int(rng.integers(0, 3))):
            convs.insert(int(rng.integers(0, len(convs) + 1)), {"type": "pool"})
        return self.repair(convs + [self._random_gene(rng, "fc") for _ in range(n_fc)])

    def mutate(self, genome: Genome, rng: np.random.Generator) -> Genome:
        child = [dict(g) for g in genome]
        op = rng.choice(["add", "remove", "modify"])
        i = int(rng.integers(len(child)))
        if op == "add" and len(child) < self.MAX_LEN:
            child.insert(i, self._random_gene(rng, str(rng.choice(["conv", "pool", "fc"]))))
        elif op == "remove" and len(child) > 1:
            child.pop(i)
        else:
            child[i] = self._random_gene(rng, child[i]["type"])
        return self.repair(child)

    def crossover(self, a: Genome, b: Genome, rng: np.random.Generator) -> Genome:
        cut_a, cut_b = int(rng.integers(1, len(a) + 1)), int(rng.integers(0, len(b)))
        return self.repair([dict(g) for g in a[:cut_a] + b[cut_b:]])

    def repair(self, genome: Genome) -> Genome:
        body = [g for g in genome if g["type"] != "fc"]
        fcs = [g for g in genome if g["type"] == "fc"]
        if not any(g["type"] == "conv" for g in body):
            body.insert(0, {"type": "conv", "channels": 4, "kernel": 3})
        pools, kept = 0, []
        for g in body:
            if g["type"] == "pool":
                if pools == 3:
                    continue
                pools += 1
            kept.append(g)
        return (kept + fcs)[: self.MAX_LEN]

    def validate(self, genome: Genome) -> None:
        check(isinstance(genome, list) and 1 <= len(genome) <= self.MAX_LEN,
              f"genome must be a list of 1..{self.MAX_LEN} genes")
        seen_fc = False
        for g in genome:
            check(isinstance(g, dict) and g.get("type") in ("conv", "pool", "fc"),
                  f"unknown gene {g!r}")
            fields = GENE_FIELDS[g["type"]]
            check(set(g) == {"type", *fields}, f"a {g['type']} gene has the keys type, "
                  f"{', '.join(fields) or '(nothing else)'}; got {sorted(g)}")
            for field, allowed in fields.items():
                check(type(g[field]) is int and g[field] in allowed,
                      f"{field} of a {g['type']} gene is one of {allowed}, got {g[field]!r}")
            if g["type"] == "fc":
                seen_fc = True
            else:
                check(not seen_fc, "conv and pool genes must come before fc genes")
        check(any(g["type"] == "conv" for g in genome), "at least one conv gene is needed")
        check(sum(g["type"] == "pool" for g in genome) <= 3, "at most 3 pool genes on 8x8 input")

    def encode(self, genome: Genome) -> np.ndarray:
        code = np.zeros((self.MAX_LEN, 3))
        for i, g in enumerate(genome):
            code[i] = {"conv": (1, g.get("channels", 0), g.get("kernel", 0)),
                       "pool": (2, 0, 0), "fc": (3, g.get("units", 0), 0)}[g["type"]]
        return code.ravel()

    def cheap_metrics(self, genome: Genome) -> dict[str, float]:
        return {"params": float(count_params(self.build(genome)))}

    def evaluate(self, genome: Genome) -> dict[str, float]:
        convs = sum(g["type"] == "conv" for g in genome)
        return {"error": 1.0 / (1 + convs) + 0.05 * len(genome)}

    def objectives(self) -> list[MetricObjective]:
        return [MetricObjective("error", "min"), MetricObjective("params", "min", cheap=True)]

    def build(self, genome: Genome) -> nn.Module:
        layers: list[nn.Module] = []
        channels, size = 1, self.SIZE
        for g in genome:
            if g["type"] == "conv":
                layers += [nn.Conv2d(channels, g["channels"], g["kernel"],
                                     padding=g["kernel"] // 2), nn.ReLU()]
                channels = g["channels"]
            elif g["type"] == "pool":
                layers.append(nn.MaxPool2d(2))
                size //= 2
        layers.append(nn.Flatten())
        width = channels * size * size
        for g in genome:
            if g["type"] == "fc":
                layers += [nn.Linear(width, g["units"]), nn.ReLU()]
                width = g["units"]
        layers.append(nn.Linear(width, self.OUT))
        return nn.Sequential(*layers)

    def dummy_input(self, batch_size: int = 2) -> torch.Tensor:
        return torch.randn(batch_size, 1, self.SIZE, self.SIZE)


OPS = ("tanh", "relu", "sigmoid", "sum", "mul")
COMMUTATIVE = {"sum", "mul"}


class ToyCellDag(SearchSpace):
    """A recurrent-style cell as a DAG (like MOE/RNAS): nodes pick an op and one or two inputs."""

    name = "toy_cell"
    kind = "cell_dag"
    task = "benchmark"
    default_objectives = ("error", "nodes")
    MAX_NODES, HIDDEN = 6, 8

    def _node(self, rng: np.random.Generator, index: int) -> dict[str, Any]:
        op = str(rng.choice(OPS))
        arity = 2 if op in COMMUTATIVE else 1
        inputs = sorted(int(x) for x in rng.integers(0, index + 1, arity))
        return {"op": op, "inputs": inputs}

    def sample(self, rng: np.random.Generator) -> Genome:
        return [self._node(rng, i) for i in range(int(rng.integers(1, self.MAX_NODES + 1)))]

    def mutate(self, genome: Genome, rng: np.random.Generator) -> Genome:
        child = [dict(n, inputs=list(n["inputs"])) for n in genome]
        if len(child) < self.MAX_NODES and rng.random() < 0.4:
            child.append(self._node(rng, len(child)))
        else:
            i = int(rng.integers(len(child)))
            child[i] = self._node(rng, i)
        return child

    def crossover(self, a: Genome, b: Genome, rng: np.random.Generator) -> Genome:
        cut = int(rng.integers(1, min(len(a), len(b)) + 1))
        return [dict(n, inputs=list(n["inputs"])) for n in a[:cut] + b[cut:]]

    def validate(self, genome: Genome) -> None:
        check(isinstance(genome, list) and 1 <= len(genome) <= self.MAX_NODES,
              f"a cell has 1..{self.MAX_NODES} nodes")
        for i, node in enumerate(genome):
            check(isinstance(node, dict) and node.get("op") in OPS, f"node {i}: unknown op")
            arity = 2 if node["op"] in COMMUTATIVE else 1
            inputs = node.get("inputs")
            check(isinstance(inputs, list) and len(inputs) == arity,
                  f"node {i}: op {node['op']} takes {arity} input(s)")
            check(all(isinstance(j, int) and 0 <= j <= i for j in inputs),
                  f"node {i}: inputs must be earlier nodes (0 = the cell input)")

    def canonical(self, genome: Genome) -> Any:
        """The output node's expression with commutative inputs sorted: isomorphic cells agree."""
        memo: dict[int, str] = {0: "x"}

        def expr(k: int) -> str:  # k = node index + 1; 0 is the input
            if k not in memo:
                node = genome[k - 1]
                args = [expr(j) for j in node["inputs"]]
                if node["op"] in COMMUTATIVE:
                    args.sort()
                memo[k] = f"{node['op']}(" + ",".join(args) + ")"
            return memo[k]

        return expr(len(genome))

    def encode(self, genome: Genome) -> np.ndarray:
        code = np.zeros((self.MAX_NODES, len(OPS) + 2))
        for i, node in enumerate(genome):
            code[i, OPS.index(node["op"])] = 1
            code[i, len(OPS):len(OPS) + len(node["inputs"])] = node["inputs"]
        return code.ravel()

    def cheap_metrics(self, genome: Genome) -> dict[str, float]:
        used = self.canonical(genome).count("(")
        return {"nodes": float(used), "params": float(count_params(self.build(genome)))}

    def evaluate(self, genome: Genome) -> dict[str, float]:
        text = self.canonical(genome)
        return {"error": 1.0 / (1 + text.count("tanh") + 0.5 * text.count("mul"))}

    def objectives(self) -> list[MetricObjective]:
        return [MetricObjective("error", "min"), MetricObjective("nodes", "min", cheap=True)]

    def build(self, genome: Genome) -> nn.Module:
        return _Cell(genome, self.HIDDEN)

    def dummy_input(self, batch_size: int = 2) -> torch.Tensor:
        return torch.randn(batch_size, self.HIDDEN)


class _Cell(nn.Module):
    def __init__(self, genome: list[dict[str, Any]], hidden: int) -> None:
        super().__init__()
        self.genome = genome
        self.maps = nn.ModuleList(
            nn.Linear(hidden, hidden) if node["op"] not in COMMUTATIVE else nn.Identity()
            for node in genome)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values = [x]
        for node, linear in zip(self.genome, self.maps, strict=True):
            args = [values[j] for j in node["inputs"]]
            if node["op"] == "sum":
                out = args[0] + args[1]
            elif node["op"] == "mul":
                out = args[0] * args[1]
            else:
                out = getattr(torch, node["op"])(linear(args[0]))
            values.append(out)
        return values[-1]


TOY_SPACES = (ToyIntVector, ToyBitMask, ToyGeneList, ToyCellDag)


@hookimpl
def nasplat_register_spaces(register: Any) -> None:
    """Register the four toy spaces."""
    for cls in TOY_SPACES:
        register(cls)
