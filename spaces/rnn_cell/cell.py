"""The recurrent-cell genome: a DAG over x_t, h_{t-1}, c_{t-1}; validity, repair, canonical form.

A genome is a JSON-ready dict::

    {"hidden": 32,                                  # width of h (and of every node)
     "nodes": [{"id": 0, "op": "sigmoid", "inputs": ["x", "h"]},
               {"id": 1, "op": "mul", "inputs": [0, "c"]}, ...],
     "outputs": [1],                                # h_t = the sum of these nodes' values
     "memory": 1}                                   # c_t = this node's value, or None (no c)

Nodes are listed in evaluation order; an input is ``"x"`` (x_t), ``"h"`` (h_{t-1}), ``"c"``
(c_{t-1}, only in a cell with a memory) or the ``id`` of an earlier node. Ids are stable names:
morphisms keep them, so a child's weights can be matched to its parent's by id.
"""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

import numpy as np

from nasplat.errors import InvalidGenome
from nasplat.space import check

LINEAR_OPS = ("tanh", "relu", "sigmoid", "identity")
"""``act(b + Σ W_s v_s)`` over one or two inputs (MOE/RNAS's activation nodes)."""
FREE_OPS = {"mul": 2, "add": 2, "squash": 1}
"""Parameter-free: element-wise product (gating), sum, and ``tanh`` with no linear map."""
OPS = (*LINEAR_OPS, *FREE_OPS)
CELL_INPUTS = ("x", "h", "c")
Genome = dict[str, Any]
MAX_CANONICAL_ORDERS = 40_320
"""Orderings of tied nodes tried by :func:`canonical` (8!); beyond that a fixed order is used."""


def arity(op: str) -> tuple[int, int]:
    """Least and most inputs of ``op``."""
    return (1, 2) if op in LINEAR_OPS else (FREE_OPS[op], FREE_OPS[op])


def copy_genome(genome: Genome) -> Genome:
    """A deep copy (genomes are small dicts of lists)."""
    return {"hidden": genome["hidden"], "memory": genome["memory"],
            "outputs": list(genome["outputs"]),
            "nodes": [{"id": n["id"], "op": n["op"], "inputs": list(n["inputs"])}
                      for n in genome["nodes"]]}


def next_id(genome: Genome) -> int:
    """An id no node of ``genome`` has."""
    return 1 + max((n["id"] for n in genome["nodes"]), default=-1)


def live_ids(genome: Genome) -> set[int]:
    """Ids of the nodes that the outputs or the memory depend on."""
    by_id = {n["id"]: n for n in genome["nodes"]}
    todo = [*genome["outputs"], *([genome["memory"]] if genome["memory"] is not None else [])]
    seen: set[int] = set()
    while todo:
        k = todo.pop()
        if k in seen or k not in by_id:
            continue
        seen.add(k)
        todo.extend(i for i in by_id[k]["inputs"] if not isinstance(i, str))
    return seen


def state_stays_zero(genome: Genome) -> bool:
    """Whether h_t is 0 at every step, whatever the input, from the zero initial state.

    A linear node has a bias, so it is taken to be non-zero; a product is 0 when a factor is,
    a sum when both terms are, ``squash`` when its input is. From h = c = 0 this is iterated
    to its fixed point: an LSTM that lost its input gate (``i * g`` turned into ``h * g``)
    keeps h = c = 0 for ever and learns nothing but the output layer's bias.
    """
    zero = {"h": True, "c": True}
    while True:
        value: dict[Any, bool] = {"x": False, **zero}
        for node in genome["nodes"]:
            inputs = [value[i] for i in node["inputs"]]
            op = node["op"]
            value[node["id"]] = (False if op in LINEAR_OPS else any(inputs) if op == "mul"
                                 else all(inputs))
        after = {"h": all(value[o] for o in genome["outputs"]),
                 "c": genome["memory"] is None or value[genome["memory"]]}
        if after == zero:
            return zero["h"]
        zero = {k: zero[k] and after[k] for k in zero}


