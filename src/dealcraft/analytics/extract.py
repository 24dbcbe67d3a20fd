"""The columnar extract: the deals, their stage history and every gate's per-criterion result,
copied from the database (SQLite or PostgreSQL) into a DuckDB file that reports query.

Use::

    from dealcraft.analytics.extract import columnar

    with columnar() as con:                 # refreshed first when the database changed
        rows = con.execute("SELECT status, count(*) FROM deals GROUP BY 1").fetchall()

`columnar()` yields a read-only DuckDB connection (use it inside the `with` only);
`current_generation()` gives a string that changes with every refresh, for cache keys;
`refresh(full=True)` rebuilds on demand. The tables, times in UTC, amounts DECIMAL(18,2) in the
deal's own currency:

``deals``
    id, name, account_id, owner_id, team_id (NULL: no team), amount, currency,
    expected_close (DATE), stage (a stage key, or ``won``/``lost`` when closed), status
    (open|won|lost), forecast_category, probability (0–100), segment, lead_source,
    buyer_loss_reason (process fields, NULL when unset), created_at, updated_at,
    stage_entered_at, closed_at (TIMESTAMP; closed_at NULL while open), lost_reason,
    lost_reason_category, lost_from_stage (NULL when empty), process_version_id,
    has_next_step (BOOLEAN), next_step_due (DATE)
``history``  (append-only, one row per StageHistory entry)
    id, deal_id, kind (created|advance|skip|backward|override|won|lost|reopen|update),
    from_stage (NULL for created), to_stage, at, by_id, amount, currency, expected_close,
    forecast_category, probability, overridden (BOOLEAN: kind override or an override reason
    given), process_version_id, gate_id (0: no gate was judged)
``gate_criteria``  (one row per criterion judged at a gate, flattened from gate_result)
    history_id, deal_id, at, kind (the move's kind), from_stage, to_stage, gate (the stage
    key whose exit criteria these are, or ``won``), mode (enforce|warn), criterion (key),
    met (BOOLEAN), override (BOOLEAN: the move went through by override)
``users``  id, username, name, role, team_id, is_active
``teams``  id, name
``team_managers``  team_id, user_id
``meta``  key, value (watermarks, the process version, the generation)
``gate_defs``, ``gate_items``  the distinct gate results and their criteria (internal)

The files live in `extract_dir()`: `DEALCRAFT_ANALYTICS_DIR`, by default
``$DEALCRAFT_HOME/analytics``.

Refresh: the first use, a changed process version or `refresh(full=True)` builds the file
from scratch; otherwise only deals changed since the last refresh (by ``updated_at``, with a
safety margin, and by id) are replaced and history rows above the last id are appended.
Whether anything changed is told by the largest ids of the deals, history and audit tables and
the active process version, so an unchanged database costs three index look-ups. A refresh
works on a copy under an exclusive file lock and publishes it with an atomic rename: readers
(other threads, other gunicorn workers) keep reading the previous file until then and never
see half a refresh.

Data moves through Arrow: the ADBC SQLite or PostgreSQL driver streams record batches that
DuckDB reads directly. On SQLite the refresh runs in a child process, because the ADBC driver
brings its own copy of SQLite and two copies must never open one database file in the same
process. A database another connection cannot see — an in-memory SQLite database
or uncommitted changes inside the caller's transaction (tests) — is read through Django's own
connection into a private in-memory extract instead, built afresh for that call.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from django.conf import settings
from django.db import connection
from django.db.models import Max

SCHEMA_VERSION = "1"
#: Deals updated this long before the last watermark are read again (late commits).
SAFETY_MARGIN = timedelta(minutes=10)
BATCH_ROWS = 65_536
DUCKDB_MEMORY = "1GB"

_lock = threading.Lock()
_readers: dict[str, duckdb.DuckDBPyConnection] = {}


@dataclass(frozen=True)
class Marks:
    """What says whether the database changed since the extract was refreshed."""

    process_version: int
    deal_max: int
    history_max: int
    audit_max: int

    def as_meta(self) -> dict[str, str]:
        return {"process_version": str(self.process_version), "deal_max": str(self.deal_max),
                "history_max": str(self.history_max), "audit_max": str(self.audit_max)}


@dataclass(frozen=True)
class RefreshResult:
    """What a refresh did: ``none`` (already current), ``incremental`` or ``full``."""

    kind: str
    seconds: float
    generation: str
    deals: int
    history: int


def extract_dir() -> Path:
    """The extract's directory: `DEALCRAFT_ANALYTICS_DIR`, by default DEALCRAFT_HOME/analytics.

    It holds one DuckDB file per generation (``extract-<n>.duckdb``), ``CURRENT`` naming the
    current one, and ``refresh.lock``."""
    configured = getattr(settings, "DEALCRAFT_ANALYTICS_DIR", "")
    if configured:
        return Path(configured)
    return Path(settings.DEALCRAFT_HOME) / "analytics"


def extract_path(folder: Path | None = None) -> Path | None:
    """The current generation's DuckDB file, None before the first refresh."""
    folder = folder or extract_dir()
    try:
        name = (folder / "CURRENT").read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    return folder / name if name else None


