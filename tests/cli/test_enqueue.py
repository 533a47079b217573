"""``nasplat enqueue``: known genomes are evaluated first; bad genome JSON is a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from nasplat import load_study
from nasplat.cli import cli


@pytest.fixture
def study(runner: CliRunner, storage: str) -> str:
    result = runner.invoke(cli, ["run", "--space", "toy_int", "--budget", "3", "--study", "q",
                                 "--storage", storage, "--quiet"])
    assert result.exit_code == 0, result.output
    return storage


def test_enqueued_genomes_run_first(runner: CliRunner, study: str, tmp_path: Path) -> None:
    file = tmp_path / "g.json"
    file.write_text(json.dumps({"genomes": [[3] * 9, [1] * 9, [3] * 9]}))
    result = runner.invoke(cli, ["enqueue", "q", "--file", str(file), "--storage", study])
    assert result.exit_code == 0 and "queued 2 trial(s) in 'q': 3, 4" in result.output
    runner.invoke(cli, ["run", "--study", "q", "--budget", "6", "--storage", study, "--quiet"])
    trials = load_study("q", study).trials()
    assert [t.genome for t in trials[3:5]] == [[3] * 9, [1] * 9]
    assert trials[3].values["error"] == 0 and len(trials) == 6


@pytest.mark.parametrize("args, message", [
    (["--genome", "[1, 2,"], "--genome: genome JSON does not parse"),
    (["--genome", "[1, 2]"], "genome 0 is not valid in space 'toy_int'"),
    (["--genome", "[9, 9, 9, 9, 9, 9, 9, 9, 9]"], "integer in 1..8"),
    ([], "give exactly one of"),
])
def test_bad_genomes(runner: CliRunner, study: str, args: list[str], message: str) -> None:
    result = runner.invoke(cli, ["enqueue", "q", *args, "--storage", study])
    assert result.exit_code == 2 and message in result.output
    assert len(load_study("q", study).trials()) == 3
