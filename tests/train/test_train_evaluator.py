"""The trainer through the engine: trials train, fail with reasons, repeat, keep weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from trainable_toys import ToyMlp

from nasplat import load_study, run_study
from nasplat.config import validate_config
from nasplat.errors import ConfigError
from nasplat.evaluation import TrialContext
from nasplat.store import Store, queries
from nasplat.study import prepare
from nasplat.train import TrainingEvaluator
from nasplat.scores import ODIN_SCORE

TRAINER = {"epochs": 3, "batch_size": 32, "lr": 0.01}


def config(storage: str, space: str = "train_mlp", trials: int = 3, **extra: Any) -> dict:
    return {"study": "s", "space": space, "budget": {"trials": trials}, "storage": storage,
            "trainer": TRAINER, **extra}


def test_trials_train_and_report_learning_curves(storage: str) -> None:
    run_study(config(storage))
    trials = load_study("s", storage).trials()
    assert [t.status for t in trials] == ["complete"] * 3
    for t in trials:
        width, depth = t.genome
        assert t.values["params"] == (8 * width + width + (depth - 1) * (width * width + width)
                                      + width * 3 + 3)
        assert t.values["val_accuracy"] > 0.8 and t.metrics["epochs"] == 3
    store = Store(storage)
    row = queries.trials(store, queries.get_study(store, "s").id)[0]
    curve = queries.intermediate_values(store, row.id)
    assert sorted({(c.step, c.name) for c in curve}) == [
        (e, n) for e in (1, 2, 3) for n in ("train_loss", "val_accuracy", "val_loss")]
    last = {c.name: c.value for c in curve if c.step == 3}
    assert last["val_accuracy"] == trials[0].metrics["val_accuracy"]


def test_failures_are_recorded_with_their_reasons_and_the_search_goes_on(storage: str) -> None:
    summary = run_study(config(storage, "toy_faulty", trials=5))
    assert summary.reason == "budget spent"
    reasons = {t.genome: (t.status, t.error) for t in load_study("s", storage).trials()}
    assert reasons["ok"] == ("complete", None)
    assert reasons["nan"][0] == "failed" and "training loss became nan" in reasons["nan"][1]
    assert "training diverged in epoch" in reasons["diverge"][1]
    assert reasons["oom"][1].startswith("out of memory on cpu") and "batch_size" in \
        reasons["oom"][1]
    assert reasons["raise"][1].startswith("ValueError: boom in forward (at trainable_toys.py:")


def test_seeded_studies_repeat_exactly(tmp_path: Path) -> None:
    runs = []
    for i in range(2):
        url = f"sqlite:///{tmp_path / f'{i}.db'}"
        run_study(config(url, trials=2, seed=11))
        runs.append([(t.genome, t.values, t.metrics["train_loss"])
                     for t in load_study("s", url).trials()])
    assert runs[0] == runs[1]


def test_every_bundled_objective_on_one_study(storage: str) -> None:
    objectives = ["val_accuracy", "test_accuracy", "val_loss", "test_loss", "top_k_accuracy",
                  "fairness", "accuracy_gap", "overfitting", "ood_auroc", "params", "flops",
                  "latency_ms", {"name": "robust_accuracy", "options": {"value": "noisy"}}]
    run_study(config(storage, trials=1, objectives=objectives))
    (trial,) = load_study("s", storage).trials()
    assert trial.status == "complete", trial.error
    v = trial.values
    assert v["overfitting"] == pytest.approx(abs(v["val_accuracy"] - v["test_accuracy"]))
    assert 0.5 < v["ood_auroc"] <= 1.0 and v["latency_ms"] > 0
    assert v["flops"] == 2 * (v["params"] - _biases(trial.genome))
    assert v["fairness"] <= 1.0 and 0.0 <= v["accuracy_gap"] <= 1.0


def _biases(genome: list[int]) -> int:
    width, depth = genome
    return width * depth + 3


def test_evaluator_does_only_the_work_objectives_need(tmp_path: Path) -> None:
    evaluator = _evaluator(tmp_path, objectives=["val_accuracy"])
    record = evaluator.evaluate(_ctx([8, 1]))
    assert set(record.splits) == {"validation"} and "latency_ms" not in record.metrics
    odin = _evaluator(tmp_path, objectives=["ood_auroc"]).evaluate(_ctx([8, 1]))
    assert set(odin.splits) == {"validation", "test", "ood"}
    assert ODIN_SCORE in odin.splits["ood"].attributes
    assert odin.splits["test"].attributes["condition"][0] in ("clean", "noisy")  # value names


def test_weights_are_kept_and_warm_start_a_child(tmp_path: Path) -> None:
    evaluator = _evaluator(tmp_path, trainer={**TRAINER, "keep_weights": "all"})
    parent = evaluator.evaluate(_ctx([16, 1], artifact_dir=tmp_path / "t0"))
    path = Path(parent.artifacts["weights"])
    state = torch.load(path, weights_only=True)
    assert set(state) == set(ToyMlp().build([16, 1]).state_dict())
    one_step = _evaluator(tmp_path, trainer={**TRAINER, "steps": 1, "lr": 1e-6})
    child = one_step.evaluate(_ctx([16, 1], parent_genome=[16, 1],
                                    parent_artifacts=parent.artifacts))
    cold = one_step.evaluate(_ctx([16, 1]))
    assert child.metrics["inherited"] == 1.0
    assert child.metrics["val_accuracy"] == pytest.approx(parent.metrics["val_accuracy"],
                                                          abs=0.02)
    assert child.metrics["val_loss"] < cold.metrics["val_loss"]


def test_fidelity_sets_the_epochs(tmp_path: Path) -> None:
    record = _evaluator(tmp_path).evaluate(_ctx([4, 1], fidelity=1.5))
    assert (record.metrics["epochs"], record.metrics["steps"]) == (2, round(1.5 * 7))


def test_progress_callback_sees_each_step_and_epoch(tmp_path: Path) -> None:
    events: list[Any] = []

    class Recorder:
        def trial_started(self, number: int, epochs: int, steps: int) -> None:
            events.append(("start", number, epochs, steps))

        def step(self) -> None:
            events.append("step")

        def epoch_finished(self, epoch: int, values: dict[str, float]) -> None:
            events.append(("epoch", epoch, sorted(values)))

        def trial_finished(self) -> None:
            events.append("end")

    evaluator = _evaluator(tmp_path)
    evaluator.progress = Recorder()
    evaluator.evaluate(_ctx([4, 1]))
    assert events[0] == ("start", 0, 3, 21) and events.count("step") == 21
    assert ("epoch", 1, ["train_loss", "val_accuracy", "val_loss"]) in events
    assert events[-1] == "end"


@pytest.mark.parametrize(("extra", "message"), [
    ({"dataset": "synthetic_sequence"}, "is for tabular_classification but dataset "
                                        "'synthetic_sequence' is language_modelling"),
    ({"objectives": [{"name": "robust_accuracy", "options": {"value": "foggy"}}]},
     "condition = foggy.*one of clean, noisy"),
    ({"objectives": [{"name": "fairness", "options": {"attribute": "age"}}]},
     "needs per-sample attribute 'age'.*provides: group, condition"),
])
def test_config_mismatches_fail_before_any_trial(storage: str, extra: dict, message: str
                                                 ) -> None:
    with pytest.raises(ConfigError, match=message):
        prepare(config(storage, **extra))


def _evaluator(tmp_path: Path, **extra: Any) -> TrainingEvaluator:
    data = {"space": "train_mlp", "storage": f"sqlite:///{tmp_path / 'x.db'}",
            "trainer": TRAINER, **extra}
    return TrainingEvaluator(ToyMlp(), validate_config(data))


def _ctx(genome: list[int], **extra: Any) -> TrialContext:
    return TrialContext(number=0, genome=genome, seed=5, **extra)


def test_rich_progress_shows_a_bar_per_trial_and_removes_it(tmp_path: Path) -> None:
    import io

    from rich.console import Console
    from rich.progress import Progress

    from nasplat.train import RichTrainingProgress

    progress = Progress(console=Console(file=io.StringIO(), force_terminal=True))
    bar = RichTrainingProgress(progress)
    evaluator = _evaluator(tmp_path)
    evaluator.progress = bar
    with progress:
        bar_seen: list[str] = []
        original = bar.epoch_finished

        def spy(epoch: int, values: dict[str, float]) -> None:
            original(epoch, values)
            bar_seen.append(str(progress.tasks[0].description))

        bar.epoch_finished = spy  # type: ignore[method-assign]
        evaluator.evaluate(_ctx([4, 1]))
    assert bar_seen[0].startswith("trial 0 epoch 2/3 train_loss")
    assert progress.tasks == []


@pytest.mark.slow
def test_torch_compile_trains_the_same_model(tmp_path: Path) -> None:
    evaluator = _evaluator(tmp_path, trainer={**TRAINER, "compile": True, "epochs": 1,
                                              "keep_weights": "all"})
    record = evaluator.evaluate(_ctx([8, 1], artifact_dir=tmp_path / "t"))
    state = torch.load(record.artifacts["weights"], weights_only=True)
    assert set(state) == set(ToyMlp().build([8, 1]).state_dict())  # no "_orig_mod." prefix
