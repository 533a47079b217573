"""Study configuration: pydantic models, loaded from YAML or TOML, overridden by CLI flags.

Every model forbids unknown keys, so a typo fails before anything runs with the field, the
value and what is allowed.
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, ValidationError,
                      field_validator, model_validator)

from nasplat.errors import ConfigError

DEFAULT_STORAGE = "sqlite:///nasplat.db"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class PluginChoice(_Strict):
    """A plugin by name plus its options (validated later by the plugin's ``Options``)."""

    name: str = Field(min_length=1)
    options: dict[str, Any] = Field(default_factory=dict)


class ObjectiveChoice(_Strict):
    """An objective by name; ``direction`` overrides (or, for a bare metric, sets) min/max."""

    name: str = Field(min_length=1)
    direction: Literal["min", "max"] | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class Bound(_Strict):
    """Allowed range of a metric: ``min`` ≤ value ≤ ``max`` (either may be left out)."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Bound:
        if self.min is None and self.max is None:
            raise ValueError("give at least one of min and max, e.g. {max: 3e6}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is larger than max ({self.max})")
        return self

    def violation(self, value: float) -> float:
        """0 inside the range; otherwise the distance to it, relative to the bound's size."""
        if not math.isfinite(value):
            return math.inf
        if self.min is not None and value < self.min:
            return (self.min - value) / max(abs(self.min), 1e-12)
        if self.max is not None and value > self.max:
            return (value - self.max) / max(abs(self.max), 1e-12)
        return 0.0


class Budget(_Strict):
    """When a study stops: after ``trials`` trials and/or ``seconds`` of run time in total."""

    trials: PositiveInt | None = 50
    seconds: PositiveFloat | None = None
    count_infeasible: bool = False
    """Whether infeasible genomes (never evaluated) count toward ``trials``."""


class TrainerConfig(_Strict):
    """Settings of the shared trainer, the same for every trial of a study."""

    epochs: PositiveInt = 5
    steps: PositiveInt | None = None
    """Optimiser steps per trial; set, it replaces ``epochs`` (for budgets under an epoch)."""
    batch_size: PositiveInt = 128
    optimizer: Literal["adamw", "sgd"] = "adamw"
    lr: PositiveFloat = 1e-3
    momentum: float = Field(default=0.9, ge=0, lt=1)
    """SGD only; 0.9 is the value of the ResNet papers."""
    weight_decay: float = Field(default=0.05, ge=0)
    schedule: Literal["cosine", "step", "constant"] = "cosine"
    """cosine: to 0 over the run, per step; step: ×0.1 at 50 % and 75 % of the steps (ResNet)."""
    label_smoothing: float = Field(default=0.0, ge=0, lt=1)
    grad_clip: float | None = Field(default=1.0, gt=0)
    divergence_factor: float = Field(default=10.0, gt=1)
    """Fail a trial whose mean training loss over an epoch exceeds this multiple of its first
    batch's loss: a run blowing up slowly, before its loss turns inf or NaN."""
    device: str = "auto"
    """``auto``: CUDA when available, else CPU; or any torch device (``cpu``, ``cuda:1``)."""
    precision: Literal["auto", "bf16", "fp32"] = "auto"
    """``auto``: bf16 autocast on CUDA, fp32 on CPU (bf16 on most CPUs is slower than fp32)."""
    compile: bool = False
    device_data_mb: PositiveInt = 2048
    """Splits up to this size are copied to the device once and batches are sliced there;
    bigger ones stay in (pinned) host memory and go over batch by batch."""
    keep_weights: Literal["pareto", "all", "none"] = "pareto"
    """Save each trial's trained weights (``pareto`` saves them all: the front is known only
    later, when dominated trials' weights can be pruned)."""


class StudyConfig(_Strict):
    """Everything that defines a study: what to search, what to want, how to search."""

    study: str | None = Field(default=None, min_length=1, max_length=200)
    space: PluginChoice
    strategy: PluginChoice = Field(default_factory=lambda: PluginChoice(name="random"))
    objectives: list[ObjectiveChoice] | None = None
    """``None`` uses the space's default objectives."""
    constraints: dict[str, Bound] = Field(default_factory=dict)
    budget: Budget = Field(default_factory=Budget)
    dataset: PluginChoice | None = None
    trainer: TrainerConfig = Field(default_factory=TrainerConfig)
    executor: PluginChoice = Field(default_factory=lambda: PluginChoice(name="local"))
    seed: int = Field(default=0, ge=0, lt=2**32)
    storage: str = DEFAULT_STORAGE
    artifacts: str | None = None
    """Folder for trial files (trained weights); default: ``<store file>.artifacts`` beside a
    SQLite store, else ``nasplat-artifacts`` in the working directory."""
    heartbeat_seconds: PositiveFloat = 10.0
    stale_after_seconds: PositiveFloat = 120.0
    """A running trial whose heartbeat is older than this (or whose local worker process is
    gone) is considered abandoned and re-run with the same genome."""
    max_attempts: PositiveInt = 3
    """A trial whose worker died this many times while running it is failed, not re-run."""

    @field_validator("objectives")
    @classmethod
    def _objectives_unique(cls, value: list[ObjectiveChoice] | None
                           ) -> list[ObjectiveChoice] | None:
        if value is not None:
            if not value:
                raise ValueError("list at least one objective, or leave the key out to use "
                                 "the space's defaults")
            names = [o.name for o in value]
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                raise ValueError(f"objective {dup[0]!r} is listed twice")
        return value


def load_config_file(path: str | Path) -> dict[str, Any]:
    """The raw mapping in a YAML (``.yaml``/``.yml``) or TOML (``.toml``) file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist: give the path of a .toml or "
                          f".yaml study config")
    text = path.read_text()
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text) or {}
        else:
            raise ConfigError(f"config file {path}: unknown format '{path.suffix}', use .toml, "
                              f".yaml or .yml")
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise ConfigError(f"config file {path} does not parse: {first}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: the top level must be a mapping of keys "
                          f"(space, strategy, budget, ...), not {type(data).__name__}")
    return data


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``data["a"]["b"] = value`` for ``dotted == "a.b"``, creating mappings on the way."""
    *parents, last = dotted.split(".")
    node = data
    for key in parents:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"cannot set '{dotted}': '{key}' is {child!r}, not a mapping")
        node = child
    node[last] = value


