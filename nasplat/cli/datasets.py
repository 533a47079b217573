"""``nasplat datasets``: installed datasets with their task, splits, sizes and attributes."""

from __future__ import annotations

import click

from nasplat import registry
from nasplat.config import parse_value
from nasplat.dataset import Dataset
from nasplat.errors import ConfigError, NasplatError
from nasplat.problem import instantiate


@click.command("datasets")
@click.argument("name", required=False)
@click.option("-o", "--option", "options", multiple=True, metavar="KEY=VALUE",
              help="A dataset option (repeatable), e.g. -o path=data/mnist.")
def datasets_command(name: str | None, options: tuple[str, ...]) -> None:
    """List installed datasets with their splits, sizes and attributes (or show one, NAME)."""
    parsed = {}
    for item in options:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--option {item!r}: write it as KEY=VALUE, e.g. -o path=data/mnist")
        parsed[key] = parse_value(value)
    found = registry.get().registry("datasets")
    if name is not None:
        reg = registry.get().lookup("datasets", name)
        dataset = instantiate("datasets", name, parsed, f"dataset '{name}' options")
        click.echo(_describe(dataset, reg.plugin, reg.distribution, full=True))
        return
    if parsed:
        raise ConfigError("--option needs a dataset NAME: nasplat datasets NAME -o KEY=VALUE")
    if not found:
        click.echo("no datasets installed")
    for dataset_name, reg in sorted(found.items()):
        try:
            dataset = instantiate("datasets", dataset_name, {}, f"dataset '{dataset_name}'")
        except NasplatError as exc:
            click.echo(f"{dataset_name:<20} (cannot open: {exc})")
            continue
        click.echo(_describe(dataset, reg.plugin, reg.distribution, full=False))


def _describe(dataset: Dataset, plugin: str, distribution: str, full: bool) -> str:
    """A few lines about ``dataset``: what it is, its splits and sizes, its attributes."""
    try:
        classes = str(dataset.classes)
    except NasplatError:
        classes = "?"
    unit = "tokens" if dataset.task == "language_modelling" else "classes"
    lines = [f"{dataset.name:<20} {dataset.task:<22} input {tuple(dataset.input_shape)}  "
             f"{classes} {unit}  [{plugin}, {distribution}]"]
    try:
        sizes = dataset.sizes()
        lines.append("  splits: " + ", ".join(f"{s} {n}" for s, n in sizes.items()))
    except NasplatError as exc:
        why = str(exc) if full else str(exc).split(":")[0]  # the listing keeps it to one line
        lines.append(f"  splits: {', '.join(dataset.splits())} (sizes unknown: {why})")
    if dataset.attributes:
        attrs = [f"{k} ({', '.join(v) if len(v) <= 4 else f'{v[0]} .. {v[-1]}, {len(v)} values'})"
                 for k, v in dataset.attributes.items()]
        lines.append("  attributes: " + "; ".join(attrs))
    for set_name, what in dataset.extra_sets.items():
        lines.append(f"  extra set {set_name}: {what}")
    if full:
        lines += ["", dataset.describe()]
        fields = dataset.Options.model_fields
        if fields:
            lines += ["", "options:"]
            lines += [f"  {key} = {field.default!r}" for key, field in fields.items()]
    return "\n".join(lines)
