"""The shared trainer's time per epoch against a plain hand-written PyTorch loop.

Both train the same model on the same in-memory data with the same work per step (AdamW, a
cosine learning rate set every step, gradient clipping), alternating epoch by epoch (in ABBA
order) so that both see the same machine state; the ratio is the median of the per-pair
ratios, which a busy machine disturbs less than a ratio of medians. Target: ≤ 1.05.
On a shared machine, ``--threads 1`` keeps other processes from skewing the numbers.

    python benchmarks/trainer_overhead.py [--epochs 10] [--model mlp|cnn] [--device auto]
                                          [--threads N]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from nasplat.config import TrainerConfig
from nasplat.dataset import Split
from nasplat.train import TensorBatches, fit, seed_everything
from nasplat.train.device import resolve_device


def make_model(kind: str) -> nn.Module:
    """A small CNN on 3×32×32 images, or an MLP on 256 features; 10 classes."""
    if kind == "mlp":
        return nn.Sequential(nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                             nn.Linear(512, 10))
    return nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 8 * 8, 10))


def make_data(kind: str, n: int) -> Split:
    """Random inputs and labels (speed does not depend on what is learnt)."""
    g = torch.Generator().manual_seed(0)
    shape = (n, 256) if kind == "mlp" else (n, 3, 32, 32)
    return Split(torch.randn(shape, generator=g), torch.randint(0, 10, (n,), generator=g))


def plain_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, inputs: torch.Tensor,
                labels: torch.Tensor, batch_size: int, step: int, total: int, lr: float,
                generator: torch.Generator) -> int:
    """One epoch the way one writes it by hand."""
    model.train()
    order = torch.randperm(len(labels), generator=generator).to(inputs.device)
    for start in range(0, len(labels) - batch_size + 1, batch_size):
        index = order[start:start + batch_size]
        for group in optimizer.param_groups:
            group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / total))
        loss = F.cross_entropy(model(inputs[index]), labels[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        step += 1
    if inputs.device.type == "cuda":
        torch.cuda.synchronize()
    return step


def main() -> None:
    """Time both loops epoch by epoch and print the medians and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--model", choices=("cnn", "mlp"), default="mlp")
    parser.add_argument("--samples", type=int, default=4096)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    config = TrainerConfig(batch_size=args.batch_size, lr=1e-3, weight_decay=0.05,
                           grad_clip=1.0, device=str(device), precision="fp32")
    split = make_data(args.model, args.samples)
    batches = TensorBatches(split, device, 2**34)
    per_epoch = batches.steps_per_epoch(args.batch_size)
    total = args.epochs * per_epoch

    seed_everything(0)
    plain_model = make_model(args.model).to(device)
    trainer_model = make_model(args.model).to(device)
    trainer_model.load_state_dict(plain_model.state_dict())
    optimizer = torch.optim.AdamW(plain_model.parameters(), lr=1e-3, weight_decay=0.05)
    plain_generator, trainer_generator = seed_everything(1), seed_everything(1)
    inputs, labels = batches.inputs, batches.labels

    def run_plain() -> float:
        nonlocal step
        started = time.perf_counter()
        step = plain_epoch(plain_model, optimizer, inputs, labels, args.batch_size, step,
                           total + 2 * per_epoch, config.lr, plain_generator)
        return time.perf_counter() - started

    def run_trainer() -> float:
        started = time.perf_counter()
        # one epoch per call; the trainer's own once-per-epoch sync is included
        fit(trainer_model, batches, config, steps=per_epoch, device=device,
            generator=trainer_generator)
        return time.perf_counter() - started

    plain_times, trainer_times, step = [], [], 0
    run_plain(), run_trainer()  # warm-up: allocator, kernel selection; not counted
    for epoch in range(args.epochs):
        if epoch % 2 == 0:
            plain_times.append(run_plain())
            trainer_times.append(run_trainer())
        else:
            trainer_times.append(run_trainer())
            plain_times.append(run_plain())
    p, t = statistics.median(plain_times), statistics.median(trainer_times)
    ratio = statistics.median(b / a for a, b in zip(plain_times, trainer_times, strict=True))
    print(f"device {device}, model {args.model}, {args.samples} samples, batch "
          f"{args.batch_size}, {per_epoch} steps/epoch, threads {torch.get_num_threads()}")
    print(f"plain loop   {p * 1000:8.1f} ms/epoch (median of {args.epochs})")
    print(f"nasplat fit  {t * 1000:8.1f} ms/epoch (median of {args.epochs})")
    print(f"ratio        {ratio:8.3f}  (median of per-epoch ratios; target <= 1.05)")

if __name__ == "__main__":
    main()