def current_marks() -> Marks:
    from dealcraft.audit.models import AuditEvent
    from dealcraft.deals.models import Deal, StageHistory
    from dealcraft.processes.services import active_version

    version = active_version()
    return Marks(
        process_version=version.pk,
        deal_max=Deal.objects.aggregate(m=Max("id"))["m"] or 0,
        history_max=StageHistory.objects.aggregate(m=Max("id"))["m"] or 0,
        audit_max=AuditEvent.objects.aggregate(m=Max("id"))["m"] or 0,
    )


def shared_source_visible() -> bool:
    """Whether a second connection sees what Django's connection sees (committed data in a
    database file or server); False in-memory or inside a transaction."""
    if connection.in_atomic_block:
        return False
    if connection.vendor == "sqlite":
        name = str(connection.settings_dict["NAME"])
        return not (name == ":memory:" or "mode=memory" in name)
    return connection.vendor == "postgresql"


# ---------------------------------------------------------------------------- reading


@contextlib.contextmanager
def columnar(*, refresh_first: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only DuckDB connection to the extract, refreshed first when the database
    changed (see the module docstring for its tables)."""
    if not shared_source_visible():
        con = _snapshot()
        try:
            yield con
        finally:
            con.close()
        return
    if refresh_first or extract_path() is None:
        refresh()
    cursor = _open_current().cursor()
    try:
        yield cursor
    finally:
        cursor.close()


def current_generation() -> str | None:
    """A string that changes with every refresh of the extract, for cache keys; None when
    reports read a private snapshot (nothing may be cached then)."""
    if not shared_source_visible():
        return None
    return refresh().generation


def _open_current() -> duckdb.DuckDBPyConnection:
    """This process's read-only connection to the current generation (retried once: a
    refresh may publish a newer one between reading CURRENT and opening the file)."""
    for attempt in range(3):
        path = extract_path()
        if path is None:
            raise FileNotFoundError(f"no analytics extract in {extract_dir()}")
        try:
            return _reader(path)
        except duckdb.IOException:
            if attempt == 2:
                raise
            time.sleep(0.05)
    raise AssertionError("unreachable")


def _reader(path: Path) -> duckdb.DuckDBPyConnection:
    key = str(path)
    with _lock:
        found = _readers.get(key)
        if found is not None:
            return found
        if not path.exists():
            raise duckdb.IOException(f"{path} was replaced")
        con = duckdb.connect(key, read_only=True,
                             config={"memory_limit": DUCKDB_MEMORY, "threads": 2})
        # Generations older than the current one are no longer read by this process.
        for old in [k for k in _readers if k != key]:
            with contextlib.suppress(Exception):
                _readers.pop(old).close()
        _readers[key] = con
        return con


def _read_meta(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    try:
        with _reader(path).cursor() as cur:
            return dict(cur.execute("SELECT key, value FROM meta").fetchall())
    except duckdb.Error:
        return {}


# ---------------------------------------------------------------------------- refreshing


def refresh(*, full: bool = False) -> RefreshResult:
    """Bring the extract up to date with the database (see the module docstring)."""
    started = time.perf_counter()
    if not full:
        meta = _read_meta(extract_path())
        if _current(meta, current_marks()):
            return RefreshResult("none", time.perf_counter() - started, _generation(meta), 0, 0)
    folder = extract_dir()
    folder.mkdir(parents=True, exist_ok=True)
    info = _database_info()
    if info["vendor"] == "sqlite":
        # The ADBC driver carries its own copy of SQLite. Two copies of SQLite must never open
        # one database file in the same process (POSIX locks are per process, so each copy
        # could checkpoint or reset the write-ahead log under the other's feet): the SQLite
        # file is read in a child process that holds no other connection to it.
        return _refresh_in_child(info, folder, full, started)
    return _refresh_with_lock(info, folder, full, started)


def _refresh_with_lock(info: dict[str, Any], folder: Path, full: bool,
                       started: float) -> RefreshResult:
    with open(folder / "refresh.lock", "a+b") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            source = _AdbcSource(info)
            try:
                return _refresh_locked(source, folder, full, started)
            finally:
                source.close()
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _refresh_in_child(info: dict[str, Any], folder: Path, full: bool,
                      started: float) -> RefreshResult:
    request = json.dumps({"info": info, "folder": str(folder), "full": full})
    done = subprocess.run(
        [sys.executable, "-c", "from dealcraft.analytics.extract import _child; _child()"],
        input=request, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"refreshing the analytics extract failed: {done.stderr.strip()}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return RefreshResult(result["kind"], time.perf_counter() - started, result["generation"],
                         result["deals"], result["history"])


def _child() -> None:
    """The child process's side of `_refresh_in_child` (JSON in on stdin, out on stdout)."""
    request = json.loads(sys.stdin.read())
    done = _refresh_with_lock(request["info"], Path(request["folder"]), request["full"],
                              time.perf_counter())
    print(json.dumps({"kind": done.kind, "generation": done.generation, "deals": done.deals,
                      "history": done.history}))


