"""The result store: creation, schema version, bad stores, and read-only queries."""

from __future__ import annotations

from pathlib import Path

import pytest

from nasplat import run_study
from nasplat.errors import StoreError
from nasplat.store import SCHEMA_VERSION, Store, queries
from nasplat.store.tables import MetaRow


def test_new_store_has_the_tables(storage: str) -> None:
    from sqlalchemy import inspect

    store = Store(storage, create=True)
    names = set(inspect(store.engine).get_table_names())
    assert {"studies", "trials", "metrics", "intermediate_values", "artifacts",
            "trial_parents", "strategy_states", "nasplat_meta"} <= names
    indexes = {i["name"] for i in inspect(store.engine).get_indexes("trials")}
    assert {"ix_trials_study_status_number", "ix_trials_study_hash"} <= indexes
    if store.is_sqlite:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_missing_store_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no result store"):
        Store(f"sqlite:///{tmp_path / 'missing.db'}")
    assert not (tmp_path / "missing.db").exists()


def test_a_file_that_is_no_database(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_text("not sqlite at all" * 100)
    with pytest.raises(StoreError, match="cannot open result store.*not a database"):
        Store(f"sqlite:///{path}")


def test_a_foreign_database(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("CREATE TABLE customers (id INTEGER)").connection.commit()
    with pytest.raises(StoreError, match="not a nasplat result store"):
        Store(f"sqlite:///{path}", create=True)


def test_other_schema_version_is_refused(storage: str) -> None:
    store = Store(storage, create=True)
    with store.session() as session:
        session.merge(MetaRow(key="schema_version", value=str(SCHEMA_VERSION + 1)))
    with pytest.raises(StoreError, match="made by a newer nasplat"):
        Store(storage)


def test_bad_url() -> None:
    with pytest.raises(StoreError, match="does not parse"):
        Store("not a url at all")
    with pytest.raises(StoreError, match="no driver"):
        Store("nosuchdb://host/db")


WRITES = [
    "DROP TABLE metrics",
    "DELETE FROM trials",
    "UPDATE metrics SET value = 0",
    "INSERT INTO nasplat_meta VALUES ('x', 'y')",
    "ATTACH DATABASE 'evil.db' AS evil",
    "PRAGMA journal_mode = DELETE",
    "CREATE TABLE t (x INTEGER)",
    "VACUUM",
]


@pytest.mark.parametrize("sql", WRITES)
def test_query_refuses_writes_and_changes_nothing(storage: str, sql: str, tmp_path: Path,
                                                  monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    run_study({"study": "s", "space": "toy_int", "budget": 3, "storage": storage})
    store = Store(storage)
    before = queries.read_only(store, "SELECT * FROM metrics ORDER BY trial_id, name")
    with pytest.raises(StoreError, match="query refused|query failed"):
        queries.read_only(store, sql)
    assert queries.read_only(store, "SELECT * FROM metrics ORDER BY trial_id, name") == before
    assert not (tmp_path / "evil.db").exists()
    assert len(queries.read_only(store, "SELECT * FROM trials")[1]) == 3


def test_query_reads_long_format_metrics(storage: str) -> None:
    run_study({"study": "s", "space": "toy_int", "budget": 4, "storage": storage})
    columns, rows = queries.read_only(
        Store(storage), "SELECT t.number, m.value FROM trials t JOIN metrics m "
                        "ON m.trial_id = t.id WHERE m.name = 'error' ORDER BY t.number")
    assert columns == ["number", "value"] and [r[0] for r in rows] == [0, 1, 2, 3]
