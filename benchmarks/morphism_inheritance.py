"""Epochs to reach the parent's perplexity: children that inherit its weights vs from scratch.

MOE/RNAS's claim (arXiv 2403.11173): a child made from a trained parent by a network morphism
and started from the parent's weights needs far fewer epochs than the same child trained from
scratch. Here, on each task, a parent cell (the LSTM genome) is trained for a few epochs; its
validation perplexity plus 1 % is the target. Then every morphism is applied to it once, and
each child is trained twice with the shared trainer (``nasplat.train.fit``, the same settings
and batch order): from the parent's weights (``RnnCellSpace.inherit``) and from a fresh
initialisation. Validation perplexity is measured before training and after each epoch; the
first epoch at or under the target is the child's count (the task's epoch cap + 1 when it never
gets there). Goal: at least 2x fewer epochs in total when inheriting.

    python benchmarks/morphism_inheritance.py --quick          # minutes on 2 CPU cores
    python benchmarks/morphism_inheritance.py --ptb ../shared/data/ptb
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch

from nasplat.config import TrainerConfig
from nasplat.dataset import Dataset
from nasplat.plugins.datasets.synthetic_sequence import SyntheticSequence
from nasplat.plugins.datasets.text_corpus import TextCorpus
from nasplat.spaces.rnn_cell.cell import lstm_genome
from nasplat.spaces.rnn_cell.morphisms import MORPHISMS
from nasplat.spaces.rnn_cell.space import RnnCellSpace
from nasplat.train import TensorBatches, evaluate_split, fit, seed_everything

SHARED_PTB = Path(__file__).resolve().parents[2] / "shared" / "data" / "ptb"
GOAL = 2.0
TARGET_SLACK = 0.01
"""The target is the parent's perplexity plus 1 %: a preserving child starts there, give or
take float rounding."""


class _Reached(Exception):
    """Raised from the epoch hook to stop training once the target is reached."""


def perplexity(model: torch.nn.Module, batches: TensorBatches) -> float:
    loss = evaluate_split(model, batches, batch_size=256).loss
    return math.exp(min(loss or 700.0, 700.0))


def epochs_to(model: torch.nn.Module, train: TensorBatches, valid: TensorBatches,
              config: TrainerConfig, target: float, max_epochs: int, seed: int) -> int:
    """Epochs of training until validation perplexity ≤ ``target`` (0: already there)."""
    if perplexity(model, valid) <= target:
        return 0
    reached: list[int] = []

    def hook(epoch: int, loss: float, last: bool) -> None:
        if perplexity(model, valid) <= target:
            reached.append(epoch)
            raise _Reached
        model.train()

    steps = max_epochs * train.steps_per_epoch(config.batch_size)
    try:
        fit(model, train, config, steps=steps, device=torch.device("cpu"),
            generator=seed_everything(seed), on_epoch=hook)
    except _Reached:
        return reached[0]
    return max_epochs + 1


def run_task(name: str, dataset: Dataset, space: RnnCellSpace, config: TrainerConfig,
             parent_epochs: int, max_epochs: int, seed: int) -> tuple[int, int]:
    train = TensorBatches(dataset.load("train"), torch.device("cpu"), 2**31)
    valid = TensorBatches(dataset.load("validation"), torch.device("cpu"), 2**31)
    parent_genome = lstm_genome(space.hidden)
    seed_everything(seed)
    parent = space.build(parent_genome)
    steps = parent_epochs * train.steps_per_epoch(config.batch_size)
    started = time.perf_counter()
    fit(parent, train, config, steps=steps, device=torch.device("cpu"),
        generator=seed_everything(seed))
    reached = perplexity(parent, valid)
    target = reached * (1 + TARGET_SLACK)
    print(f"\n{name}: parent LSTM cell (hidden {space.hidden}) trained {parent_epochs} epochs "
          f"in {time.perf_counter() - started:.0f} s to validation perplexity {reached:.2f}: "
          f"target {target:.2f}")
    print(f"{'morphism':18} {'preserving':>10} {'ppl at start (inherit/scratch)':>31} "
          f"{'epochs inherit':>15} {'epochs scratch':>15}")
    rng = np.random.default_rng(seed)
    totals = [0, 0]
    state = {k: v.detach().clone() for k, v in parent.state_dict().items()}
    for morphism in MORPHISMS:
        child = morphism.apply(parent_genome, rng, space.limits)
        if child is None:
            continue
        seed_everything(seed + 1)
        inheriting = space.build(child)
        inheriting.load_state_dict(space.inherit(parent_genome, state, child))
        seed_everything(seed + 1)
        scratch = space.build(child)
        start = (perplexity(inheriting, valid), perplexity(scratch, valid))
        counts = [epochs_to(m, train, valid, config, target, max_epochs, seed)
                  for m in (inheriting, scratch)]
        totals = [t + c for t, c in zip(totals, counts)]
        shown = [str(c) if c <= max_epochs else f">{max_epochs}" for c in counts]
        print(f"{morphism.name:18} {str(morphism.preserving):>10} "
              f"{start[0]:>15.2f} / {start[1]:<13.2f} {shown[0]:>15} {shown[1]:>15}")
    ratio = totals[1] / max(totals[0], 1)
    print(f"{'total':18} {'':>10} {'':>31} {totals[0]:>15} {totals[1]:>15}   "
          f"scratch / inherit = {ratio:.1f}x (goal >= {GOAL:g}x: "
          f"{'met' if ratio >= GOAL else 'NOT met'})")
    return totals[0], totals[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small models and data")
    parser.add_argument("--ptb", type=Path, default=SHARED_PTB,
                        help="Penn Treebank folder (skipped when absent)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    config = TrainerConfig(batch_size=32, lr=3e-3, schedule="constant", weight_decay=0.0,
                           grad_clip=1.0, device="cpu")
    quick = args.quick
    synthetic = SyntheticSequence(vocab=64, seq_len=32, train=600 if quick else 2000,
                                  validation=100)
    space = RnnCellSpace(vocab=64, seq_len=32, embedding=32, hidden=32, max_hidden=64)
    run_task("synthetic_sequence", synthetic, space, config, parent_epochs=4 if quick else 8,
             max_epochs=8 if quick else 16, seed=args.seed)
    if args.ptb.is_dir():
        corpus = TextCorpus(str(args.ptb), seq_len=35,
                            train_limit=20_000 if quick else 300_000)
        width = 48 if quick else 200
        space = RnnCellSpace(vocab=corpus.classes, seq_len=35, embedding=width, hidden=width,
                             max_hidden=2 * width)
        run_task("ptb", corpus, space, config.model_copy(update={"batch_size": 64}),
                 parent_epochs=2 if quick else 6, max_epochs=4 if quick else 12,
                 seed=args.seed)
    else:
        print(f"\nptb: skipped, no folder {args.ptb}")


if __name__ == "__main__":
    main()
