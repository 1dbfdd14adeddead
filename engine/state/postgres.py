"""The state store in PostgreSQL (`--state-url postgresql://…`), shared by every process and machine
that uses the same URL: the same tables as SQLite, the same numbered migrations; its push lock is a
session-level advisory lock, which the server drops when the holder's connection ends (kill -9 too)."""

from __future__ import annotations

import hashlib
import os
import re
import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from engine.errors import CrmsyncError
from engine.state.base import StateStore
from engine.state.locks import refusal
from engine.state.migrations import POSTGRES
from engine.state.urls import redact, scrub

MIGRATION_KEY = 0x63726D73796E63  # "crmsync": the transaction-level lock migrations are applied under
NULL_SAFE_IS = re.compile(r"\bIS\s+(?!NULL\b|NOT\b)", re.IGNORECASE)


class StateUnavailable(CrmsyncError):
    """The PostgreSQL state store cannot be reached or refused the connection."""

    exit_code = 2


def lock_key(*parts: str) -> int:
    """A non-negative 63-bit advisory lock key for these names (a clash only serialises two pushes)."""
    digest = hashlib.blake2b("\0".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def translated(sql: str) -> str:
    """SQLite's `?` placeholders and null-safe `IS` as PostgreSQL says them."""
    return NULL_SAFE_IS.sub("IS NOT DISTINCT FROM ", sql.replace("%", "%%").replace("?", "%s"))


class Row(tuple):  # type: ignore[type-arg]
    """A row read by position, by column name, or as a dict (`dict(row)`), like sqlite3.Row."""

    names: dict[str, int]

    def __new__(cls, values: Iterable[Any], names: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row.names = names
        return row

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        return super().__getitem__(self.names[key] if isinstance(key, str) else key)

    def keys(self) -> list[str]:
        return list(self.names)


def rows_like_sqlite(cursor: Any) -> Any:
    names = {column.name: i for i, column in enumerate(cursor.description or ())}
    return lambda values: Row(values, names)


class Database:
    """`store.db` for PostgreSQL: the calls callers make of a sqlite3 connection, SQL translated."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.cache: dict[str, str] = {}

    def sql(self, text: str) -> str:
        if (done := self.cache.get(text)) is None:
            done = self.cache[text] = translated(text)
        return done

    def execute(self, text: str, params: Any = ()) -> Any:
        if not params:  # without parameters psycopg sends the text as it is: `%` stays single
            return self.conn.execute(NULL_SAFE_IS.sub("IS NOT DISTINCT FROM ", text))  # type: ignore[arg-type]
        return self.conn.execute(self.sql(text), params)  # type: ignore[arg-type]

    def executemany(self, text: str, rows: Iterable[Any]) -> Any:
        """Bound server-side (each column gives its parameter a type), prepared once and pipelined:
        a batch's rows cost a fraction of a round trip each, where client-side binding sends each row
        as a statement of its own text."""
        rows = list(rows)
        cursor = psycopg.Cursor(self.conn)
        if rows:
            cursor.executemany(self.sql(text), rows)  # type: ignore[arg-type]
        return cursor


def connect(url: str, purpose: str = "crmsync") -> psycopg.Connection[Any]:
    try:
        # values bound client-side (escaped by psycopg), as sqlite3 binds them: a parameter the SQL gives
        # no type (`? IS NULL`) is then a literal, not one the server cannot type
        return psycopg.connect(url, autocommit=True, row_factory=rows_like_sqlite, application_name=purpose,
                               connect_timeout=10, cursor_factory=psycopg.ClientCursor)
    except psycopg.Error as exc:
        raise StateUnavailable(f"state store {redact(url)}: cannot connect: "
                               f"{scrub(str(exc).strip(), url)}") from None


class PgStore(StateStore):
    """One PostgreSQL database (or schema, by the URL's search_path) shared by every process."""

    dialect = POSTGRES

    def __init__(self, url: str) -> None:
        self.url = url
        self.location = redact(url)
        self.conn = connect(url)
        self.db = Database(self.conn)
        self.migrate()

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.conn.transaction():
            yield

    def another(self) -> PgStore:
        return PgStore(self.url)

    @contextmanager
    def migration_lock(self) -> Iterator[None]:
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_KEY,))
            yield

    def columns(self, table: str) -> set[str]:
        rows = self.conn.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                                 "AND table_schema = current_schema()", (table,))
        return {r[0] for r in rows}

    @contextmanager
    def push_lock(self, profile: str, org: str) -> Iterator[None]:
        """Held by a connection of its own, for as long as the push runs: the server releases it when
        that connection ends, however the process ends."""
        holder = connect(self.url, f"crmsync push pid {os.getpid()} on {socket.gethostname()}")
        try:
            taken = holder.execute("SELECT pg_try_advisory_lock(%s)", (lock_key(profile, org),)).fetchone()[0]
            if not taken:
                raise refusal(profile, self.holder(profile, org), f"{self.location}, CRM {org}")
            try:
                yield
            finally:
                holder.execute("SELECT pg_advisory_unlock(%s)", (lock_key(profile, org),))
        finally:
            holder.close()

    def holder(self, profile: str, org: str) -> str:
        row = self.conn.execute(HOLDER, split_key(lock_key(profile, org))).fetchone()
        return f"{row[0]}, since {row[1]:%Y-%m-%dT%H:%M:%SZ}" if row else "a process"

    def push_lock_held(self, profile: str, org: str | None) -> bool:
        if org is None:  # a run recorded without its CRM address: no lock to look for
            return False
        return self.conn.execute(HOLDER, split_key(lock_key(profile, org))).fetchone() is not None


# a bigint advisory key shows in pg_locks as classid (high 32 bits), objid (low 32 bits), objsubid 1
HOLDER = ("SELECT a.application_name, a.backend_start AT TIME ZONE 'UTC' FROM pg_locks l "
          "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
          "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
          "AND l.classid = %s AND l.objid = %s AND l.objsubid = 1")


def split_key(key: int) -> tuple[int, int]:
    return key >> 32, key & 0xFFFFFFFF
