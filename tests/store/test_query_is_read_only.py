"""``nasplat query`` only reads: generated write attempts (DROP, UPDATE, ATTACH, PRAGMA, several
statements, comments and CTEs hiding writes, PostgreSQL's SET, COPY, DO, server functions ...)
are refused with a clear message on SQLite and PostgreSQL, and every row stays as it was."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bad_input import assert_clean_error, files_in, prepared_store, snapshot
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from nasplat.cli import cli
from nasplat.errors import StoreError
from nasplat.store import Store, queries

SETTINGS = settings(max_examples=100, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

TABLES = ["studies", "trials", "metrics", "intermediate_values", "artifacts", "trial_parents",
          "strategy_states", "nasplat_meta"]
FILLED = ["studies", "trials", "metrics", "strategy_states", "nasplat_meta"]
"""Tables of the prepared store that hold rows, so that a write would show."""

WRITES = [  # each one changes the prepared store if it runs
    "DELETE FROM {filled}",
    "DROP TABLE {table}",
    "UPDATE metrics SET value = value + 1",
    "UPDATE trials SET status = 'failed', error = 'x'",
    "UPDATE studies SET name = name || 'x'",
    "UPDATE nasplat_meta SET value = '99'",
    "INSERT INTO nasplat_meta (key, value) VALUES ('k', 'v')",
    "INSERT INTO metrics SELECT trial_id, name || '2', value FROM metrics",
    "ALTER TABLE {table} RENAME TO evil",
    "ALTER TABLE trials ADD COLUMN evil INTEGER",
    "CREATE TABLE evil (x INTEGER)",
    "CREATE INDEX evil ON metrics (value)",
    "CREATE VIEW evil AS SELECT 1",
    "DROP INDEX ix_trials_study_hash",
]
SQLITE_WRITES = [
    "ATTACH DATABASE '{folder}/evil.db' AS evil",
    "DETACH DATABASE main",
    "PRAGMA journal_mode = DELETE",
    "PRAGMA user_version = 7",
    "PRAGMA foreign_keys = OFF",
    "PRAGMA writable_schema = 1",
    "VACUUM",
    "VACUUM INTO '{folder}/copy.db'",
    "REINDEX",
    "ANALYZE",
    "REPLACE INTO nasplat_meta VALUES ('schema_version', '1')",
    "INSERT OR REPLACE INTO nasplat_meta VALUES ('schema_version', '1')",
    "CREATE TEMP TABLE evil (x)",
    "CREATE TRIGGER evil AFTER INSERT ON metrics BEGIN DELETE FROM trials; END",
    "SAVEPOINT a",
    "SELECT load_extension('evil')",
    "SELECT * FROM pragma_table_info('trials')",
]
EXPLAINED_WRITES = ["EXPLAIN DELETE FROM metrics",
                    "EXPLAIN QUERY PLAN UPDATE trials SET status = 'failed'"]
"""SQLite compiles an explained statement, so its authorizer refuses these; PostgreSQL only
plans them (harmless: EXPLAIN without ANALYZE runs nothing)."""
POSTGRES_WRITES = [
    "SET search_path = evil",
    "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
    "SET TRANSACTION READ WRITE",
    "RESET ALL",
    "COPY trials TO '{folder}/trials.csv'",
    "COPY (SELECT 1) TO PROGRAM 'touch {folder}/pwned'",
    "COPY metrics FROM STDIN",
    "DO $$ BEGIN DELETE FROM metrics; END $$",
    "DO $$ BEGIN PERFORM pg_terminate_backend(0); END $$",
    "CALL evil()",
    "LISTEN evil",
    "NOTIFY evil",
    "UNLISTEN *",
    "LOCK TABLE trials IN ACCESS EXCLUSIVE MODE",
    "TRUNCATE metrics",
    "CHECKPOINT",
    "DISCARD ALL",
    "CLUSTER trials USING ix_trials_study_hash",
    "PREPARE evil AS DELETE FROM metrics",
    "EXECUTE evil",
    "DECLARE evil CURSOR FOR SELECT 1",
    "CREATE TEMP TABLE evil (x int)",
    "CREATE SCHEMA evil",
    "COMMENT ON TABLE trials IS 'evil'",
    "GRANT ALL ON trials TO PUBLIC",
    "ALTER SYSTEM SET work_mem = '1MB'",
    "SELECT pg_terminate_backend(0)",
    "SELECT pg_cancel_backend(0)",
    "select PG_TERMINATE_BACKEND(pid) FROM pg_stat_activity WHERE pid = 0",
    "SELECT set_config('search_path', 'evil', false)",
    "SELECT pg_advisory_lock(4242)",
    "SELECT pg_notify('evil', 'x')",
    "SELECT pg_reload_conf()",
    "SELECT lo_export(0, '{folder}/lo')",
    "SELECT lo_import('/etc/hostname')",
    "SELECT query_to_xml('DELETE FROM metrics RETURNING 1', true, true, '')",
    "SELECT nextval('trials_id_seq')",
    "SELECT setval('trials_id_seq', 1)",
    "SELECT * FROM trials FOR UPDATE",
    "SELECT * INTO evil FROM trials",
    "EXPLAIN ANALYZE DELETE FROM metrics",
    "WITH gone AS (DELETE FROM metrics RETURNING *) SELECT count(*) FROM gone",
    "WITH moved AS (UPDATE trials SET status = 'failed' RETURNING *) SELECT 1",
    "PREPARE TRANSACTION 'evil'",
]
DISGUISES = [  # ways to hide a write W: {} stands for it
    "{}", "{};", "  \n\t{}", "-- only a comment\n{}", "/* a comment */ {}",
    "/* nested /* comment */ */ {}", "{} -- trailing", "{}; SELECT 1", "SELECT 1; {}",
    "SELECT 1; COMMIT; {}", "COMMIT; {}", "ROLLBACK; {}", "END; {}", "BEGIN; {}",
    "SELECT 1 /* ; */; {}", "SELECT ';'; {}", "SELECT 1;\n{};\nSELECT 2", "({})",
    "WITH x AS (SELECT 1) {}", "; {}", "SET TRANSACTION READ WRITE; {}",
    "{}\n;\n-- and then", "select 1 where 1 = 0; {}",
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[str]:
    """A prepared store (one study, five trials) shared by the module: nothing may change it."""
    with prepared_store(request.param, tmp_path_factory.mktemp("query")) as url:
        yield url


@pytest.fixture(scope="module")
def store(store_url: str) -> Iterator[Store]:
    """One Store for the module's queries: a refused statement must leave it usable."""
    store = Store(store_url)
    yield store
    store.close()


