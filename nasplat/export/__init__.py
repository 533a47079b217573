"""Taking architectures away: a folder per trial with genome, values, weights, ONNX, README;
and :func:`load_model` to rebuild one."""

from nasplat.export.bundle import Exported, export_trial
from nasplat.export.load import load_model, space_of
from nasplat.export.retrain import retrain
from nasplat.export.to_onnx import missing_packages as missing_onnx_packages

__all__ = ["Exported", "export_trial", "load_model", "missing_onnx_packages", "retrain",
           "space_of"]
