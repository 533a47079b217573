"""``nasplat enqueue``: add known architectures to a study's queue."""

from __future__ import annotations

from pathlib import Path

import click

from nasplat.cli._options import storage_option
from nasplat.enqueue import enqueue_genomes, parse_genomes
from nasplat.errors import ConfigError


@click.command("enqueue")
@click.argument("study")
@click.option("--genome", "genome_text", help="A genome as JSON text.")
@click.option("--file", "path", type=click.Path(dir_okay=False),
              help='A JSON file: one genome, or {"genomes": [...]}.')
@storage_option
def enqueue_command(study: str, genome_text: str | None, path: str | None, storage: str) -> None:
    """Queue architectures (e.g. a baseline) to be evaluated first by the next run."""
    if (genome_text is None) == (path is None):
        raise ConfigError("give exactly one of --genome JSON and --file PATH")
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise ConfigError(f"genome file {file} does not exist")
        try:
            text = file.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"genome file {file} is not UTF-8 JSON text (byte {exc.start}): "
                              f"write the genomes as JSON") from None
        genomes = parse_genomes(text, str(file))
    else:
        genomes = parse_genomes(genome_text or "", "--genome")
    numbers = enqueue_genomes(study, storage, genomes)
    skipped = len(genomes) - len(numbers)
    note = f" ({skipped} skipped: already in the study, or repeated)" if skipped else ""
    click.echo(f"queued {len(numbers)} trial(s) in '{study}': "
               f"{', '.join(map(str, numbers)) or 'none'}{note}; `nasplat run --study {study}` "
               f"evaluates them")
