"""The trainable toys registered as a plugin; generated data cached in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest
import trainable_toys

from nasplat import registry

if "trainable_toys" not in registry.get().info:
    registry.get().add(trainable_toys, "trainable_toys", "nasplat-tests", "0")


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NASPLAT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)  # weights of non-SQLite stores go to ./nasplat-artifacts
