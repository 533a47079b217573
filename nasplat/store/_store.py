"""Opening a result store: any SQLAlchemy URL, SQLite (WAL) by default, schema checked."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, event, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError, OperationalError
from sqlmodel import Session, SQLModel, select

from nasplat.errors import StoreError
from nasplat.store.tables import SCHEMA_VERSION, MetaRow


SQLITE_BUSY_SECONDS = 600
"""How long a SQLite write waits for another process's. Writes are short (a proposing worker
holds no write lock while its strategy asks: :mod:`nasplat.store.study_lock`), but many
processes on a loaded machine queue behind each other; a process that dies releases the lock
at once, so a long wait means work in progress, not a lock left behind."""


class Store:
    """A connection to a result store; ``session()`` gives a transaction.

    ``create=True`` makes the store (file and tables) when it does not exist yet; otherwise
    a missing store is a :class:`StoreError` and nothing is written.
    """

    def __init__(self, url: str, *, create: bool = False) -> None:
        self.url = url
        self.engine = _engine(url, create)
        self._check_schema(create)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on any error."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A plain connection in a write transaction that commits on success, rolls back on error.

        For writes made of SQL statements alone: no ORM session to set up and flush, which on
        SQLite costs more than the statements of a trial themselves. On SQLite the transaction
        is IMMEDIATE: it takes the write lock first (waiting up to :data:`SQLITE_BUSY_SECONDS`
        for another process to release it), so a read followed by a write never fails half-way
        because another worker wrote in between.
        """
        with self.engine.begin() as connection:
            if self.is_sqlite:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            yield connection

    def _schema_version(self, connection: Connection | None = None) -> int:
        query = select(MetaRow.value).where(MetaRow.key == "schema_version")
        if connection is not None:
            value = connection.execute(query).scalar()
        else:
            with self.engine.connect() as fresh:
                value = fresh.execute(query).scalar()
        return int(value) if value else 0

    def _migrate(self) -> int:
        """Upgrade an older store in place, one version at a time, in one transaction."""
        with self.transaction() as connection:
            if not self.is_sqlite:  # a second process opening the store waits, then finds it done
                connection.execute(select(MetaRow).where(MetaRow.key == "schema_version")
                                   .with_for_update())
            version = self._schema_version(connection)
            while version in MIGRATIONS:
                for statement in MIGRATIONS[version]:
                    connection.exec_driver_sql(statement)
                version += 1
            connection.execute(MetaRow.__table__.update().where(
                MetaRow.__table__.c.key == "schema_version").values(value=str(version)))
        return version

    @property
    def sqlite_file(self) -> str | None:
        """The path of a SQLite store's file (``None``: another backend, or in memory)."""
        if not self.is_sqlite:
            return None
        database = self.engine.url.database or ""
        return None if database in ("", ":memory:") or database.startswith("file:") else database

    @property
    def is_sqlite(self) -> bool:
        """Whether the backend is SQLite (locking differs; nothing else should)."""
        return self.engine.dialect.name == "sqlite"

    def close(self) -> None:
        """Release every connection."""
        self.engine.dispose()

    def _check_schema(self, create: bool) -> None:
        try:
            tables = set(inspect(self.engine).get_table_names())
        except (OperationalError, DatabaseError) as exc:
            raise StoreError(f"cannot open result store {self.url}: {_reason(exc)}. Check the "
                             f"--storage URL, or that the file is a nasplat store") from None
        if "nasplat_meta" not in tables:
            if tables:
                raise StoreError(f"{self.url} is a database, but not a nasplat result store "
                                 f"(it has tables {', '.join(sorted(tables)[:5])}): "
                                 f"use another --storage")
            if not create:
                raise StoreError(f"no result store at {self.url}: run `nasplat run` first, or "
                                 f"pass --storage with the URL of an existing store")
            SQLModel.metadata.create_all(self.engine)
            with self.session() as session:
                session.add(MetaRow(key="schema_version", value=str(SCHEMA_VERSION)))
            return
        version = self._schema_version()
        if version < SCHEMA_VERSION and version in MIGRATIONS:
            version = self._migrate()
        if version != SCHEMA_VERSION:
            newer = "a newer" if version > SCHEMA_VERSION else "an older"
            raise StoreError(f"result store {self.url} has schema version {version}, made by "
                             f"{newer} nasplat; this nasplat reads version {SCHEMA_VERSION}. "
                             f"Install the nasplat that made it, or start a new store")
        if create:
            SQLModel.metadata.create_all(self.engine)  # tables added within a version


MIGRATIONS: dict[int, list[str]] = {
    1: [  # trials get a finish order; the strategy state records how far it has been told
        "ALTER TABLE trials ADD COLUMN finish_seq INTEGER",
        "UPDATE trials SET finish_seq = id WHERE status IN ('complete', 'failed', 'infeasible')",
        "CREATE INDEX ix_trials_study_finish_seq ON trials (study_id, finish_seq)",
        "ALTER TABLE strategy_states ADD COLUMN told_seq INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE strategy_states ADD COLUMN version INTEGER NOT NULL DEFAULT 0",
        # a version-1 store saved the state after every tell: it has been told every result
        "UPDATE strategy_states SET told_seq = (SELECT coalesce(max(t.finish_seq), 0) "
        "FROM trials t WHERE t.study_id = strategy_states.study_id)",
    ],
}
"""SQL that takes a store from version ``key`` to ``key + 1`` (portable: SQLite and PostgreSQL)."""


def _engine(url: str, create: bool) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"storage URL {url!r} does not parse: use e.g. sqlite:///nasplat.db "
                         f"or postgresql://user@host/dbname") from None
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            path = Path(database)
            if not path.exists() and not create:
                raise StoreError(f"no result store at {path}: run `nasplat run` first, or "
                                 f"pass --storage with the URL of an existing store")
            if not path.parent.exists():
                raise StoreError(f"cannot create result store {path}: folder {path.parent} "
                                 f"does not exist")
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS}
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ImportError) as exc:
        raise StoreError(f"storage URL {url!r}: no driver for '{parsed.drivername}' "
                         f"({exc}); install its driver, e.g. pip install 'psycopg[binary]' for PostgreSQL") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable at every checkpoint; safe in WAL
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _reason(exc: Exception) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc).strip().splitlines()[0]
