"""The helpers of benchmarks/morphism_inheritance.py: the unigram yardstick, subsets, resume."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest
import torch

from nasplat.dataset import Split

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "morphism_inheritance.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("morphism_inheritance_bench", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def test_unigram_perplexity_by_hand(bench) -> None:
    # training counts 3, 1, 0 over a vocabulary of 3; add-one: 4/7, 2/7, 1/7
    train = torch.tensor([[0, 0, 1, 0]])
    valid = torch.tensor([[0, 2]])
    expected = math.exp(-(math.log(4 / 7) + math.log(1 / 7)) / 2)
    assert bench.unigram_perplexity(train, valid, vocab=3) == pytest.approx(expected)


def test_uniform_words_give_the_vocabulary_size(bench) -> None:
    words = torch.arange(50).repeat(4).view(20, 10)
    assert bench.unigram_perplexity(words, words, vocab=50) == pytest.approx(50.0)


def test_first_windows(bench) -> None:
    split = Split(torch.arange(40).view(10, 4), torch.arange(1, 41).view(10, 4))
    assert bench.first_windows(split, None) is split
    assert len(bench.first_windows(split, 13)) == 3       # 13 words: 3 whole windows of 4
    assert len(bench.first_windows(split, 2)) == 1        # never empty
    torch.testing.assert_close(bench.first_windows(split, 8).labels, split.labels[:2])


def test_results_resume_and_refuse_other_settings(bench, tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    results = bench.Results(path)
    record = results.task("ptb", {"hidden": 64})
    record["children"]["widen"] = {"epochs": [0, 3]}
    results.save()
    again = bench.Results(path)
    assert again.task("ptb", {"hidden": 64})["children"]["widen"]["epochs"] == [0, 3]
    assert again.parent_weights("ptb") == tmp_path / "r.json.ptb.parent.pt"
    with pytest.raises(SystemExit, match="recorded with settings .*'hidden': 64"):
        again.task("ptb", {"hidden": 128})
    assert bench.Results(None).parent_weights("ptb") is None


def test_a_cell_whose_state_stays_zero_is_found(bench) -> None:
    """The LSTM without its input gate, bypassed by h: c_t = f c + h g stays 0 from 0."""
    from nasplat.spaces.rnn_cell.cell import lstm_genome
    from nasplat.spaces.rnn_cell.space import RnnCellSpace

    space = RnnCellSpace(vocab=20, seq_len=6, embedding=8, hidden=8, max_hidden=16)
    lstm = lstm_genome(8)
    no_input_gate = {**lstm, "nodes": [dict(n) for n in lstm["nodes"] if n["id"] != 0]}
    for node in no_input_gate["nodes"]:
        node["inputs"] = ["h" if i == 0 else i for i in node["inputs"]]
    tokens = torch.randint(0, 20, (4, 6))
    assert bench.state_stays_zero(space.build(no_input_gate), tokens)
    assert not bench.state_stays_zero(space.build(lstm), tokens)
