"""A tiny morphism search through the command line: children record their parents and inherit."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from nasplat import load_study
from nasplat.cli import cli
from nasplat.errors import PluginError
from nasplat.objective import ObjectiveSpec
from nasplat.spaces.rnn_cell.strategy import MorphismNSGA2

TINY = ["--space", "rnn_cell", "--strategy", "morphism_nsga2", "--quiet", "--seed", "1",
        "--set", "strategy.options.population=2", "--set", "strategy.options.child_fidelity=0.05",
        "--set", "space.options.hidden=8", "--set", "space.options.embedding=8",
        "--set", "space.options.max_hidden=16", "--set", "trainer.steps=4",
        "--set", "trainer.batch_size=16"]


def search(runner: CliRunner, storage: str, budget: int) -> list:
    result = runner.invoke(cli, ["run", "--study", "s", "--storage", storage,
                                 "--budget", str(budget), *TINY])
    assert result.exit_code == 0, result.output
    return load_study("s", storage).trials()


def test_children_inherit_from_recorded_parents(runner: CliRunner, storage: str) -> None:
    trials = search(runner, storage, 6)
    assert [t.status for t in trials] == ["complete"] * 6, [t.error for t in trials]
    first, children = trials[:2], trials[2:]
    assert all(t.parents == [] and t.metrics["steps"] == 4 for t in first)
    assert all(len(t.parents) == 1 and t.parents[0] < t.number for t in children)
    assert all(t.metrics["inherited"] == 1.0 for t in children)  # the parent's weights loaded
    assert all(t.metrics["steps"] < 4 for t in children)  # child_fidelity: shorter training
    for t in trials:
        assert set(t.values) == {"val_perplexity", "params", "cell_nodes"}
        assert t.values["cell_nodes"] == len(t.genome["nodes"])


def test_resumed_search_keeps_lineage(runner: CliRunner, storage: str) -> None:
    search(runner, storage, 4)
    trials = search(runner, storage, 7)
    assert len(trials) == 7 and all(t.parents for t in trials[4:])


def test_strategy_needs_inherit() -> None:
    from toys import ToyIntVector

    with pytest.raises(PluginError, match="needs weight inheritance, but space 'toy_int'"):
        MorphismNSGA2(ToyIntVector(), [ObjectiveSpec("error", "min")])
