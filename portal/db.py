"""Database engine and sessions: one SQLAlchemy session per request or command."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 15_000


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or is not initialised."""


def make_engine(url: str) -> Engine:
    """Create the engine; SQLite gets WAL, a busy timeout and enforced foreign keys."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Database:
    """Holds the engine and session factory of one app."""

    def __init__(self, url: str, *, audit_key: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        # The audit key travels with every session so services can extend the chain.
        self.sessionmaker = sessionmaker(
            self.engine, expire_on_commit=False, info={"audit_key": audit_key}
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session for a command or background step: committed on success, else rolled back."""
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def check_connection(self) -> None:
        """Raise DatabaseUnavailable unless the database answers."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:
            raise DatabaseUnavailable(str(exc).splitlines()[0]) from exc


def init_app(app: Flask, database: Database) -> None:
    """Bind ``database`` to ``app`` and close the request session at teardown."""
    app.extensions["portal.db"] = database

    @app.teardown_appcontext
    def _close_session(exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            if exc is not None:
                session.rollback()
            session.close()


def database() -> Database:
    """The current app's Database."""
    return current_app.extensions["portal.db"]


def db_session() -> Session:
    """The session of the current request (created on first use)."""
    if "db_session" not in g:
        g.db_session = database().sessionmaker()
    return g.db_session


def insert_or_ignore(session: Session, model, values: dict, key: list[str]) -> None:
    """INSERT a row unless one with the same ``key`` exists (safe against concurrent inserts)."""
    from sqlalchemy.dialects.postgresql import insert as postgresql_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(model).values(**values).on_conflict_do_nothing(index_elements=key))
