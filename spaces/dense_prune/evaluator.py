"""The dense_prune evaluator: heads trained on cached backbone features, K at a time."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from nasplat.config import StudyConfig
from nasplat.dataset import NO_LABEL, Dataset
from nasplat.errors import ConfigError, InvalidGenome, TrialFailed
from nasplat.evaluation import EvaluationRecord, SplitRecord, TrialContext
from nasplat.problem import instantiate, resolve_objectives
from nasplat.scores import ODIN_SCORE, auroc
from nasplat.spaces.dense_prune.batched import (
    first_layer_dtype, head_logits, odin_temperature_scores, padded_columns, train_heads)
from nasplat.spaces.dense_prune.executor import announced
from nasplat.spaces.dense_prune.features import SplitFeatures, cached_features
from nasplat.train.device import resolve_device
from nasplat.train.needs import metric_prefix, needs_of

if TYPE_CHECKING:
    from nasplat.spaces.dense_prune.space import DensePruneSpace

DEFAULT_TEMPERATURE = 1000.0  # ODIN's T (Liang et al., 2018)


@dataclass
class Candidate:
    """One genome to evaluate, with its trial's seed and fidelity (epochs) if any."""

    genome: Any
    seed: int
    fidelity: float | None = None


def open_target(space: DensePruneSpace, config: StudyConfig) -> Dataset:
    """The study's dataset (else the space's default), checked against the space's options."""
    name, options = ((config.dataset.name, config.dataset.options) if config.dataset
                     else (space.default_dataset, {}))
    dataset: Dataset = instantiate("datasets", name, options, "dataset.options")
    if dataset.task != space.task:
        raise ConfigError(f"search space 'dense_prune' classifies images, but dataset "
                          f"'{dataset.name}' is {dataset.task}: pick an image dataset")
    if tuple(dataset.input_shape) != tuple(space.input_shape):
        raise ConfigError(f"dataset '{dataset.name}' gives inputs of shape "
                          f"{tuple(dataset.input_shape)} but the backbone takes "
                          f"{tuple(space.input_shape)}: set space.options.input_shape = "
                          f"{list(dataset.input_shape)}")
    if dataset.classes != space.classes:
        raise ConfigError(f"dataset '{dataset.name}' has {dataset.classes} classes but the head "
                          f"has {space.classes} outputs: set space.options.classes = "
                          f"{dataset.classes}")
    return dataset


