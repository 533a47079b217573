"""One exported architecture: a folder with its genome, values, weights, ONNX model and README.

The folder is self-describing: ``values.json`` names the space and its options, so that
:func:`nasplat.load_model` can rebuild the model through the space plugin.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from nasplat.errors import NasplatError
from nasplat.export import to_onnx
from nasplat.export.retrain import retrain, study_space
from nasplat.space import has_capability
from nasplat.store import queries
from nasplat.study import Study, TrialRecord

GENOME, VALUES, WEIGHTS, ONNX, README = ("genome.json", "values.json", "state_dict.pt",
                                         "model.onnx", "README.md")


@dataclass
class Exported:
    """What was written for one trial, and why anything was left out."""

    number: int
    folder: Path
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def export_trial(study: Study, trial: TrialRecord, folder: Path, *, onnx: bool = True,
                 retrain_missing: bool = False) -> Exported:
    """Write ``trial`` to ``folder``: always its genome and values; its trained weights when
    the study kept them (or, with ``retrain_missing``, after training it again); and then a
    checked ONNX model when onnx and onnxruntime are installed."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in (WEIGHTS, ONNX):  # from an earlier export into this folder
        (folder / stale).unlink(missing_ok=True)
    done = Exported(trial.number, folder)
    _write_json(folder / GENOME, trial.genome)
    done.files.append(GENOME)
    retrained: dict[str, float] | None = None
    weights = _kept_weights(study, trial, done)
    trainable = weights is None and trial.status == "complete" and not _analytic(study)
    if trainable and retrain_missing:
        with tempfile.TemporaryDirectory() as scratch:
            path, retrained = retrain(study, trial, Path(scratch))
            shutil.copyfile(path, folder / WEIGHTS)
        done.notes.append("weights retrained with the study's trainer settings (--retrain): "
                          "their values may differ a little from the stored ones")
    elif trainable:
        done.notes.append("exported as genome only: `nasplat export ... --retrain` trains it "
                          "again with the study's trainer settings")
    elif weights is not None:
        shutil.copyfile(weights, folder / WEIGHTS)
    if (folder / WEIGHTS).is_file():
        done.files.append(WEIGHTS)
        if onnx:
            _onnx(study, trial, folder, done)
    config = study.config["space"]
    _write_json(folder / VALUES, {
        "study": study.name, "number": trial.number, "status": trial.status,
        "space": config["name"], "space_options": config.get("options") or {},
        "objectives": trial.values, "metrics": trial.metrics,
        **({"retrained_metrics": retrained} if retrained is not None else {}),
        "files": [*done.files, VALUES, README], "notes": done.notes})
    done.files.append(VALUES)
    (folder / README).write_text(_readme(study, trial, done), encoding="utf-8")
    done.files.append(README)
    return done


def _kept_weights(study: Study, trial: TrialRecord, done: Exported) -> Path | None:
    """The trial's stored weights file, or ``None`` with a note saying why there is none."""
    row = queries.trial_by_number(study.store, study.row.id or 0, trial.number)
    path = queries.artifacts(study.store, row.id or 0).get("weights") if row else None
    if path and Path(path).is_file():
        return Path(path)
    if path:
        done.notes.append(f"the weights file {path} recorded in the store is missing")
    elif trial.status != "complete":
        done.notes.append(f"trial {trial.number} is {trial.status}: it has no trained weights")
    elif _analytic(study):
        done.notes.append(f"space '{study.row.space}' is evaluated without training: there are "
                          f"no trained weights")
    else:
        done.notes.append("the study did not keep this trial's weights (trainer.keep_weights, "
                          "or a run without an artifact folder)")
    return None


def _analytic(study: Study) -> bool:
    try:
        return has_capability(study_space(study), "evaluate")
    except NasplatError:
        return False


def _onnx(study: Study, trial: TrialRecord, folder: Path, done: Exported) -> None:
    """Add ``model.onnx``, checked against PyTorch, or a note saying why not."""
    missing = to_onnx.missing_packages()
    if missing:
        done.notes.append(f"no {ONNX}: it needs {' and '.join(missing)}: "
                          f"pip install 'nasplat[export]'")
        return
    import torch

    try:
        space = study_space(study)
        model = space.build(space.from_json(trial.genome))
        model.load_state_dict(torch.load(folder / WEIGHTS, map_location="cpu",
                                         weights_only=True))
        worst = to_onnx.export_onnx(model, space.dummy_input(2), space.dummy_input(3),
                                    folder / ONNX)
    except NotImplementedError as exc:
        done.notes.append(f"no {ONNX}: {exc}")
    except Exception as exc:  # an operator ONNX lacks must not stop the export of the rest
        done.notes.append(f"no {ONNX}: the export failed: {str(exc).splitlines()[0][:300]}")
    else:
        done.files.append(ONNX)
        done.notes.append(f"{ONNX} checked with ONNX Runtime: outputs equal PyTorch's within "
                          f"rtol {to_onnx.RTOL}, atol {to_onnx.ATOL} (largest difference "
                          f"{worst:.2g})")


def _readme(study: Study, trial: TrialRecord, done: Exported) -> str:
    values = ", ".join(f"{k} = {v:.6g}" for k, v in trial.values.items()) or "none"
    lines = [f"# Trial {trial.number} of study `{study.name}`", "",
             f"Search space `{study.row.space}`; objectives: {values}.", "",
             f"Files: {', '.join(f'`{f}`' for f in [*done.files, README])}.", ""]
    if WEIGHTS in done.files:
        lines += ["Load it in PyTorch (needs nasplat and the plugin of space "
                  f"`{study.row.space}`):", "", "```python", "import nasplat",
                  f'model = nasplat.load_model("{done.folder}")   # this folder; in eval mode',
                  "outputs = model(inputs)", "```", ""]
    if ONNX in done.files:
        lines += ["Or with ONNX Runtime alone:", "", "```python", "import onnxruntime",
                  f'session = onnxruntime.InferenceSession("{done.folder / ONNX}")',
                  'outputs = session.run(None, {"input": inputs.numpy()})', "```", ""]
    if done.notes:
        lines += ["Notes:", "", *(f"- {note}" for note in done.notes), ""]
    return "\n".join(lines)


def _write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=1) + "\n", encoding="utf-8")
