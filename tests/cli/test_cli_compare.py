"""``nasplat compare`` through click's runner: tables, the PNG, --plot-only, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from nasplat.cli import cli

pytest.importorskip("optuna")


def run(runner: CliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_compare_then_plot_only(runner: CliRunner, storage: str, tmp_path: Path) -> None:
    args = ("compare", "--spaces", "zdt1_int", "--strategies", "random,optuna:tpe",
            "--seeds", "2", "--budget", "8", "--name", "cc", "--storage", storage,
            "--out", str(tmp_path), "--quiet")
    code, out = run(runner, *args)
    assert code == 0, out
    assert "comparison 'cc': 4 run(s) made, 0 found finished" in out
    assert "reference point (f1=" in out and "nadir" in out
    assert "random" in out and "optuna:tpe" in out and "(best)" in out
    assert (tmp_path / "cc-hv.png").stat().st_size > 0
    code, again = run(runner, *args)
    assert code == 0 and "0 run(s) made, 4 found finished" in again
    (tmp_path / "cc-hv.png").unlink()
    code, plotted = run(runner, "compare", "--name", "cc", "--plot-only", "--storage", storage,
                        "--out", str(tmp_path))
    assert code == 0, plotted
    table = out[out.index("zdt1_int:"):out.index("hypervolume curves")]
    assert table in plotted  # the same numbers, read back from the store
    assert (tmp_path / "cc-hv.png").exists()


@pytest.mark.parametrize("args, message", [
    (["--strategies", "random"], "compare needs --spaces and --strategies"),
    (["--spaces", "zdt1_int", "--strategies", "optuna:tpee"],
     "unknown strategy 'optuna:tpee'. Did you mean 'optuna:tpe'?"),
    (["--spaces", "toy_genes", "--strategies", "optuna:tpe"],
     "needs a space with int_bounds(); space 'toy_genes' has genome kind 'gene_list'"),
    (["--name", "nothing", "--plot-only"], "no result store at"),
])
def test_errors_are_one_line(runner: CliRunner, storage: str, args: list[str],
                             message: str) -> None:
    code, out = run(runner, "compare", *args, "--storage", storage, "--quiet")
    assert code == 2
    assert out.startswith("Error: ") and message in out.replace("\n", " ")
