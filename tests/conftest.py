"""Shared fixtures: the toy spaces registered as a plugin, a temporary store, the CLI runner."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

import spaces_for_failures  # noqa: E402
import toys  # noqa: E402

from nasplat import registry  # noqa: E402

registry.get().add(toys, "toys", "nasplat-tests", "0")
registry.get().add(spaces_for_failures, "failures", "nasplat-tests", "0")


@pytest.fixture
def storage(tmp_path: Path) -> str:
    """A SQLAlchemy URL of a fresh SQLite store in a temporary folder."""
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def runner() -> Iterator[CliRunner]:
    """Click's runner for invoking ``nasplat`` commands in-process."""
    yield CliRunner()


@pytest.fixture
def shared_data() -> Path:
    """The folder of real data sets beside the repository; skips when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA
