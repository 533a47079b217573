"""Epochs to reach the parent's perplexity: children that inherit its weights vs from scratch.

MOE/RNAS's claim (arXiv 2403.11173): a child made from a trained parent by a network morphism
and started from the parent's weights needs far fewer epochs than the same child trained from
scratch. Here, on each task, a parent cell (the LSTM genome) is trained for a few epochs; its
validation perplexity plus 1 % is the target. Then every morphism is applied to it once, and
each child is trained twice with the shared trainer (``nasplat.train.fit``, the same settings
and batch order): from the parent's weights (``RnnCellSpace.inherit``) and from a fresh
initialisation. Validation perplexity is measured before training and after each epoch; the
first epoch at or under the target is the child's count (the task's epoch cap + 1 when it never
gets there). Goal: at least 2x fewer epochs in total when inheriting. As a yardstick of how
much the parent learned, the perplexity of a unigram model of the same training words (add-one
smoothed) on the same validation words is printed beside it.

    python benchmarks/morphism_inheritance.py --quick          # minutes on 2 CPU cores
    python benchmarks/morphism_inheritance.py --only ptb --threads 1 --ptb-words 200000 \\
        --ptb-valid-words 20000 --ptb-hidden 64 --ptb-batch 32 --ptb-parent-epochs 3 \\
        --ptb-epochs-cap 6 --results ptb.json      # the run in docs/spaces/rnn_cell.md

With ``--results FILE`` each child's result is written to FILE as soon as it is known, and the
parent's weights beside it (``FILE.<task>.parent.pt``): a run that is stopped and started again
with the same options continues where it stopped.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nasplat.config import TrainerConfig
from nasplat.dataset import Dataset, Split
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
CPU = torch.device("cpu")


@dataclass(frozen=True)
class Setting:
    """One task's sizes: the model, the data, and how long parent and children train."""

    hidden: int            # embedding and hidden width of the parent LSTM cell
    batch_size: int
    parent_epochs: int
    epochs_cap: int        # a child that is not at the target after this many epochs counts cap + 1
    train_words: int | None = None   # training words (PTB: the first this-many; None: all)
    valid_words: int | None = None   # PTB: the first this-many validation words (None: all)


class _Reached(Exception):
    """Raised from the epoch hook to stop training once the target is reached."""


def perplexity(model: torch.nn.Module, batches: TensorBatches) -> float:
    """Validation perplexity of ``model`` (overflow-safe)."""
    loss = evaluate_split(model, batches, batch_size=256).loss
    return math.exp(min(loss or 700.0, 700.0))


def unigram_perplexity(train_labels: torch.Tensor, valid_labels: torch.Tensor,
                       vocab: int) -> float:
    """Perplexity on ``valid_labels`` of the add-one-smoothed word frequencies of training."""
    counts = torch.bincount(train_labels.reshape(-1), minlength=vocab).double() + 1.0
    log_p = (counts / counts.sum()).log()
    return math.exp(-log_p[valid_labels.reshape(-1)].mean().item())


def state_stays_zero(model: torch.nn.Module, tokens: torch.Tensor) -> bool:
    """Whether the first cell's h_t is exactly 0 at every step from the zero state: then the
    model predicts with its decoder's bias alone and can never beat a unigram model."""
    with torch.no_grad():
        h, _ = model.cells[0](model.embed(tokens).transpose(0, 1))
    return not bool(h.any())


