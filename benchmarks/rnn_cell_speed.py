"""Tokens per second of the compiled LSTM genome against ``torch.nn.LSTM`` of the same size, CPU.

Both run in this process, on the same batches: the recurrent layer alone (forward, and forward
plus backward), and the whole language model (embedding, layer, decoder) for one AdamW
training step. ``nn.LSTM`` runs one fused C++ kernel per step; the compiled cell runs one
matmul for x over the whole window, one for h per step, one sigmoid over the three gates, and a
few element-wise operations, dispatched from Python. The ratio is compiled / torch (1.0: as
fast as torch).

    python benchmarks/rnn_cell_speed.py                    # Zaremba et al.'s small PTB sizes
    python benchmarks/rnn_cell_speed.py --hidden 650 --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from nasplat.spaces.rnn_cell.cell import lstm_genome
from nasplat.spaces.rnn_cell.model import CellLM, CompiledCell


class TorchLM(nn.Module):
    """The same language model around ``nn.LSTM``."""

    def __init__(self, vocab: int, embedding: int, hidden: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, embedding)
        self.lstm = nn.LSTM(embedding, hidden)
        self.decoder = nn.Linear(hidden, vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x, _ = self.lstm(self.embed(tokens).transpose(0, 1))
        return self.decoder(x).transpose(0, 1)


def rate(step: Callable[[], object], tokens: int, repeats: int) -> float:
    """Median tokens per second of ``step`` after two warm-up calls."""
    for _ in range(2):
        step()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return tokens / statistics.median(times)


def train_step(model: nn.Module, tokens: torch.Tensor, vocab: int) -> Callable[[], None]:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def step() -> None:
        logits = model(tokens[:, :-1])
        loss = nn.functional.cross_entropy(logits.reshape(-1, vocab), tokens[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab", type=int, default=10000)
    parser.add_argument("--embedding", type=int, default=200)
    parser.add_argument("--hidden", type=int, default=200)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--seq-len", type=int, default=35)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    T, B, E, H, V = args.seq_len, args.batch, args.embedding, args.hidden, args.vocab
    print(f"CPU, {torch.get_num_threads()} threads; batch {B} x {T} tokens, embedding {E}, "
          f"hidden {H}, vocab {V}; median of {args.repeats}")
    x = torch.randn(T, B, E)
    tokens = torch.randint(0, V, (B, T + 1))
    cell, lstm = CompiledCell(lstm_genome(H), E), nn.LSTM(E, H)
    rows = []
    with torch.no_grad():
        rows.append(("layer forward", rate(lambda: cell(x), T * B, args.repeats),
                     rate(lambda: lstm(x), T * B, args.repeats)))

    def backward(layer: nn.Module) -> Callable[[], None]:
        return lambda: layer(x)[0].sum().backward()
    rows.append(("layer forward+backward", rate(backward(cell), T * B, args.repeats),
                 rate(backward(lstm), T * B, args.repeats)))
    ours, theirs = CellLM(lstm_genome(H), V, E, 1), TorchLM(V, E, H)
    assert sum(p.numel() for p in ours.parameters()) + 4 * H == sum(
        p.numel() for p in theirs.parameters())  # nn.LSTM has two biases per gate
    rows.append(("LM training step", rate(train_step(ours, tokens, V), T * B, args.repeats),
                 rate(train_step(theirs, tokens, V), T * B, args.repeats)))
    print(f"{'':24} {'rnn_cell tok/s':>15} {'nn.LSTM tok/s':>15} {'ratio':>7}")
    for name, a, b in rows:
        print(f"{name:24} {a:15,.0f} {b:15,.0f} {a / b:7.2f}")


if __name__ == "__main__":
    main()
