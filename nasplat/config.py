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
    """An objective by name; ``direction`` overrides (or, for a bare metric, sets) min/max;
    ``best`` declares (or overrides) the best value it can take, a hard bound such as 0 for
    an error: ``bo`` then credits no predicted improvement beyond it."""

    name: str = Field(min_length=1)
    direction: Literal["min", "max"] | None = None
    best: float | None = Field(default=None, allow_inf_nan=False)
    options: dict[str, Any] = Field(default_factory=dict)


class Bound(_Strict):
    """Allowed range of a metric: ``min`` ≤ value ≤ ``max`` (either may be left out)."""

    min: float | None = Field(default=None, allow_inf_nan=False)
    max: float | None = Field(default=None, allow_inf_nan=False)

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
    lr: PositiveFloat = Field(default=1e-3, allow_inf_nan=False)
    momentum: float = Field(default=0.9, ge=0, lt=1)
    """SGD only; 0.9 is the value of the ResNet papers."""
    weight_decay: float = Field(default=0.05, ge=0, allow_inf_nan=False)
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

    @field_validator("study")
    @classmethod
    def _printable_name(cls, value: str | None) -> str | None:
        if value is not None and any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValueError("a study name cannot hold control characters (NUL, newline, "
                             "tab ...); use letters, digits and punctuation")
        return value

    @field_validator("storage", "artifacts")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:
            raise ValueError("a URL or path cannot hold a NUL character")
        return value

    @model_validator(mode="after")
    def _heartbeat_before_stale(self) -> StudyConfig:
        if self.stale_after_seconds <= self.heartbeat_seconds:
            raise ValueError(f"stale_after_seconds ({self.stale_after_seconds:g}) must be "
                             f"longer than heartbeat_seconds ({self.heartbeat_seconds:g}), or "
                             f"every running trial looks abandoned and is run again; e.g. "
                             f"{4 * self.heartbeat_seconds:g}")
        return self

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
    if path.suffix not in (".toml", ".yaml", ".yml"):
        raise ConfigError(f"config file {path}: unknown format '{path.suffix}', use .toml, "
                          f".yaml or .yml")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text (byte {exc.start}): save it "
                          f"as UTF-8") from None
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        else:
            data = yaml.safe_load(text)
            data = {} if data is None else data
        if isinstance(data, dict):
            _check_acyclic(data, str(path))
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise ConfigError(f"config file {path} does not parse: {first}") from None
    except RecursionError:
        raise ConfigError(f"config file {path} does not parse: it nests too deeply") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: the top level must be a mapping of keys "
                          f"(space, strategy, budget, ...), not {type(data).__name__}")
    return data


MAX_DEPTH = 32
"""How deeply a config file may nest lists and mappings (a study config needs about four)."""


def _check_acyclic(data: Any, source: str) -> None:
    """Refuse a YAML anchor used inside itself (``a: &x [*x]``), and nesting deeper than
    :data:`MAX_DEPTH`: a config is a small finite tree."""
    done: set[int] = set()  # a shared anchor is checked once, however often it is used

    def visit(value: Any, within: list[int]) -> None:
        if not isinstance(value, (dict, list)) or id(value) in done:
            return
        if id(value) in within:
            raise ConfigError(f"config file {source}: an anchor (&name) is used inside itself "
                              f"(*name); a config cannot contain itself")
        if len(within) >= MAX_DEPTH:
            raise ConfigError(f"config file {source} nests lists and mappings more than "
                              f"{MAX_DEPTH} levels deep; a study config needs a few")
        within.append(id(value))
        for item in value.values() if isinstance(value, dict) else value:
            visit(item, within)
        within.pop()
        done.add(id(value))

    visit(data, [])


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
    except RecursionError:
        raise ConfigError(f"--set value {text[:40]}…: it nests too deeply to read") from None


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
        loc = ".".join(_key(part) for part in err["loc"])
        reason = err["msg"]
        if err["type"] == "extra_forbidden":
            reason = "unknown key; check its spelling"
        elif err["type"] == "value_error" and "error" in err.get("ctx", {}):
            reason = str(err["ctx"]["error"])  # our own message, without "Value error, "
        if err["type"] == "missing":
            lines.append(f"{source}, {loc}: missing; it is required")
        elif not loc:  # a check of the whole config, whose message names the keys
            lines.append(f"{source}: {reason}")
        else:
            lines.append(f"{source}, {loc} = {_shown(err.get('input'))}: {reason}")
    return "\n".join(lines)


def _key(part: str | int) -> str:
    """One step of an error's location: a key as written, or quoted when it holds a dot,
    nothing, or characters that do not print (it must stay on one line)."""
    text = str(part)
    if text and "." not in text and text.isprintable():
        return text
    return _printable(json.dumps(text, ensure_ascii=False))


def _printable(text: str) -> str:
    """``text`` with every character that does not print (line breaks included) escaped."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)


def _shown(value: Any, width: int = 80) -> str:
    """A bad value as the message shows it: JSON, cut at ``width`` characters (however big or
    self-referencing the value); a mapping as ``{...}``."""
    class Full(Exception):
        """The message has no room for more."""

    parts: list[str] = []
    room = [width]

    def put(text: str) -> None:
        parts.append(text[: max(room[0], 0)])
        room[0] -= len(text)
        if room[0] < 0:
            raise Full

    def walk(item: Any) -> None:
        if isinstance(item, dict):
            put("{...}")
        elif isinstance(item, (list, tuple)):
            put("[")
            for i, element in enumerate(item):
                put(", " if i else "")
                walk(element)
            put("]")
        else:
            put(json.dumps(item, default=str, ensure_ascii=False)
                if not isinstance(item, str) else json.dumps(item[: width + 2], ensure_ascii=False))

    try:
        walk(value)
    except Full:
        return _printable("".join(parts)[: width - 1]) + "…"
    return _printable("".join(parts))


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