def validate(genome: Any, max_nodes: int, min_hidden: int, max_hidden: int) -> None:
    """Raise :class:`InvalidGenome` saying what is wrong with ``genome``, or return."""
    check(isinstance(genome, dict) and set(genome) == {"hidden", "nodes", "outputs", "memory"},
          f"an rnn_cell genome is a dict with keys hidden, nodes, outputs, memory; got "
          f"{genome!r:.120}")
    hidden, nodes = genome["hidden"], genome["nodes"]
    check(type(hidden) is int and min_hidden <= hidden <= max_hidden,
          f"hidden must be an integer in [{min_hidden}, {max_hidden}], got {hidden!r}")
    check(isinstance(nodes, list) and 1 <= len(nodes) <= max_nodes,
          f"a cell has 1 to {max_nodes} nodes, got "
          f"{len(nodes) if isinstance(nodes, list) else repr(nodes)}")
    memory = genome["memory"]
    seen: set[int] = set()
    reads_x = False
    for i, node in enumerate(nodes):
        check(isinstance(node, dict) and set(node) == {"id", "op", "inputs"},
              f"node {i} must be a dict with keys id, op, inputs; got {node!r:.80}")
        k, op, inputs = node["id"], node["op"], node["inputs"]
        check(type(k) is int and k >= 0 and k not in seen,
              f"node {i}: id {k!r} must be a new non-negative integer")
        check(op in OPS, f"node {k}: unknown op {op!r}; ops are {', '.join(OPS)}")
        low, high = arity(op)
        check(isinstance(inputs, list) and low <= len(inputs) <= high,
              f"node {k}: op {op} takes {low}..{high} inputs, got {inputs!r}")
        check(len(set(map(str, inputs))) == len(inputs), f"node {k}: repeated input in {inputs}")
        for ref in inputs:
            ok = type(ref) in (int, str) and (
                ref in seen or ref in ("x", "h") or (ref == "c" and memory is not None))
            check(ok,
                  f"node {k}: input {ref!r} is not x, h, c (with a memory) or an earlier node")
        check(op in LINEAR_OPS or "x" not in inputs,
              f"node {k}: {op} has no linear map, so it cannot read x (its width is the "
              f"embedding's, not the hidden state's)")
        reads_x = reads_x or "x" in inputs
        seen.add(k)
    outputs = genome["outputs"]
    check(isinstance(outputs, list) and outputs
          and all(type(o) is int and o in seen for o in outputs)
          and len(set(outputs)) == len(outputs),
          f"outputs must be distinct node ids, at least one; got {outputs!r}")
    check(memory is None or (type(memory) is int and memory in seen),
          f"memory must be a node id or None, got {memory!r}")
    check(reads_x, "no node reads the input x: the cell would ignore the sequence")
    dead = seen - live_ids(genome)
    check(not dead, f"nodes {sorted(dead)} feed neither an output nor the memory")
    check(not state_stays_zero(genome),
          "h_t is 0 at every step: from the zero initial state each output is a product with "
          "h or c, which are 0 (make a node that reads x an output, or gate with one)")


