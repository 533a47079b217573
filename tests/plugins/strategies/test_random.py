"""Random search: seeded, and its state restores exactly."""

from __future__ import annotations

import numpy as np

from nasplat.plugins.strategies.random import RandomSearch
from toys import ToyCellDag


def test_state_round_trip_continues_the_sequence() -> None:
    space = ToyCellDag()
    a = RandomSearch(space, [], seed=4)
    a.ask(5)
    state = a.state_dict()
    expected = a.ask(5)
    b = RandomSearch(space, [], seed=999)
    b.load_state_dict(state)
    assert b.ask(5) == expected


def test_seeded() -> None:
    space = ToyCellDag()
    assert RandomSearch(space, [], seed=1).ask(4) == RandomSearch(space, [], seed=1).ask(4)
    assert RandomSearch(space, [], seed=1).ask(4) != RandomSearch(space, [], seed=2).ask(4)
    assert isinstance(RandomSearch(space, [], 0).rng, np.random.Generator)
