"""Training a stored trial again, with its study's trainer settings, to get its weights."""

from __future__ import annotations

from pathlib import Path

from nasplat.config import StudyConfig
from nasplat.errors import ConfigError
from nasplat.evaluation import TrialContext
from nasplat.problem import instantiate
from nasplat.space import SearchSpace, has_capability
from nasplat.store import queries
from nasplat.study import Study, TrialRecord


def study_space(study: Study) -> SearchSpace:
    """The study's search space, built from its stored config (the plugin must be installed)."""
    config = study.config["space"]
    return instantiate("spaces", config["name"], config.get("options") or {}, "space.options")


def retrain(study: Study, trial: TrialRecord, folder: Path) -> tuple[Path, dict[str, float]]:
    """Train ``trial``'s genome as its study did (same trainer, dataset, seed and fidelity);
    return the saved weights' path, under ``folder``, and the new run's metrics."""
    from nasplat.train import TrainingEvaluator

    space = study_space(study)
    if has_capability(space, "evaluate"):
        raise ConfigError(f"search space '{space.name}' is evaluated without training: it has "
                          f"no weights to retrain")
    config = StudyConfig.model_validate_json(study.row.config_json)
    # keep the weights whatever the study chose: they are what --retrain is for
    config = config.model_copy(update={"trainer": config.trainer.model_copy(
        update={"keep_weights": "all"})})
    row = queries.trial_by_number(study.store, study.row.id or 0, trial.number)
    ctx = TrialContext(number=trial.number, genome=space.from_json(trial.genome),
                       seed=trial.seed, fidelity=row.fidelity if row else None,
                       artifact_dir=folder)
    record = TrainingEvaluator(space, config).evaluate(ctx)
    return Path(record.artifacts["weights"]), record.metrics
