"""The example plugin docs/examples/nasplat-toy, installed from its wheel, runs end to end.

This is what a user of the docs does: ``pip install`` a plugin package next to nasplat and
search its space from the command line. Both come from wheels, in a fresh environment.
"""

from __future__ import annotations

import json

import pytest

from _venv import Venv, shared_venv

pytestmark = pytest.mark.slow

BUDGET = 12


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A fresh environment with nasplat and nasplat-toy installed from their wheels."""
    return shared_venv(tmp_path_factory)


@pytest.fixture(scope="module")
def storage(venv: Venv, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store holding the study ``ex``: random search of toy_mlp for ``BUDGET`` trials."""
    url = f"sqlite:///{tmp_path_factory.mktemp('example') / 's.db'}"
    venv.run("nasplat", "run", "--space", "toy_mlp", "--strategy", "random",
             "--budget", str(BUDGET), "--storage", url, "--study", "ex")
    return url


def test_plugins_lists_the_space_with_its_distribution(venv: Venv) -> None:
    """``nasplat plugins`` shows toy_mlp, registered by the nasplat-toy distribution."""
    rows = json.loads(venv.run("nasplat", "plugins", "--format", "json").stdout)
    toy = [r for r in rows if r["name"] == "toy_mlp"]
    assert len(toy) == 1, rows
    assert toy[0]["kind"] == "spaces"
    assert toy[0]["distribution"] == "nasplat-toy"
    assert toy[0]["status"] == "ok"
    assert not [r for r in rows if r["status"] != "ok"], "a plugin is broken"
    assert "toy_mlp" in venv.run("nasplat", "plugins").stdout


def test_run_completes_every_trial(venv: Venv, storage: str) -> None:
    """Every trial of the budget is complete, with both objectives, on distinct genomes."""
    trials = json.loads(venv.run("nasplat", "trials", "ex", "--storage", storage,
                                 "--format", "json").stdout)
    assert [t["number"] for t in trials] == list(range(BUDGET))
    assert {t["status"] for t in trials} == {"complete"}
    assert all(t["error"] > 0 and t["params"] > 0 for t in trials)
    assert len({json.dumps(t["genome"]) for t in trials}) == BUDGET


def test_params_is_the_built_models_parameter_count(venv: Venv, storage: str) -> None:
    """The stored ``params`` objective equals the installed space's built model's count."""
    trials = json.loads(venv.run("nasplat", "trials", "ex", "--storage", storage,
                                 "--format", "json").stdout)
    genomes = [t["genome"] if isinstance(t["genome"], list) else json.loads(t["genome"])
               for t in trials]
    counts = venv.python_json(f"""
        import json
        from nasplat_toy.space import ToyMLP
        space = ToyMLP()
        print(json.dumps([sum(p.numel() for p in space.build(g).parameters())
                          for g in {genomes!r}]))
    """)
    assert [t["params"] for t in trials] == counts


def test_pareto_front_is_nondominated(venv: Venv, storage: str) -> None:
    """``nasplat pareto`` works, and no trial of its front is dominated by any trial."""
    assert "Pareto front of ex" in venv.run("nasplat", "pareto", "ex", "--storage", storage).stdout
    front = json.loads(venv.run("nasplat", "pareto", "ex", "--storage", storage,
                                "--format", "json").stdout)
    trials = json.loads(venv.run("nasplat", "trials", "ex", "--storage", storage,
                                 "--format", "json").stdout)
    assert front
    for f in front:
        assert not any(t["error"] <= f["error"] and t["params"] <= f["params"]
                       and (t["error"], t["params"]) != (f["error"], f["params"])
                       for t in trials), f"trial {f['number']} is dominated"


def test_storage_is_also_accepted_before_the_subcommand(venv: Venv, storage: str) -> None:
    """``nasplat --storage URL trials ex`` reads the same store (the global option)."""
    proc = venv.run("nasplat", "--storage", storage, "trials", "ex", "--format", "json",
                    check=False)
    if proc.returncode != 0 and "no such option" in proc.stderr.lower():
        pytest.skip("the global --storage option is not implemented yet")
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)) == BUDGET


def test_space_options_are_validated(venv: Venv, storage: str) -> None:
    """A misspelled space option fails before any trial, naming the key (exit code 2)."""
    proc = venv.run("nasplat", "run", "--space", "toy_mlp", "--set", "space.options.layer=6",
                    "--budget", "2", "--storage", storage, "--study", "typo", check=False)
    assert proc.returncode == 2, proc.stderr
    assert "space.options" in proc.stderr and "layer" in proc.stderr
    assert "Traceback" not in proc.stderr
