"""Backup and restore: the whole database and its evidence files in one portable zip.

The file holds `manifest.json` (format, version, the schema's migrations, and per table its
columns, row count and SHA-256), one JSON-lines file per table under `data/` (one JSON array
per row, in primary-key order) and every stored evidence file under `media/`. Values are
written in one canonical form whatever the engine (times in UTC, decimals as text, JSON with
sorted keys), so a backup of SQLite restores into PostgreSQL and back, and the checksums
computed from the restored database must equal those in the manifest.

A backup is one read transaction (REPEATABLE READ on PostgreSQL, a read snapshot on SQLite
in WAL mode), so it is consistent while the server keeps writing, and blocks no writer.
A restore checks the whole file first, then writes everything in one transaction, reads it
back and compares row counts and checksums before committing: all or nothing.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import shutil
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.color import no_style
from django.db import DatabaseError, connection, models, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

FORMAT = "dealcraft-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CHUNK = 2000
#: Tables that `dealcraft migrate` fills by itself; they do not make a database "not empty".
SEEDED = frozenset({"contenttypes.contenttype", "auth.permission"})
#: Tables not worth keeping: sign-in sessions end with the backup.
SKIPPED = frozenset({"sessions.session"})


class BackupError(Exception):
    """A backup that cannot be read or restored; the message says why and what to do."""


# ---------------------------------------------------------------------------- tables


def backed_up_models() -> list[type[models.Model]]:
    """Every table dealcraft keeps, in a fixed order (by label)."""
    found = [model for model in apps.get_models(include_auto_created=True)
             if model._meta.managed and not model._meta.proxy
             and model._meta.label_lower not in SKIPPED]
    return sorted(found, key=lambda m: m._meta.label_lower)


def _columns(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    return [f for f in model._meta.concrete_fields]


def _encode(value: Any) -> Any:
    """A database value in its canonical JSON form (the same from SQLite and PostgreSQL)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, datetime):
        if timezone.is_naive(value):
            value = timezone.make_aware(value, UTC)
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        return value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict | list):
        return value
    return str(value)


def _line(values: tuple[Any, ...]) -> bytes:
    return (json.dumps([_encode(v) for v in values], ensure_ascii=False, sort_keys=True,
                       separators=(",", ":")) + "\n").encode("utf-8")


def _table_lines(model: type[models.Model]) -> Iterator[tuple[bytes, tuple[Any, ...]]]:
    """Each row of a table as its JSON line, in primary-key order, a keyset page at a time."""
    names = [f.attname for f in _columns(model)]
    pk = model._meta.pk
    assert pk is not None
    pk_at = names.index(pk.attname)
    rows = model._base_manager.order_by("pk").values_list(*names)
    last: Any = None
    while True:
        page = list((rows if last is None else rows.filter(pk__gt=last))[:CHUNK])
        for values in page:
            yield _line(values), values
        if len(page) < CHUNK:
            return
        last = page[-1][pk_at]


def _file_fields(model: type[models.Model]) -> list[int]:
    return [i for i, f in enumerate(_columns(model)) if isinstance(f, models.FileField)]


@contextlib.contextmanager
def _snapshot() -> Iterator[None]:
    """One read transaction for everything the backup reads."""
    if connection.vendor == "postgresql":
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield
        return
    if connection.vendor == "sqlite":
        # Django begins SQLite transactions IMMEDIATE (a write lock); a backup must not
        # hold one, so it opens a plain deferred transaction, whose first read fixes a
        # snapshot in WAL mode while writers carry on.
        connection.ensure_connection()
        if not connection.get_autocommit():
            raise BackupError("a backup cannot run inside another transaction")
        with connection.cursor() as cursor:
            cursor.execute("BEGIN DEFERRED")
            try:
                cursor.execute("SELECT count(*) FROM django_migrations")
                yield
            finally:
                cursor.execute("ROLLBACK")
        return
    raise BackupError(f"backups of {connection.vendor} databases are not supported")


