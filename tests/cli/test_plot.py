"""``nasplat plot``: one PNG per kind, an HTML front with plotly, one-line errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from nasplat.cli import cli


@pytest.fixture
def study(runner: CliRunner, storage: str) -> str:
    result = runner.invoke(cli, ["run", "--space", "flaky", "--budget", "15", "--study", "s/1",
                                 "--storage", storage, "--quiet"])
    assert result.exit_code == 0, result.output
    return storage


@pytest.mark.parametrize("kind", ["pareto", "hypervolume"])
def test_plot_writes_a_png(runner: CliRunner, study: str, tmp_path: Path, kind: str) -> None:
    out = tmp_path / f"{kind}.png"
    result = runner.invoke(cli, ["plot", "s/1", "--kind", kind, "--out", str(out),
                                 "--storage", study])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:4] == b"\x89PNG" and f"wrote {out}" in result.output


def test_default_file_name(runner: CliRunner, study: str, tmp_path: Path,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["plot", "s/1", "--storage", study])
    assert result.exit_code == 0 and (tmp_path / "s_1-pareto.png").is_file()


def test_html_front(runner: CliRunner, study: str, tmp_path: Path,
                    monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "front.html"
    args = ["plot", "s/1", "--out", str(out), "--storage", study]
    if _has_plotly():
        result = runner.invoke(cli, args)
        assert result.exit_code == 0 and "plotly" in out.read_text()
    monkeypatch.setitem(sys.modules, "plotly", None)  # as if plotly were not installed
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)
    result = runner.invoke(cli, args)
    assert result.exit_code == 2 and "pip install 'nasplat[plots]'" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--kind", "parallel"], "study 's/1' has 2 (error, params): plot it with --kind pareto"),
    (["--kind", "curves"], "no learning curves"),
    (["--objectives", "error,latency"], "no objective 'latency'"),
    (["--kind", "curves", "--out", "x.html"], "only the pareto plot has an interactive"),
])
def test_errors(runner: CliRunner, study: str, args: list[str], message: str) -> None:
    result = runner.invoke(cli, ["plot", "s/1", *args, "--storage", study])
    assert result.exit_code == 2 and message in result.output, result.output


def _has_plotly() -> bool:
    from nasplat.plots import has_plotly
    return has_plotly()