def repair(genome: Genome, max_nodes: int, min_hidden: int, max_hidden: int) -> Genome:
    """The nearest valid genome: clamp the width, drop bad inputs and dead nodes, read x."""
    if not isinstance(genome, dict) or not isinstance(genome.get("nodes"), list):
        raise InvalidGenome(f"cannot repair {genome!r:.80}: not an rnn_cell genome")
    g = copy_genome({"hidden": genome.get("hidden", min_hidden), "nodes": genome["nodes"],
                     "outputs": genome.get("outputs") or [], "memory": genome.get("memory")})
    g["hidden"] = int(min(max(int(g["hidden"]), min_hidden), max_hidden))
    ids = [n["id"] for n in g["nodes"]]
    if g["memory"] not in ids:
        g["memory"] = None
    seen: list[Any] = ["x", "h", *(["c"] if g["memory"] is not None else [])]
    nodes = []
    for node in g["nodes"][:max_nodes]:
        inputs = list(dict.fromkeys(i for i in node["inputs"] if i in seen
                                    and (i != "x" or node["op"] in LINEAR_OPS)))
        low, high = arity(node["op"])
        inputs = inputs[:high]
        for ref in seen[1:]:  # pad with the hidden state or an earlier node
            if len(inputs) < low and ref not in inputs:
                inputs.append(ref)
        if len(inputs) < low:  # a gate with nothing to gate: a linear node instead
            node["op"] = "identity"
        node["inputs"] = inputs
        nodes.append(node)
        seen.append(node["id"])
    g["nodes"] = nodes
    ids = [n["id"] for n in nodes]
    g["outputs"] = list(dict.fromkeys(o for o in g["outputs"] if o in ids)) or [ids[-1]]
    if g["memory"] not in ids:
        g["memory"] = None
    if g["memory"] is None:  # a "c" that nothing writes any more is read as h
        for node in nodes:
            node["inputs"] = list(dict.fromkeys("h" if i == "c" else i for i in node["inputs"]))
    if not any("x" in n["inputs"] for n in nodes):
        first = next((n for n in nodes if n["op"] in LINEAR_OPS and len(n["inputs"]) == 1), None)
        if first is not None:
            first["inputs"].append("x")
        else:  # every node is full or parameter-free: a new first node reads x and h
            first = {"id": next_id(g), "op": "tanh", "inputs": ["x", "h"]}
            nodes.insert(0, first)
            target = next((n for n in nodes[1:] if n["op"] in LINEAR_OPS), nodes[1])
            target["inputs"][-1] = first["id"]
            target["inputs"] = list(dict.fromkeys(target["inputs"]))
            if len(target["inputs"]) < arity(target["op"])[0]:
                target["inputs"].append("h" if "h" not in target["inputs"] else first["id"])
    live = live_ids(g)
    if not any("x" in n["inputs"] for n in nodes if n["id"] in live):  # only dead nodes read x
        g["outputs"].append(next(n["id"] for n in nodes if "x" in n["inputs"]))
        live = live_ids(g)
    g["nodes"] = [n for n in nodes if n["id"] in live]
    if state_stays_zero(g):  # a linear node reading x as an output makes h_t non-zero
        g["outputs"].append(next(n["id"] for n in g["nodes"] if "x" in n["inputs"]))
    return g


def sample(rng: np.random.Generator, hidden: int, max_nodes: int) -> Genome:
    """A random cell of 1..``max_nodes`` nodes, with a memory half the time; h_t sums the
    nodes that nothing reads (:func:`repair` then drops any node left dead)."""
    memory = rng.random() < 0.5
    size = int(rng.integers(1, max_nodes + 1))
    nodes: list[dict[str, Any]] = []
    refs: list[Any] = ["x", "h", *(["c"] if memory else [])]
    for k in range(size):
        op = str(rng.choice(OPS)) if k else str(rng.choice(LINEAR_OPS))
        low, high = arity(op)
        count = int(rng.integers(low, high + 1))
        allowed = refs if op in LINEAR_OPS else refs[1:]  # only a linear map reads x
        picks = rng.choice(len(allowed), size=min(count, len(allowed)), replace=False)
        inputs = [allowed[int(i)] for i in sorted(picks)]
        if k == 0 and "x" not in inputs:
            inputs[0] = "x"
        nodes.append({"id": k, "op": op, "inputs": inputs})
        refs.append(k)
    read = {r for n in nodes for r in n["inputs"]}
    keep = int(rng.integers(size)) if memory else None
    sinks = [n["id"] for n in nodes if n["id"] not in read and n["id"] != keep]
    return {"hidden": hidden, "nodes": nodes, "outputs": sinks or [size - 1], "memory": keep}