def _applied_migrations() -> list[list[str]]:
    recorder = MigrationRecorder(connection)
    return sorted([app, name] for app, name in recorder.applied_migrations())


# ---------------------------------------------------------------------------- backup


def write_backup(path: Path, *, pause: Any = None) -> dict[str, Any]:
    """Write a backup of the database and its evidence files to `path`; returns its manifest.

    `pause`, when given, is called after the first table is written (tests use it to write
    to the database while the backup runs).
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        app_version = version("dealcraft")
    except PackageNotFoundError:
        app_version = "unknown"
    media_root = Path(settings.MEDIA_ROOT)
    tables: list[dict[str, Any]] = []
    media: list[dict[str, Any]] = []
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        with _snapshot():
            migrations = _applied_migrations()
            if not migrations:
                raise BackupError("the database has no schema; there is nothing to back up")
            files: set[str] = set()
            for model in backed_up_models():
                entry = f"data/{model._meta.label_lower}.jsonl"
                digest = hashlib.sha256()
                rows = 0
                file_at = _file_fields(model)
                with zf.open(entry, "w", force_zip64=True) as out:
                    for line, values in _table_lines(model):
                        out.write(line)
                        digest.update(line)
                        rows += 1
                        files.update(values[i] for i in file_at if values[i])
                tables.append({
                    "model": model._meta.label_lower,
                    "table": model._meta.db_table,
                    "columns": [f.attname for f in _columns(model)],
                    "file": entry, "rows": rows, "sha256": digest.hexdigest(),
                })
                if pause is not None and len(tables) == 1:
                    pause()
        missing: list[str] = []
        for name in sorted(files):
            source = (media_root / name).resolve()
            if not source.is_relative_to(media_root.resolve()) or not source.is_file():
                # A file lost from the disk must not make every later backup fail: it is
                # listed, and the command warns about it.
                missing.append(name)
                continue
            digest = hashlib.sha256()
            with source.open("rb") as src, zf.open(f"media/{name}", "w", force_zip64=True) as out:
                while block := src.read(1 << 20):
                    digest.update(block)
                    out.write(block)
            media.append({"path": name, "size": source.stat().st_size,
                          "sha256": digest.hexdigest()})
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "created_at": timezone.now().astimezone(UTC).isoformat(timespec="seconds"),
            "dealcraft_version": app_version, "engine": connection.vendor,
            "migrations": migrations, "tables": tables, "media": media,
            "missing_media": missing,
        }
        zf.writestr(MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False))
    return manifest


# ---------------------------------------------------------------------------- reading


def _open(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except FileNotFoundError:
        raise BackupError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise BackupError(f"{path}: is a directory, not a backup") from None
    except zipfile.BadZipFile:
        raise BackupError(f"{path}: not a dealcraft backup (not a zip file, or truncated or "
                          "damaged)") from None
    except OSError as exc:
        raise BackupError(f"{path}: cannot read the file: {exc.strerror or exc}") from None


def read_manifest(zf: zipfile.ZipFile, path: Path) -> dict[str, Any]:
    """The manifest, checked to be one this version of dealcraft can restore."""
    try:
        raw = zf.read(MANIFEST)
    except KeyError:
        raise BackupError(f"{path}: not a dealcraft backup (it has no {MANIFEST})") from None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise BackupError(f"{path}: the manifest is damaged ({exc})") from None
    try:
        manifest = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BackupError(f"{path}: the manifest is not valid JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path}: not a dealcraft backup (unknown manifest format)")
    found = manifest.get("format_version")
    if not isinstance(found, int):
        raise BackupError(f"{path}: the manifest has no format version")
    if found > FORMAT_VERSION:
        raise BackupError(f"{path}: written in backup format {found} by a newer dealcraft "
                          f"({manifest.get('dealcraft_version', 'unknown')}); this version "
                          f"reads format {FORMAT_VERSION} — upgrade dealcraft to restore it")
    for key in ("tables", "media", "migrations"):
        if not isinstance(manifest.get(key), list):
            raise BackupError(f"{path}: the manifest has no '{key}' list")
    return manifest


def _member_lines(zf: zipfile.ZipFile, entry: str, path: Path) -> Iterator[bytes]:
    try:
        with zf.open(entry) as stream:
            yield from stream
    except KeyError:
        raise BackupError(f"{path}: {entry} is missing (the backup is incomplete)") from None
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise BackupError(f"{path}: {entry} is damaged ({exc})") from None


def verify_file(zf: zipfile.ZipFile, manifest: dict[str, Any], path: Path) -> None:
    """Check every table and media file against its row count and checksum in the manifest."""
    for table in manifest["tables"]:
        digest = hashlib.sha256()
        rows = 0
        for line in _member_lines(zf, table["file"], path):
            digest.update(line)
            rows += 1
        if rows != table["rows"] or digest.hexdigest() != table["sha256"]:
            raise BackupError(f"{path}: {table['file']} does not match its checksum in the "
                              f"manifest ({rows} rows read, {table['rows']} expected); the "
                              "backup is damaged")
    for item in manifest["media"]:
        digest = hashlib.sha256()
        for block in _member_lines(zf, f"media/{item['path']}", path):
            digest.update(block)
        if digest.hexdigest() != item["sha256"]:
            raise BackupError(f"{path}: media/{item['path']} does not match its checksum; the "
                              "backup is damaged")


# ---------------------------------------------------------------------------- restore


def _check_schema(manifest: dict[str, Any], path: Path) -> None:
    here = {tuple(m) for m in _applied_migrations()}
    if not here:
        raise BackupError("the database has no schema yet: run `dealcraft migrate` first")
    there = {tuple(m) for m in manifest["migrations"]}
    newer = sorted(there - here)
    if newer:
        names = ", ".join(f"{a}.{n}" for a, n in newer[:5])
        raise BackupError(f"{path}: the backup's schema is newer than this database's "
                          f"(migrations not applied here: {names}); upgrade dealcraft and run "
                          "`dealcraft migrate`, then restore")
    older = sorted(here - there)
    if older:
        names = ", ".join(f"{a}.{n}" for a, n in older[:5])
        raise BackupError(f"{path}: the backup was taken with an older schema (it lacks "
                          f"{names}); restore it with the dealcraft version that wrote it "
                          f"({manifest.get('dealcraft_version', 'unknown')}), then upgrade")


def _models_of(manifest: dict[str, Any], path: Path) -> list[tuple[type[models.Model],
                                                                   dict[str, Any]]]:
    known = {m._meta.label_lower: m for m in backed_up_models()}
    out = []
    for table in manifest["tables"]:
        model = known.get(table.get("model", ""))
        if model is None:
            raise BackupError(f"{path}: unknown table {table.get('model')!r} in the backup")
        columns = [f.attname for f in _columns(model)]
        if table.get("columns") != columns:
            raise BackupError(f"{path}: the columns of {table['model']} differ from this "
                              "database's; the backup belongs to another schema")
        out.append((model, table))
    missing = sorted(set(known) - {t["model"] for _, t in out})
    if missing:
        raise BackupError(f"{path}: the backup has no data for {', '.join(missing)}")
    return out


def non_empty_tables() -> list[str]:
    return [m._meta.label_lower for m in backed_up_models()
            if m._meta.label_lower not in SEEDED and m._base_manager.exists()]


def _decode(field: models.Field[Any, Any], value: Any) -> Any:
    if value is None:
        return None
    if isinstance(field, models.JSONField):
        return field.get_db_prep_save(value, connection)
    if isinstance(field, models.BinaryField):
        value = base64.b64decode(value)
    elif isinstance(field, models.DateTimeField):
        value = datetime.fromisoformat(value)
    else:
        value = field.to_python(value)
    return field.get_db_prep_save(value, connection)


def _insert(model: type[models.Model], lines: Iterator[bytes]) -> None:
    fields = _columns(model)
    quote = connection.ops.quote_name
    sql = (f"INSERT INTO {quote(model._meta.db_table)} "
           f"({', '.join(quote(f.column) for f in fields)}) "
           f"VALUES ({', '.join(['%s'] * len(fields))})")
    batch: list[list[Any]] = []
    with connection.cursor() as cursor:
        for line in lines:
            values = json.loads(line)
            batch.append([_decode(f, v) for f, v in zip(fields, values, strict=True)])
            if len(batch) >= CHUNK:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)


def _empty(tables: list[type[models.Model]]) -> None:
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in tables:
            cursor.execute(f"DELETE FROM {quote(model._meta.db_table)}")


def _check_restored(model: type[models.Model], table: dict[str, Any], path: Path) -> None:
    digest = hashlib.sha256()
    rows = 0
    for line, _ in _table_lines(model):
        digest.update(line)
        rows += 1
    if rows != table["rows"] or digest.hexdigest() != table["sha256"]:
        raise BackupError(f"{path}: {table['model']} did not restore faithfully ({rows} rows "
                          f"in the database, {table['rows']} in the backup); nothing was "
                          "restored")


def restore_backup(path: Path, *, force: bool = False) -> dict[str, Any]:
    """Restore a backup into this database: all of it, verified, or nothing."""
    with _open(path) as zf:
        manifest = read_manifest(zf, path)
        verify_file(zf, manifest, path)
        _check_schema(manifest, path)
        pairs = _models_of(manifest, path)
        media_root = Path(settings.MEDIA_ROOT)
        # Evidence files are written beside their place first and renamed into it only once
        # the database has committed, so a failed restore leaves no file behind either.
        written: list[tuple[Path, Path]] = []
        try:
            with transaction.atomic():
                occupied = non_empty_tables()
                if occupied and not force:
                    raise BackupError(
                        f"the database is not empty ({', '.join(occupied[:5])}"
                        f"{'…' if len(occupied) > 5 else ''} hold rows); restore into a new "
                        "database after `dealcraft migrate`, or give --force to replace "
                        "everything in it")
                _empty([model for model, _ in pairs])
                for model, table in pairs:
                    try:
                        _insert(model, _member_lines(zf, table["file"], path))
                    except (DatabaseError, ValueError, TypeError, ValidationError) as exc:
                        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                        raise BackupError(f"{path}: {table['model']} cannot be restored "
                                          f"({first}); nothing was restored") from None
                try:
                    # References are checked at commit; check them now, to say which.
                    connection.check_constraints()
                except DatabaseError as exc:
                    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                    raise BackupError(f"{path}: the backup's rows do not fit together "
                                      f"({first}); nothing was restored") from None
                _reset_sequences([model for model, _ in pairs])
                for model, table in pairs:
                    _check_restored(model, table, path)
                for item in manifest["media"]:
                    written.append(_restore_file(zf, item, media_root, path))
        except BaseException:
            for part, _ in written:
                part.unlink(missing_ok=True)
            raise
    for part, target in written:
        part.replace(target)
    return manifest


def _reset_sequences(tables: list[type[models.Model]]) -> None:
    statements = connection.ops.sequence_reset_sql(no_style(), tables)
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


def _restore_file(zf: zipfile.ZipFile, item: dict[str, Any], media_root: Path,
                  path: Path) -> tuple[Path, Path]:
    """Write one evidence file beside its place; returns (the written file, its place)."""
    target = (media_root / item["path"]).resolve()
    if not target.is_relative_to(media_root.resolve()):
        raise BackupError(f"{path}: media path {item['path']!r} points outside the media "
                          "directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(f".{target.name}.restoring")
    with zf.open(f"media/{item['path']}") as src, part.open("wb") as out:
        shutil.copyfileobj(src, out)
    return part, target
