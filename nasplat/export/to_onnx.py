"""ONNX export of a built model, checked against PyTorch with ONNX Runtime."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

RTOL, ATOL = 1e-3, 1e-5
"""How close ONNX Runtime's outputs must be to PyTorch's (float32 kernels differ slightly)."""


def missing_packages() -> list[str]:
    """The ONNX packages that are not installed (the optional extra ``nasplat[export]``)."""
    missing = []
    for module in ("onnx", "onnxruntime"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    return missing


def export_onnx(model: torch.nn.Module, example: Any, check_input: Any, path: Path) -> float:
    """Write ``model`` (in eval mode) to ``path`` with a dynamic batch axis, run it in ONNX
    Runtime on ``check_input`` (another batch size than ``example``) and return the largest
    absolute difference from PyTorch's outputs. Raises ``ValueError`` when they differ by more
    than ``RTOL``/``ATOL``, after deleting the file."""
    import onnxruntime
    import torch

    model.eval()
    example, check_input = _tuple(example), _tuple(check_input)
    inputs = [f"input{i}" if len(example) > 1 else "input" for i in range(len(example))]
    with torch.no_grad():
        expected = _flat(model(*check_input))
    outputs = [f"output{i}" if len(expected) > 1 else "output" for i in range(len(expected))]
    with warnings.catch_warnings():
        # The TorchScript exporter: it needs no onnxscript, and torch still ships it.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, example, str(path), dynamo=False, input_names=inputs,
                          output_names=outputs,
                          dynamic_axes={name: {0: "batch"} for name in [*inputs, *outputs]})
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {name: x.cpu().numpy() for name, x in zip(inputs, check_input)})
    worst = 0.0
    for a, b in zip(expected, got, strict=True):
        a = a.detach().cpu().numpy()
        worst = max(worst, float(np.max(np.abs(a - b))) if a.size else 0.0)
        if a.shape != b.shape or not np.allclose(a, b, rtol=RTOL, atol=ATOL):
            path.unlink()
            raise ValueError(f"ONNX Runtime's outputs differ from PyTorch's (shape {b.shape} vs "
                             f"{a.shape}, largest difference {worst:.3g})")
    return worst


def _tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _flat(value: Any) -> list[torch.Tensor]:
    import torch

    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _flat(v)]
    return [t for v in value for t in _flat(v)]
