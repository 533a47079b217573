"""Third-party objectives reach the trainer's record the same way bundled ones do."""

from __future__ import annotations

from typing import Any

from nasplat import hookimpl, load_study, registry, run_study
from nasplat.evaluation import EvaluationRecord
from nasplat.scores import accuracy


class GapObjective:
    """Test accuracy minus validation accuracy; declares no ``needs``."""

    name = "test_minus_val"
    direction = "max"
    cheap = False
    seen_splits: set[str] = set()

    def compute(self, record: EvaluationRecord) -> float:
        """``Acc_test − Acc_val``."""
        GapObjective.seen_splits = set(record.splits)
        return accuracy(record.splits["test"]) - accuracy(record.splits["validation"])


class Plugin:
    @hookimpl
    def nasplat_register_objectives(self, register: Any) -> None:
        register(GapObjective)


def test_an_objective_without_needs_gets_every_evaluation_split(storage: str) -> None:
    registry.get().add(Plugin(), "third_party_objective")
    try:
        run_study({"study": "s", "space": "train_mlp", "budget": {"trials": 1},
                   "storage": storage, "objectives": ["test_minus_val"],
                   "trainer": {"epochs": 2, "batch_size": 32, "lr": 0.01}})
    finally:
        registry.get().remove("third_party_objective")
    (trial,) = load_study("s", storage).trials()
    assert trial.status == "complete", trial.error
    assert GapObjective.seen_splits == {"validation", "test", "ood"}  # never train
    assert trial.values["test_minus_val"] == trial.metrics["test_accuracy"] - \
        trial.metrics["val_accuracy"]
