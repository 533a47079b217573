"""Loading plugins from the entry-point group ``nasplat`` and the registries they fill.

Every plugin, bundled or third-party, arrives the same way: an entry point names a module,
the module implements some hooks of ``nasplat.hookspecs``. A plugin that fails to import is kept
as *broken* (``nasplat plugins`` shows why) and every other plugin keeps working. Two plugins
registering the same name is an error naming both. ``NASPLAT_PLUGINS=a,b`` loads only the
entry points named ``a`` and ``b``.
"""

from __future__ import annotations

import difflib
import importlib
import os
import sys
import traceback
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from types import ModuleType
from typing import Any

import pluggy

from nasplat import hookspecs
from nasplat.errors import PluginError, unknown_name

GROUP = "nasplat"
KINDS = ("spaces", "strategies", "surrogates", "objectives", "datasets", "executors")
_SINGULAR = {
    "spaces": "search space",
    "strategies": "strategy",
    "surrogates": "surrogate",
    "objectives": "objective",
    "datasets": "dataset",
    "executors": "executor",
}
_LIST_COMMAND = {"spaces": "nasplat spaces", "datasets": "nasplat datasets"}


@dataclass(frozen=True)
class Registered:
    """A class registered by a plugin, with who registered it."""

    cls: type
    plugin: str
    distribution: str
    version: str

    @property
    def name(self) -> str:
        """The name users type (``cls.name``)."""
        return self.cls.name


@dataclass(frozen=True)
class PluginInfo:
    """One loaded (or broken) plugin: its entry point, distribution and error if any."""

    name: str
    distribution: str
    version: str
    module: str
    error: str | None = None


