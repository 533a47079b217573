"""Where a trial runs and in what precision."""

from __future__ import annotations

import contextlib
from typing import Literal

import torch

from nasplat.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU; otherwise the named torch device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"trainer.device = {name!r}: not a torch device; use auto, cpu, "
                          f"cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"trainer.device = {name!r}, but this torch sees no CUDA device: "
                          f"use trainer.device = auto (or cpu)")
    return device


def autocast(device: torch.device, precision: Literal["auto", "bf16", "fp32"]
             ) -> contextlib.AbstractContextManager[object]:
    """bf16 autocast on CUDA (``auto`` or ``bf16``), fp32 otherwise unless ``bf16`` is forced."""
    use_bf16 = precision == "bf16" or (precision == "auto" and device.type == "cuda")
    if not use_bf16:
        return contextlib.nullcontext()
    # bf16 keeps fp32's exponent range: no gradient scaler is needed, unlike fp16
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
