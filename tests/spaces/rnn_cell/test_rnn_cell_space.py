"""The rnn_cell genome: the contract, validity and repair, canonical form, the compiled cell."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from nasplat.errors import InvalidGenome
from nasplat.spaces.rnn_cell import cell
from nasplat.spaces.rnn_cell.model import CompiledCell
from nasplat.spaces.rnn_cell.space import RnnCellSpace
from nasplat.testing import SpaceContract


class TestRnnCellContract(SpaceContract):
    @pytest.fixture
    def space(self) -> RnnCellSpace:
        return RnnCellSpace(embedding=8, hidden=8, max_hidden=16, layers=2)


@pytest.fixture
def space() -> RnnCellSpace:
    return RnnCellSpace(embedding=8, hidden=8, max_hidden=16)


def tanh_rnn(hidden: int = 8) -> dict:
    return {"hidden": hidden, "memory": None, "outputs": [0],
            "nodes": [{"id": 0, "op": "tanh", "inputs": ["x", "h"]}]}


@pytest.mark.parametrize("change, message", [
    (lambda g: g.update(hidden=4), "hidden must be an integer in [8, 16]"),
    (lambda g: g["nodes"][0].update(op="gru"), "unknown op 'gru'"),
    (lambda g: g["nodes"][0].update(inputs=["x", "h", "c"]), "takes 1..2 inputs"),
    (lambda g: g["nodes"][0].update(inputs=["x", "c"]), "input 'c' is not x, h, c"),
    (lambda g: g["nodes"][0].update(inputs=["h"]), "no node reads the input x"),
    (lambda g: g.update(outputs=[]), "outputs must be distinct node ids"),
    (lambda g: g["nodes"].append({"id": 1, "op": "tanh", "inputs": ["x"]}),
     "nodes [1] feed neither an output nor the memory"),
    (lambda g: g["nodes"].append({"id": 1, "op": "mul", "inputs": ["x", 0]}),
     "mul has no linear map, so it cannot read x"),
    (lambda g: g["nodes"].insert(0, {"id": 1, "op": "tanh", "inputs": [0]}),
     "input 0 is not x, h, c"),
])
def test_invalid_cells_say_why(space: RnnCellSpace, change, message: str) -> None:
    genome = tanh_rnn()
    change(genome)
    with pytest.raises(InvalidGenome, match=message.replace("[", r"\[").replace("(", r"\(")):
        space.validate(genome)


def test_too_many_nodes_is_invalid(space: RnnCellSpace) -> None:
    genome = tanh_rnn()
    for k in range(1, 13):
        genome["nodes"].append({"id": k, "op": "tanh", "inputs": [k - 1]})
    genome["outputs"] = [12]
    with pytest.raises(InvalidGenome, match="a cell has 1 to 12 nodes"):
        space.validate(genome)


def test_repair_fixes_random_breakage(space: RnnCellSpace) -> None:
    """Scrambled inputs, ops, outputs and widths always repair to a valid cell."""
    rng = np.random.default_rng(0)
    for _ in range(500):
        genome = space.sample(rng)
        for node in genome["nodes"]:
            if rng.random() < 0.4:
                node["inputs"] = [str(rng.choice(["x", "h", "c"])), int(rng.integers(0, 20))]
            if rng.random() < 0.2:
                node["op"] = str(rng.choice(cell.OPS))
        genome["outputs"] = [int(rng.integers(0, 20))]
        genome["hidden"] = int(rng.integers(1, 40))
        space.validate(space.repair(genome))


def test_repair_keeps_a_valid_cell(space: RnnCellSpace) -> None:
    genome = cell.lstm_genome(8)
    assert space.repair(genome) == genome


def test_isomorphic_cells_hash_the_same(space: RnnCellSpace) -> None:
    """Renumbered nodes, swapped gates, reordered inputs: one hash; another op: another."""
    lstm = cell.lstm_genome(8)
    shuffled = cell.copy_genome(lstm)
    rename = {0: 12, 1: 11, 2: 10, 3: 9, 4: 8, 5: 7, 6: 6, 7: 5, 8: 4}
    order = [3, 2, 1, 0, 5, 4, 6, 7, 8]  # gates and the two products listed in another order
    shuffled["nodes"] = [shuffled["nodes"][i] for i in order]
    for node in shuffled["nodes"]:
        node["id"] = rename[node["id"]]
        node["inputs"] = [r if isinstance(r, str) else rename[r] for r in reversed(node["inputs"])]
    shuffled["outputs"] = [rename[o] for o in shuffled["outputs"]]
    shuffled["memory"] = rename[shuffled["memory"]]
    space.validate(shuffled)
    assert space.genome_hash(shuffled) == space.genome_hash(lstm)
    other = cell.copy_genome(lstm)
    other["nodes"][3]["op"] = "relu"
    assert space.genome_hash(other) != space.genome_hash(lstm)
    shared = cell.copy_genome(lstm)  # i and f the same node: not isomorphic to the LSTM
    shared["nodes"][4]["inputs"] = [0, "c"]
    shared["nodes"] = [n for n in shared["nodes"] if n["id"] != 1]
    space.validate(shared)
    assert space.genome_hash(shared) != space.genome_hash(lstm)


def test_canonical_form_ignores_node_order_of_random_cells(space: RnnCellSpace) -> None:
    """Any topological relisting of a sampled cell (with fresh ids) hashes the same."""
    rng = np.random.default_rng(3)
    shuffle = random.Random(3)
    for _ in range(30):
        genome = space.sample(rng)
        nodes = list(genome["nodes"])
        placed: list[dict] = []
        while nodes:  # a random topological order
            ready = [n for n in nodes if all(isinstance(r, str) or r in
                                             {p["id"] for p in placed} for r in n["inputs"])]
            pick = shuffle.choice(ready)
            nodes.remove(pick)
            placed.append(pick)
        ids = {n["id"]: 100 + i for i, n in enumerate(reversed(placed))}
        relisted = {"hidden": genome["hidden"], "outputs": [ids[o] for o in genome["outputs"]],
                    "memory": None if genome["memory"] is None else ids[genome["memory"]],
                    "nodes": [{"id": ids[n["id"]], "op": n["op"],
                               "inputs": [r if isinstance(r, str) else ids[r]
                                          for r in n["inputs"]]} for n in placed]}
        space.validate(relisted)
        assert space.genome_hash(relisted) == space.genome_hash(genome)


def test_lstm_genome_computes_torch_lstm() -> None:
    """With nn.LSTM's weights, the compiled LSTM genome gives nn.LSTM's outputs."""
    hidden, inputs = 8, 5
    compiled, lstm = CompiledCell(cell.lstm_genome(hidden), inputs), torch.nn.LSTM(inputs, hidden)
    state = compiled.state_dict()
    bias = lstm.bias_ih_l0 + lstm.bias_hh_l0
    for node, gate in {0: 0, 1: 1, 3: 2, 2: 3}.items():  # torch's order is i, f, g, o
        rows = slice(gate * hidden, (gate + 1) * hidden)
        state[f"w.n{node}_x"] = lstm.weight_ih_l0[rows]
        state[f"w.n{node}_h"] = lstm.weight_hh_l0[rows]
        state[f"b.n{node}"] = bias[rows]
    compiled.load_state_dict(state)
    x = torch.randn(7, 3, inputs)
    with torch.no_grad():
        ours, (h, c) = compiled(x)
        theirs, (h_ref, c_ref) = lstm(x)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(c, c_ref[0], rtol=1e-5, atol=1e-6)


def test_truncated_bptt_cuts_gradients() -> None:
    """With bptt = 2, the loss at step 3 sends no gradient to the input at step 0."""
    compiled = CompiledCell(tanh_rnn(), 8, bptt=2)
    x = torch.randn(4, 1, 8, requires_grad=True)
    out, _ = compiled(x)
    out[3].sum().backward()
    assert x.grad[0].abs().sum() == 0 and x.grad[2].abs().sum() > 0


def test_cell_nodes_objective_is_cheap(space: RnnCellSpace) -> None:
    (objective,) = space.objectives()
    assert objective.name == "cell_nodes" and objective.cheap and objective.direction == "min"
    assert space.cheap_metrics(cell.lstm_genome(8))["cell_nodes"] == 9.0


def _without_input_gate() -> dict:
    """The LSTM after remove_node took its input gate: ``i * g`` became ``h * g``."""
    genome = cell.lstm_genome(8)
    genome["nodes"] = [n for n in genome["nodes"] if n["id"] != 0]
    for node in genome["nodes"]:
        node["inputs"] = ["h" if r == 0 else r for r in node["inputs"]]
    return genome


def test_a_cell_whose_state_stays_zero_is_invalid_and_repaired(space: RnnCellSpace) -> None:
    dead = _without_input_gate()
    out, (h, c) = CompiledCell(dead, 8)(torch.randn(6, 3, 8))
    assert out.abs().max() == 0 and h.abs().max() == 0 and c.abs().max() == 0  # truly dead
    with pytest.raises(InvalidGenome, match="h_t is 0 at every step"):
        space.validate(dead)
    repaired = space.repair(dead)
    space.validate(repaired)
    out, _ = CompiledCell(repaired, 8)(torch.randn(6, 3, 8))
    assert out.abs().max() > 0


def test_the_zero_state_rule_agrees_with_the_cells_outputs(space: RnnCellSpace) -> None:
    """Random cells, valid or not on this rule alone: those it calls dead output only zeros,
    the others do not (random weights, a random input)."""
    rng = np.random.default_rng(3)
    checked = {True: 0, False: 0}
    for _ in range(500):
        genome = space.sample(rng)
        for node in genome["nodes"]:  # gates on the state where a product had a node
            if node["op"] == "mul" and rng.random() < 0.9:
                node["inputs"][0] = "h"
                node["inputs"] = list(dict.fromkeys(node["inputs"]))
        genome = cell.copy_genome(genome)
        if any(len(n["inputs"]) < cell.arity(n["op"])[0] for n in genome["nodes"]):
            continue
        if set(cell.live_ids(genome)) != {n["id"] for n in genome["nodes"]}:
            continue
        dead = cell.state_stays_zero(genome)
        torch.manual_seed(0)
        out, _ = CompiledCell(genome, 4)(torch.randn(5, 2, 4))
        assert (out.abs().max().item() == 0) == dead, genome
        checked[dead] += 1
    assert checked[True] >= 3 and checked[False] >= 100, checked
