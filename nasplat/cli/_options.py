"""Options and output helpers shared by the commands."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from pathlib import PurePath
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from nasplat.config import DEFAULT_STORAGE
from nasplat.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])


STORAGE_HELP = "Result store: a SQLAlchemy URL (sqlite:///file.db, postgresql://...)."


def _storage(ctx: click.Context, _param: click.Parameter, value: str | None) -> str:
    """The subcommand's --storage, else the group's (``nasplat --storage URL cmd``)."""
    if value is not None:
        return value
    root = ctx.find_root()
    return (root.obj or {}).get("storage") or DEFAULT_STORAGE


def storage_option(func: F) -> F:
    """``--storage URL`` (env ``NASPLAT_STORAGE``), default ``sqlite:///nasplat.db``."""
    return click.option("--storage", envvar="NASPLAT_STORAGE", default=None,
                        callback=_storage, help=f"{STORAGE_HELP} [default: {DEFAULT_STORAGE}]"
                        )(func)


def format_option(func: F) -> F:
    """``--format table|csv|json``."""
    return click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]),
                        default="table", show_default=True, help="Output format.")(func)


def emit(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str,
         title: str | None = None) -> None:
    """Print rows as a rich table, CSV, or JSON (a list of objects)."""
    if fmt == "json":
        click.echo(json.dumps([dict(zip(columns, r, strict=True)) for r in rows], indent=1,
                              default=str))
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        writer.writerows(rows)
        click.echo(buffer.getvalue(), nl=False)
    else:
        table = Table(title=title)
        for column in columns:
            table.add_column(str(column))
        for row in rows:
            table.add_row(*(_cell(v) for v in row))
        Console(soft_wrap=False, width=max(100, Console().width)).print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def image_path(path: str, option: str, html: bool = False) -> str:
    """``path`` for a plot, ``.png`` added when it has no suffix; a :class:`ConfigError` for a
    suffix no image writer knows (``--out front.txt``)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    suffix = PurePath(path).suffix.lower()
    if not suffix:
        return f"{path}.png"
    known = sorted(FigureCanvasAgg.get_supported_filetypes())
    if suffix[1:] in known or (html and suffix == ".html"):
        return path
    raise ConfigError(f"{option} {path}: cannot write a '{suffix}' file; end it in .png "
                      f"(or .{', .'.join(k for k in known if k != 'png')})"
                      f"{', or .html for an interactive page' if html else ''}")


def first_line(text: str | None) -> str:
    """The first line of a docstring."""
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""
