"""Approximate network morphisms: the mutations of MOE/RNAS (arXiv 2403.11173, §3).

Each operator turns a parent cell into a child cell that computes the same function (a
*function-preserving* morphism), or nearly the same (an *approximate* one), once the child's
weights are set from the parent's by :func:`nasplat.spaces.rnn_cell.inheritance.inherit_state`:

============== ========== ==================================================================
operator       preserving how the child's weights start
============== ========== ==================================================================
insert_node    yes        a new ``identity`` node on an edge, its map the identity, bias 0
add_connection yes        the new input's map is zero
widen          yes        Net2WiderNet (Chen et al. 2016): new units copy old ones and the
                          copies split the weights that read them (unequal shares, which
                          break the copies' symmetry without changing the function)
change_act     no         the map rescaled so the new activation matches the old one to
                          first order at 0 (sigmoid(z) ≈ 0.5 + z/4 → tanh(z/4 + 0.5))
remove_conn    no         the remaining input's map kept
remove_node    no         the consumers read the removed node's input through ``W_cn W_ns``
============== ========== ==================================================================

``tolerance`` is the bound the tests check on the mean absolute change of the language model's
next-token log-probabilities, parent against inheriting child, before any training: 1e-4 for
preserving ones (exact in exact arithmetic; float32 rounding only), 0.5 nats for approximate
ones on a trained LSTM parent. An approximate child can still be far from a parent whose
hidden state grows large (identity or ReLU recurrences); it always starts closer than the same
child trained from scratch would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nasplat.spaces.rnn_cell.cell import (
    LINEAR_OPS, Genome, copy_genome, next_id, repair)


@dataclass(frozen=True)
class Limits:
    """The space's bounds, which every child must respect."""

    max_nodes: int
    min_hidden: int
    max_hidden: int


Operator = Callable[[Genome, np.random.Generator, Limits], "Genome | None"]


@dataclass(frozen=True)
class Morphism:
    """A mutation operator; ``apply`` returns ``None`` where it cannot change the cell."""

    name: str
    preserving: bool
    tolerance: float
    apply: Operator


def insert_node(genome: Genome, rng: np.random.Generator, limits: Limits) -> Genome | None:
    """Put an ``identity`` node on a random edge that carries a hidden-width value."""
    if len(genome["nodes"]) >= limits.max_nodes:
        return None
    child = copy_genome(genome)
    edges = [(i, j) for i, n in enumerate(child["nodes"]) for j, ref in enumerate(n["inputs"])
             if ref != "x"] + [(None, j) for j in range(len(child["outputs"]))]
    at, slot = edges[int(rng.integers(len(edges)))]
    new = next_id(child)
    if at is None:  # the edge into h_t: the new node reads an output node
        source = child["outputs"][slot]
        position = 1 + next(i for i, n in enumerate(child["nodes"]) if n["id"] == source)
        child["outputs"][slot] = new
    else:
        source = child["nodes"][at]["inputs"][slot]
        position = at
        child["nodes"][at]["inputs"][slot] = new
    child["nodes"].insert(position, {"id": new, "op": "identity", "inputs": [source]})
    return child


def remove_node(genome: Genome, rng: np.random.Generator, limits: Limits) -> Genome | None:
    """Delete a node (not the memory); what read it reads its first hidden-width input."""
    nodes = genome["nodes"]
    candidates = [n for n in nodes if n["id"] != genome["memory"]
                  and any(r != "x" for r in n["inputs"])]
    if len(nodes) < 2 or not candidates:
        return None
    gone = candidates[int(rng.integers(len(candidates)))]
    bypass = next(r for r in gone["inputs"] if r != "x")
    child = copy_genome(genome)
    child["nodes"] = [n for n in child["nodes"] if n["id"] != gone["id"]]
    for node in child["nodes"]:
        node["inputs"] = list(dict.fromkeys(bypass if r == gone["id"] else r
                                            for r in node["inputs"]))
    outputs = [bypass if o == gone["id"] else o for o in child["outputs"]]
    child["outputs"] = list(dict.fromkeys(o for o in outputs if not isinstance(o, str)))
    if not child["outputs"]:
        return None  # h_t would be h_{t-1} or c_{t-1} itself
    return repair(child, limits.max_nodes, limits.min_hidden, limits.max_hidden)


def change_activation(genome: Genome, rng: np.random.Generator, limits: Limits
                      ) -> Genome | None:
    """Give a node with a linear map another activation."""
    linear = [i for i, n in enumerate(genome["nodes"]) if n["op"] in LINEAR_OPS]
    if not linear:
        return None
    child = copy_genome(genome)
    node = child["nodes"][linear[int(rng.integers(len(linear)))]]
    node["op"] = str(rng.choice([op for op in LINEAR_OPS if op != node["op"]]))
    return child


def add_connection(genome: Genome, rng: np.random.Generator, limits: Limits) -> Genome | None:
    """Give a one-input linear node a second input (x, h, c or an earlier node)."""
    child = copy_genome(genome)
    refs: list = ["x", "h", *(["c"] if child["memory"] is not None else [])]
    choices = []
    for node in child["nodes"]:
        if node["op"] in LINEAR_OPS and len(node["inputs"]) == 1:
            choices += [(node, r) for r in refs if r not in node["inputs"]]
        refs.append(node["id"])
    if not choices:
        return None
    node, ref = choices[int(rng.integers(len(choices)))]
    node["inputs"].append(ref)
    return child


def remove_connection(genome: Genome, rng: np.random.Generator, limits: Limits
                      ) -> Genome | None:
    """Drop one input of a two-input linear node."""
    child = copy_genome(genome)
    pairs = [n for n in child["nodes"] if n["op"] in LINEAR_OPS and len(n["inputs"]) == 2]
    if not pairs:
        return None
    node = pairs[int(rng.integers(len(pairs)))]
    del node["inputs"][int(rng.integers(2))]
    return repair(child, limits.max_nodes, limits.min_hidden, limits.max_hidden)


def widen(genome: Genome, rng: np.random.Generator, limits: Limits) -> Genome | None:
    """Widen the hidden state by half (at most to ``max_hidden``)."""
    if genome["hidden"] >= limits.max_hidden:
        return None
    child = copy_genome(genome)
    child["hidden"] = min(limits.max_hidden, genome["hidden"] + max(1, genome["hidden"] // 2))
    return child


MORPHISMS = (
    Morphism("insert_node", True, 1e-4, insert_node),
    Morphism("add_connection", True, 1e-4, add_connection),
    Morphism("widen", True, 1e-4, widen),
    Morphism("change_activation", False, 0.5, change_activation),
    Morphism("remove_connection", False, 0.5, remove_connection),
    Morphism("remove_node", False, 0.5, remove_node),
)


def random_morphism(genome: Genome, rng: np.random.Generator, limits: Limits
                    ) -> tuple[Morphism, Genome]:
    """Apply operators in a random order until one changes the cell; that one and the child."""
    for index in rng.permutation(len(MORPHISMS)):
        morphism = MORPHISMS[int(index)]
        child = morphism.apply(genome, rng, limits)
        if child is not None:
            return morphism, child
    raise AssertionError("change_activation always applies: a linear node reads x")
