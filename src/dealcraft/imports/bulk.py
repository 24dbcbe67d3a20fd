"""Writing many rows fast, the way the demo builder does: `executemany` on SQLite, `COPY` on
PostgreSQL, ids allocated above the current maximum so that child rows can point at their
parent without reading anything back.

Values handed to `Writer.write` are already in database form (see `Adapt`): the hot path does
no per-value work beyond what the driver needs.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

from django.core.management.color import no_style
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Max

#: SQLite page cache during a big import (KiB).
SQLITE_CACHE_KIB = 512 * 1024


def column(model: type[models.Model], name: str) -> str:
    col = getattr(model._meta.get_field(name), "column", None)
    if not isinstance(col, str):
        raise TypeError(f"{model.__name__}.{name} is not stored in a column")
    return col


class Adapt:
    """Turns Python values into what the connection's driver stores, quickly."""

    def __init__(self, conn: BaseDatabaseWrapper) -> None:
        self.sqlite = conn.vendor == "sqlite"

    def dt(self, value: datetime | None) -> Any:
        """An aware datetime as stored: UTC text on SQLite, the value itself for COPY."""
        if value is None:
            return None
        if self.sqlite:
            if value.tzinfo is not UTC:
                value = value.astimezone(UTC)
            return value.isoformat(" ")[:-6]  # Django's SQLite form: UTC, no offset
        return value

    def day(self, value: date | None) -> Any:
        if value is None:
            return None
        return value.isoformat() if self.sqlite else value

    @staticmethod
    def json(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


class Writer:
    """Inserts rows of one model, in the column order given, the fastest way available."""

    def __init__(self, conn: BaseDatabaseWrapper, model: type[models.Model],
                 fields: Sequence[str]) -> None:
        qn = conn.ops.quote_name
        self.copy = conn.vendor == "postgresql"
        self.wrap = conn.wrap_database_errors
        columns = ", ".join(qn(column(model, f)) for f in fields)
        table = qn(model._meta.db_table)
        if self.copy:
            self.sql = f"COPY {table} ({columns}) FROM STDIN"
        else:
            marks = ", ".join(["%s"] * len(fields))
            self.sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"
        self.rows = 0

    def write(self, cursor: Any, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.copy:
            # The driver's own COPY: its errors become Django's, like every other query's.
            with self.wrap, cursor.cursor.copy(self.sql) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(self.sql, rows)
        self.rows += len(rows)


def updater(conn: BaseDatabaseWrapper, model: type[models.Model],
            fields: Sequence[str]) -> str:
    """`UPDATE … SET f = %s, … WHERE id = %s`, for executemany with the id last."""
    qn = conn.ops.quote_name
    sets = ", ".join(f"{qn(column(model, f))} = %s" for f in fields)
    return f"UPDATE {qn(model._meta.db_table)} SET {sets} WHERE id = %s"


def lock_and_allocate(conn: BaseDatabaseWrapper,
                      models_: Sequence[type[models.Model]]) -> dict[type[models.Model], int]:
    """The first free id of each model's table; on PostgreSQL the tables are locked against
    other writers first (on SQLite the transaction already holds the write lock)."""
    if conn.vendor == "postgresql":
        tables = ", ".join(conn.ops.quote_name(m._meta.db_table) for m in models_)
        with conn.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")
    return {m: (m._default_manager.aggregate(top=Max("pk"))["top"] or 0) + 1 for m in models_}


def reset_sequences(conn: BaseDatabaseWrapper, models_: Sequence[type[models.Model]]) -> None:
    """Move PostgreSQL sequences past the ids written explicitly (SQLite needs nothing)."""
    with conn.cursor() as cursor:
        for sql in conn.ops.sequence_reset_sql(no_style(), list(models_)):
            cursor.execute(sql)


def defer_indexes(conn: BaseDatabaseWrapper, models_: Sequence[type[models.Model]]) -> list[str]:
    """Drop the tables' secondary indexes, returning the SQL that recreates them (SQLite only,
    whose DDL is transactional: a failed import brings the indexes back with everything else).
    One index build over all rows at the end beats growing it row by row."""
    if conn.vendor != "sqlite":
        return []
    tables = [m._meta.db_table for m in models_]
    with conn.cursor() as cursor:
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT "
                       f"NULL AND tbl_name IN ({', '.join(['%s'] * len(tables))}) ORDER BY name",
                       tables)
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {conn.ops.quote_name(name)}")
    return [sql for _, sql in indexes]


@contextlib.contextmanager
def bulk_mode(conn: BaseDatabaseWrapper, *, sole_writer: bool = False) -> Iterator[bool]:
    """Tune SQLite for one big write and restore its settings afterwards; yields whether
    foreign-key enforcement was switched off (the caller then checks every foreign key once,
    at the end). Inside an enclosing transaction SQLite accepts none of this, and nothing is
    changed.

    By default only this connection's own settings change (`synchronous`, the page cache): the
    journal stays WAL, so the server's other connections keep reading while the import writes,
    and the import works while they are open (leaving WAL needs the database to itself).
    `sole_writer` (the demo build, before anything serves the database) also leaves WAL for a
    rollback journal while it writes: pages appended to the file need no journal, where WAL
    would write every page twice (log, then checkpoint)."""
    if conn.vendor != "sqlite" or conn.in_atomic_block:
        yield False
        return
    with conn.cursor() as cursor:
        saved = {}
        pragmas = ("synchronous", "cache_size") + (("journal_mode",) if sole_writer else ())
        for pragma in pragmas:
            cursor.execute(f"PRAGMA {pragma}")
            saved[pragma] = str(cursor.fetchone()[0])
        # A crash mid-write loses only that write, which is one transaction anyway.
        cursor.execute("PRAGMA synchronous = OFF")
        cursor.execute(f"PRAGMA cache_size = {-SQLITE_CACHE_KIB}")
        if sole_writer and saved["journal_mode"].lower() == "wal":
            cursor.execute("PRAGMA journal_mode = DELETE")
    disabled = conn.disable_constraint_checking()
    try:
        yield disabled
    finally:
        if disabled:
            conn.enable_constraint_checking()
        with conn.cursor() as cursor:
            for pragma, value in saved.items():
                cursor.execute(f"PRAGMA {pragma} = {value}")


def analyze(conn: BaseDatabaseWrapper) -> None:
    """Refresh the planner's statistics: after a bulk load they describe empty tables, and
    list queries would scan whole tables instead of using their indexes."""
    with conn.cursor() as cursor:
        if conn.vendor == "sqlite":
            # A sampled ANALYZE: good enough for the planner at a fraction of a full scan.
            cursor.execute("PRAGMA analysis_limit = 1000")
        cursor.execute("ANALYZE")