def canonical(genome: Genome) -> dict[str, Any]:
    """A form equal for isomorphic cells: node ids and the order of nodes and inputs drop out.

    Each node gets a signature, the hash of its op and its inputs' sorted signatures (every
    two-input op is symmetric in its inputs). Nodes are numbered by signature; nodes with equal
    signatures are tried in every order and the smallest serialisation wins, so the result
    does not depend on how the genome listed them.
    """
    by_id = {n["id"]: n for n in genome["nodes"]}
    signature: dict[Any, str] = {ref: ref for ref in CELL_INPUTS}
    for node in genome["nodes"]:
        text = node["op"] + "(" + ",".join(sorted(signature[i] for i in node["inputs"])) + ")"
        signature[node["id"]] = hashlib.sha1(text.encode()).hexdigest()[:16]
    groups = [list(g) for _, g in itertools.groupby(
        sorted(by_id, key=lambda k: signature[k]), key=lambda k: signature[k])]
    orders = itertools.product(*(itertools.permutations(g) for g in groups))
    best = None
    for count, order in enumerate(orders):
        if count >= MAX_CANONICAL_ORDERS:
            break
        label = {k: i for i, k in enumerate(itertools.chain.from_iterable(order))}
        name = {**{ref: ref for ref in CELL_INPUTS}, **label}
        text = (tuple((by_id[k]["op"], tuple(sorted(str(name[i]) for i in by_id[k]["inputs"])))
                      for k in sorted(label, key=label.get)),
                tuple(sorted(label[o] for o in genome["outputs"])),
                None if genome["memory"] is None else label[genome["memory"]])
        if best is None or repr(text) < repr(best):
            best = text
    nodes, outputs, memory = best  # type: ignore[misc]
    return {"hidden": genome["hidden"], "nodes": [[op, list(inputs)] for op, inputs in nodes],
            "outputs": list(outputs), "memory": memory}


def encode(genome: Genome, max_nodes: int, max_hidden: int) -> np.ndarray:
    """Per node slot: op one-hot, reads x / h / c / a node, is an output / the memory; width."""
    width = len(OPS) + 6
    code = np.zeros(max_nodes * width + 1)
    for i, node in enumerate(genome["nodes"]):
        row = code[i * width:(i + 1) * width]
        row[OPS.index(node["op"])] = 1
        for j, ref in enumerate(CELL_INPUTS):
            row[len(OPS) + j] = ref in node["inputs"]
        row[len(OPS) + 3] = sum(not isinstance(r, str) for r in node["inputs"])
        row[len(OPS) + 4] = node["id"] in genome["outputs"]
        row[len(OPS) + 5] = node["id"] == genome["memory"]
    code[-1] = genome["hidden"] / max_hidden
    return code


def lstm_genome(hidden: int) -> Genome:
    """The LSTM cell (Hochreiter & Schmidhuber 1997, with a forget gate) as a genome."""
    gate = ["x", "h"]
    return {"hidden": hidden, "memory": 6, "outputs": [8], "nodes": [
        {"id": 0, "op": "sigmoid", "inputs": list(gate)},   # input gate i
        {"id": 1, "op": "sigmoid", "inputs": list(gate)},   # forget gate f
        {"id": 2, "op": "sigmoid", "inputs": list(gate)},   # output gate o
        {"id": 3, "op": "tanh", "inputs": list(gate)},      # candidate g
        {"id": 4, "op": "mul", "inputs": [1, "c"]},         # f * c_{t-1}
        {"id": 5, "op": "mul", "inputs": [0, 3]},           # i * g
        {"id": 6, "op": "add", "inputs": [4, 5]},           # c_t
        {"id": 7, "op": "squash", "inputs": [6]},           # tanh(c_t)
        {"id": 8, "op": "mul", "inputs": [2, 7]}]}          # h_t = o * tanh(c_t)
