"""Per-candidate evaluation time of dense_prune heads: uncached vs cached, one-by-one vs batched.

Three ways to evaluate a mask, measured in one run on the same candidates and settings
(trainer defaults: 5 epochs, batch 128, AdamW, cosine):

* **uncached**: the head trained through the frozen backbone, every batch's images going
  through it (nasplat's shared trainer, ``fit`` + ``evaluate_split``, on ``backbone → head``).
  The backbone computes its features as the feature cache does (fp32, outside any autocast),
  so the heads of both paths learn from the same features and only the caching differs; in
  bf16 the head's products run in bfloat16 as the trainer's autocast has them. With bf16 the
  whole model under autocast (backbone in bfloat16 too: other, cheaper features than the
  cached ones) is timed as well and its ratio printed beside;
* **cached, one by one**: the dense_prune evaluator on cached features, one head per call
  (what the ``local`` executor does);
* **cached, batched**: the same evaluator with K = 32 heads trained as one computation (what
  the ``batched_heads`` executor does).

The one-time cost of computing the features is printed apart. The three are timed in
``--repeat`` rounds, each round timing each of them once in each ``--precision`` (interleaved,
so that load from other work on a shared CPU falls on all alike), and the medians are compared.
Targets (issue 7): cached ≥ 50× faster than uncached, batched ≥ 5× faster per candidate than one
by one, on CPU. Both at once need their product, uncached / batched, at ≥ 250×: it is printed
too, since speeding up one head's fixed costs raises the first ratio and lowers the second.

    python benchmarks/dense_prune_eval.py                 # synthetic_glyphs, 1 torch thread
    python benchmarks/dense_prune_eval.py --threads 2 --precision fp32 bf16
    python benchmarks/dense_prune_eval.py --fashion-mnist ../shared/data/fashion_mnist
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

import nasplat.spaces.dense_prune.plugin as plugin
from nasplat import registry
from nasplat.config import validate_config
from nasplat.problem import resolve
from nasplat.scores import ODIN_SCORE
from nasplat.scores import auroc as auroc_of
from nasplat.spaces.dense_prune.batched import first_layer_dtype
from nasplat.spaces.dense_prune.evaluator import Candidate, DensePruneEvaluator
from nasplat.spaces.dense_prune.head import PrunedHead
from nasplat.train import TensorBatches, evaluate_split, fit, seed_everything


class FrozenThenHead(nn.Module):
    """backbone → head, the backbone kept in eval mode (batch norm frozen) while training.

    ``as_cached``: the backbone runs in fp32 outside any autocast, as
    :func:`~nasplat.spaces.dense_prune.features.extract` computes the cached features; else it
    runs under the trainer's autocast like the head."""

    def __init__(self, backbone: nn.Module, head: nn.Module, as_cached: bool = True) -> None:
        super().__init__()
        self.backbone, self.head, self.as_cached = backbone, head, as_cached

    def train(self, mode: bool = True) -> FrozenThenHead:
        super().train(mode)
        self.backbone.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        as_trained = contextlib.nullcontext()
        with torch.no_grad(), (torch.autocast(x.device.type, enabled=False) if self.as_cached
                               else as_trained):
            features = self.backbone(x).float()
        return self.head(features)


CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}


