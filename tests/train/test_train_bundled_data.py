"""The trainer on the bundled generated datasets: a language model and an image model."""

from __future__ import annotations

from typing import Any

import pytest

from nasplat import load_study, run_study
from nasplat.config import validate_config
from nasplat.errors import ConfigError
from nasplat.plugins.datasets.synthetic_sequence import best_perplexity
from nasplat.study import prepare


def config(storage: str, **extra: Any) -> dict:
    return {"study": "s", "budget": {"trials": 1}, "storage": storage, **extra}


def test_a_bigram_model_learns_the_sequence_task(storage: str) -> None:
    run_study(config(storage, space="toy_bigram", objectives=["val_perplexity", "test_perplexity"],
                     trainer={"epochs": 3, "batch_size": 32, "lr": 0.05}))
    (trial,) = load_study("s", storage).trials()
    assert trial.status == "complete", trial.error
    # from 64 (nothing learnt) to near the chain's own perplexity
    assert trial.values["val_perplexity"] < 1.3 * best_perplexity()
    assert trial.values["test_perplexity"] < 1.3 * best_perplexity()


@pytest.mark.slow
def test_a_small_cnn_on_synthetic_person_with_every_objective(storage: str) -> None:
    dataset = {"name": "synthetic_person", "options": {
        "image_size": 32, "train": 512, "validation": 128, "test": 128, "ood": 64}}
    objectives = ["val_accuracy", "fairness", "accuracy_gap", "robust_accuracy", "ood_auroc",
                  "overfitting", "flops"]
    run_study(config(storage, space="toy_conv", dataset=dataset, objectives=objectives,
                     trainer={"epochs": 5, "batch_size": 64, "lr": 0.003}))
    (trial,) = load_study("s", storage).trials()
    assert trial.status == "complete", trial.error
    assert trial.values["val_accuracy"] > 0.7 and 0 <= trial.values["ood_auroc"] <= 1
    assert trial.values["fairness"] <= 1.0 and trial.values["flops"] > 0


def test_language_models_cannot_use_odin(storage: str) -> None:
    with pytest.raises(ConfigError, match="drop the ood_auroc objective"):
        prepare(config(storage, space="toy_bigram", objectives=["ood_auroc"],
                       dataset={"name": "synthetic_sequence"}))


def test_a_space_without_a_default_dataset_asks_for_one(storage: str) -> None:
    from nasplat.train import open_dataset
    from trainable_toys import ToyMlp

    space = ToyMlp()
    space.default_dataset = None
    with pytest.raises(ConfigError, match="names no default dataset: set `dataset`"):
        open_dataset(space, validate_config(config(storage, space="train_mlp")))


@pytest.mark.parametrize("space, options, dataset, fix", [
    ("rnn_cell", {"vocab": 16}, {"name": "synthetic_sequence"},
     "has 64 tokens: pass --set space.options.vocab=64"),
    ("resnet_genome", {"classes": 3}, None, "has 2 classes: pass --set space.options.classes=2"),
])
def test_a_space_whose_outputs_miss_the_dataset_classes_is_refused(
        storage: str, space: str, options: dict, dataset: dict | None, fix: str) -> None:
    """Every trial would fail in the loss with an index error (vocab 16 against 64 tokens)."""
    extra = {"dataset": dataset} if dataset else {}
    with pytest.raises(ConfigError, match=f"builds models with .* outputs but dataset .* {fix}"):
        prepare(config(storage, space={"name": space, "options": options}, **extra))
    assert load_study_names(storage) == []


def load_study_names(storage: str) -> list[str]:
    """Names of the studies in the store (none when it was never created)."""
    from nasplat.errors import StoreError
    from nasplat.store import Store, queries

    try:
        store = Store(storage)
    except StoreError:  # a SQLite store that was never made
        return []
    try:
        return [row.name for row, _ in queries.list_studies(store)]
    finally:
        store.close()