@pytest.fixture(scope="module")
def folder(store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where a write attempt would put a file (ATTACH, VACUUM INTO, COPY TO): none may appear."""
    return tmp_path_factory.mktemp("writes")


def _mixed_case(text: str, flips: list[bool]) -> str:
    return "".join(c.upper() if flip else c.lower()
                   for c, flip in zip(text, flips + [False] * len(text)))


@st.composite
def write_attempts(draw: st.DrawFn) -> str:
    """One write statement of either backend, perhaps in mixed case, hidden by up to two
    disguises; ``{folder}`` stands for the folder where no file may appear."""
    sql = draw(st.sampled_from(WRITES + SQLITE_WRITES + POSTGRES_WRITES)).format(
        table=draw(st.sampled_from(TABLES)), filled=draw(st.sampled_from(FILLED)),
        folder="{folder}")
    if draw(st.booleans()) and "'" not in sql:  # quoted text keeps its case
        sql = _mixed_case(sql, draw(st.lists(st.booleans(), max_size=len(sql))))
    for _ in range(draw(st.integers(0, 2))):
        sql = draw(st.sampled_from(DISGUISES)).format(sql)
    return sql


def _refused(store: Store, folder: Path, sql: str) -> str:
    """Run ``sql`` through read_only; it must raise a StoreError that says why, change no row
    and write no file. Returns the message."""
    sql = sql.replace("{folder}", str(folder))
    before, files = snapshot(store.url), files_in(folder)
    with pytest.raises(StoreError) as caught:
        queries.read_only(store, sql)
    message = str(caught.value)
    assert message.startswith(("query refused: ", "query failed: ", "the query is empty")), message
    assert "Traceback" not in message
    assert snapshot(store.url) == before, f"{sql!r} changed the store"
    assert files_in(folder) == files, f"{sql!r} wrote a file"
    return message


@pytest.mark.parametrize("sql", WRITES + SQLITE_WRITES + POSTGRES_WRITES + EXPLAINED_WRITES)
def test_every_write_is_refused(store: Store, folder: Path, sql: str) -> None:
    if sql in EXPLAINED_WRITES and not store.is_sqlite:
        pytest.skip("PostgreSQL's EXPLAIN only plans a statement")
    sql = sql.format(table="metrics", filled="metrics", folder="{folder}")
    message = _refused(store, folder, sql)
    other = [w.format(folder="{folder}") for w in
             (POSTGRES_WRITES if store.is_sqlite else SQLITE_WRITES)]
    if sql not in other:  # the other backend's statements may not even parse here
        assert message.startswith("query refused: "), message


@SETTINGS
@given(sql=write_attempts())
@example(sql="SELECT 1; COMMIT; DROP TABLE metrics")  # dropped the table on PostgreSQL
@example(sql="SELECT 1; COMMIT; SET TRANSACTION READ WRITE; DELETE FROM metrics")
@example(sql="COPY (SELECT 1) TO PROGRAM 'touch {folder}/pwned'")
@example(sql="SELECT pg_terminate_backend(0)")  # ran on PostgreSQL: a read-only transaction
@example(sql="VACUUM INTO '{folder}/copy.db'")  # allows it
def test_generated_write_attempts_change_nothing(store: Store, folder: Path, sql: str) -> None:
    _refused(store, folder, sql)


@pytest.mark.parametrize("sql, message", [
    ("SELECT 1; COMMIT; DROP TABLE metrics", "one statement at a time"),
    ("SELECT 1; DELETE FROM metrics", "one statement at a time"),
    ("/* x */ DELETE FROM metrics", "not DELETE"),
    ("VACUUM", "not VACUUM"),  # was 'query failed: authorization denied' on SQLite
    ("", "the query is empty"),
    ("-- nothing but a comment", "the query is empty"),
    ("SELEC 1", "query failed: "),
])
def test_refusals_say_why(store: Store, folder: Path, sql: str, message: str) -> None:
    assert message in _refused(store, folder, sql)


READS = [  # each returns the row count of table {t}
    "SELECT count(*) FROM {t}",
    "select COUNT(*) from {t};",
    "-- how many?\nSELECT count(*) FROM {t}",
    "/* a */ SELECT count(*) FROM {t} -- with a trailing comment",
    "WITH r AS (SELECT * FROM {t}) SELECT count(*) FROM r",
    "SELECT count(*) FROM (SELECT * FROM {t} WHERE 1 = 1) AS q",
    "\n\t SELECT count(*) FROM {t} ;\n",
]


@settings(SETTINGS, max_examples=40)
@given(template=st.sampled_from(READS), table=st.sampled_from(TABLES),
       limit=st.one_of(st.none(), st.integers(1, 5)))
def test_reads_still_work_and_see_every_row(store: Store, template: str, table: str,
                                            limit: int | None) -> None:
    rows = snapshot(store.url)[table]
    assert queries.read_only(store, template.format(t=table), limit)[1] == [(len(rows),)]
    _, all_rows = queries.read_only(store, f"SELECT * FROM {table}", limit)
    assert len(all_rows) == min(len(rows), limit or len(rows))


def test_a_read_with_no_rows_keeps_its_columns(store: Store) -> None:
    columns, rows = queries.read_only(store,
                                      "SELECT name, value FROM metrics WHERE 1 = 0")
    assert columns == ["name", "value"] and rows == []


@pytest.mark.parametrize("limit", [0, -1])
def test_a_limit_below_one_is_refused(store: Store, limit: int) -> None:
    with pytest.raises(StoreError, match=f"query limit {limit}: give a positive number"):
        queries.read_only(store, "SELECT 1", limit)


@settings(SETTINGS, max_examples=40)
@given(sql=write_attempts(), fmt=st.sampled_from(["table", "csv", "json"]))
def test_nasplat_query_refuses_writes_with_exit_2(runner: CliRunner, store_url: str,
                                                  folder: Path, sql: str, fmt: str) -> None:
    sql = sql.replace("{folder}", str(folder))
    before, files = snapshot(store_url), files_in(folder)
    result = runner.invoke(cli, ["query", "--format", fmt, "--storage", store_url, "--", sql])
    message = assert_clean_error(result)
    assert message.startswith(("query refused: ", "query failed: ", "the query is empty")), \
        message
    assert snapshot(store_url) == before and files_in(folder) == files


@settings(SETTINGS, max_examples=20)
@given(limit=st.one_of(st.integers(-10**6, 0).map(str),
                       st.sampled_from(["x", "", "1.5", "1e3", "nan", "0x10", "ten"])))
def test_nasplat_query_refuses_a_bad_limit(runner: CliRunner, store_url: str,
                                           limit: str) -> None:
    before = snapshot(store_url)
    result = runner.invoke(cli, ["query", "SELECT * FROM trials", "--limit", limit,
                                 "--storage", store_url])
    assert_clean_error(result, "--limit")
    assert snapshot(store_url) == before


def test_postgresql_needs_the_driver_that_sends_one_statement(store_url: str) -> None:
    if not store_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL driver question")
    pytest.importorskip("psycopg2", reason="psycopg2 is not installed: nothing to refuse")
    from sqlalchemy.engine import make_url

    url = make_url(store_url).set(drivername="postgresql+psycopg2")
    store = Store(url.render_as_string(hide_password=False))
    try:
        with pytest.raises(StoreError, match="needs the psycopg driver.*postgresql\\+psycopg://"):
            queries.read_only(store, "SELECT 1; COMMIT; DROP TABLE metrics")
    finally:
        store.close()
    assert "metrics" in snapshot(store_url)["__tables__"]