def _database_info() -> dict[str, Any]:
    cfg = connection.settings_dict
    return {"vendor": connection.vendor, "NAME": str(cfg["NAME"]), "USER": cfg.get("USER"),
            "PASSWORD": cfg.get("PASSWORD"), "HOST": cfg.get("HOST"), "PORT": cfg.get("PORT"),
            "OPTIONS": {k: v for k, v in (cfg.get("OPTIONS") or {}).items()
                        if isinstance(v, str | int)}}


def _source_marks(source: _Source) -> Marks:
    row = source.batches(
        "SELECT (SELECT COALESCE(MAX(id), 0) FROM processes_processversion WHERE is_active) "
        "AS process_version, (SELECT COALESCE(MAX(id), 0) FROM deals_deal) AS deal_max, "
        "(SELECT COALESCE(MAX(id), 0) FROM deals_stagehistory) AS history_max, "
        "(SELECT COALESCE(MAX(id), 0) FROM audit_auditevent) AS audit_max").read_all()
    values = row.to_pylist()[0]
    return Marks(**{k: int(v) for k, v in values.items()})


def _refresh_locked(source: _Source, folder: Path, full: bool,
                    started: float) -> RefreshResult:
    marks = _source_marks(source)
    path = extract_path(folder)
    meta = _read_meta(path)
    if not full and _current(meta, marks):
        return RefreshResult("none", time.perf_counter() - started, _generation(meta), 0, 0)
    rebuild = (full or path is None or not meta or meta.get("schema") != SCHEMA_VERSION
               or meta.get("process_version") != str(marks.process_version)
               or int(meta.get("deal_max", 0)) > marks.deal_max
               or int(meta.get("history_max", 0)) > marks.history_max
               or int(meta.get("audit_max", 0)) > marks.audit_max)
    generation = str(int(meta.get("generation", "0")) + 1)
    final = folder / f"extract-{generation}.duckdb"
    tmp = folder / f".extract-{generation}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    if not rebuild and path is not None:
        shutil.copyfile(path, tmp)
    con = duckdb.connect(str(tmp), config={"memory_limit": DUCKDB_MEMORY, "threads": 2})
    try:
        if rebuild:
            deals, history = _build(con, source, marks)
        else:
            deals, history = _update(con, source, meta, marks)
        build = uuid.uuid4().hex[:12] if rebuild else meta.get("build", "")
        _write_meta(con, {**marks.as_meta(), "generation": generation, "build": build})
        con.execute("CHECKPOINT")
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        raise
    con.close()
    os.replace(tmp, final)
    pointer = folder / f".CURRENT.{os.getpid()}"
    pointer.write_text(final.name + "\n", encoding="ascii")
    os.replace(pointer, folder / "CURRENT")
    # Keep the previous generation for readers that opened it a moment ago.
    keep = {final.name, path.name if path is not None else ""}
    for old in folder.glob("extract-*.duckdb"):
        if old.name not in keep:
            old.unlink(missing_ok=True)
    return RefreshResult("full" if rebuild else "incremental", time.perf_counter() - started,
                         _generation({"build": build, "generation": generation}), deals,
                         history)