@dataclass
class Plugins:
    """The plugin manager plus what was loaded; use :func:`get` for the process-wide one."""

    pm: pluggy.PluginManager
    info: dict[str, PluginInfo] = field(default_factory=dict)
    _registries: dict[str, dict[str, Registered]] = field(default_factory=dict)
    _clashes: dict[str, dict[str, PluginError]] = field(default_factory=dict)

    def add(self, plugin: ModuleType | object, name: str, distribution: str = "(local)",
            version: str = "") -> None:
        """Register a plugin object directly (tests, notebooks); entry points use :meth:`load`."""
        try:
            self.pm.register(plugin, name=name)
            _check_hook_names(self.pm, plugin, name)
        except (pluggy.PluginValidationError, PluginError) as exc:
            if self.pm.is_registered(plugin):
                self.pm.unregister(plugin)
            self.info[name] = PluginInfo(name, distribution, version, _module_name(plugin), str(exc))
            return
        self.info[name] = PluginInfo(name, distribution, version, _module_name(plugin))
        self._registries.clear()
        self._clashes.clear()

    def remove(self, name: str) -> None:
        """Unregister a plugin by name (tests use this to undo :meth:`add`)."""
        plugin = self.pm.get_plugin(name)
        if plugin is not None:
            self.pm.unregister(plugin)
        self.info.pop(name, None)
        self._registries.clear()
        self._clashes.clear()

    def load(self) -> None:
        """Import every entry point of the group ``nasplat`` (limited by ``NASPLAT_PLUGINS``)."""
        wanted = _wanted()
        for ep in metadata.entry_points(group=GROUP):
            if wanted is not None and ep.name not in wanted:
                continue
            if ep.name in self.info:
                # a second entry point under a taken name: make it visible, never skip silently
                first = self.info[ep.name]
                dist = _dist_name(ep)
                if (first.distribution, first.module) != (dist[0], ep.value):
                    self.info[f"{ep.name} ({dist[0]})"] = PluginInfo(
                        ep.name, dist[0], dist[1], ep.value,
                        f"entry point name '{ep.name}' is already used by "
                        f"{first.distribution}; uninstall one of the two packages")
                continue
            dist_name, dist_version = _dist_name(ep)
            try:
                module = ep.load()
            except Exception as exc:  # a broken plugin must not break the others
                error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                self.info[ep.name] = PluginInfo(ep.name, dist_name, dist_version, ep.value,
                                                f"failed to import: {error}")
                continue
            self.add(module, ep.name, dist_name, dist_version)
        self._load_modules()

    def _load_modules(self) -> None:
        """Import the modules ``NASPLAT_PLUGIN_MODULES`` names (comma-separated) as plugins.

        For a plugin under development, not packaged yet; worker processes inherit the
        variable, so they load it too.
        """
        for name in (os.environ.get("NASPLAT_PLUGIN_MODULES") or "").split(","):
            name = name.strip()
            if not name or name in self.info:
                continue
            try:
                module = importlib.import_module(name)
            except Exception as exc:  # a broken plugin must not break the others
                error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                self.info[name] = PluginInfo(name, "(NASPLAT_PLUGIN_MODULES)", "", name,
                                             f"failed to import: {error}")
                continue
            self.add(module, name, "(NASPLAT_PLUGIN_MODULES)")

    def registry(self, kind: str) -> dict[str, Registered]:
        """Every class of ``kind`` (``"spaces"``, ``"strategies"``, ...) by name."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        if kind not in self._registries:
            hook = getattr(self.pm.hook, f"nasplat_register_{kind}")
            self._clashes[kind] = {}
            self._registries[kind] = _collect(hook, _SINGULAR[kind], self.info,
                                              self._clashes[kind])
        return self._registries[kind]

    def clashes(self, kind: str) -> dict[str, PluginError]:
        """Names of ``kind`` registered by two plugins, with the error that names both."""
        self.registry(kind)
        return self._clashes[kind]

    def lookup(self, kind: str, name: str) -> Registered:
        """The class registered as ``name``, or a :class:`PluginError` naming what exists."""
        found = self.registry(kind)
        if name in self._clashes[kind]:
            raise self._clashes[kind][name]
        if name not in found:
            hint = f"`{_LIST_COMMAND.get(kind, 'nasplat plugins')}`"
            raise PluginError(unknown_name(_SINGULAR[kind], name, found, hint))
        return found[name]

    @property
    def hook(self) -> Any:
        """The pluggy hook relay, for event hooks (``plugins.hook.nasplat_trial_finished``)."""
        return self.pm.hook


def _collect(hook: pluggy.HookCaller, kind: str, info: dict[str, PluginInfo],
             clashes: dict[str, PluginError]) -> dict[str, Registered]:
    """Call a register hook plugin by plugin, remembering who registered each name.

    A name registered twice goes into ``clashes``: looking it up is an error naming both
    plugins, while every other name of the kind keeps working.
    """
    found: dict[str, Registered] = {}
    for impl in reversed(hook.get_hookimpls()):  # registration order
        plugin = info.get(impl.plugin_name)
        dist = plugin.distribution if plugin else "(local)"
        version = plugin.version if plugin else ""

        def register(cls: type, by: str = impl.plugin_name, dist: str = dist,
                     version: str = version) -> None:
            name = getattr(cls, "name", None)
            if not isinstance(name, str) or not name:
                raise PluginError(f"plugin '{by}' ({dist}) registered {kind} {cls!r} without a "
                                  f"`name`: give the class a class attribute name = '...'")
            if name in found:
                first = found[name]
                clashes[name] = PluginError(
                    f"{kind} '{name}' is registered twice: by plugin '{first.plugin}' "
                    f"({first.distribution}) and by plugin '{by}' ({dist}). "
                    f"Uninstall one of the two packages, or rename one.")
                return
            found[name] = Registered(cls, by, dist, version)

        impl.function(register=register)
    return found


def _check_hook_names(pm: pluggy.PluginManager, plugin: object, name: str) -> None:
    """Refuse a plugin with a ``nasplat_*`` function that is no hook (a misspelled hook)."""
    known = [n for n in dir(hookspecs) if n.startswith("nasplat_")]
    for attr in dir(plugin):
        if attr.startswith("nasplat_") and attr not in known and callable(getattr(plugin, attr)):
            close = difflib.get_close_matches(attr, known, n=1)
            guess = f"; did you mean '{close[0]}'?" if close else ""
            raise PluginError(f"plugin '{name}' implements unknown hook '{attr}'{guess}")
    pm.check_pending()


def _wanted() -> set[str] | None:
    value = os.environ.get("NASPLAT_PLUGINS")
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


def _dist_name(ep: metadata.EntryPoint) -> tuple[str, str]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return "(unknown)", ""
    return dist.metadata["Name"], dist.version


def _module_name(plugin: object) -> str:
    if isinstance(plugin, ModuleType):
        return plugin.__name__
    return f"{type(plugin).__module__}.{type(plugin).__qualname__}"


@cache
def get() -> Plugins:
    """The process-wide plugins, loaded from entry points on first use."""
    pm = pluggy.PluginManager("nasplat")
    pm.add_hookspecs(hookspecs)
    plugins = Plugins(pm)
    plugins.load()
    return plugins


def call_event(name: str, **kwargs: Any) -> None:
    """Call an event hook on every plugin; one plugin's exception is reported on stderr and
    neither stops the run nor keeps the other plugins from hearing the event."""
    caller = getattr(get().hook, name)
    for impl in reversed(caller.get_hookimpls()):  # registration order
        args = {key: kwargs[key] for key in impl.argnames if key in kwargs}
        try:
            impl.function(**args)
        except Exception as exc:  # an event listener must never lose a search
            print(f"nasplat: warning: plugin '{impl.plugin_name}' failed in {name}: {exc!r}",
                  file=sys.stderr)
