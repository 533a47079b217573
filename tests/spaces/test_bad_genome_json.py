"""Genome JSON with bad input, for every bundled and toy space: ``from_json`` either gives a
genome the space can hash, encode and measure, or raises :class:`InvalidGenome` saying why;
never another exception from deep inside."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from bad_input import JSON_VALUES, near_genomes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nasplat.errors import InvalidGenome
from nasplat.problem import instantiate
from nasplat.space import SearchSpace

SPACES = ["zdt1_int", "dtlz2_int", "resnet_genome", "rnn_cell", "moe_mobilevit", "dense_prune",
          "toy_int", "toy_mask", "toy_genes", "toy_cell"]

SETTINGS = settings(max_examples=150, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

_SPACES: dict[str, SearchSpace] = {}


def space_of(name: str) -> SearchSpace:
    """One instance per space, with its default options."""
    if name not in _SPACES:
        _SPACES[name] = instantiate("spaces", name, {}, "space.options")
    return _SPACES[name]


def sample_json(name: str, seed: int) -> Any:
    """The JSON form of a random genome of space ``name``."""
    space = space_of(name)
    return space.to_json(space.sample(np.random.default_rng(seed)))


def check_from_json(name: str, data: Any) -> str:
    """``from_json(data)`` is a usable genome or an InvalidGenome with a message."""
    space = space_of(name)
    try:
        genome = space.from_json(data)
    except InvalidGenome as exc:
        assert str(exc).strip(), "an InvalidGenome without a message"
        return "invalid"
    text = json.dumps(space.to_json(genome))  # what the store keeps
    assert space.genome_hash(space.from_json(json.loads(text))) == space.genome_hash(genome)
    assert np.isfinite(space.encode(genome)).all()
    assert all(math.isfinite(v) for v in space.cheap_metrics(genome).values())
    return "valid"


@pytest.mark.parametrize("name", SPACES)
@SETTINGS
@given(seed=st.integers(0, 2**16), data=st.data())
def test_changed_genomes_are_valid_or_invalid_genomes(name: str, seed: int,
                                                      data: st.DataObject) -> None:
    changed = data.draw(near_genomes(sample_json(name, seed)), label="genome")
    check_from_json(name, changed)


@pytest.mark.parametrize("name", SPACES)
@settings(SETTINGS, max_examples=60)
@given(junk=JSON_VALUES)
def test_any_json_value_is_a_genome_or_invalid(name: str, junk: Any) -> None:
    check_from_json(name, junk)


@pytest.mark.parametrize("name, data", [  # each raised TypeError, KeyError ... before
    ("resnet_genome", [{"type": [], "channels": 32, "kernel": 1, "stride": 1},
                       {"type": "pool", "op": "max"}]),
    ("resnet_genome", [{"type": {}, "channels": 32, "kernel": 1, "stride": 1}]),
    ("resnet_genome", [{"type": "conv", "channels": 32, "kernel": 1, "stride": 1},
                       {"type": "fc", "units": 32, "dropout": False}]),
    ("rnn_cell", {"hidden": 32, "memory": None, "outputs": [[]],
                  "nodes": [{"id": 0, "op": "relu", "inputs": ["x"]}]}),
    ("rnn_cell", {"hidden": 32, "memory": None, "outputs": [0],
                  "nodes": [{"id": 0, "op": "relu", "inputs": [["x"]]}]}),
    ("toy_genes", [{"type": "conv", "channels": None, "kernel": 1}]),
    ("toy_genes", [{"type": "conv", "channels": 4}]),
    ("toy_genes", [{"type": "conv", "channels": 4, "kernel": -4431}]),
    ("toy_genes", [{"type": "conv", "channels": 4, "kernel": 1}, {"type": "fc"}]),
])
def test_regressions_are_invalid_genomes(name: str, data: Any) -> None:
    assert check_from_json(name, data) == "invalid"


@pytest.mark.parametrize("name", SPACES)
def test_a_sampled_genome_passes(name: str) -> None:
    assert check_from_json(name, sample_json(name, 0)) == "valid"
