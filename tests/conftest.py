"""Shared fixtures: the toy spaces registered as a plugin, a temporary store, the CLI runner."""

from __future__ import annotations

import os
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


POSTGRES = os.environ.get("NASPLAT_TEST_POSTGRES")
"""A PostgreSQL server URL (``postgresql://user@host:port/db``) to run the store tests
against as well; without it they run on SQLite alone."""


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A SQLAlchemy URL of a fresh, empty result store: SQLite, and PostgreSQL when
    ``NASPLAT_TEST_POSTGRES`` names a server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    if not POSTGRES:
        pytest.skip("no PostgreSQL server: set NASPLAT_TEST_POSTGRES=postgresql://... to test one")
    from nasplat.store.scratch import scratch_database

    with scratch_database(POSTGRES) as url:
        yield url


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