def first_windows(split: Split, words: int | None) -> Split:
    """The first ``words`` words' worth of windows of ``split`` (all of it for None)."""
    if words is None:
        return split
    n = max(words // split.inputs.shape[1], 1)
    return Split(split.inputs[:n], split.labels[:n])


def epochs_to(model: torch.nn.Module, train: TensorBatches, valid: TensorBatches,
              config: TrainerConfig, target: float, max_epochs: int, seed: int
              ) -> tuple[int, list[float]]:
    """Epochs of training until validation perplexity ≤ ``target`` (0: already there), and
    the perplexity before training and after each epoch trained."""
    curve = [perplexity(model, valid)]
    if curve[0] <= target:
        return 0, curve

    def hook(epoch: int, loss: float, last: bool) -> None:
        curve.append(perplexity(model, valid))
        if curve[-1] <= target:
            raise _Reached
        model.train()

    steps = max_epochs * train.steps_per_epoch(config.batch_size)
    try:
        fit(model, train, config, steps=steps, device=CPU, generator=seed_everything(seed),
            on_epoch=hook)
    except _Reached:
        return len(curve) - 1, curve
    return max_epochs + 1, curve


class Results:
    """Each task's parent and per-child results in a JSON file, saved after every child.

    Without a path it only keeps them in memory. A task recorded with other settings is an
    error: mixing two settings' children in one table would mean nothing.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.data: dict[str, Any] = {}
        if path is not None and path.exists():
            self.data = json.loads(path.read_text())

    def task(self, name: str, setting: dict[str, Any]) -> dict[str, Any]:
        """The record of task ``name`` (new and empty, or resumed with the same settings)."""
        record = self.data.setdefault(name, {"setting": setting, "children": {}})
        if record["setting"] != setting:
            raise SystemExit(
                f"{self.path}: task '{name}' was recorded with settings {record['setting']}, "
                f"not {setting}: pass those options again to continue it, or another "
                f"--results file to start afresh")
        return record

    def parent_weights(self, name: str) -> Path | None:
        """Where task ``name``'s trained parent is kept (None without a results file)."""
        return None if self.path is None else self.path.with_name(
            f"{self.path.name}.{name}.parent.pt")

    def save(self) -> None:
        """Write the file (whole, then renamed: a kill never leaves half of it)."""
        if self.path is not None:
            partial = self.path.with_name(self.path.name + ".partial")
            partial.write_text(json.dumps(self.data, indent=1))
            partial.replace(self.path)


def train_parent(name: str, space: RnnCellSpace, train: TensorBatches, valid: TensorBatches,
                 config: TrainerConfig, epochs: int, seed: int, results: Results,
                 record: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The parent LSTM's trained weights, from the results file when already trained."""
    saved = results.parent_weights(name)
    seed_everything(seed)
    parent = space.build(lstm_genome(space.hidden))
    if "parent" in record and saved is not None and saved.exists():
        parent.load_state_dict(torch.load(saved, weights_only=True))
        print(f"\n{name}: parent read from {saved}")
        return parent.state_dict()
    curve: list[float] = []

    def hook(epoch: int, loss: float, last: bool) -> None:
        curve.append(perplexity(parent, valid))
        print(f"  parent epoch {epoch}: validation perplexity {curve[-1]:.2f}", flush=True)
        parent.train()

    started = time.perf_counter()
    fit(parent, train, config, steps=epochs * train.steps_per_epoch(config.batch_size),
        device=CPU, generator=seed_everything(seed), on_epoch=hook)
    record["parent"] = {"perplexity": curve[-1], "curve": curve,
                        "seconds": round(time.perf_counter() - started, 1)}
    if saved is not None:
        torch.save(parent.state_dict(), saved)
    results.save()
    return parent.state_dict()


def run_task(name: str, dataset: Dataset, space: RnnCellSpace, config: TrainerConfig,
             setting: Setting, seed: int, results: Results) -> tuple[int, int]:
    """Train the parent and each morphism's two children; print and return the epoch totals."""
    config = config.model_copy(update={"batch_size": setting.batch_size})
    train_split = dataset.load("train")
    valid_split = first_windows(dataset.load("validation"), setting.valid_words)
    train = TensorBatches(train_split, CPU, 2**31)
    valid = TensorBatches(valid_split, CPU, 2**31)
    record = results.task(name, {**asdict(setting), "seed": seed, "lr": config.lr})
    unigram = unigram_perplexity(train_split.labels, valid_split.labels, space.vocab)
    print(f"\n{name}: {train_split.labels.numel():,} training words, "
          f"{valid_split.labels.numel():,} validation words, vocabulary {space.vocab:,}; "
          f"unigram perplexity {unigram:.2f}; parent LSTM cell (hidden {space.hidden}, "
          f"batch {setting.batch_size}) trains {setting.parent_epochs} epochs", flush=True)
    parent_genome = lstm_genome(space.hidden)
    state = train_parent(name, space, train, valid, config, setting.parent_epochs, seed,
                         results, record)
    reached = record["parent"]["perplexity"]
    target = reached * (1 + TARGET_SLACK)
    print(f"{name}: parent at validation perplexity {reached:.2f} (unigram {unigram:.2f}) "
          f"after {record['parent']['seconds']:.0f} s: target {target:.2f}")
    print(f"{'morphism':18} {'preserving':>10} {'ppl at start (inherit/scratch)':>31} "
          f"{'epochs inherit':>15} {'epochs scratch':>15} {'minutes':>8}", flush=True)
    rng = np.random.default_rng(seed)
    totals, live = [0, 0], [0, 0]   # all children; those whose state is not stuck at 0
    dead: list[str] = []
    cap = setting.epochs_cap
    for morphism in MORPHISMS:
        child = morphism.apply(parent_genome, rng, space.limits)  # every one, for the same rng
        if child is None:
            continue
        stuck = state_stays_zero(space.build(child), valid.inputs[:8])  # before any seeding
        if stuck:
            dead.append(morphism.name)
        done = record["children"].get(morphism.name)
        if done is None:
            started = time.perf_counter()
            seed_everything(seed + 1)
            inheriting = space.build(child)
            inheriting.load_state_dict(space.inherit(parent_genome, state, child))
            seed_everything(seed + 1)
            scratch = space.build(child)
            runs = [epochs_to(m, train, valid, config, target, cap, seed)
                    for m in (inheriting, scratch)]
            done = {"preserving": morphism.preserving, "child": child,
                    "epochs": [r[0] for r in runs], "curves": [r[1] for r in runs],
                    "seconds": round(time.perf_counter() - started, 1)}
            record["children"][morphism.name] = done
            results.save()
        counts = done["epochs"]
        totals = [t + c for t, c in zip(totals, counts)]
        if not stuck:
            live = [t + c for t, c in zip(live, counts)]
        shown = [str(c) if c <= cap else f">{cap}" for c in counts]
        print(f"{morphism.name + ' (0)' * stuck:18} {str(morphism.preserving):>10} "
              f"{done['curves'][0][0]:>15.2f} / {done['curves'][1][0]:<13.2f} "
              f"{shown[0]:>15} {shown[1]:>15} {done['seconds'] / 60:>8.1f}", flush=True)
    ratio = totals[1] / max(totals[0], 1)
    print(f"{'total':18} {'':>10} {'':>31} {totals[0]:>15} {totals[1]:>15}   "
          f"scratch / inherit = {ratio:.1f}x (goal >= {GOAL:g}x: "
          f"{'met' if ratio >= GOAL else 'NOT met'})")
    if dead:
        print(f"(0): h_t stays exactly 0 from the zero state, so neither child can beat the "
              f"unigram model.\nWithout {', '.join(dead)}: {live[0]} vs {live[1]} epochs, "
              f"scratch / inherit = {live[1] / max(live[0], 1):.1f}x")
    return totals[0], totals[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small models and data")
    parser.add_argument("--only", choices=["synthetic", "ptb"],
                        help="run one task (default: both)")
    parser.add_argument("--ptb", type=Path, default=SHARED_PTB,
                        help="Penn Treebank folder (skipped when absent)")
    ptb = parser.add_argument_group("PTB setting (defaults: --quick's or the full mode's)")
    ptb.add_argument("--ptb-words", type=int, help="first this-many training words")
    ptb.add_argument("--ptb-valid-words", type=int,
                     help="first this-many validation words (default: all 73,760)")
    ptb.add_argument("--ptb-hidden", type=int, help="embedding and hidden width")
    ptb.add_argument("--ptb-batch", type=int, help="batch size (windows of 35 words)")
    ptb.add_argument("--ptb-parent-epochs", type=int, help="epochs the parent trains")
    ptb.add_argument("--ptb-epochs-cap", type=int, help="most epochs a child trains")
    parser.add_argument("--threads", type=int, default=2, help=(
        "torch threads (default 2; on cores that other jobs keep busy, 1 is several times "
        "faster: each op waits for its slowest thread)"))
    parser.add_argument("--results", type=Path,
                        help="JSON file of results, written as they come: a rerun continues")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = TrainerConfig(batch_size=32, lr=3e-3, schedule="constant", weight_decay=0.0,
                           grad_clip=1.0, device="cpu")
    quick = args.quick
    results = Results(args.results)
    if args.only != "ptb":
        setting = Setting(hidden=32, batch_size=32, parent_epochs=4 if quick else 8,
                          epochs_cap=8 if quick else 16, train_words=32 * (600 if quick else 2000))
        synthetic = SyntheticSequence(vocab=64, seq_len=32, train=setting.train_words // 32,
                                      validation=100)
        space = RnnCellSpace(vocab=64, seq_len=32, embedding=32, hidden=32, max_hidden=64)
        run_task("synthetic_sequence", synthetic, space, config, setting, args.seed, results)
    if args.only == "synthetic":
        return
    if not args.ptb.is_dir():
        print(f"\nptb: skipped, no folder {args.ptb}")
        return
    default = (Setting(hidden=48, batch_size=64, parent_epochs=2, epochs_cap=4,
                       train_words=20_000) if quick else
               Setting(hidden=200, batch_size=64, parent_epochs=6, epochs_cap=12,
                       train_words=300_000))
    given = {"hidden": args.ptb_hidden, "batch_size": args.ptb_batch,
             "parent_epochs": args.ptb_parent_epochs, "epochs_cap": args.ptb_epochs_cap,
             "train_words": args.ptb_words, "valid_words": args.ptb_valid_words}
    setting = Setting(**{**asdict(default), **{k: v for k, v in given.items() if v is not None}})
    corpus = TextCorpus(str(args.ptb), seq_len=35, train_limit=setting.train_words)
    space = RnnCellSpace(vocab=corpus.classes, seq_len=35, embedding=setting.hidden,
                         hidden=setting.hidden, max_hidden=2 * setting.hidden)
    run_task("ptb", corpus, space, config, setting, args.seed, results)


if __name__ == "__main__":
    main()