def parse_value(text: str) -> Any:
    """A ``--set key=value`` value: JSON when it parses (numbers, booleans, lists), else text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def validate_config(data: dict[str, Any], source: str = "config") -> StudyConfig:
    """A :class:`StudyConfig` from a mapping, or a :class:`ConfigError` naming each bad field."""
    data = normalise(data)
    try:
        return StudyConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None


def validate_options(model: type[BaseModel], options: dict[str, Any], where: str) -> BaseModel:
    """A plugin's options validated by its ``Options`` model, errors naming ``where``."""
    try:
        return model.model_validate(options)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, where)) from None


def with_defaults(config: StudyConfig, defaults: dict[str, Any], source: str) -> StudyConfig:
    """``config`` with ``defaults`` (a partial config a space suggests) under what was set.

    A key the config left unset takes the default; a plugin choice (``dataset`` ...) takes the
    default's options only when it names the same plugin. A stored (resumed) config has every
    key set, so its defaults never change.
    """
    return validate_config(_under(config.model_dump(exclude_unset=True), defaults), source)


def _under(given: Any, default: Any) -> Any:
    if not isinstance(given, dict) or not isinstance(default, dict):
        return given
    if given.get("name", default.get("name")) != default.get("name"):
        return given  # another plugin than the default's: its options do not apply
    return {**default, **{k: _under(v, default.get(k)) for k, v in given.items()}}


def format_validation_error(exc: ValidationError, source: str) -> str:
    """One line per problem: ``source, a.b = value: reason``."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(part) for part in err["loc"]) or "(top level)"
        reason = err["msg"]
        if err["type"] == "extra_forbidden":
            reason = "unknown key; check its spelling"
        elif err["type"] == "missing":
            lines.append(f"{source}, {loc}: missing; it is required")
            continue
        value = err.get("input")
        shown = json.dumps(value, default=str) if not isinstance(value, dict) else "{...}"
        lines.append(f"{source}, {loc} = {shown}: {reason}")
    return "\n".join(lines)


def normalise(data: dict[str, Any]) -> dict[str, Any]:
    """Accept ``space = "name"`` for ``space = {name = "name"}`` (also strategy, dataset ...)."""
    data = dict(data)
    for key in ("space", "strategy", "dataset", "executor"):
        if isinstance(data.get(key), str):
            data[key] = {"name": data[key]}
    if isinstance(data.get("objectives"), list):
        data["objectives"] = [{"name": o} if isinstance(o, str) else o
                              for o in data["objectives"]]
    if isinstance(data.get("budget"), int) and not isinstance(data.get("budget"), bool):
        data["budget"] = {"trials": data["budget"]}
    return data
