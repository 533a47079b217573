"""The cell compiled into one per-step function, and the language model around it.

Weights are kept per (node, input) so that inheritance can match them by name
(``w.n3_h``: node 3's map of h_{t-1}); the forward pass fuses them once per sequence:

* every map of x_t, with every bias, is one matmul over the whole sequence, before the loop;
* every map of h_{t-1} is one matmul per step (likewise c_{t-1});
* the nodes that read only x, h and c (an LSTM's four gates) are activated together, one call
  per activation, on one slice of the fused pre-activations;
* only the remaining nodes cost Python operations per step.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from nasplat.spaces.rnn_cell.cell import LINEAR_OPS, Genome

ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid,
               "identity": lambda z: z}


def weight_key(node: int, ref: Any) -> str:
    """Name of node ``node``'s map of input ``ref``."""
    return f"n{node}_{ref}" if isinstance(ref, str) else f"n{node}_n{ref}"


def bias_key(node: int) -> str:
    """Name of node ``node``'s bias."""
    return f"n{node}"


class CompiledCell(nn.Module):
    """One layer of the cell: ``(x (T, B, in), state) -> (h for every step (T, B, H), state)``."""

    def __init__(self, genome: Genome, input_size: int, bptt: int | None = None) -> None:
        super().__init__()
        self.hidden, self.input_size, self.bptt = genome["hidden"], input_size, bptt
        self.has_memory = genome["memory"] is not None
        self.w = nn.ParameterDict()
        self.b = nn.ParameterDict()
        nodes = genome["nodes"]
        linear = [n for n in nodes if n["op"] in LINEAR_OPS]
        # stage 0: linear nodes reading only x, h, c, grouped by activation (one call each)
        first = [n for n in linear if all(isinstance(i, str) for i in n["inputs"])]
        first.sort(key=lambda n: LINEAR_OPS.index(n["op"]))
        late = [n for n in linear if n not in first]
        self.order = [n["id"] for n in first + late]   # row blocks of the fused maps
        self.n_first = len(first)
        self.groups = [(op, i, i + sum(1 for _ in g)) for op, i, g in _runs(first)]
        self.steps = [(n["id"], n["op"], [i for i in n["inputs"] if not isinstance(i, str)])
                      for n in nodes if n not in first]
        self.outputs, self.memory = list(genome["outputs"]), genome["memory"]
        for node in linear:
            fan_in = sum(self._width(i) for i in node["inputs"])
            bound = 1 / math.sqrt(fan_in)  # torch.nn.Linear's default initialisation
            for ref in node["inputs"]:
                self.w[weight_key(node["id"], ref)] = nn.Parameter(
                    torch.empty(self.hidden, self._width(ref)).uniform_(-bound, bound))
            self.b[bias_key(node["id"])] = nn.Parameter(
                torch.empty(self.hidden).uniform_(-bound, bound))
        self.reads = {n["id"]: list(n["inputs"]) for n in nodes}

    def _width(self, ref: Any) -> int:
        return self.input_size if ref == "x" else self.hidden

    def _fused(self, ref: Any, rows: list[int]) -> torch.Tensor | None:
        """The maps of ``ref`` of the nodes ``rows`` stacked, zero blocks where one has none."""
        blocks = [self.w[weight_key(k, ref)] if weight_key(k, ref) in self.w else None
                  for k in rows]
        if all(b is None for b in blocks):
            return None
        like = self.b[bias_key(rows[0])]
        zero = like.new_zeros(self.hidden, self._width(ref))
        return torch.cat([zero if b is None else b for b in blocks])

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        steps, batch, _ = x.shape
        h = x.new_zeros(batch, self.hidden) if state is None else state[0]
        c = x.new_zeros(batch, self.hidden) if state is None else state[1]
        H = self.hidden
        if self.order:
            bias = torch.cat([self.b[bias_key(k)] for k in self.order])
            wx = self._fused("x", self.order)
            zx = bias.expand(steps, batch, -1) if wx is None else torch.addmm(
                bias, x.reshape(steps * batch, -1), wx.t()).view(steps, batch, -1)
            wh = self._fused("h", self.order)
            wc = self._fused("c", self.order) if self.has_memory else None
        row = {k: i for i, k in enumerate(self.order)}
        out = []
        for t in range(steps):
            if self.bptt and t and t % self.bptt == 0:  # truncated BPTT
                h, c = h.detach(), c.detach()
            value: dict[Any, torch.Tensor] = {"x": x[t], "h": h, "c": c}
            if self.order:
                z = zx[t]
                if wh is not None:
                    z = torch.addmm(z, h, wh.t())
                if wc is not None:
                    z = torch.addmm(z, c, wc.t())
                for op, a, b in self.groups:
                    block = ACTIVATIONS[op](z[:, a * H:b * H])
                    for i in range(a, b):
                        value[self.order[i]] = block[:, (i - a) * H:(i - a + 1) * H]
            for k, op, node_inputs in self.steps:
                if op in LINEAR_OPS:
                    zk = z[:, row[k] * H:(row[k] + 1) * H]
                    for src in node_inputs:
                        zk = zk + value[src] @ self.w[weight_key(k, src)].t()
                    value[k] = ACTIVATIONS[op](zk)
                else:
                    args = [value[i] for i in self.reads[k]]
                    value[k] = (args[0] * args[1] if op == "mul" else args[0] + args[1]
                                if op == "add" else torch.tanh(args[0]))
            h = value[self.outputs[0]]
            for o in self.outputs[1:]:
                h = h + value[o]
            if self.has_memory:
                c = value[self.memory]
            out.append(h)
        return torch.stack(out), (h, c)


def _runs(nodes: list[dict[str, Any]]):
    """(op, start, members) for each run of equal ops in ``nodes``."""
    start = 0
    while start < len(nodes):
        end = start
        while end < len(nodes) and nodes[end]["op"] == nodes[start]["op"]:
            end += 1
        yield nodes[start]["op"], start, nodes[start:end]
        start = end


class CellLM(nn.Module):
    """Embedding → ``layers`` stacked cells → linear decoder: ``(B, T)`` → ``(B, T, V)``."""

    def __init__(self, genome: Genome, vocab: int, embedding: int, layers: int,
                 bptt: int | None = None) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, embedding)
        self.cells = nn.ModuleList(
            CompiledCell(genome, embedding if i == 0 else genome["hidden"], bptt)
            for i in range(layers))
        self.decoder = nn.Linear(genome["hidden"], vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embed(tokens).transpose(0, 1)  # time-major: one step is a contiguous slice
        for cell in self.cells:
            x, _ = cell(x)
        return self.decoder(x).transpose(0, 1)


def parameter_count(genome: Genome, vocab: int, embedding: int, layers: int) -> int:
    """The parameters of ``CellLM(genome, ...)``, counted without building it."""
    H = genome["hidden"]
    total = vocab * embedding + H * vocab + vocab
    for layer in range(layers):
        width = {"x": embedding if layer == 0 else H, "h": H, "c": H}
        for node in genome["nodes"]:
            if node["op"] in LINEAR_OPS:
                total += H + sum(H * width.get(i, H) for i in node["inputs"])
    return total

