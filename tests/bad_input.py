"""Shared by the bad-input property tests: a small prepared store on each backend, a snapshot
of every row in it, and the check that a command failed cleanly.

A clean failure is what ``nasplat`` promises for anything typed wrong: exit code 2, one
``Error: ...`` naming the problem, no traceback, and the store exactly as it was.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from hypothesis import strategies as st
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

from nasplat.store.scratch import scratch_database
from nasplat.study import prepare, run_study

POSTGRES = os.environ.get("NASPLAT_TEST_POSTGRES")

STUDY = "s"
"""The study of the prepared store with finished trials (``toy_int``, 5 trials)."""

SQL_FRAGMENTS = [
    "'; DROP TABLE trials; --",
    "\"; DELETE FROM metrics; --",
    "s'; UPDATE trials SET status = 'failed' WHERE '1'='1",
    "Robert'); DROP TABLE studies;--",
    "' OR '1'='1",
    "s\" OR \"1\"=\"1",
    "s; ATTACH DATABASE 'evil.db' AS evil",
    "s'||(SELECT name FROM studies)||'",
    "s/**/UNION/**/SELECT/**/1",
    "%", "_", "%s", "%(name)s", ":name", "?", "$1", "\\", "\\'", "''", "\"\"", "`", "it's",
    "s\n; DROP TABLE metrics", "s -- comment", "/* s */", "s;", "$$ s $$",
]
"""Study names and other text built to escape a quoted SQL string or identifier."""


@contextmanager
def new_store_url(kind: str, folder: Path) -> Iterator[str]:
    """The URL of a fresh, empty place for a store: a SQLite file in ``folder``, or a new
    PostgreSQL database (dropped afterwards) when ``NASPLAT_TEST_POSTGRES`` names a server."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'store.db'}"
        return
    if not POSTGRES:
        pytest.skip("no PostgreSQL server: set NASPLAT_TEST_POSTGRES=postgresql://... to test one")
    with scratch_database(POSTGRES, "nasplat_bad") as url:
        yield url


@contextmanager
def prepared_store(kind: str, folder: Path, empty_studies: dict[str, str] | None = None
                   ) -> Iterator[str]:
    """A store holding study ``s`` (``toy_int``, 5 complete trials) and, for each
    ``{study: space}`` of ``empty_studies``, a study of that space with no trials yet."""
    with new_store_url(kind, folder) as url:
        run_study({"study": STUDY, "space": "toy_int", "budget": 5, "storage": url,
                   "artifacts": str(folder / "artifacts")})
        for name, space in (empty_studies or {}).items():
            prepare({"study": name, "space": space, "storage": url,
                     "artifacts": str(folder / "artifacts")}).store.close()
        try:
            yield url
        finally:
            engine = _ENGINES.pop(url, None)
            if engine is not None:
                engine.dispose()


_ENGINES: dict[str, Engine] = {}


def _engine(url: str) -> Engine:
    """One engine per store for snapshots, keeping one connection for the next."""
    if url not in _ENGINES:
        _ENGINES[url] = create_engine(url, pool_size=1, max_overflow=0)
    return _ENGINES[url]


def snapshot(url: str, sequences: bool = True) -> dict[str, Any]:
    """Every row of every table, the schema (tables, columns, indexes) and, on PostgreSQL, the
    sequences: equal snapshots mean nothing in the store changed. (PostgreSQL spends a
    sequence number on an INSERT that fails, e.g. on a unique name: ``sequences=False``
    compares the rows alone.)"""
    engine = _engine(url)
    shot: dict[str, Any] = {}
    with engine.connect() as conn:
        names = sorted(inspect(conn).get_table_names())
        shot["__tables__"] = names
        for name in names:
            rows = conn.execute(text(f'SELECT * FROM "{name}"')).all()
            shot[name] = sorted(repr(tuple(r)) for r in rows)
        if engine.dialect.name == "sqlite":
            shot["__schema__"] = sorted(map(repr, conn.exec_driver_sql(
                "SELECT type, name, tbl_name, sql FROM sqlite_master").all()))
            shot["__user_version__"] = conn.exec_driver_sql("PRAGMA user_version").scalar()
        else:
            shot["__schema__"] = sorted(map(repr, conn.execute(text(
                "SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes "
                "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")).all()))
            if sequences:
                shot["__sequences__"] = sorted(map(repr, conn.execute(text(
                    "SELECT sequencename, last_value FROM pg_sequences")).all()))
    return shot