def _generation(meta: dict[str, str]) -> str:
    """Which extract this is: its build (a full rebuild's random id) and generation."""
    return f"{meta.get('build', '')}.{meta.get('generation', '')}"


def _current(meta: dict[str, str], marks: Marks) -> bool:
    return bool(meta) and meta.get("schema") == SCHEMA_VERSION and all(
        meta.get(k) == v for k, v in marks.as_meta().items())


def _snapshot() -> duckdb.DuckDBPyConnection:
    """A private in-memory extract read through Django's connection."""
    con = duckdb.connect(":memory:")
    _build(con, _DjangoSource(), Marks(0, 0, 2**62, 0))
    return con


def _write_meta(con: duckdb.DuckDBPyConnection, values: dict[str, str]) -> None:
    values = {**values, "schema": SCHEMA_VERSION,
              "refreshed_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")}
    for key, value in values.items():
        con.execute("DELETE FROM meta WHERE key = ?", [key])
        con.execute("INSERT INTO meta VALUES (?, ?)", [key, value])


# ---------------------------------------------------------------------------- sources


class _Source:
    vendor: str

    def batches(self, sql: str) -> pa.RecordBatchReader:
        raise NotImplementedError

    def close(self) -> None:
        """Release the connection."""


class _AdbcSource(_Source):
    """Arrow record batches straight from the database through its ADBC driver."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.vendor = cfg["vendor"]
        if self.vendor == "sqlite":
            import adbc_driver_sqlite.dbapi as adbc_sqlite

            self.conn: Any = adbc_sqlite.connect(str(cfg["NAME"]))
        else:
            import adbc_driver_postgresql.dbapi as adbc_pg

            self.conn = adbc_pg.connect(_libpq_conninfo(cfg))
        self.cursors: list[Any] = []

    def batches(self, sql: str) -> pa.RecordBatchReader:
        cursor = self.conn.cursor()
        if self.vendor == "sqlite":
            cursor.adbc_statement.set_options(
                **{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
        cursor.execute(sql)
        self.cursors.append(cursor)
        return cursor.fetch_record_batch()

    def close(self) -> None:
        for cursor in self.cursors:
            with contextlib.suppress(Exception):
                cursor.close()
        self.conn.close()


class _DjangoSource(_Source):
    """The same queries through Django's own connection (sees the caller's transaction)."""

    def __init__(self) -> None:
        self.vendor = connection.vendor

    def batches(self, sql: str) -> pa.RecordBatchReader:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            names = [c[0] for c in cursor.description]
            rows = cursor.fetchall()
        columns: list[list[Any]] = ([list(c) for c in zip(*rows, strict=True)] if rows
                                    else [[] for _ in names])
        arrays = []
        for values in columns:
            if not rows:
                arrays.append(pa.array([], type=pa.string()))
                continue
            sample = next((v for v in values if v is not None), None)
            if isinstance(sample, datetime):
                values = [v.astimezone(UTC).replace(tzinfo=None)
                          if isinstance(v, datetime) and v.tzinfo else v for v in values]
            arrays.append(pa.array(values))
        table = pa.Table.from_arrays(arrays, names=names)
        return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())


def _libpq_conninfo(cfg: dict[str, Any]) -> str:
    def quote(value: Any) -> str:
        text = str(value).replace("\\", "\\\\").replace("'", "\\'")
        return f"'{text}'"

    parts = {"dbname": cfg["NAME"], "user": cfg.get("USER"), "password": cfg.get("PASSWORD"),
             "host": cfg.get("HOST"), "port": cfg.get("PORT")}
    parts.update(cfg.get("OPTIONS") or {})
    return " ".join(f"{k}={quote(v)}" for k, v in parts.items() if v not in (None, ""))


# ---------------------------------------------------------------------------- queries


def _deal_sql(vendor: str, since: str | None, above_id: int) -> str:
    if vendor == "sqlite":
        def field(key: str) -> str:
            return f"COALESCE(CAST(json_extract(d.fields, '$.{key}') AS TEXT), '')"
        amount = "CAST(ROUND(d.amount * 100) AS INTEGER)"
        where = "" if since is None else f"WHERE d.updated_at >= '{since}' OR d.id > {above_id}"
        due = "COALESCE(n.due, '')"
        ts = "{}"
        nullable_ts = "COALESCE({}, '')"
    else:
        def field(key: str) -> str:
            return f"COALESCE(d.fields ->> '{key}', '')"
        amount = "ROUND(d.amount * 100)::bigint"
        where = ("" if since is None else
                 f"WHERE d.updated_at >= (TIMESTAMP '{since}' AT TIME ZONE 'UTC') "
                 f"OR d.id > {above_id}")
        due = "n.due"
        ts = "({} AT TIME ZONE 'UTC')"
        nullable_ts = ts
    return (
        "SELECT d.id, d.name, COALESCE(d.account_id, 0) AS account_id, d.owner_id, "
        "COALESCE(d.team_id, 0) AS team_id, "
        f"{amount} AS amount_cents, d.currency, d.expected_close, d.stage, d.status, "
        "d.forecast_category, d.probability, "
        f"{field('segment')} AS segment, {field('lead_source')} AS lead_source, "
        f"{field('buyer_loss_reason')} AS buyer_loss_reason, "
        f"{ts.format('d.created_at')} AS created_at, {ts.format('d.updated_at')} AS updated_at, "
        f"{ts.format('d.stage_entered_at')} AS stage_entered_at, "
        f"{nullable_ts.format('d.closed_at')} AS closed_at, "
        "d.lost_reason, d.lost_reason_category, d.lost_from_stage, "
        "COALESCE(d.process_version_id, 0) AS process_version_id, "
        "CASE WHEN d.next_step_id IS NULL THEN 0 ELSE 1 END AS has_next_step, "
        f"{due} AS next_step_due "
        "FROM deals_deal d LEFT JOIN deals_nextstep n ON n.id = d.next_step_id "
        f"{where}"
    )


def _history_sql(vendor: str, above_id: int, up_to: int) -> str:
    if vendor == "sqlite":
        amount = "CAST(ROUND(h.amount * 100) AS INTEGER)"
        at = "h.at"
        close = "COALESCE(h.expected_close, '')"
        gate = "h.gate_result"
    else:
        amount = "ROUND(h.amount * 100)::bigint"
        at = "(h.at AT TIME ZONE 'UTC')"
        close = "h.expected_close"
        gate = "h.gate_result::text"
    return (
        f"SELECT h.id, h.deal_id, h.kind, h.from_stage, h.to_stage, {at} AS at, "
        f"COALESCE(h.by_id, 0) AS by_id, {amount} AS amount_cents, h.currency, "
        f"{close} AS expected_close, h.forecast_category, h.probability, "
        "CASE WHEN h.kind = 'override' OR h.override_reason <> '' THEN 1 ELSE 0 END "
        "AS overridden, COALESCE(h.process_version_id, 0) AS process_version_id, "
        f"{gate} AS gate_result FROM deals_stagehistory h "
        f"WHERE h.id > {above_id} AND h.id <= {up_to}"
    )


USERS_SQL = ("SELECT id, username, first_name, last_name, role, COALESCE(team_id, 0) AS team_id, "
             "CASE WHEN is_active THEN 1 ELSE 0 END AS is_active FROM people_user")
TEAMS_SQL = ("SELECT t.id, t.name, COALESCE(m.user_id, 0) AS user_id FROM people_team t "
             "LEFT JOIN people_team_managers m ON m.team_id = t.id")

DEAL_COLUMNS = """
    id BIGINT, name VARCHAR, account_id BIGINT, owner_id BIGINT, team_id BIGINT,
    amount DECIMAL(18, 2), currency VARCHAR, expected_close DATE, stage VARCHAR,
    status VARCHAR, forecast_category VARCHAR, probability INTEGER, segment VARCHAR,
    lead_source VARCHAR, buyer_loss_reason VARCHAR, created_at TIMESTAMP,
    updated_at TIMESTAMP, stage_entered_at TIMESTAMP, closed_at TIMESTAMP,
    lost_reason VARCHAR, lost_reason_category VARCHAR, lost_from_stage VARCHAR,
    process_version_id BIGINT, has_next_step BOOLEAN, next_step_due DATE
