"""The command line through click's runner: output, formats, and one-line errors (exit 2)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from nasplat.cli import cli


def run(runner: CliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture
def study(runner: CliRunner, storage: str) -> str:
    code, out = run(runner, "run", "--space", "toy_int", "--budget", "12", "--study", "s",
                    "--storage", storage, "--quiet", "--constraint", "params<=900")
    assert code == 0, out
    return storage


def test_run_prints_summary_and_pareto(runner: CliRunner, storage: str) -> None:
    code, out = run(runner, "run", "--space", "toy_mask", "--budget", "10", "--study", "m",
                    "--storage", storage)
    assert code == 0, out
    assert "study 'm': budget spent (10 complete)" in out
    assert "Pareto front of m" in out and "error ↓" in out and "active ↓" in out


def test_trials_formats(runner: CliRunner, study: str) -> None:
    code, out = run(runner, "trials", "s", "--storage", study, "--format", "json")
    trials = json.loads(out)
    assert code == 0 and len([t for t in trials if t["status"] == "complete"]) == 12
    assert all(isinstance(t["genome"], list) and len(t["genome"]) == 9 for t in trials)
    code, out = run(runner, "trials", "s", "--storage", study, "--format", "csv",
                    "--status", "infeasible")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows and all(r["status"] == "infeasible" for r in rows)
    assert all("params" in r["reason"] for r in rows)


def test_pareto_is_nondominated(runner: CliRunner, study: str) -> None:
    code, out = run(runner, "pareto", "s", "--storage", study, "--format", "json")
    front = json.loads(out)
    assert code == 0 and front
    for a in front:
        assert not any(b["error"] <= a["error"] and b["params"] <= a["params"] and
                       (b["error"], b["params"]) != (a["error"], a["params"]) for b in front)


def test_studies_and_query(runner: CliRunner, study: str) -> None:
    code, out = run(runner, "studies", "--storage", study, "--format", "json")
    (row,) = json.loads(out)
    assert row["study"] == "s" and row["complete"] == 12 and row["space"] == "toy_int"
    code, out = run(runner, "query", "SELECT count(*) AS n FROM trials WHERE status='complete'",
                    "--storage", study, "--format", "json")
    assert json.loads(out) == [{"n": 12}]


def test_export_pareto(runner: CliRunner, study: str, tmp_path: Path) -> None:
    code, out = run(runner, "export", "s", "--pareto", "--out", str(tmp_path / "x"),
                    "--storage", study)
    assert code == 0
    folders = sorted((tmp_path / "x").iterdir())
    _, front = run(runner, "pareto", "s", "--storage", study, "--format", "json")
    assert [f.name for f in folders] == sorted(f"trial-{t['number']}" for t in json.loads(front))
    values = json.loads((folders[0] / "values.json").read_text())
    genome = json.loads((folders[0] / "genome.json").read_text())
    assert values["space"] == "toy_int" and len(genome) == 9 and "error" in values["objectives"]


def test_spaces_list_and_show(runner: CliRunner) -> None:
    code, out = run(runner, "spaces", "--format", "json")
    names = {s["name"]: s for s in json.loads(out)}
    assert names["toy_cell"]["genome"] == "cell_dag" and names["toy_int"]["group"] == "benchmark"
    code, out = run(runner, "spaces", "show", "toy_int")
    assert code == 0 and "cardinality:        1.342e+08" in out and "target" in out


def test_plugins_lists_kinds(runner: CliRunner) -> None:
    code, out = run(runner, "plugins", "--format", "json")
    rows = json.loads(out)
    assert {"kind": "strategies", "name": "random", "plugin": "random",
            "distribution": "nasplat"}.items() <= next(r for r in rows if r["name"] == "random").items()


def test_resume_by_name_with_larger_budget(runner: CliRunner, study: str) -> None:
    code, out = run(runner, "run", "--study", "s", "--budget", "20", "--storage", study,
                    "--quiet")
    assert code == 0 and "budget spent (20 complete" in out


@pytest.mark.parametrize("args, message", [
    (["run", "--space", "toy_itn"], "unknown search space 'toy_itn'. Did you mean 'toy_int'?"),
    (["run", "--space", "toy_int", "--budget", "-5"], "budget.trials = -5"),
    (["run", "--space", "toy_int", "--strategy", "nope"], "unknown strategy 'nope'"),
    (["run", "--space", "toy_int", "--objective", "acc"], "unknown objective 'acc'"),
    (["run", "--space", "toy_int", "--objective", "error:up"], "must be min or max"),
    (["run", "--space", "toy_int", "--constraint", "params<3"], "NAME<=VALUE"),
    (["run", "--space", "toy_int", "--set", "space.options.target=99"],
     "space.options, target = 99"),
    (["run", "--space", "toy_int", "--set", "nonsense"], "write KEY=VALUE"),
    (["run"], "no search space given"),
    (["run", "--config", "missing.toml"], "config file missing.toml does not exist"),
    (["trials", "nope"], "unknown study 'nope'"),
    (["export", "s", "--out", "x"], "choose what to export"),
    (["query", "DELETE FROM trials"], "query refused"),
    (["query", "SELEC 1"], "query failed: "),
])
def test_bad_input_is_one_line_and_exit_2(runner: CliRunner, study: str, args: list[str],
                                          message: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, [*args, "--storage", study])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "nasplat.db").exists()


def test_unreadable_store(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_text("garbage" * 100)
    result = runner.invoke(cli, ["studies", "--storage", f"sqlite:///{bad}"])
    assert result.exit_code == 2 and "not a database" in result.output


def test_bad_input_leaves_no_store_behind(runner: CliRunner, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'new.db'}"
    result = runner.invoke(cli, ["run", "--space", "nope", "--storage", storage])
    assert result.exit_code == 2
    assert not (tmp_path / "new.db").exists()


def test_debug_shows_the_traceback(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--debug", "run", "--space", "nope"])
    assert result.exit_code == 1 and result.exception is not None


def test_storage_before_the_subcommand(runner: CliRunner, study: str, monkeypatch) -> None:
    code, out = run(runner, "--storage", study, "trials", "s", "--format", "json")
    assert code == 0 and len(json.loads(out)) >= 12
    monkeypatch.setenv("NASPLAT_STORAGE", study)
    code, out = run(runner, "studies", "--format", "json")
    assert code == 0 and json.loads(out)[0]["study"] == "s"
