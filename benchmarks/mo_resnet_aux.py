"""MO-ResNet's claim: validation loss as an auxiliary objective helps find accurate networks.

Runs NSGA-II on ``resnet_genome`` with the same budget twice per data set and seed: once with
validation accuracy alone, once with validation accuracy + validation loss (Wang, Tang, Ouyang,
arXiv 2505.01313). Both runs of a seed share their first generation (same study seed), so the
comparison is paired. Prints the best validation accuracy each run found, per seed, their
means, and the mean paired difference.

The paper trains each network for epochs on a GPU. Without one, this runs a reduced fidelity
(a subset of the training images, a fixed number of optimiser steps, narrow networks) and says
so in its output; figures from it compare the two settings, not with the paper's accuracies.

    python benchmarks/mo_resnet_aux.py --quick            # 2 seeds, 8 trials, 50 steps
    python benchmarks/mo_resnet_aux.py                    # 5 seeds, 24 trials, 150 steps
    python benchmarks/mo_resnet_aux.py --data ../shared/data --datasets fashion_mnist

Needs Fashion-MNIST and MNIST as IDX files under ``--data`` (``fashion_mnist/``, ``mnist/``).
The store is kept in ``--out``, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from nasplat import load_study, run_study
from nasplat.train.device import resolve_device

SETTINGS = {"accuracy": ["val_accuracy"], "accuracy+loss": ["val_accuracy", "val_loss"]}
FULL = {"seeds": 5, "budget": 24, "population": 6, "steps": 150, "batch_size": 64,
        "channels": 32, "train_limit": 5000, "validation": 2000}
QUICK = {"seeds": 2, "budget": 8, "population": 4, "steps": 50, "batch_size": 32,
         "channels": 16, "train_limit": 1000, "validation": 500}
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def study_config(dataset: str, data: Path, setting: str, seed: int, fidelity: dict,
                 storage: str) -> dict:
    """One NSGA-II study of resnet_genome on 28×28 greyscale images."""
    return {
        "study": f"{dataset}-{setting}-seed{seed}-{fidelity['steps']}x{fidelity['batch_size']}",
        "space": {"name": "resnet_genome", "options": {
            "input_shape": [1, 28, 28], "classes": 10, "max_channels": fidelity["channels"],
            "max_length": 12,
            "init_length": 6}},
        "strategy": {"name": "nsga2", "options": {"population": fidelity["population"]}},
        "objectives": SETTINGS[setting],
        "dataset": {"name": dataset, "options": {
            "path": str(data / dataset), "train_limit": fidelity["train_limit"],
            "validation": fidelity["validation"]}},
        "trainer": {"steps": fidelity["steps"], "batch_size": fidelity["batch_size"], "lr": 3e-3,
                    "keep_weights": "none"},
        "budget": {"trials": fidelity["budget"]},
        "seed": seed,
        "storage": storage,
    }


def best_accuracy(name: str, storage: str) -> float:
    """The highest validation accuracy among the study's complete trials."""
    trials = [t for t in load_study(name, storage).trials() if t.status == "complete"]
    return max(t.metrics["val_accuracy"] for t in trials)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds × 8 trials × 50 steps")
    parser.add_argument("--datasets", default="fashion_mnist,mnist", help="[%(default)s]")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="folder holding fashion_mnist/ and mnist/ [%(default)s]")
    parser.add_argument("--seeds", type=int, help="override the number of seeds")
    parser.add_argument("--budget", type=int, help="override the trials per run")
    parser.add_argument("--out", type=Path, default=Path("mo_resnet_aux.out"),
                        help="folder of the result store [%(default)s]")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads [%(default)s]")
    args = parser.parse_args()
    fidelity = dict(QUICK if args.quick else FULL)
    fidelity.update({k: v for k, v in (("seeds", args.seeds), ("budget", args.budget)) if v})
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{args.out / 'studies.db'}"
    device = resolve_device("auto")
    print(f"device {device}; fidelity: {fidelity['train_limit']} training images, "
          f"{fidelity['validation']} validation images, {fidelity['steps']} steps of batch "
          f"{fidelity['batch_size']} per network, channels ≤ {fidelity['channels']}, ≤ 12 "
          f"genes; NSGA-II population "
          f"{fidelity['population']}, {fidelity['budget']} trials per run, "
          f"{fidelity['seeds']} seeds")
    if device.type == "cpu":
        print("REDUCED FIDELITY (CPU): a subset of the data and a few hundred steps at most; "
              "compare the two settings with each other, not with the paper's accuracies")
    for dataset in args.datasets.split(","):
        if not (args.data / dataset).is_dir():
            print(f"{dataset}: skipped, no folder {args.data / dataset}")
            continue
        best: dict[str, list[float]] = {setting: [] for setting in SETTINGS}
        started = time.perf_counter()
        for seed in range(fidelity["seeds"]):
            for setting in SETTINGS:
                config = study_config(dataset, args.data, setting, seed, fidelity, storage)
                run_study(config)
                best[setting].append(best_accuracy(config["study"], storage))
        print(f"\n{dataset} ({time.perf_counter() - started:.0f} s): best validation accuracy "
              f"found, per seed")
        for setting, values in best.items():
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            print(f"  {setting:<14} {' '.join(f'{v:.4f}' for v in values)}   "
                  f"mean {statistics.mean(values):.4f} ± {spread:.4f}")
        gains = [b - a for a, b in zip(best["accuracy"], best["accuracy+loss"], strict=True)]
        wins = sum(g > 0 for g in gains)
        print(f"  accuracy+loss − accuracy: mean {statistics.mean(gains):+.4f}, better on "
              f"{wins} of {len(gains)} seeds, equal on {sum(g == 0 for g in gains)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
