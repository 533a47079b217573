"""``nasplat plugins``: every plugin, what it registers, and which are broken."""

from __future__ import annotations

import click

from nasplat import registry
from nasplat.cli._options import emit, format_option
from nasplat.errors import PluginError


@click.command("plugins")
@format_option
def plugins_command(fmt: str) -> None:
    """List installed plugins: kind, name, distribution and version; broken ones with why."""
    plugins = registry.get()
    rows = []
    seen: set[str] = set()
    for kind in registry.KINDS:
        try:
            found = plugins.registry(kind)
        except PluginError as exc:
            rows.append((kind, "-", "-", "-", "-", f"error: {exc}"))
            continue
        clashes = plugins.clashes(kind)
        for name, reg in sorted(found.items()):
            status = f"error: {clashes[name]}" if name in clashes else "ok"
            rows.append((kind, name, reg.plugin, reg.distribution, reg.version, status))
            seen.add(reg.plugin)
    for info in plugins.info.values():
        if info.error:
            rows.append(("?", "-", info.name, info.distribution, info.version,
                         f"broken: {info.error}"))
        elif info.name not in seen:
            rows.append(("hooks", "-", info.name, info.distribution, info.version, "ok"))
    emit(["kind", "name", "plugin", "distribution", "version", "status"], rows, fmt)
