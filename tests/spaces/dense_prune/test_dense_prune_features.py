"""Backbone features are computed once per (backbone, dataset) and recomputed when either changes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from nasplat.spaces.dense_prune import backbone as backbones
from nasplat.spaces.dense_prune import features as features_module
from nasplat.spaces.dense_prune.data import SyntheticGlyphs
from nasplat.spaces.dense_prune.features import cached_features

SPLITS = ("train", "validation", "test", "ood")


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = features_module.extract

    def extract(backbone, inputs, batch_size=512):
        calls.append(len(inputs))
        return real(backbone, inputs, batch_size)

    monkeypatch.setattr(features_module, "extract", extract)
    return calls


def _data(**options) -> SyntheticGlyphs:
    return SyntheticGlyphs(**{"train": 40, "validation": 10, "test": 10, "ood": 12, **options})


def test_features_are_computed_once_then_read(monkeypatch: pytest.MonkeyPatch,
                                              private_cache: Path) -> None:
    calls = _counting(monkeypatch)
    net = backbones.frozen(backbones.SmallResNet(1, 16))
    key = backbones.weights_hash(net)
    messages: list[str] = []
    first = cached_features(net, key, _data(), SPLITS, messages.append)
    assert calls == [40, 10, 10, 12] and "computing" in messages[-1]
    again = cached_features(net, key, _data(), SPLITS, messages.append)
    assert calls == [40, 10, 10, 12] and "read from" in messages[-1]
    for split in SPLITS:
        assert first[split].features.shape == (len(first[split].labels), 64)
        torch.testing.assert_close(first[split].features, again[split].features)
        torch.testing.assert_close(first[split].features,
                                   net(_data().load(split).inputs).flatten(1))
    assert len(list((private_cache / "dense_prune" / "features").glob("*.npz"))) == 1


def test_other_weights_or_other_data_compute_anew(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting(monkeypatch)
    net = backbones.frozen(backbones.SmallResNet(1, 16))
    cached_features(net, backbones.weights_hash(net), _data(), SPLITS, lambda m: None)
    with torch.no_grad():
        net.stem[0].weight.add_(0.01)  # changed weights: another hash
    changed = backbones.weights_hash(net)
    cached_features(net, changed, _data(), SPLITS, lambda m: None)
    assert len(calls) == 8
    cached_features(net, changed, _data(seed=1), SPLITS, lambda m: None)  # other images
    assert len(calls) == 12
    cached_features(net, changed, _data(), SPLITS, lambda m: None)  # both seen: a hit
    assert len(calls) == 12


def test_a_damaged_cache_file_is_recomputed(monkeypatch: pytest.MonkeyPatch,
                                            private_cache: Path) -> None:
    calls = _counting(monkeypatch)
    net = backbones.frozen(backbones.SmallResNet(1, 16))
    key = backbones.weights_hash(net)
    cached_features(net, key, _data(), SPLITS, lambda m: None)
    for path in (private_cache / "dense_prune" / "features").glob("*.npz"):
        path.write_bytes(b"not a zip")
    cached_features(net, key, _data(), SPLITS, lambda m: None)
    assert len(calls) == 8


def test_the_bundled_backbone_is_pretrained_once_and_says_so() -> None:
    messages: list[str] = []
    first = backbones.bundled((1, 28, 28), 16, 64, 1, seed=0, log=messages.append)
    second = backbones.bundled((1, 28, 28), 16, 64, 1, seed=0, log=messages.append)
    assert "pre-training the bundled SmallResNet" in messages[0]
    assert "generated source task" in messages[0] and "reused from" in messages[1]
    assert first.key == second.key and first.features == 64
    assert not any(p.requires_grad for p in second.module.parameters())
    assert not second.module.training


def test_a_backbone_factory_with_weights(tmp_path: Path) -> None:
    net = backbones.SmallResNet()
    path = tmp_path / "w.pt"
    torch.save(net.state_dict(), path)
    loaded = backbones.load_factory("nasplat.spaces.dense_prune.backbone:SmallResNet",
                                    str(path), (1, 28, 28))
    assert loaded.features == 512  # SmallResNet() is width 128: 4 x 128
    assert loaded.key == backbones.weights_hash(backbones.frozen(net))
    assert str(path) in loaded.description


def test_a_bad_factory_says_how_to_name_one() -> None:
    from nasplat.errors import ConfigError

    with pytest.raises(ConfigError, match="package.module:factory"):
        backbones.load_factory("no_colon_here", None, (1, 28, 28))
    with pytest.raises(ConfigError, match="cannot import"):
        backbones.load_factory("nasplat.nothing:make", None, (1, 28, 28))
