"""Turning a validated config into live plugin objects: space, objectives, strategy, executor."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from nasplat import registry as plugin_registry
from nasplat.config import Bound, StudyConfig, validate_options, with_defaults
from nasplat.errors import ConfigError, PluginError, unknown_name
from nasplat.objective import MetricObjective, Objective, ObjectiveSpec, best_of
from nasplat.space import SearchSpace, has_capability


@dataclass
class Problem:
    """A study's live parts, resolved from its config."""

    config: StudyConfig
    space: SearchSpace
    objectives: list[Objective]
    constraints: dict[str, Bound]

    @property
    def specs(self) -> list[ObjectiveSpec]:
        """Names, directions and best values of the objectives, in order."""
        return [ObjectiveSpec(o.name, o.direction, best_of(o)) for o in self.objectives]


def instantiate(kind: str, name: str, options: dict[str, Any], where: str, **fixed: Any) -> Any:
    """Look up a plugin class, validate ``options`` with its ``Options``, construct it."""
    registered = plugin_registry.get().lookup(kind, name)
    cls = registered.cls
    model = getattr(cls, "Options", None)
    if model is not None:
        options = validate_options(model, options, where).model_dump()
    try:
        return cls(**fixed, **options)
    except (PluginError, ConfigError):
        raise
    except TypeError as exc:
        raise PluginError(f"{where}: plugin '{registered.plugin}' ({registered.distribution}) "
                          f"could not construct '{name}': {exc}") from None


def resolve(config: StudyConfig) -> Problem:
    """The space and objectives of ``config``, checked against each other."""
    space = instantiate("spaces", config.space.name, config.space.options, "space.options")
    if has_capability(space, "defaults"):  # trainer settings, budget, data the space suggests
        config = with_defaults(config, space.defaults(), f"defaults of space '{space.name}'")
    objectives = resolve_objectives(config, space)
    return Problem(config, space, objectives, dict(config.constraints))


def make_strategy(problem: Problem) -> Any:
    """The configured strategy, constructed for the problem."""
    choice = problem.config.strategy
    return instantiate("strategies", choice.name, choice.options, "strategy.options",
                       space=problem.space, objectives=problem.specs, seed=problem.config.seed)


def make_executor(config: StudyConfig) -> Any:
    """The configured executor."""
    return instantiate("executors", config.executor.name, config.executor.options,
                       "executor.options")


def resolve_objectives(config: StudyConfig, space: SearchSpace) -> list[Objective]:
    """Objectives by name: the space's own, registered plugins, or bare metrics with a direction."""
    if config.objectives is None:
        if not space.default_objectives:
            raise ConfigError(f"search space '{space.name}' has no default objectives: list "
                              f"some under `objectives` in the config (or --objective NAME)")
        choices = [{"name": n} for n in space.default_objectives]
    else:
        choices = [c.model_dump() for c in config.objectives]
    own = {o.name: o for o in space.objectives()}
    registry = plugin_registry.get().registry("objectives")
    out: list[Objective] = []
    for choice in choices:
        name, direction = choice["name"], choice.get("direction")
        options = choice.get("options") or {}
        if name in own:
            objective = own[name]
        elif name in registry:
            objective = instantiate("objectives", name, options, f"objectives.{name}.options")
        elif direction is not None:
            objective = MetricObjective(name, direction)
        else:
            known = sorted(set(own) | set(registry))
            raise ConfigError(unknown_name("objective", name, known,
                                           "or give a direction to use a metric by that name"))
        if direction is not None and direction != objective.direction:
            # the best value of one direction is the worst of the other
            objective = _with(objective, direction=direction, best=None)
        if choice.get("best") is not None:
            objective = _with(objective, best=float(choice["best"]))
        out.append(objective)
    return out


def _with(objective: Objective, **changes: Any) -> Objective:
    """``objective`` with attributes changed (a copy where it is a dataclass)."""
    if dataclasses.is_dataclass(objective):
        return dataclasses.replace(objective, **changes)  # type: ignore[type-var]
    for key, value in changes.items():
        setattr(objective, key, value)
    return objective
