"""Training throughput of Switch-FFN MobileViTv2 with 1, 4 and 8 experts a layer, vs dense.

All models run in this process on the same batch: one AdamW step (forward, load-balancing
loss, backward, update), images per second, median of ``--repeats`` steps after warm-up,
interleaved round-robin so a change in machine load hits every model alike. The ratio is
``MoE / dense`` (1.0: as fast as the dense model; the CPU target is ≥ 0.7 at 8 experts).
Routed tokens per expert shrink as experts grow, so the ratio measures dispatch overhead.

    python benchmarks/switch_ffn.py                           # CPU: width 0.5, 64 px, batch 64
    python benchmarks/switch_ffn.py --device cuda             # GPU: bf16, 256 px, batch 128
    python benchmarks/switch_ffn.py --device cuda --dispatch sorted   # without grouped GEMM
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import torch
import torch.nn.functional as F

from nasplat.spaces.moe_mobilevit.model import MoEMobileViT


def main() -> None:
    """Parse the arguments, time each model, print one line per model and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--width", type=float, default=0.5)
    parser.add_argument("--size", type=int, help="image size (default: 64 cpu, 256 cuda)")
    parser.add_argument("--batch", type=int, help="batch size (default: 64 cpu, 128 cuda)")
    parser.add_argument("--experts", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--dispatch", default="auto", choices=["auto", "sorted", "grouped"])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()
    cuda = args.device == "cuda"
    size, batch = args.size or (256 if cuda else 64), args.batch or (128 if cuda else 64)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    x = torch.randn(batch, 3, size, size, device=device)
    y = torch.randint(0, 2, (batch,), device=device)
    # the trainer's precision: bf16 autocast on CUDA, fp32 on CPU
    precision = (torch.autocast("cuda", dtype=torch.bfloat16) if cuda
                 else contextlib.nullcontext())
    steps = {}
    for e in [1, *[e for e in args.experts if e != 1]]:
        model = MoEMobileViT([e] * 9, args.width, 2, dispatch=args.dispatch).to(device).train()
        steps[e] = _train_step(model, x, y, precision, cuda)
    times: dict[int, list[float]] = {e: [] for e in steps}
    for _ in range(2):  # warm-up: allocation, kernel selection
        for step in steps.values():
            step()
    for _ in range(args.repeats):
        for e, step in steps.items():
            started = time.perf_counter()
            step()
            times[e].append(time.perf_counter() - started)
    rates = {e: batch / statistics.median(t) for e, t in times.items()}
    print(f"device {args.device}  width {args.width}  {size} px  batch {batch}  "
          f"threads {torch.get_num_threads()}  dispatch {args.dispatch}")
    for e, r in rates.items():
        print(f"experts {e}: {r:8.1f} images/s   ratio to dense {r / rates[1]:.2f}")


def _train_step(model: MoEMobileViT, x: torch.Tensor, y: torch.Tensor,
                precision: contextlib.AbstractContextManager[object], cuda: bool):  # noqa: ANN202
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=True if cuda else None)

    def step() -> None:
        with precision:
            loss = F.cross_entropy(model(x), y)
            if model.aux_loss is not None:
                loss = loss + model.aux_loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if cuda:
            torch.cuda.synchronize()  # a sync per step: time the work, not the launches

    return step


if __name__ == "__main__":
    main()
