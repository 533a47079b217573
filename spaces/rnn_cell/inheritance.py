"""A child's starting weights from its parent's trained ones: each morphism's initialisation.

Weights are matched by node id and input (``cells.0.w.n3_h``), so the child's genome alone says
what changed; see :mod:`nasplat.spaces.rnn_cell.morphisms` for what each operator expects.
Two stages: the child's structure at the parent's width, then Net2WiderNet to the child's width.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from nasplat.spaces.rnn_cell.cell import LINEAR_OPS, Genome
from nasplat.spaces.rnn_cell.model import bias_key, weight_key

State = dict[str, torch.Tensor]

LINEARISATION = {"tanh": (0.0, 1.0), "sigmoid": (0.5, 0.25), "identity": (0.0, 1.0),
                 "relu": (0.0, 1.0)}
"""``act(z) ≈ a0 + a1 z`` near z = 0 (ReLU: its active side), for changing an activation."""


def inherit_state(parent: Genome, parent_state: State, child: Genome,
                  fresh: Callable[[Genome], State]) -> State:
    """The child's state dict; ``fresh(genome)`` gives a freshly initialised one to fill."""
    same_width = dict(child, hidden=parent["hidden"])
    state = _restructure(parent, parent_state, same_width, fresh(same_width))
    if child["hidden"] != parent["hidden"]:
        state = _widen(state, parent["hidden"], child["hidden"])
    return state


def _restructure(parent: Genome, old: State, child: Genome, state: State) -> State:
    """Copy what the parent has; initialise what a morphism added so it has no effect."""
    before = {n["id"]: n for n in parent["nodes"]}
    after = {n["id"]: n for n in child["nodes"]}
    removed = {k: n for k, n in before.items() if k not in after}

    def through(ref: Any) -> Any:
        """Follow inserted identity nodes back to the value they pass on."""
        while not isinstance(ref, str) and ref not in before and after[ref]["op"] == "identity" \
                and len(after[ref]["inputs"]) == 1:
            ref = after[ref]["inputs"][0]
        return ref

    for key in state:
        if not key.startswith("cells."):
            state[key] = old[key].clone()  # embedding and decoder
    layers = sorted({int(k.split(".")[1]) for k in state if k.startswith("cells.")})
    for layer in layers:
        prefix = f"cells.{layer}."
        for node in child["nodes"]:
            k = node["id"]
            if node["op"] not in LINEAR_OPS:
                continue
            bias = prefix + "b." + bias_key(k)
            state[bias] = (old[bias].clone() if k in before and bias in old
                           else torch.zeros_like(state[bias]))
            for ref in node["inputs"]:
                name = prefix + "w." + weight_key(k, ref)
                source = prefix + "w." + weight_key(k, through(ref))
                if source in old:  # unchanged, or reading through an inserted node
                    state[name] = old[source].clone()
                elif k not in before:  # an inserted identity node: the identity map
                    state[name] = torch.eye(*state[name].shape)
                elif k in before:
                    state[name] = torch.zeros_like(state[name])  # a new connection: no effect
                    for gone, node_before in removed.items():  # ... or a removed node bypassed
                        read = prefix + "w." + weight_key(k, gone)
                        if read not in old or ref not in node_before["inputs"]:
                            continue
                        inner = prefix + "w." + weight_key(gone, ref)
                        if inner in old:  # W_cn (act(W_ns s + b_n)) ≈ W_cn W_ns s + W_cn b_n
                            state[name] = old[read] @ old[inner]
                            state[bias] = state[bias] + old[read] @ old[
                                prefix + "b." + bias_key(gone)]
                        elif old[read].shape == state[name].shape:
                            state[name] = old[read].clone()
            if k in before and before[k]["op"] != node["op"] and before[k]["op"] in LINEAR_OPS:
                _match_activation(state, prefix, node, before[k]["op"])
    return state


def _match_activation(state: State, prefix: str, node: dict[str, Any], old_op: str) -> None:
    """Rescale a node's map so its new activation matches the old one to first order at 0:
    ``g(W' v + b') ≈ f(W v + b)`` with ``W' = (f1 / g1) W``, ``b' = (f1 b + f0 − g0) / g1``."""
    f0, f1 = LINEARISATION[old_op]
    g0, g1 = LINEARISATION[node["op"]]
    bias = prefix + "b." + bias_key(node["id"])
    state[bias] = (f1 * state[bias] + f0 - g0) / g1
    for ref in node["inputs"]:
        name = prefix + "w." + weight_key(node["id"], ref)
        state[name] = state[name] * (f1 / g1)


def _widen(state: State, old: int, new: int) -> State:
    """Net2WiderNet on every hidden-width axis: unit ``j ≥ old`` copies unit ``j mod old``.

    Whatever reads the hidden width splits its weight on a unit among the unit's copies, in
    unequal shares ``1, 2, ...`` (normalised), so the function is unchanged while the copies
    receive different gradients.
    """
    source = torch.arange(new) % old
    copies = torch.bincount(source, minlength=old).float()
    rank = torch.tensor([int((source[:j] == source[j]).sum()) for j in range(new)]).float()
    share = (rank + 1) / (copies * (copies + 1) / 2)[source]
    out: State = {}
    for key, value in state.items():
        if key.startswith("embed."):
            out[key] = value
        elif key == "decoder.weight":
            out[key] = value[:, source] * share
        elif key == "decoder.bias":
            out[key] = value
        elif ".b." in key:
            out[key] = value[source].clone()
        else:  # cells.L.w.nK_REF: rows are the hidden units; columns too unless it reads x
            rows = value[source]
            layer, ref = int(key.split(".")[1]), key.rsplit("_", 1)[1]
            reads_embedding = ref == "x" and layer == 0
            out[key] = rows if reads_embedding else rows[:, source] * share
    return out