def rows_of(shot: dict[str, Any], table: str) -> set[str]:
    """The rows of one table in a snapshot."""
    return set(shot[table])


def assert_clean_error(result: Result, *needles: str) -> str:
    """``result`` is a failure as nasplat promises one: exit code 2, a SystemExit (no exception
    escaped), ``Error: ...`` naming the problem (each of ``needles``), no traceback.
    Returns the error text."""
    output = result.output
    assert result.exit_code == 2, f"exit code {result.exit_code}:\n{output}\n{result.exception!r}"
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in output, output
    assert "Error: " in output, output
    message = output[output.index("Error: ") + len("Error: "):].strip()
    assert len(message) >= 10, output
    for needle in needles:
        assert needle in output, f"{needle!r} not in:\n{output}"
    return message


def assert_clean(result: Result) -> None:
    """``result`` either succeeded or failed cleanly (see :func:`assert_clean_error`)."""
    if result.exit_code != 0:
        assert_clean_error(result)
    assert "Traceback" not in result.output, result.output


def files_in(folder: Path) -> set[Path]:
    """Every file under ``folder``."""
    return {p for p in folder.rglob("*") if p.is_file()}


# --- genomes ----------------------------------------------------------------------------------

GENE_WORDS = ["type", "conv", "pool", "fc", "channels", "kernel", "stride", "op", "max", "avg",
              "units", "dropout", "id", "inputs", "hidden", "nodes", "outputs", "memory", "x",
              "h", "c", "relu", "tanh", "sum", "mul", "add", "identity", "genomes"]
"""Words genomes of the bundled and toy spaces are made of, for junk that looks almost right."""

JSON_LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(), st.text(max_size=6),
    st.sampled_from([0, 1, -1, 2, 3, 8, 16, 17, 32, 2**31, 2**63, 0.5, 1.0, 3.0, "", "0", "1",
                     "01", "2", *GENE_WORDS]))
JSON_VALUES = st.recursive(
    JSON_LEAVES, lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(st.text(max_size=8) | st.sampled_from(GENE_WORDS), inner, max_size=4),
    max_leaves=20)
"""Any JSON value (NaN and infinities included, as Python's json reads them)."""


@st.composite
def near_genomes(draw: st.DrawFn, valid: Any) -> Any:
    """``valid`` (a genome's JSON form) with one to three changes somewhere inside it: a value
    replaced by junk, an item dropped or repeated, a key added or dropped, a string edited."""
    genome = json.loads(json.dumps(valid))
    for _ in range(draw(st.integers(1, 3))):
        genome = _change(draw, genome)
    return genome


def _change(draw: st.DrawFn, node: Any) -> Any:
    if isinstance(node, list) and node:
        i = draw(st.integers(0, len(node) - 1))
        action = draw(st.sampled_from(["replace", "deeper", "deeper", "drop", "repeat"]))
        if action == "replace":
            node[i] = draw(JSON_VALUES)
        elif action == "drop":
            node.pop(i)
        elif action == "repeat":
            node.append(json.loads(json.dumps(node[i])))
        else:
            node[i] = _change(draw, node[i])
        return node
    if isinstance(node, dict) and node:
        key = draw(st.sampled_from(sorted(node)))
        action = draw(st.sampled_from(["replace", "deeper", "deeper", "drop", "add"]))
        if action == "replace":
            node[key] = draw(JSON_VALUES)
        elif action == "drop":
            node.pop(key)
        elif action == "add":
            node[draw(st.sampled_from(GENE_WORDS))] = draw(JSON_VALUES)
        else:
            node[key] = _change(draw, node[key])
        return node
    if isinstance(node, str) and node and draw(st.booleans()):
        i = draw(st.integers(0, len(node) - 1))
        return node[:i] + draw(st.sampled_from(["", "2", "x", "00", " "])) + node[i + 1:]
    return draw(JSON_VALUES)
