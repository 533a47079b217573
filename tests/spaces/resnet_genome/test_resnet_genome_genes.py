"""What resnet_genome promises: validity under its operators and repair, exact params, encoding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nasplat.errors import InvalidGenome
from nasplat.spaces.resnet_genome.genes import (
    MUTATIONS, ConvGene, FCGene, PoolGene, apply_mutation)
from nasplat.spaces.resnet_genome.space import ResNetGenome

SHAPES = [(1, 28, 28), (3, 64, 64), (1, 4, 4), (2, 5, 3), (1, 1, 1)]
spaces = st.builds(ResNetGenome, input_shape=st.sampled_from(SHAPES),
                   classes=st.integers(2, 10), max_channels=st.sampled_from([8, 16, 128]),
                   max_length=st.integers(2, 30), init_length=st.integers(2, 30))


def count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_a_genome_in_json() -> None:
    space = ResNetGenome(input_shape=(1, 28, 28), classes=10)
    data = [{"type": "conv", "channels": 16, "kernel": 3, "stride": 1},
            {"type": "pool", "op": "avg"}, {"type": "fc", "units": 64, "dropout": 0.5}]
    genome = space.from_json(data)
    assert genome == (ConvGene(16, 3, 1), PoolGene("avg"), FCGene(64, 0.5))
    assert space.to_json(genome) == data


@pytest.mark.parametrize("genome, message", [
    ((ConvGene(16),), "2 to 30 genes"),
    ((PoolGene(), ConvGene(16)), "first gene must be a conv gene"),
    ((ConvGene(16), FCGene(64), ConvGene(16)), "FC genes must come after"),
    ((ConvGene(16), ConvGene(256)), "channels must be one of"),
    ((ConvGene(16, kernel=2), ConvGene(16)), "kernel must be one of"),
    ((ConvGene(16), PoolGene("min")), "pool op must be one of"),
    ((ConvGene(16), FCGene(64, 0.3)), "dropout one of"),
    ((ConvGene(16), *[PoolGene()] * 5), "gene 5 pools a 1×1 map"),   # 28 → 14 → 7 → 3 → 1
    ((ConvGene(16),) * 31, "2 to 30 genes"),
    ([{"type": "conv", "channels": 16, "kernel": 3, "stride": 1}] * 2, "JSON: use from_json"),
])
def test_validate_says_what_is_wrong(genome: tuple, message: str) -> None:
    space = ResNetGenome(input_shape=(1, 28, 28), classes=10, max_channels=128)
    with pytest.raises(InvalidGenome, match=message):
        space.validate(genome)


def test_five_pools_fit_32_pixels_but_not_28() -> None:
    genome = (ConvGene(16), *[PoolGene()] * 5)
    ResNetGenome(input_shape=(1, 32, 32)).validate(genome)       # 32 → 1
    with pytest.raises(InvalidGenome, match="pools a 1×1 map"):
        ResNetGenome(input_shape=(1, 28, 28)).validate((*genome, PoolGene()))


@pytest.mark.parametrize("bad", [
    [{"type": "conv", "channels": True, "kernel": 3, "stride": 1}] * 2,
    [{"type": "conv", "channels": 16.0, "kernel": 3, "stride": 1}] * 2,
    [{"type": "conv", "channels": 16, "kernel": 3}] * 2,
    [{"type": "dense", "units": 64}] * 2,
    [[16, 3, 1], [16, 3, 1]],
])
def test_from_json_rejects_malformed_genes(bad: list) -> None:
    with pytest.raises(InvalidGenome):
        ResNetGenome().from_json(bad)


@settings(max_examples=60, deadline=None)
@given(space=spaces, seed=st.integers(0, 2**32 - 1))
def test_operators_keep_genomes_valid(space: ResNetGenome, seed: int) -> None:
    """60 examples × 40 steps: thousands of mutations and crossovers, every child valid."""
    rng = np.random.default_rng(seed)
    population = [space.sample(rng) for _ in range(4)]
    for genome in population:
        space.validate(genome)
    for _ in range(40):
        a, b = (population[int(i)] for i in rng.integers(len(population), size=2))
        mutant, child = space.mutate(a, rng), space.crossover(a, b, rng)
        space.validate(mutant)
        space.validate(child)
        assert mutant != a
        population[int(rng.integers(len(population)))] = space.mutate(child, rng)


@settings(max_examples=40, deadline=None)
@given(space=spaces, seed=st.integers(0, 2**32 - 1))
def test_each_mutation_type_changes_only_its_gene_type(space: ResNetGenome, seed: int) -> None:
    rng = np.random.default_rng(seed)
    genome = space.sample(rng)
    for name in MUTATIONS:
        child = apply_mutation(name, genome, space.rules, rng)
        if child is None:
            continue
        kind = name.split("_")[1]
        others = [g for g in genome if g.type != kind]
        assert [g for g in child if g.type != kind] == others, name


def test_crossover_mixes_both_parents() -> None:
    space = ResNetGenome(input_shape=(1, 28, 28), classes=10)
    a = (ConvGene(8), ConvGene(8), PoolGene("max"), FCGene(32))
    b = (ConvGene(64, 5), PoolGene("avg"), ConvGene(64, 5), FCGene(512, 0.5))
    rng = np.random.default_rng(0)
    children = {space.crossover(a, b, rng) for _ in range(50)}
    assert len(children) > 5
    for child in children:
        space.validate(child)
        assert child[0] == a[0]                 # the first part always comes from a


genes_any = st.one_of(
    st.builds(ConvGene, st.integers(-5, 2000), st.integers(-1, 9), st.integers(0, 4)),
    st.builds(PoolGene, st.sampled_from(["max", "avg", "median"])),
    st.builds(FCGene, st.integers(0, 5000), st.floats(-1, 2)))


@settings(max_examples=300, deadline=None)
@given(space=spaces, genome=st.lists(genes_any, max_size=40))
def test_repair_gives_a_valid_genome(space: ResNetGenome, genome: list) -> None:
    repaired = space.repair(genome)
    space.validate(repaired)
    assert space.repair(repaired) == repaired   # a valid genome is its own repair


def test_repair_moves_fc_genes_after_the_convolutional_part() -> None:
    space = ResNetGenome(input_shape=(1, 4, 4), classes=10, max_channels=64)
    broken = (PoolGene(), FCGene(100, 0.1), ConvGene(60, 4, 3), PoolGene(), PoolGene(),
              PoolGene(), ConvGene(16))
    assert space.repair(broken) == (ConvGene(64, 5, 2), PoolGene(), ConvGene(16),
                                    FCGene(128, 0.0))


@settings(max_examples=150, deadline=None)
@given(space=spaces, seed=st.integers(0, 2**32 - 1))
def test_params_equal_the_built_models(space: ResNetGenome, seed: int) -> None:
    """Shortcuts, pools and FC genes included; built on the meta device (no memory)."""
    rng = np.random.default_rng(seed)
    genome = space.sample(rng)
    for _ in range(int(rng.integers(0, 6))):
        genome = space.mutate(genome, rng)
    with torch.device("meta"):
        model = space.build(genome)
    assert space.cheap_metrics(genome)["params"] == count(model)


@settings(max_examples=100, deadline=None)
@given(space=spaces, seed=st.integers(0, 2**32 - 1))
def test_encode_has_one_length(space: ResNetGenome, seed: int) -> None:
    rng = np.random.default_rng(seed)
    genome = space.sample(rng)
    lengths = set()
    for _ in range(10):
        code = space.encode(genome)
        assert np.isfinite(code).all()
        lengths.add(code.shape)
        genome = space.mutate(genome, rng)
    assert lengths == {(9 * space.rules.max_length + 7,)}


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 5, 7), (1, 1, 1)])
def test_random_genomes_build_and_run(shape: tuple[int, int, int]) -> None:
    """Long mutated genomes on small maps: every one runs forward and backward."""
    space = ResNetGenome(input_shape=shape, classes=4, max_channels=8, max_length=12)
    rng = np.random.default_rng(1)
    genome = space.sample(rng)
    for step in range(20):
        genome = space.mutate(genome, rng) if step % 3 else space.crossover(
            genome, space.sample(rng), rng)
        model = space.build(genome)
        out = model(space.dummy_input(2))
        assert out.shape == (2, 4) and torch.isfinite(out).all()
        out.sum().backward()


# --- weight inheritance --------------------------------------------------------------------


def trained(space: ResNetGenome, genome: tuple) -> dict[str, torch.Tensor]:
    """A parent state unlike any fresh initialisation."""
    torch.manual_seed(0)
    model = space.build(genome)
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.add_(torch.randn_like(tensor))
    return model.state_dict()


def load(space: ResNetGenome, parent: tuple, child: tuple) -> tuple[dict, dict, torch.nn.Module]:
    state = trained(space, parent)
    inherited = space.inherit(parent, state, child)
    model = space.build(child)
    missing, unexpected = model.load_state_dict(inherited, strict=False)
    assert not unexpected
    return state, inherited, model


def test_inheritance_copies_the_layers_around_an_inserted_gene() -> None:
    space = ResNetGenome(input_shape=(1, 28, 28), classes=10)
    parent = (ConvGene(16), ConvGene(32, stride=2), PoolGene(), ConvGene(32), FCGene(64))
    child = (ConvGene(16), ConvGene(32, stride=2), ConvGene(32, 5), PoolGene(), ConvGene(32),
             FCGene(64))
    state, inherited, model = load(space, parent, child)
    new = model.state_dict()
    for key in state:   # body.0, body.1 in place; body.3 → body.4; fc and head
        target = key.replace("body.3.", "body.4.")
        assert torch.equal(new[target], state[key]), key
    assert not any(k.startswith("body.2.") for k in inherited)   # the new block is fresh


def test_inheritance_after_a_removed_gene_and_a_changed_width() -> None:
    space = ResNetGenome(input_shape=(1, 28, 28), classes=10)
    parent = (ConvGene(16), ConvGene(64), ConvGene(64), FCGene(64))
    child = (ConvGene(16), ConvGene(64), FCGene(64))            # a conv gene removed
    state, inherited, model = load(space, parent, child)
    assert torch.equal(model.state_dict()["body.1.conv1.weight"], state["body.1.conv1.weight"])
    assert torch.equal(model.state_dict()["fc.0.0.weight"], state["fc.0.0.weight"])
    widened = (ConvGene(16), ConvGene(32), ConvGene(64), FCGene(64))  # a conv gene modified
    state, inherited, model = load(space, parent, widened)
    assert torch.equal(model.state_dict()["body.0.conv1.weight"], state["body.0.conv1.weight"])
    assert "body.1.conv1.weight" not in inherited               # 16→32 now, not 16→64
    assert "body.1.bn1.weight" not in inherited                  # 32 channels, not 64
    assert not any(k.startswith("body.2.shortcut") for k in inherited)  # it had none
    assert torch.equal(model.state_dict()["body.2.conv2.weight"], state["body.2.conv2.weight"])
    assert torch.equal(model.state_dict()["head.weight"], state["head.weight"])


def test_inheritance_of_a_mutated_child_loads_into_it() -> None:
    space = ResNetGenome(input_shape=(1, 8, 8), classes=3, max_channels=16)
    rng = np.random.default_rng(3)
    for _ in range(20):
        parent = space.sample(rng)
        child = space.mutate(parent, rng)
        state, inherited, model = load(space, parent, child)
        assert inherited, "a one-gene change keeps at least the first layer or the head"
