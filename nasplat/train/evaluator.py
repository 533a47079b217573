"""The evaluator of every space that trains: build, warm-start, train, evaluate, keep weights."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from nasplat.config import StudyConfig
from nasplat.dataset import Dataset
from nasplat.errors import ConfigError, TrialFailed
from nasplat.evaluation import EvaluationRecord, TrialContext
from nasplat.problem import instantiate, resolve_objectives
from nasplat.space import SearchSpace, has_capability
from nasplat.train.batches import TensorBatches
from nasplat.train.cost import count_flops, count_params, measure_latency
from nasplat.train.device import resolve_device
from nasplat.train.evaluate import evaluate_split, odin_scores
from nasplat.train.loop import fit
from nasplat.train.needs import LATENCY_METRIC, Needs, metric_prefix, needs_of
from nasplat.train.progress import SilentProgress, TrainingProgress
from nasplat.scores import ODIN_SCORE, accuracy
from nasplat.train.seeding import seed_everything

if TYPE_CHECKING:
    from nasplat.evaluation import SplitRecord

WEIGHTS_FILE = "weights.pt"


def open_dataset(space: SearchSpace, config: StudyConfig) -> Dataset:
    """The study's dataset (``config.dataset``, else the space's default), checked against it."""
    choice = config.dataset
    if choice is None:
        if space.default_dataset is None:
            raise ConfigError(f"search space '{space.name}' trains models but names no default "
                              f"dataset: set `dataset` in the config (see `nasplat datasets`)")
        name, options = space.default_dataset, {}
    else:
        name, options = choice.name, choice.options
    dataset: Dataset = instantiate("datasets", name, options, "dataset.options")
    if space.task != dataset.task:
        raise ConfigError(f"search space '{space.name}' is for {space.task} but dataset "
                          f"'{dataset.name}' is {dataset.task}: pick a {space.task} dataset "
                          f"(see `nasplat datasets`)")
    try:
        dummy = space.dummy_input(1)
    except NotImplementedError:
        return dataset
    shape = tuple(dummy.shape[1:])
    if shape != tuple(dataset.input_shape):
        raise ConfigError(f"search space '{space.name}' builds models for inputs of shape "
                          f"{shape} but dataset '{dataset.name}' gives "
                          f"{tuple(dataset.input_shape)}: pick a matching dataset or change the "
                          f"space's options")
    _check_outputs(space, dataset, dummy)
    return dataset


def _check_outputs(space: SearchSpace, dataset: Dataset, dummy: torch.Tensor) -> None:
    """A model of the space must give one output per class of the dataset (per token of its
    vocabulary): otherwise every trial would fail deep in the loss with an index error."""
    model = space.build(space.sample(np.random.default_rng(0)))
    model.eval()
    with torch.no_grad():
        out = model(dummy)
    if isinstance(out, (tuple, list)) and out:
        out = out[0]
    if not isinstance(out, torch.Tensor) or out.dim() < 2 or out.shape[-1] == dataset.classes:
        return
    fields = getattr(getattr(space, "Options", None), "model_fields", {})
    option = next((name for name in ("classes", "vocab") if name in fields), None)
    fix = (f"pass --set space.options.{option}={dataset.classes}" if option is not None
           else "pick a dataset with as many classes as the space's models give")
    raise ConfigError(f"search space '{space.name}' builds models with {out.shape[-1]} outputs "
                      f"but dataset '{dataset.name}' has {dataset.classes} "
                      f"{'tokens' if dataset.task == 'language_modelling' else 'classes'}: {fix}")


class TrainingEvaluator:
    """Builds each genome, trains it with the study's trainer settings, evaluates its splits.

    The built model maps a batch of inputs to logits ``(B, classes)``, or ``(B, T, vocab)`` for
    language modelling. Set ``progress`` (e.g. a :class:`RichTrainingProgress`) to show
    training; it is silent by default.
    """

    def __init__(self, space: SearchSpace, config: StudyConfig,
                 progress: TrainingProgress | None = None) -> None:
        self.space, self.config, self.trainer = space, config, config.trainer
        self.progress: TrainingProgress = progress or SilentProgress()
        self.device = resolve_device(self.trainer.device)
        self.dataset = open_dataset(space, config)
        self.needs: Needs = needs_of(resolve_objectives(config, space), config.constraints,
                                     self.dataset.splits())
        self._check_needs()
        self._batches: dict[str, TensorBatches] = {}
        self._attributes: dict[str, dict[str, np.ndarray]] = {}

    # --- one trial -------------------------------------------------------------------------------

    def evaluate(self, ctx: TrialContext) -> EvaluationRecord:
        """Train ``ctx.genome`` and evaluate it; a bad run raises :class:`TrialFailed`."""
        train = self._split("train")
        generator = seed_everything(ctx.seed)
        model = self.space.build(ctx.genome)
        record = EvaluationRecord()
        record.metrics.update(self._warm_start(model, ctx))
        record.metrics.update(self._cost(model))
        model.to(self.device)
        runner = torch.compile(model) if self.trainer.compile else model
        steps = self._steps(ctx, train)
        epochs = math.ceil(steps / train.steps_per_epoch(self.trainer.batch_size))
        self.progress.trial_started(ctx.number, epochs, steps)
        try:
            result = fit(runner, train, self.trainer, steps=steps, device=self.device,
                         generator=generator, progress=self.progress,
                         on_epoch=lambda epoch, loss, last: self._epoch_done(
                             runner, ctx, epoch, loss, last))
            record.metrics.update(train_loss=result.epoch_losses[-1], epochs=result.epochs,
                                  steps=result.steps, train_seconds=result.seconds)
            self._evaluate_splits(runner, record)
            for name in self._curve_names():  # the last epoch's point of the learning curve
                if name in record.metrics:
                    ctx.report(result.epochs, name, record.metrics[name])
        except torch.OutOfMemoryError as exc:
            first = str(exc).splitlines()[0] if str(exc) else "out of memory"
            raise TrialFailed(f"out of memory on {self.device} ({first[:120]}): lower "
                              f"trainer.batch_size (now {self.trainer.batch_size}) or bound the "
                              f"model size with a constraint") from None
        finally:
            self.progress.trial_finished()
        if self.trainer.keep_weights != "none" and ctx.artifact_dir is not None:
            record.artifacts["weights"] = str(self._save(model, ctx.artifact_dir))
        return record

    # --- steps of a trial ------------------------------------------------------------------------

    def _steps(self, ctx: TrialContext, train: TensorBatches) -> int:
        """Optimiser steps: the trial's fidelity (in epochs) if set, else the trainer's budget."""
        per_epoch = train.steps_per_epoch(self.trainer.batch_size)
        if ctx.fidelity is not None:
            if ctx.fidelity <= 0:
                raise TrialFailed(f"trial fidelity {ctx.fidelity} is not a positive number of "
                                  f"epochs")
            return max(1, round(ctx.fidelity * per_epoch))
        return self.trainer.steps or self.trainer.epochs * per_epoch

    def _warm_start(self, model: nn.Module, ctx: TrialContext) -> dict[str, float]:
        """Load the child's state from the parent's weights when the space can inherit."""
        if ctx.parent_genome is None or not has_capability(self.space, "inherit"):
            return {}
        path = ctx.parent_artifacts.get("weights")
        if not path or not Path(path).is_file():
            return {"inherited": 0.0}  # the parent's weights were not kept: train from scratch
        parent_state = torch.load(path, map_location="cpu", weights_only=True)
        state = self.space.inherit(ctx.parent_genome, parent_state,  # type: ignore[attr-defined]
                                   ctx.genome)
        model.load_state_dict(state, strict=False)
        return {"inherited": 1.0}

    def _cost(self, model: nn.Module) -> dict[str, float]:
        """Parameters and FLOPs, plus CPU latency when asked, of the model on one sample."""
        sample = self._split("validation").inputs[:1].cpu()
        out = {"params": float(count_params(model)), "flops": float(count_flops(model, sample))}
        if self.needs.latency is not None:
            repeats, warmup = self.needs.latency
            out[LATENCY_METRIC] = measure_latency(model, sample, repeats, warmup)
        return out

    def _epoch_done(self, model: nn.Module, ctx: TrialContext, epoch: int, loss: float,
                    last: bool) -> None:
        """Report the learning curve; the last epoch is reported from the final evaluation."""
        values = {"train_loss": loss}
        if not last:
            split = evaluate_split(model, self._split("validation"),
                                   batch_size=2 * self.trainer.batch_size,
                                   precision=self.trainer.precision)
            values.update(_summary("validation", split, self.dataset.task))
            model.train()
            for name, value in values.items():
                ctx.report(epoch, name, value)
        self.progress.epoch_finished(epoch, values)

    def _evaluate_splits(self, model: nn.Module, record: EvaluationRecord) -> None:
        """One pass per needed split, then ODIN scores where asked."""
        # no gradients are kept in evaluation, so twice the batch fits in the same memory
        batch_size = 2 * self.trainer.batch_size
        for name in sorted(self.needs.splits):
            split = evaluate_split(model, self._split(name), batch_size=batch_size,
                                   precision=self.trainer.precision,
                                   attributes=self._attributes[name],
                                   probabilities=name in self.needs.probabilities)
            if name in self.needs.odin:
                temperature, epsilon = self.needs.odin[name]
                split.attributes[ODIN_SCORE] = odin_scores(
                    model, self._split(name), batch_size=batch_size, temperature=temperature,
                    epsilon=epsilon)
            record.splits[name] = split
            record.metrics.update(_summary(name, split, self.dataset.task))

    def _save(self, model: nn.Module, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / WEIGHTS_FILE
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, path)
        return path

    # --- data ------------------------------------------------------------------------------------

    def _split(self, name: str) -> TensorBatches:
        """A split's batches, loaded and moved to the device on first use, then reused."""
        if name not in self._batches:
            split = self.dataset.load(name)
            self._batches[name] = TensorBatches(split, self.device,
                                                self.trainer.device_data_mb * 2**20)
            names = self.dataset.attributes
            # objectives see value names ("poorly_lit"), not the dataset's integer codes
            self._attributes[name] = {
                key: np.asarray(names[key])[codes] if key in names else codes
                for key, codes in split.attributes.items()}
        return self._batches[name]

    def _check_needs(self) -> None:
        """Fail before any trial when an objective needs what the dataset lacks."""
        if self.needs.odin and self.dataset.task == "language_modelling":
            raise ConfigError(f"ODIN perturbs inputs, which dataset '{self.dataset.name}' gives "
                              f"as token ids: drop the ood_auroc objective")
        splits = self.dataset.splits()
        for split in sorted(self.needs.splits - set(splits)):
            raise ConfigError(f"an objective needs split '{split}', which dataset "
                              f"'{self.dataset.name}' does not have (it has: "
                              f"{', '.join(splits)}); pick another dataset or objective")
        for need, (objective, value) in self.needs.attributes.items():
            attribute = need.partition("=")[0]
            if attribute not in self.dataset.attributes:
                have = ", ".join(self.dataset.attributes) or "none"
                raise ConfigError(f"objective '{objective}' needs per-sample attribute "
                                  f"'{attribute}', which dataset '{self.dataset.name}' does not "
                                  f"provide (it provides: {have}); pick a dataset with it, e.g. "
                                  f"synthetic_person")
            values = self.dataset.attributes[attribute]
            if value is not None and value not in values:
                raise ConfigError(f"objective '{objective}' looks for {attribute} = {value}, "
                                  f"which dataset '{self.dataset.name}' does not have: set the "
                                  f"objective's option value to one of {', '.join(values)}")

    def _curve_names(self) -> list[str]:
        return ["train_loss", *_summary_names("validation", self.dataset.task)]


def _summary_names(split: str, task: str) -> list[str]:
    prefix = metric_prefix(split)
    if task == "language_modelling":
        return [f"{prefix}_loss", f"{prefix}_perplexity"]
    return [f"{prefix}_loss", f"{prefix}_accuracy"]


def _summary(split: str, record: SplitRecord, task: str) -> dict[str, float]:
    """The split's loss and accuracy (or perplexity), named ``val_loss``, ``test_accuracy`` ..."""
    if record.loss is None:
        return {}  # an unlabelled set (out-of-distribution images) has neither
    loss_name, other = _summary_names(split, task)
    if task == "language_modelling":
        return {loss_name: record.loss, other: math.exp(min(record.loss, 700.0))}
    return {loss_name: record.loss, other: accuracy(record)}

