"""``nasplat surrogate``: tables of stored reports, csv and json, the plot, and the errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from nasplat import run_study
from nasplat.cli import cli
from nasplat.store import Store, queries, writes
from nasplat.surrogate_quality import SurrogateReport

BO = {"name": "bo", "options": {"initial": 6, "samples": 40, "mutants": 40, "children": 20,
                                "mc_samples": 8, "surrogate_report_every": 5,
                                "surrogate_options": {"models": 3, "n_estimators": 10}}}


def run(runner: CliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def study(storage: str, name: str, strategy: dict | str, trials: int) -> None:
    run_study({"study": name, "space": "zdt1_int", "strategy": strategy, "storage": storage,
               "budget": {"trials": trials}, "seed": 0,
               "objectives": ["f1", {"name": "f2", "direction": "max"}]})


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store with a bo study that reported (``bo``), one with known hand-written reports
    (``known``, made by random search), a random one and a bo one with reports off."""
    url = f"sqlite:///{tmp_path_factory.mktemp('surrogate') / 'store.db'}"
    study(url, "bo", BO, 17)  # refits at 6..16 observations: reports at 6, 11, 16
    study(url, "known", "random", 2)
    study(url, "plain", "random", 2)
    study(url, "quiet", {**BO, "options": {**BO["options"], "surrogate_report_every": 0}}, 8)
    store = Store(url)
    with store.transaction() as connection:
        writes.record_surrogate_reports_in(connection, queries.get_study(store, "known").id, [
            SurrogateReport("f2", 10, 5, 0.125, 0.25, 3.5, "xgboost"),
            SurrogateReport("f1", 10, 5, None, None, 0.0, "xgboost"),
            SurrogateReport("f1", 30, 5, 0.75, 0.875, 0.0625, "xgboost")])
    return url


def test_tables_show_each_report_and_the_evolution(runner: CliRunner, storage: str) -> None:
    code, out = run(runner, "surrogate", "known", "--storage", storage)
    assert code == 0, out
    lines = out.splitlines()
    f1, f2 = lines.index(next(x for x in lines if "f1 ↓: surrogate xgboost (random)" in x)), \
        lines.index(next(x for x in lines if "f2 ↑: surrogate xgboost (random)" in x))
    assert f1 < f2  # in the study's objective order
    rows = [[c.strip() for c in x.split("│")[1:-1]] for x in lines if x.startswith("│")]
    assert rows == [["10", "5", "–", "–", "0"], ["30", "5", "0.75", "0.875", "0.0625"],
                    ["10", "5", "0.125", "0.25", "3.5"]]
    assert "f1: τ – → 0.75, ρ – → 0.875, RMSE 0 → 0.0625 from 10 to 30 observations " \
           "(2 reports)" in out
    assert "f2: one report, at 10 observations" in out
    assert "–: undefined, the observed values or the predictions were all equal" in out


def test_csv_and_json_hold_the_stored_values(runner: CliRunner, storage: str) -> None:
    code, out = run(runner, "surrogate", "known", "--format", "csv", "--storage", storage)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["objective"], r["observations"], r["kendall_tau"]) for r in rows] == [
        ("f1", "10", ""), ("f1", "30", "0.75"), ("f2", "10", "0.125")]
    code, out = run(runner, "surrogate", "known", "--format", "json", "--storage", storage)
    assert json.loads(out)[0] == {"objective": "f1", "observations": 10, "folds": 5,
                                  "kendall_tau": None, "spearman_rho": None, "rmse": 0.0,
                                  "surrogate": "xgboost"}


def test_a_bo_study_reports_as_it_goes(runner: CliRunner, storage: str,
                                       tmp_path: Path) -> None:
    png = tmp_path / "quality.png"
    code, out = run(runner, "surrogate", "bo", "--plot", str(png), "--storage", storage)
    assert code == 0, out
    assert "f1 ↓: surrogate xgboost (bo), cross-validated" in out
    assert "from 6 to 16 observations (3 reports)" in out
    assert f"wrote {png}" in out and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, out = run(runner, "surrogate", "bo", "--format", "json", "--storage", storage)
    reports = json.loads(out)
    assert [(r["objective"], r["observations"]) for r in reports] == [
        (name, n) for name in ("f1", "f2") for n in (6, 11, 16)]
    assert all(r["folds"] == 5 and r["rmse"] > 0 for r in reports)


def test_errors_say_why_there_is_nothing_to_show(runner: CliRunner, storage: str) -> None:
    code, out = run(runner, "surrogate", "bo2", "--storage", storage)
    assert code == 2 and "unknown study 'bo2'. Did you mean 'bo'?" in out
    code, out = run(runner, "surrogate", "plain", "--storage", storage)
    assert code == 2
    assert "study 'plain' has no surrogate reports: its strategy 'random' fits no surrogate" in out
    assert "strategies that report: bo" in out
    code, out = run(runner, "surrogate", "quiet", "--storage", storage)
    assert code == 2 and "study 'quiet' has no surrogate reports yet" in out
    assert "surrogate_report_every = 0" in out