class DensePruneEvaluator:
    """Trains each mask's head on cached features with the study's trainer settings.

    Features come from :func:`cached_features` (computed once per backbone and dataset).
    Genomes the ``batched_heads`` executor announced are trained together on the first call;
    the record of each is kept until its own call. Records hold, per evaluated split, labels,
    predictions, probabilities and ODIN scores, so the registered objectives (``val_accuracy``,
    ``ood_auroc`` ...) work unchanged.
    """

    def __init__(self, space: DensePruneSpace, config: StudyConfig, log: Any = print) -> None:
        self.space, self.config, self.trainer, self.log = space, config, config.trainer, log
        self.device = resolve_device(self.trainer.device)
        self.dataset = open_target(space, config)
        splits = self.dataset.splits()
        objectives = resolve_objectives(config, space)
        needs = needs_of(objectives, config.constraints, splits)
        for split in sorted(needs.splits - set(splits)):
            raise ConfigError(f"an objective needs split '{split}', which dataset "
                              f"'{self.dataset.name}' does not have (it has: "
                              f"{', '.join(splits)}); for ood_auroc give the dataset an OoD set "
                              f"(e.g. dataset.options.ood_path for fashion_mnist)")
        # every split is cheap once features are cached: evaluate all, for ensembles too
        self.splits = tuple(s for s in splits if s != "train")
        self.odin = {s: t for s, (t, _) in needs.odin.items()}
        # further OoD sets no objective reads (fashion_mnist's ood2, say): their AUROC against
        # the test split, by temperature scaling, is stored as the metric `<split>_auroc`
        # (unless an objective has that name: ood_auroc reading ood2 leaves ood unscored)
        names = {o.name for o in objectives}
        self.extra_ood = tuple(s for s in self.dataset.extra_sets if s not in self.odin
                               and f"{s}_auroc" not in names and "test" in splits)
        self.epsilon = {s: e for s, (_, e) in needs.odin.items()}
        self._features: dict[str, SplitFeatures] | None = None
        self._columns: dict[str, torch.Tensor] = {}
        self._kept: dict[tuple[str, int], EvaluationRecord | TrialFailed] = {}

    # --- the Evaluator protocol --------------------------------------------------------------

    def evaluate(self, ctx: TrialContext) -> EvaluationRecord:
        """The record of ``ctx.genome``: trained now together with every announced genome, or
        kept from an earlier call that trained it."""
        key = (self.space.genome_hash(ctx.genome), ctx.seed)
        if key not in self._kept:
            batch = [Candidate(ctx.genome, ctx.seed, ctx.fidelity)]
            batch += [c for c in self._announced() if c.fidelity == ctx.fidelity
                      and (self.space.genome_hash(c.genome), c.seed) != key]
            self._kept.clear()  # what an earlier round left (a trial the engine never ran)
            for candidate, outcome in zip(batch, self.evaluate_many(batch)):
                self._kept[(self.space.genome_hash(candidate.genome), candidate.seed)] = outcome
        outcome = self._kept.pop(key)
        if isinstance(outcome, TrialFailed):
            raise outcome
        return outcome

    # --- many at once ------------------------------------------------------------------------

    def features(self) -> dict[str, SplitFeatures]:
        """Backbone features of every split, from the cache after the first time, standardised
        with the training split's per-feature mean and deviation."""
        if self._features is None:
            backbone = self.space.backbone(self.log)
            raw = cached_features(backbone.module, backbone.key, self.dataset,
                                  ("train", *self.splits), self.log)
            # a backbone's features may be of any scale (a small pre-training leaves them
            # near 0.01): standardised, the head's init and learning rate suit every backbone
            self.standardise = Standardise(raw["train"].features)
            self._features = {name: SplitFeatures(self.standardise(f.features), f.labels)
                              for name, f in raw.items()}
        return self._features

    def columns(self, split: str) -> torch.Tensor:
        """The features of ``split`` as the heads take them (:func:`padded_columns`), made
        once: fp32 for training (shuffled each epoch), the dtype of the heads' first layer for
        evaluation."""
        if split not in self._columns:
            columns = padded_columns(self.features()[split].features)
            if split != "train":
                columns = columns.to(first_layer_dtype(self.device, self.trainer.precision,
                                                       columns.dtype))
            self._columns[split] = columns
        return self._columns[split]

    def logits(self, batch: list[Candidate]) -> tuple[dict[str, torch.Tensor], Any]:
        """Train the heads of ``batch`` at once; their logits ``(K, N, C)`` on every split."""
        train = self.features()["train"]
        masks = np.stack([np.asarray(c.genome, dtype=np.float32) for c in batch])
        steps = None
        if batch[0].fidelity is not None:
            per_epoch = max(len(train.labels) // self.trainer.batch_size, 1)
            steps = max(1, round(batch[0].fidelity * per_epoch))
        result = train_heads(masks, [c.seed for c in batch], self.columns("train"), train.labels,
                             hidden=self.space.hidden, classes=self.space.classes,
                             trainer=self.trainer, shuffle_seed=self.config.seed,
                             device=self.device, steps=steps)
        logits = {s: head_logits(result.heads, self.columns(s),
                                 precision=self.trainer.precision) for s in self.splits}
        return logits, result

    def evaluate_many(self, batch: list[Candidate]) -> list[EvaluationRecord | TrialFailed]:
        """One record (or the reason it failed) per candidate, all trained at once."""
        started = time.perf_counter()
        logits, result = self.logits(batch)
        features = self.features()
        # every statistic of every head at once, over class-major logits (K, C, N); full ODIN
        # (through the backbone) is computed per head below
        temperature = self.odin if self.space.odin == "temperature" else {}
        splits = {split: _split_outputs(logits[split].transpose(1, 2), features[split].labels,
                                        temperature.get(split))
                  for split in self.splits}
        extra = self._extra_auroc(logits)
        out: list[EvaluationRecord | TrialFailed] = []
        for k, candidate in enumerate(batch):
            if k in result.failed:
                out.append(TrialFailed(result.failed[k]))
                continue
            record = EvaluationRecord(metrics={
                "train_loss": result.losses[k], "epochs": float(result.epochs),
                "steps": float(result.steps), "heads_at_once": float(len(batch)),
                **{f"{split}_auroc": values[k] for split, values in extra.items()}})
            for split, outputs in splits.items():
                split_record = outputs.record(k)
                if split in self.odin:
                    split_record.attributes[ODIN_SCORE] = (
                        outputs.odin[k].numpy() if outputs.odin is not None else
                        self._odin(split, candidate, result.heads.head_state(k)))
                record.splits[split] = split_record
                if split_record.loss is not None:
                    prefix = metric_prefix(split)
                    record.metrics[f"{prefix}_loss"] = split_record.loss
                    record.metrics[f"{prefix}_accuracy"] = float(np.mean(
                        split_record.predictions == split_record.labels))
            out.append(record)
        # the batch's time, shared: what one trial cost
        seconds = (time.perf_counter() - started) / len(batch)
        for record in out:
            if isinstance(record, EvaluationRecord):
                record.metrics["train_seconds"] = seconds
        return out

    def _extra_auroc(self, logits: dict[str, torch.Tensor]) -> dict[str, list[float]]:
        """Each head's ODIN AUROC (temperature scaling, the test split's temperature) of the
        test split against every further OoD set."""
        if not self.extra_ood:
            return {}
        temperature = self.odin.get("test", DEFAULT_TEMPERATURE)
        inside = odin_temperature_scores(logits["test"], temperature).numpy()
        out = {}
        for split in self.extra_ood:
            outside = odin_temperature_scores(logits[split], temperature).numpy()
            out[split] = [auroc(inside[k], outside[k]) for k in range(len(inside))]
        return out

    def _odin(self, split: str, candidate: Candidate, state: dict[str, torch.Tensor]
              ) -> np.ndarray:
        """Full ODIN, through the backbone with the input perturbation (``space.options.odin =
        "full"``); temperature scaling alone is computed for all heads at once."""
        temperature = self.odin[split]
        from nasplat.spaces.dense_prune.head import PrunedHead
        from nasplat.train import TensorBatches, odin_scores

        head = PrunedHead(candidate.genome, self.space.hidden, self.space.classes)
        head.load_state_dict(state)
        model = torch.nn.Sequential(self.space.backbone(self.log).module, self.standardise,
                                    head).to(self.device)
        batches = TensorBatches(self.dataset.load(split), self.device,
                                self.trainer.device_data_mb * 2**20)
        return odin_scores(model, batches, batch_size=2 * self.trainer.batch_size,
                           temperature=temperature, epsilon=self.epsilon[split])

    def _announced(self) -> list[Candidate]:
        out = []
        for item in announced():
            try:
                genome = self.space.from_json(item.genome_json)
            except InvalidGenome:
                continue  # the engine fails that trial itself, with the reason
            out.append(Candidate(genome, item.seed, item.fidelity))
        return out


class Standardise(torch.nn.Module):
    """``(x - mean) / std`` per feature, with the statistics of the training features."""

    def __init__(self, train: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mean", train.mean(dim=0))
        self.register_buffer("std", train.std(dim=0).clamp_min(1e-6))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return (features.flatten(1) - self.mean) / self.std


@dataclass
class _SplitOutputs:
    """Predictions, probabilities, losses and ODIN scores of K heads on one split."""

    labels: torch.Tensor
    predictions: torch.Tensor  # (K, N)
    probabilities: torch.Tensor  # (K, C, N)
    losses: list[float] | None
    odin: torch.Tensor | None  # (K, N), temperature scaling

    def record(self, k: int) -> SplitRecord:
        """Head ``k``'s record of this split."""
        return SplitRecord(labels=self.labels.numpy(), predictions=self.predictions[k].numpy(),
                           probabilities=self.probabilities[k].T.contiguous().numpy(),
                           loss=None if self.losses is None else self.losses[k])


def _split_outputs(logits: torch.Tensor, labels: torch.Tensor, temperature: float | None
                   ) -> _SplitOutputs:
    """Every head's outputs on one split from class-major logits ``(K, C, N)``: softmax over
    classes in this layout is one fast pass for all heads, where ``(N, C)`` rows are slow."""
    labelled = labels != NO_LABEL
    log_p = logits.log_softmax(dim=1)  # once, for the losses and the probabilities
    losses = None
    if labelled.any():
        target = labels.clamp_min(0).view(1, 1, -1).expand(len(logits), 1, -1)
        picked = log_p.gather(1, target)[:, 0]  # each sample's log-probability of its label
        if not labelled.all():
            picked = picked[:, labelled]
        losses = (-picked.mean(dim=1)).tolist()
    odin = None if temperature is None else odin_temperature_scores(logits, temperature, dim=1)
    # max(dim=1).indices is argmax (the first of equal maxima) without argmax's slow path
    # over a non-last dimension
    return _SplitOutputs(labels, logits.max(dim=1).indices, log_p.exp_(), losses, odin)