"""
DEAL_SELECT = """
    id, name, NULLIF(account_id, 0) AS account_id, owner_id, NULLIF(team_id, 0) AS team_id,
    CAST(amount_cents AS DECIMAL(18, 0)) / 100 AS amount, currency,
    CAST(expected_close AS DATE) AS expected_close, stage, status, forecast_category,
    probability, NULLIF(segment, '') AS segment, NULLIF(lead_source, '') AS lead_source,
    NULLIF(buyer_loss_reason, '') AS buyer_loss_reason,
    CAST(created_at AS TIMESTAMP) AS created_at, CAST(updated_at AS TIMESTAMP) AS updated_at,
    CAST(stage_entered_at AS TIMESTAMP) AS stage_entered_at,
    TRY_CAST(NULLIF(CAST(closed_at AS VARCHAR), '') AS TIMESTAMP) AS closed_at, lost_reason,
    NULLIF(lost_reason_category, '') AS lost_reason_category,
    NULLIF(lost_from_stage, '') AS lost_from_stage,
    NULLIF(process_version_id, 0) AS process_version_id,
    has_next_step = 1 AS has_next_step,
    TRY_CAST(NULLIF(CAST(next_step_due AS VARCHAR), '') AS DATE) AS next_step_due
"""
HISTORY_COLUMNS = """
    id BIGINT, deal_id BIGINT, kind VARCHAR, from_stage VARCHAR, to_stage VARCHAR,
    "at" TIMESTAMP, by_id BIGINT, amount DECIMAL(18, 2), currency VARCHAR, expected_close DATE,
    forecast_category VARCHAR, probability INTEGER, overridden BOOLEAN,
    process_version_id BIGINT, gate_id INTEGER
