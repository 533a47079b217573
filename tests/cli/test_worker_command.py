"""``nasplat worker`` and the parallel options of ``nasplat run``, in-process."""

from __future__ import annotations

from click.testing import CliRunner

from nasplat import load_study
from nasplat.cli import cli


def run(runner: CliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(cli, list(args))
    return result.exit_code, result.output


def test_a_worker_carries_a_study_on_to_its_budget(runner: CliRunner, storage: str) -> None:
    code, out = run(runner, "run", "--space", "toy_int", "--budget", "4", "--study", "s",
                    "--storage", storage, "--quiet")
    assert code == 0, out
    code, out = run(runner, "run", "--study", "s", "--budget", "9", "--storage", storage,
                    "--quiet", "--space", "toy_int")
    assert code == 0, out
    code, out = run(runner, "worker", "--study", "s", "--storage", storage, "--quiet")
    assert code == 0, out
    assert "budget spent" in out
    assert len(load_study("s", storage).trials()) == 9


def test_a_worker_on_a_study_that_does_not_exist(runner: CliRunner, storage: str) -> None:
    run(runner, "run", "--space", "toy_int", "--budget", "2", "--study", "s",
        "--storage", storage, "--quiet")
    code, out = run(runner, "worker", "--study", "nope", "--storage", storage)
    assert code == 2
    assert "Error: unknown study 'nope'. Available: s" in out and "Traceback" not in out


def test_parallel_options_are_checked(runner: CliRunner, tmp_path) -> None:
    storage = f"sqlite:///{tmp_path / 'x.db'}"
    code, out = run(runner, "run", "--space", "toy_int", "--workers", "0", "--storage", storage)
    assert code == 2 and "--workers" in out
    code, out = run(runner, "run", "--space", "toy_int", "--ray-address", "auto",
                    "--storage", storage)
    assert code == 2 and "add --executor ray" in out
    code, out = run(runner, "worker", "--study", "s", "--batch", "0", "--storage", storage)
    assert code == 2 and "--batch" in out
    assert not (tmp_path / "x.db").exists(), "bad input must leave no store behind"
