"""The ``moe_mobilevit`` space as a plugin, with its ``prune`` and ``routing`` commands."""

from typing import Any

from nasplat import hookimpl
from nasplat.spaces.moe_mobilevit.space import MoEMobileViTSpace


@hookimpl
def nasplat_register_spaces(register: Any) -> None:
    """Register the ``moe_mobilevit`` search space."""
    register(MoEMobileViTSpace)


@hookimpl
def nasplat_register_commands(cli: Any) -> None:
    """Add ``nasplat prune`` and ``nasplat routing``."""
    from nasplat.spaces.moe_mobilevit.commands import prune_command, routing_command

    cli.add_command(prune_command)
    cli.add_command(routing_command)