def uncached(evaluator: DensePruneEvaluator, candidate: Candidate,
             clock: Callable[[], float] = time.perf_counter, as_cached: bool = True) -> float:
    """Seconds to train and evaluate one head through the backbone, as the shared trainer would
    (``as_cached``: see :class:`FrozenThenHead`)."""
    space, trainer = evaluator.space, evaluator.trainer
    started = clock()
    generator = seed_everything(candidate.seed)
    model = FrozenThenHead(space.backbone(lambda m: None).module,
                           PrunedHead(candidate.genome, space.hidden, space.classes),
                           as_cached)
    batches = {s: TensorBatches(evaluator.dataset.load(s), evaluator.device, 2**31)
               for s in ("train", *evaluator.splits)}
    steps = trainer.epochs * batches["train"].steps_per_epoch(trainer.batch_size)
    fit(model, batches["train"], trainer, steps=steps, device=evaluator.device,
        generator=generator)
    for split in evaluator.splits:
        evaluate_split(model, batches[split], batch_size=2 * trainer.batch_size,
                       probabilities=True)
    return clock() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heads", type=int, default=32, help="K, heads trained at once")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: stable "
                        "timings on a shared CPU; see docs/spaces/dense_prune.md)")
    parser.add_argument("--uncached", type=int, default=1,
                        help="candidates timed uncached per round")
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds; each times every path once, medians are compared")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall time, or this process's CPU time (steadier when other work "
                        "oversubscribes a shared CPU); the same clock for all three paths")
    parser.add_argument("--fashion-mnist", default=None, help="Fashion-MNIST folder; MNIST "
                        "test as OoD from --ood (default: synthetic_glyphs)")
    parser.add_argument("--ood", default=None, help="OoD folder or .npz for --fashion-mnist")
    parser.add_argument("--train-limit", type=int, default=None)
    parser.add_argument("--precision", nargs="+", choices=["auto", "fp32", "bf16"],
                        default=["auto"], help="trainer.precision for every path; several are "
                        "timed in the same rounds (auto: fp32 on the CPU; bf16 uses AMX where "
                        "the CPU has it)")
    args = parser.parse_args()
    clock = CLOCKS[args.clock]
    torch.set_num_threads(args.threads)
    if "dense_prune" not in registry.get().info:
        registry.get().add(plugin, "dense_prune")
    evaluators = {precision: evaluator_for(args, precision) for precision in args.precision}
    evaluator = next(iter(evaluators.values()))
    space = evaluator.space
    space.backbone()  # pre-trained (once, then cached) before any timing
    started = time.perf_counter()
    for each in evaluators.values():  # features, and the layout the heads read
        for split in ("train", *each.splits):
            each.columns(split)
    features_seconds = time.perf_counter() - started
    rng = np.random.default_rng(0)
    candidates = [Candidate(space.sample(rng), seed) for seed in range(args.heads)]

    rounds = {p: {"uncached": [], "one by one": [], "batched": []} for p in evaluators}
    records: dict[str, list] = {}
    for _ in range(args.repeat):
        for precision, each in evaluators.items():
            times = rounds[precision]
            times["uncached"].append(float(np.mean(
                [uncached(each, c, clock) for c in candidates[:args.uncached]])))
            if autocasts(each):
                times.setdefault(AUTOCAST, []).append(float(np.mean(
                    [uncached(each, c, clock, as_cached=False)
                     for c in candidates[:args.uncached]])))
            started = clock()
            for c in candidates:
                each.evaluate_many([c])
            times["one by one"].append((clock() - started) / len(candidates))
            started = clock()
            records[precision] = each.evaluate_many(candidates)
            times["batched"].append((clock() - started) / len(candidates))

    trainer = evaluator.trainer
    print(f"dataset {evaluator.dataset.name}, {len(evaluator.features()['train'].labels)} "
          f"training samples, P = {space.features}, hidden {space.hidden}, "
          f"{trainer.epochs} epochs, batch {trainer.batch_size}, {args.threads} torch threads, "
          f"{args.clock} clock; medians of {args.repeat} rounds (min to max)")
    print(f"features of every split, once: {features_seconds:.2f} s "
          f"(read from the cache after the first run; laid out for the heads)")
    for precision, times in rounds.items():
        report(precision, times, records[precision], args)


AUTOCAST = "uncached, autocast backbone"


def autocasts(evaluator: DensePruneEvaluator) -> bool:
    """Whether the evaluator's precision runs the shared trainer under autocast (bf16)."""
    return first_layer_dtype(evaluator.device, evaluator.trainer.precision,
                             torch.float32) != torch.float32


def evaluator_for(args: argparse.Namespace, precision: str) -> DensePruneEvaluator:
    """The dense_prune evaluator of the benchmark's study, in ``precision``."""
    config: dict = {"space": "dense_prune", "seed": 0, "trainer": {"precision": precision}}
    if args.fashion_mnist:
        config["dataset"] = {"name": "fashion_mnist", "options": {
            "path": args.fashion_mnist, "ood_path": args.ood, "train_limit": args.train_limit}}
    study = validate_config(config)
    return DensePruneEvaluator(resolve(study).space, study)


def report(precision: str, times: dict[str, list[float]], records: list,
           args: argparse.Namespace) -> None:
    """One precision's times per candidate, the two ratios and the heads' quality."""
    per_uncached, one_by_one, batched = (statistics.median(times[name])
                                         for name in ("uncached", "one by one", "batched"))

    def line(name: str, label: str) -> str:
        values = times[name]
        return (f"  {label:<32}{statistics.median(values) * 1e3:9.1f} ms per candidate "
                f"({min(values) * 1e3:.1f} to {max(values) * 1e3:.1f})")

    print(f"precision {precision}:")
    print(line("uncached", "uncached (through the backbone):") +
          f", {args.uncached} timed per round")
    print(line("one by one", "cached, one by one:"))
    print(line("batched", f"cached, batched K={args.heads}:"))
    print(f"  cached vs uncached:    {per_uncached / one_by_one:6.1f}x   (target >= 50x)")
    print(f"  batched vs one by one: {one_by_one / batched:6.1f}x   (target >= 5x)")
    print(f"  uncached vs batched:   {per_uncached / batched:6.0f}x   (both targets at once "
          f"need >= 250x)")
    if AUTOCAST in times:
        print(line(AUTOCAST, "uncached, backbone in bf16 too:") + " (features other than "
              "the cached ones, for comparison)")
        print(f"  cached vs that:        {statistics.median(times[AUTOCAST]) / one_by_one:6.1f}x")
    done = [r for r in records if hasattr(r, "metrics")]
    accuracy = np.mean([r.metrics["val_accuracy"] for r in done])
    auroc = [auroc_of(r.splits["test"].attributes[ODIN_SCORE],
                      r.splits["ood"].attributes[ODIN_SCORE])
             for r in done if "ood" in r.splits and ODIN_SCORE in r.splits["ood"].attributes]
    print(f"  the {len(done)} batched heads: validation accuracy {accuracy:.4f} mean" +
          (f", OoD AUROC {np.mean(auroc):.4f} mean" if auroc else ""))


if __name__ == "__main__":
    main()
