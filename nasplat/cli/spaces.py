"""``nasplat spaces``: the installed search spaces, and one in detail."""

from __future__ import annotations

import json
import math

import click

from nasplat import registry
from nasplat.cli._options import emit, first_line, format_option
from nasplat.problem import instantiate


@click.group("spaces", invoke_without_command=True)
@format_option
@click.pass_context
def spaces_group(ctx: click.Context, fmt: str) -> None:
    """List installed search spaces (``nasplat spaces show NAME`` for one)."""
    if ctx.invoked_subcommand is not None:
        return
    rows = []
    for name, reg in sorted(registry.get().registry("spaces").items()):
        cls = reg.cls
        group = "benchmark" if cls.task == "benchmark" else "nas"
        rows.append((name, group, cls.kind, cls.task, reg.distribution, first_line(cls.__doc__)))
    emit(["name", "group", "genome", "task", "distribution", "description"], rows, fmt)


@spaces_group.command("show")
@click.argument("name")
def show_command(name: str) -> None:
    """Describe a search space: genome kind, cardinality, defaults and options."""
    reg = registry.get().lookup("spaces", name)
    space = instantiate("spaces", name, {}, "space.options")
    size = space.cardinality()
    lines = [
        f"{name}  ({reg.distribution} {reg.version})",
        "",
        space.describe(),
        "",
        f"genome kind:        {space.kind}",
        f"task:               {space.task}",
        f"cardinality:        {'unbounded' if math.isinf(size) else f'{size:.4g}'}",
        f"default dataset:    {space.default_dataset or '(none: evaluated analytically)'}",
        f"default objectives: {', '.join(space.default_objectives) or '(none)'}",
    ]
    schema = space.Options.model_json_schema().get("properties", {})
    if schema:
        lines.append("options:")
        for key, prop in schema.items():
            default = json.dumps(prop.get("default")) if "default" in prop else "(required)"
            lines.append(f"  {key:<18} default {default}  {prop.get('description', '')}")
    click.echo("\n".join(lines))
