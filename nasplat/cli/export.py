"""``nasplat export``: write architectures of a study as files."""

from __future__ import annotations

from pathlib import Path

import click

from nasplat.cli._options import storage_option
from nasplat.errors import ConfigError
from nasplat.study import TrialRecord, load_study


@click.command("export")
@click.argument("study")
@click.option("--pareto", is_flag=True, help="Export every Pareto-front trial.")
@click.option("--trial", "numbers", type=int, multiple=True, help="Export trial N; repeatable.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True,
              help="Folder to write into (created if missing).")
@click.option("--onnx/--no-onnx", default=True, show_default=True,
              help="Also write model.onnx, checked with ONNX Runtime (needs nasplat[export]).")
@click.option("--retrain", is_flag=True,
              help="Train again, with the study's trainer settings, trials whose weights "
                   "were not kept.")
@storage_option
def export_command(study: str, pareto: bool, numbers: tuple[int, ...], out_dir: str,
                   onnx: bool, retrain: bool, storage: str) -> None:
    """Write each chosen trial to OUT/trial-N/: genome.json, values.json, README.md, and
    where the weights exist state_dict.pt and model.onnx."""
    from nasplat.export import export_trial

    if not pareto and not numbers:
        raise ConfigError("choose what to export: --pareto, or --trial N (repeatable)")
    handle = load_study(study, storage)
    chosen: dict[int, TrialRecord] = {}
    if pareto:
        chosen.update({t.number: t for t in handle.pareto_front()})
    if numbers:
        by_number = {t.number: t for t in handle.trials()}
        missing = [n for n in numbers if n not in by_number]
        if missing:
            raise ConfigError(f"study '{study}' has no trial {missing[0]} "
                              f"(trials are numbered 0..{len(by_number) - 1})")
        chosen.update({n: by_number[n] for n in numbers})
    root = Path(out_dir)
    for number, trial in sorted(chosen.items()):
        done = export_trial(handle, trial, root / f"trial-{number}", onnx=onnx,
                            retrain_missing=retrain)
        click.echo(f"trial-{number}: {', '.join(done.files)}")
        for note in done.notes:
            click.echo(f"  note: {note}")
    click.echo(f"exported {len(chosen)} trial(s) of '{study}' to {root}")