"""
HISTORY_SELECT = """
    id, deal_id, kind, NULLIF(from_stage, '') AS from_stage, to_stage,
    CAST("at" AS TIMESTAMP) AS "at", NULLIF(by_id, 0) AS by_id,
    CAST(amount_cents AS DECIMAL(18, 0)) / 100 AS amount, currency,
    TRY_CAST(NULLIF(CAST(expected_close AS VARCHAR), '') AS DATE) AS expected_close,
    forecast_category, probability, overridden = 1 AS overridden,
    NULLIF(process_version_id, 0) AS process_version_id, gate_id
"""


def _create_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE TABLE deals ({DEAL_COLUMNS})")
    con.execute(f"CREATE TABLE history ({HISTORY_COLUMNS})")
    con.execute("CREATE TABLE gate_defs (gate_id INTEGER, gate_result VARCHAR)")
    con.execute("CREATE TABLE gate_items (gate_id INTEGER, gate VARCHAR, mode VARCHAR, "
                "criterion VARCHAR, met BOOLEAN)")
    con.execute("CREATE TABLE gate_criteria (history_id BIGINT, deal_id BIGINT, \"at\" TIMESTAMP, "
                "kind VARCHAR, from_stage VARCHAR, to_stage VARCHAR, gate VARCHAR, "
                "mode VARCHAR, criterion VARCHAR, met BOOLEAN, override BOOLEAN)")
    con.execute("CREATE TABLE meta (key VARCHAR, value VARCHAR)")


def _build(con: duckdb.DuckDBPyConnection, source: _Source, marks: Marks) -> tuple[int, int]:
    started = _utc_now()
    _create_tables(con)
    deals = _load_deals(con, source, None, 0)
    history = _load_history(con, source, 0, marks.history_max)
    _load_people(con, source)
    _write_meta(con, {**marks.as_meta(), "deals_read_at": started, "generation": "0"})
    return deals, history


def _update(con: duckdb.DuckDBPyConnection, source: _Source, meta: dict[str, str],
            marks: Marks) -> tuple[int, int]:
    started = _utc_now()
    # Deals changed since the last read began (less a margin for transactions that were
    # still open then); a deal stamped in the future is read again each time.
    since = meta.get("deals_read_at") or "1970-01-01 00:00:00"
    since_at = datetime.strptime(since, "%Y-%m-%d %H:%M:%S") - SAFETY_MARGIN
    deals = _load_deals(con, source, since_at.strftime("%Y-%m-%d %H:%M:%S"),
                        int(meta.get("deal_max", "0")))
    history = _load_history(con, source, int(meta.get("history_max", "0")),
                            marks.history_max)
    _load_people(con, source)
    _write_meta(con, {"deals_read_at": started})
    return deals, history


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _non_empty(reader: pa.RecordBatchReader) -> pa.RecordBatchReader | None:
    """The reader, or None when it yields no row (an empty result's column types are not
    the real ones, so there is nothing to convert)."""
    for batch in reader:
        if batch.num_rows:
            return pa.RecordBatchReader.from_batches(batch.schema, _chain(batch, reader))
    return None


def _chain(first: pa.RecordBatch, rest: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    yield first
    yield from rest


def _load_deals(con: duckdb.DuckDBPyConnection, source: _Source, since: str | None,
                above_id: int) -> int:
    reader = _non_empty(source.batches(_deal_sql(source.vendor, since, above_id)))
    if reader is None:
        return 0
    con.register("deal_batches", reader)
    try:
        con.execute(f"CREATE TEMP TABLE deal_delta AS SELECT {DEAL_SELECT} FROM deal_batches")
    finally:
        con.unregister("deal_batches")
    con.execute("DELETE FROM deals WHERE id IN (SELECT id FROM deal_delta)")
    con.execute("INSERT INTO deals SELECT * FROM deal_delta")
    row = con.execute("SELECT count(*) FROM deal_delta").fetchone()
    con.execute("DROP TABLE deal_delta")
    return int(row[0]) if row else 0


def _load_history(con: duckdb.DuckDBPyConnection, source: _Source, above_id: int,
                  up_to: int) -> int:
    known = dict(con.execute("SELECT gate_result, gate_id FROM gate_defs").fetchall())
    first_new = len(known) + 1
    mapper = _GateMapper(known)
    reader = _non_empty(source.batches(_history_sql(source.vendor, above_id, up_to)))
    if reader is None:
        return 0
    mapped = pa.RecordBatchReader.from_batches(mapper.schema(reader.schema), mapper.map(reader))
    con.register("history_batches", mapped)
    try:
        con.execute(f"CREATE TEMP TABLE history_delta AS SELECT {HISTORY_SELECT} "
                    "FROM history_batches")
    finally:
        con.unregister("history_batches")
    new_defs = pa.table({
        "gate_id": pa.array([gid for _, gid in mapper.new], type=pa.int32()),
        "gate_result": pa.array([text for text, _ in mapper.new], type=pa.string())})
    con.register("new_defs", new_defs)
    con.execute("INSERT INTO gate_defs SELECT * FROM new_defs")
    con.unregister("new_defs")
    _parse_gates(con, first_new)
    con.execute("INSERT INTO history SELECT * FROM history_delta")
    con.execute("""
        INSERT INTO gate_criteria
        SELECT h.id, h.deal_id, h.at, h.kind, h.from_stage, h.to_stage, g.gate, g.mode,
               g.criterion, g.met, h.overridden
        FROM history_delta h JOIN gate_items g USING (gate_id)
    """)
    row = con.execute("SELECT count(*) FROM history_delta").fetchone()
    con.execute("DROP TABLE history_delta")
    return int(row[0]) if row else 0


def _parse_gates(con: duckdb.DuckDBPyConnection, first_new: int) -> None:
    """Per-criterion results of the gate results added since `first_new`."""
    shape = json.dumps({"gates": [{"stage": "VARCHAR", "mode": "VARCHAR", "met": ["VARCHAR"],
                                   "unmet": [{"key": "VARCHAR"}]}]})
    con.execute(f"""
        CREATE TEMP TABLE parsed_gates AS
        SELECT gate_id, unnest(json_transform(gate_result, '{shape}').gates) AS g
        FROM gate_defs WHERE gate_id >= {first_new}
    """)
    con.execute("""
        INSERT INTO gate_items
        SELECT gate_id, g.stage, g.mode, unnest(g.met), TRUE FROM parsed_gates
        WHERE len(g.met) > 0
        UNION ALL
        SELECT gate_id, g.stage, g.mode, unnest(g.unmet).key, FALSE FROM parsed_gates
        WHERE len(g.unmet) > 0
    """)
    con.execute("DROP TABLE parsed_gates")


class _GateMapper:
    """Replaces each row's gate_result JSON by a small id (distinct results are few), so
    nine million history rows never hold their JSON in memory at once."""

    def __init__(self, known: dict[str, int]) -> None:
        self.known = known
        self.new: list[tuple[str, int]] = []

    @staticmethod
    def schema(schema: pa.Schema) -> pa.Schema:
        index = schema.get_field_index("gate_result")
        return schema.remove(index).append(pa.field("gate_id", pa.int32()))

    def _id(self, text: str | None) -> int:
        if not text or text == "{}":
            return 0
        found = self.known.get(text)
        if found is None:
            try:
                has_gates = bool(json.loads(text).get("gates"))
            except (ValueError, AttributeError):
                has_gates = False
            found = len(self.known) + 1 if has_gates else 0
            self.known[text] = found
            if found:
                self.new.append((text, found))
        return found

    def map(self, reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
        index = reader.schema.get_field_index("gate_result")
        for batch in reader:
            column = batch.column(index)
            if not pa.types.is_dictionary(column.type):
                column = column.dictionary_encode()
            ids = pa.array([self._id(v) for v in column.dictionary.to_pylist()],
                           type=pa.int32())
            gate_ids = ids.take(column.indices) if len(ids) else pa.nulls(0, pa.int32())
            gate_ids = gate_ids.fill_null(0)
            yield batch.remove_column(index).append_column("gate_id", gate_ids)


def _load_people(con: duckdb.DuckDBPyConnection, source: _Source) -> None:
    for table, columns in (("users", "id BIGINT, username VARCHAR, name VARCHAR, role VARCHAR, "
                                     "team_id BIGINT, is_active BOOLEAN"),
                           ("teams", "id BIGINT, name VARCHAR"),
                           ("team_managers", "team_id BIGINT, user_id BIGINT")):
        con.execute(f"DROP TABLE IF EXISTS {table}")
        con.execute(f"CREATE TABLE {table} ({columns})")
    users = source.batches(USERS_SQL).read_all()
    if users.num_rows:
        con.register("people_rows", users)
        con.execute("INSERT INTO users SELECT id, username, "
                    "trim(first_name || ' ' || last_name), role, NULLIF(team_id, 0), "
                    "is_active = 1 FROM people_rows")
        con.unregister("people_rows")
    teams = source.batches(TEAMS_SQL).read_all()
    if teams.num_rows:
        con.register("team_rows", teams)
        con.execute("INSERT INTO teams SELECT DISTINCT id, name FROM team_rows")
        con.execute("INSERT INTO team_managers SELECT id, user_id FROM team_rows "
                    "WHERE user_id <> 0")
        con.unregister("team_rows")
    con.execute("UPDATE users SET name = username WHERE name = ''")
