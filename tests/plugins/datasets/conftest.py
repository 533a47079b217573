"""Generated data goes to a temporary cache folder, never the user's."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The cache folder of this test."""
    monkeypatch.setenv("NASPLAT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"
