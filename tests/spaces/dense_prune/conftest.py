"""Fixtures of the dense_prune tests: the plugin registered, a private cache, tiny settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import nasplat.spaces.dense_prune.plugin as dense_prune_plugin
from nasplat import registry
from nasplat.spaces.dense_prune import DensePruneSpace

if "dense_prune" not in registry.get().info:  # not installed with its entry point yet
    registry.get().add(dense_prune_plugin, "dense_prune")


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test writes backbones, features and data to its own cache folder."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("NASPLAT_CACHE_DIR", str(folder))
    yield folder


@pytest.fixture
def space() -> DensePruneSpace:
    """The space with a tiny bundled backbone: P = 64 features, pre-trained in a second."""
    return DensePruneSpace(width=16, source_samples=64, source_epochs=1, hidden=8)
