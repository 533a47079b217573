"""The ``nasplat`` command line: one module per command group, errors become messages here."""

from __future__ import annotations

import sys
from typing import Any

import click

from nasplat import registry
from nasplat.cli._options import STORAGE_HELP
from nasplat.errors import NasplatError


class _UserError(click.ClickException):
    """A NasplatError shown as ``Error: <message>`` with exit code 2."""

    exit_code = 2


class NasplatGroup(click.Group):
    """The one place a :class:`NasplatError` becomes a message and exit code 2."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Refuse an argument that is not text before any command sees it."""
        for arg in args:
            if any("\ud800" <= c <= "\udfff" for c in arg):
                shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                raise click.UsageError(f"argument {shown!r} is not UTF-8 text (� marks the "
                                       f"bytes that are not); study names, SQL, genomes and "
                                       f"paths must be UTF-8", ctx)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; show nasplat's errors without a traceback unless --debug."""
        try:
            return super().invoke(ctx)
        except NasplatError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            raise _UserError(printable(str(exc))) from None


def printable(text: str) -> str:
    """``text`` for the terminal: characters that do not print, line breaks aside, escaped
    (a name typed with a carriage return or an ANSI escape cannot move the cursor)."""
    return "".join(c if c.isprintable() or c == "\n" else c.encode("unicode_escape").decode()
                   for c in text)


@click.group(cls=NasplatGroup)
@click.version_option(package_name="nasplat")
@click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
@click.option("--storage", envvar="NASPLAT_STORAGE", default=None, help=STORAGE_HELP)
@click.pass_context
def cli(ctx: click.Context, debug: bool, storage: str | None) -> None:
    """Multi-objective neural architecture search.

    Describe what to search (--space), what to want (objectives, constraints) and how to
    search (--strategy); every trial lands in a SQL result store.
    """
    ctx.obj = {"debug": debug, "storage": storage}


def _add_commands() -> None:
    from nasplat.cli.compare import compare_command
    from nasplat.cli.enqueue import enqueue_command
    from nasplat.cli.export import export_command
    from nasplat.cli.plot import plot_command
    from nasplat.cli.plugins import plugins_command
    from nasplat.cli.query import query_command
    from nasplat.cli.report import report_command
    from nasplat.cli.run import run_command
    from nasplat.cli.spaces import spaces_group
    from nasplat.cli.studies import pareto_command, studies_command, trials_command
    from nasplat.cli.surrogate import surrogate_command
    from nasplat.cli.worker import worker_command

    for command in (run_command, plugins_command, spaces_group, studies_command,
                    trials_command, pareto_command, export_command, query_command, enqueue_command,
                    worker_command):
        cli.add_command(command)
    cli.add_command(compare_command)
    cli.add_command(plot_command)
    cli.add_command(report_command)
    cli.add_command(surrogate_command)
    try:
        from nasplat.cli.datasets import datasets_command
    except ImportError:
        pass
    else:
        cli.add_command(datasets_command)
    try:
        registry.get().hook.nasplat_register_commands(cli=cli)
    except Exception as exc:  # a plugin's commands must not take the CLI down
        print(f"nasplat: warning: a plugin failed to add commands: {exc!r}", file=sys.stderr)


_add_commands()


def main() -> None:
    """Entry point of the ``nasplat`` script."""
    cli(prog_name="nasplat")
