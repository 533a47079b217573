"""``python -m nasplat``: the command line, as the ``nasplat`` script runs it."""

from nasplat.cli import main

main()
