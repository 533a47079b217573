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
def store_url(venv: Venv, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store holding the study ``ex``: random search of toy_mlp for ``BUDGET`` trials."""
    url = f"sqlite:///{tmp_path_factory.mktemp('example') / 's.db'}"
    venv.run("nasplat", "run", "--space", "toy_mlp", "--strategy", "random",
             "--budget", str(BUDGET), "--storage", url, "--study", "ex")
    return url


@pytest.fixture(scope="module")
def trials(venv: Venv, store_url: str) -> list[dict]:
    """``nasplat trials ex --format json``, parsed."""
    return json.loads(venv.run("nasplat", "trials", "ex", "--storage", store_url,
                               "--format", "json").stdout)


def test_plugins_lists_the_space_with_its_distribution(venv: Venv) -> None:
    """``nasplat plugins`` shows toy_mlp, registered by the nasplat-toy distribution."""
    rows = json.loads(venv.run("nasplat", "plugins", "--format", "json").stdout)
    toy = [r for r in rows if r["name"] == "toy_mlp"]
    assert len(toy) == 1, rows
    assert toy[0]["kind"] == "spaces"
    assert toy[0]["distribution"] == "nasplat-toy"
    assert toy[0]["status"] == "ok"
    assert not [r for r in rows if r["status"] != "ok"], "a plugin is broken"


def test_run_completes_every_trial(trials: list[dict]) -> None:
    """Every trial of the budget is complete, with both objectives, on distinct genomes."""
    assert [t["number"] for t in trials] == list(range(BUDGET))
    assert {t["status"] for t in trials} == {"complete"}
    assert all(t["error"] > 0 and t["params"] > 0 for t in trials)
    assert len({json.dumps(t["genome"]) for t in trials}) == BUDGET


def test_params_is_the_built_models_parameter_count(venv: Venv, trials: list[dict]) -> None:
    """The stored ``params`` objective equals the installed space's built model's count."""
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


def test_pareto_front_is_the_nondominated_trials(venv: Venv, store_url: str,
                                                 trials: list[dict]) -> None:
    """``nasplat pareto`` shows exactly the trials no other trial dominates (both minimised)."""
    def dominated(a: dict) -> bool:
        return any(b["error"] <= a["error"] and b["params"] <= a["params"]
                   and (b["error"], b["params"]) != (a["error"], a["params"]) for b in trials)

    expected = sorted(t["number"] for t in trials if not dominated(t))
    front = json.loads(venv.run("nasplat", "pareto", "ex", "--storage", store_url,
                                "--format", "json").stdout)
    assert sorted(f["number"] for f in front) == expected
    table = venv.run("nasplat", "pareto", "ex", "--storage", store_url).stdout
    assert f"Pareto front of ex ({len(expected)} trials)" in table


def test_storage_is_also_accepted_before_the_subcommand(venv: Venv, store_url: str) -> None:
    """``nasplat --storage URL trials ex`` reads the same store (the global option)."""
    proc = venv.run("nasplat", "--storage", store_url, "trials", "ex", "--format", "json")
    assert len(json.loads(proc.stdout)) == BUDGET


def test_space_options_are_validated(venv: Venv, store_url: str) -> None:
    """A misspelled space option fails before any trial, naming the key (exit code 2)."""
    proc = venv.run("nasplat", "run", "--space", "toy_mlp", "--set", "space.options.layer=6",
                    "--budget", "2", "--storage", store_url, "--study", "typo", check=False)
    assert proc.returncode == 2, proc.stderr
    assert "space.options" in proc.stderr and "layer" in proc.stderr
    assert "Traceback" not in proc.stderr
