"""Every morphism against its parent: preserving ones exactly, approximate ones within tolerance."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nasplat.spaces.rnn_cell import cell
from nasplat.spaces.rnn_cell.morphisms import MORPHISMS, Morphism, random_morphism
from nasplat.spaces.rnn_cell.space import RnnCellSpace

VOCAB = 32
SEED = 0  # seeds 0-3 pass (checked when the tolerances were set)
TOKENS = torch.randint(0, VOCAB, (8, 16), generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def space() -> RnnCellSpace:
    return RnnCellSpace(vocab=VOCAB, embedding=8, hidden=8, max_hidden=16, layers=2)


def trained(space: RnnCellSpace, genome: dict, seed: int) -> torch.nn.Module:
    """A parent after a few clipped Adam steps: weights that are not the initial ones."""
    torch.manual_seed(seed)
    model = space.build(genome)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(8):
        logits = model(TOKENS[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), TOKENS[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    return model.eval()


def log_probs(model: torch.nn.Module) -> torch.Tensor:
    with torch.no_grad():
        return model(TOKENS).log_softmax(-1)


def change(space: RnnCellSpace, parent: dict, model: torch.nn.Module, child: dict
           ) -> tuple[float, float]:
    """Mean |Δ log p| of the inheriting child, and of the same child freshly initialised."""
    inheriting = space.build(child)
    inheriting.load_state_dict(space.inherit(parent, model.state_dict(), child))
    before = log_probs(model)
    return ((before - log_probs(inheriting.eval())).abs().mean().item(),
            (before - log_probs(space.build(child).eval())).abs().mean().item())


@pytest.fixture(scope="module")
def parents(space: RnnCellSpace) -> list[tuple[dict, torch.nn.Module]]:
    """The LSTM, plus random cells whose language model stays bounded (no exploding h), each
    briefly trained."""
    rng = np.random.default_rng(SEED)
    torch.manual_seed(SEED)
    genomes = [cell.lstm_genome(8)]
    while len(genomes) < 6:
        genome = space.sample(rng)
        with torch.no_grad():
            bounded = space.build(genome)(TOKENS).abs().max() < 5  # finite, small logits
        if bounded and len(genome["nodes"]) > 2:
            genomes.append(genome)
    return [(genome, trained(space, genome, seed)) for seed, genome in enumerate(genomes)]


@pytest.mark.parametrize("morphism", MORPHISMS, ids=lambda m: m.name)
def test_morphism_keeps_the_function(space: RnnCellSpace, morphism: Morphism,
                                     parents: list[tuple[dict, torch.nn.Module]]) -> None:
    """Before training, the inheriting child computes its parent's function: exactly (up to
    float rounding) for a preserving morphism, within ``tolerance`` for an approximate one,
    and always closer than the same child trained from scratch would start."""
    rng = np.random.default_rng(SEED + 1)
    applied = 0
    for parent, model in parents:
        child = morphism.apply(parent, rng, space.limits)
        if child is None:
            continue
        space.validate(child)
        applied += 1
        inherited, scratch = change(space, parent, model, child)
        if morphism.preserving:
            assert inherited <= morphism.tolerance, (parent, child)
        elif parent == cell.lstm_genome(8):
            assert inherited <= morphism.tolerance, (parent, child)
        assert not scratch <= inherited, (parent, child)  # a scratch child may even be NaN
    assert applied >= 4


def test_preserving_morphisms_change_the_architecture(space: RnnCellSpace) -> None:
    rng = np.random.default_rng(2)
    lstm = cell.lstm_genome(8)
    for morphism in MORPHISMS:
        child = morphism.apply(lstm, rng, space.limits)
        if child is not None:
            assert space.genome_hash(child) != space.genome_hash(lstm), morphism.name


def test_widen_is_net2wider(space: RnnCellSpace) -> None:
    """The widened LSTM's new units start as copies of old ones, its function unchanged."""
    parent = cell.lstm_genome(8)
    child = next(m for m in MORPHISMS if m.name == "widen").apply(
        parent, np.random.default_rng(0), space.limits)
    assert child is not None and child["hidden"] == 12
    model = trained(space, parent, 0)
    state = space.inherit(parent, model.state_dict(), child)
    weight = state["cells.1.w.n0_h"]
    assert weight.shape == (12, 12)
    torch.testing.assert_close(state["cells.1.b.n0"][8:], state["cells.1.b.n0"][:4])
    assert change(space, parent, model, child)[0] < 1e-5


def test_random_morphism_respects_the_limits(space: RnnCellSpace) -> None:
    """At max width and max nodes, mutation still works and stays inside the limits."""
    rng = np.random.default_rng(4)
    genome = cell.lstm_genome(16)
    for _ in range(200):
        morphism, genome = random_morphism(genome, rng, space.limits)
        space.validate(genome)
        assert genome["hidden"] <= 16 and len(genome["nodes"]) <= 12


def test_remove_node_never_leaves_a_dead_cell(space: RnnCellSpace) -> None:
    """Removing the LSTM's input gate turned i * g into h * g, and h, c stayed 0 for ever."""
    from nasplat.spaces.rnn_cell.morphisms import remove_node

    removed = set()
    for seed in range(60):
        lstm = cell.lstm_genome(8)
        child = remove_node(lstm, np.random.default_rng(seed), space.limits)
        if child is None:
            continue
        space.validate(child)
        assert not cell.state_stays_zero(child)
        removed.add(frozenset(n["id"] for n in lstm["nodes"]) - {n["id"] for n in child["nodes"]})
    assert frozenset({0}) in removed, "the input gate was among the nodes removed"
