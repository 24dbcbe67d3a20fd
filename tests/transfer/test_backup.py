"""`dealcraft backup` and `dealcraft restore`, run as real programs on databases of their own:
an SQLite backup restores into PostgreSQL and back, identically; a damaged or foreign file is
refused with a reason; a restore is all or nothing; a backup taken while deals are being
written is one consistent moment."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .programs import (
    SEED,
    SLOW_BACKUP,
    WRITER,
    Database,
    checksums,
    manifest,
    postgres_database,
    postgres_reachable,
    sqlite_copy,
    sqlite_database,
    table_rows,
)

NEW_DEAL = r"""
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealcraft.settings")
django.setup()
from datetime import date
from dealcraft.deals.models import Deal
from dealcraft.deals.services import create_deal
from dealcraft.people.models import User
before = max(Deal.objects.values_list("id", flat=True))
deal = create_deal(acting_user=User.objects.get(username="alice"), name="After restore",
                   amount="5", currency="EUR", expected_close=date(2032, 1, 1))
print(deal.pk > before, Deal.objects.count())
"""

needs_postgres = pytest.mark.skipif(not postgres_reachable(),
                                    reason="PostgreSQL is not reachable at 127.0.0.1:5432")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Database:
    """A migrated, empty SQLite database to copy."""
    return sqlite_database(tmp_path_factory.mktemp("template")).migrated()


@pytest.fixture
def fresh(template: Database, tmp_path: Path) -> Any:
    """`fresh("name")`: a new migrated, empty SQLite database."""
    return lambda name: sqlite_copy(template, tmp_path / name)


@pytest.fixture(scope="module")
def seeded(template: Database, tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[Database, Path]:
    """A seeded SQLite database and a backup of it, made once for the module."""
    folder = tmp_path_factory.mktemp("seeded")
    source = sqlite_copy(template, folder)
    done = source.python(SEED)
    assert done.code == 0, done.err
    backup = folder / "backup.zip"
    done = source.dealcraft("backup", str(backup))
    assert done.code == 0, done.err
    assert done.out.startswith("backed up ") and "and 1 files to" in done.out
    return source, backup


def evidence_files(db: Database) -> dict[str, bytes]:
    media = db.home / "media"
    return {str(p.relative_to(media)): p.read_bytes() for p in media.rglob("*") if p.is_file()}


def restore(db: Database, backup: Path, *extra: str) -> None:
    done = db.dealcraft("restore", str(backup), *extra)
    assert done.code == 0, done.err
    assert "row counts and checksums verified" in done.out


def test_sqlite_backup_restores_into_a_new_sqlite_database(seeded: tuple[Database, Path],
                                                           tmp_path: Path, fresh: Any) -> None:
    source, backup = seeded
    target = fresh("target")
    restore(target, backup)
    again = tmp_path / "again.zip"
    assert target.dealcraft("backup", str(again)).code == 0
    assert checksums(again) == checksums(backup)
    assert evidence_files(target) == evidence_files(source) != {}
    done = target.python(NEW_DEAL)
    assert done.out.split() == ["True", "26"], done.err


@pytest.mark.slow
@needs_postgres
def test_sqlite_backup_restores_into_postgresql_and_back(seeded: tuple[Database, Path],
                                                         tmp_path: Path, fresh: Any) -> None:
    source, backup = seeded
    with postgres_database(tmp_path) as pg:
        pg.migrated()
        restore(pg, backup)
        from_pg = tmp_path / "from-postgresql.zip"
        done = pg.dealcraft("backup", str(from_pg))
        assert done.code == 0, done.err
        assert manifest(from_pg)["engine"] == "postgresql"
        assert checksums(from_pg) == checksums(backup)
        assert evidence_files(pg) == evidence_files(source)
        done = pg.dealcraft("report", "pipeline", "--json")
        assert done.code == 0, done.err
        report = json.loads(done.out)
        assert report["deals"]["total"] == 25
        # Sequences were moved past the restored ids: new rows get new ids.
        done = pg.python(NEW_DEAL)
        assert done.out.split() == ["True", "26"], done.err
    back = fresh("back")
    restore(back, from_pg)
    final = tmp_path / "final.zip"
    assert back.dealcraft("backup", str(final)).code == 0
    assert checksums(final) == checksums(backup)


def test_restore_refuses_a_database_that_is_not_empty_unless_forced(
        seeded: tuple[Database, Path], tmp_path: Path, fresh: Any) -> None:
    _, backup = seeded
    target = fresh("target")
    restore(target, backup)
    assert target.python(NEW_DEAL).code == 0
    done = target.dealcraft("restore", str(backup))
    assert done.code == 1
    assert "the database is not empty" in done.err and "--force" in done.err
    restore(target, backup, "--force")
    again = tmp_path / "again.zip"
    assert target.dealcraft("backup", str(again)).code == 0
    assert checksums(again) == checksums(backup)


def test_restore_needs_a_migrated_database(seeded: tuple[Database, Path],
                                           tmp_path: Path) -> None:
    done = sqlite_database(tmp_path).dealcraft("restore", str(seeded[1]))
    assert done.code == 1
    assert "run `dealcraft migrate` first" in done.err


# ---------------------------------------------------------------------------- damaged files


def rewrite(backup: Path, target: Path, change: Any) -> Path:
    """A copy of `backup` with `change(name, data) -> data | None` applied to each member."""
    with zipfile.ZipFile(backup) as src, zipfile.ZipFile(target, "w") as out:
        for info in src.infolist():
            data = change(info.filename, src.read(info.filename))
            if data is not None:
                out.writestr(info.filename, data)
    return target


def refused(db: Database, backup: Path) -> str:
    done = db.dealcraft("restore", str(backup))
    assert done.code == 1, done.out
    assert "Traceback" not in done.err
    return done.err


@pytest.fixture
def empty(fresh: Any) -> Database:
    db: Database = fresh("empty")
    return db


def test_truncated_backup_is_refused(seeded: tuple[Database, Path], tmp_path: Path,
                                     empty: Database) -> None:
    data = seeded[1].read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(data[: len(data) // 2])
    assert "not a zip file, or truncated or damaged" in refused(empty, cut)


def test_a_file_that_is_not_a_backup_is_refused(empty: Database, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert "not a dealcraft backup" in refused(empty, text)
    other = tmp_path / "report.xlsx"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
    assert "it has no manifest.json" in refused(empty, other)
    assert "no such file" in refused(empty, tmp_path / "missing.zip")


def test_a_backup_from_a_newer_format_is_refused(seeded: tuple[Database, Path], tmp_path: Path,
                                                 empty: Database) -> None:
    def newer(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        found = json.loads(data)
        found["format_version"] = 99
        return json.dumps(found).encode()

    err = refused(empty, rewrite(seeded[1], tmp_path / "newer.zip", newer))
    assert "backup format 99 by a newer dealcraft" in err


def test_changed_data_fails_its_checksum(seeded: tuple[Database, Path], tmp_path: Path,
                                         empty: Database) -> None:
    def tamper(name: str, data: bytes) -> bytes:
        return data.replace(b"D\xc3\xa9al 3 ", b"Deal 3 ") if name.endswith("deal.jsonl") else data

    err = refused(empty, rewrite(seeded[1], tmp_path / "tampered.zip", tamper))
    assert "data/deals.deal.jsonl does not match its checksum" in err


def test_a_missing_table_file_is_reported(seeded: tuple[Database, Path], tmp_path: Path,
                                          empty: Database) -> None:
    def drop(name: str, data: bytes) -> bytes | None:
        return None if name == "data/deals.activity.jsonl" else data

    err = refused(empty, rewrite(seeded[1], tmp_path / "partial.zip", drop))
    assert "data/deals.activity.jsonl is missing" in err


def test_restore_is_all_or_nothing(seeded: tuple[Database, Path], tmp_path: Path,
                                   empty: Database) -> None:
    """A row the database refuses (here a probability over 100, with a matching checksum)
    leaves the database empty: the good backup then restores without --force."""
    found = manifest(seeded[1])

    def bad_row(name: str, data: bytes) -> bytes:
        if name == "data/deals.deal.jsonl":
            table = next(t for t in found["tables"] if t["file"] == name)
            at = table["columns"].index("probability")
            lines = data.decode().splitlines(keepends=True)
            row = json.loads(lines[-1])
            row[at] = 150
            lines[-1] = json.dumps(row, ensure_ascii=False, sort_keys=True,
                                   separators=(",", ":")) + "\n"
            return "".join(lines).encode()
        return data

    broken = rewrite(seeded[1], tmp_path / "broken.zip", bad_row)
    with zipfile.ZipFile(broken) as zf:
        data = zf.read("data/deals.deal.jsonl")
    fixed = json.loads(zipfile.ZipFile(broken).read("manifest.json"))
    for table in fixed["tables"]:
        if table["file"] == "data/deals.deal.jsonl":
            table["sha256"] = hashlib.sha256(data).hexdigest()
    consistent = rewrite(broken, tmp_path / "consistent.zip",
                         lambda n, d: json.dumps(fixed).encode() if n == "manifest.json" else d)
    err = refused(empty, consistent)
    assert "deals.deal cannot be restored" in err and "nothing was restored" in err
    assert evidence_files(empty) == {}
    restore(empty, seeded[1])


# ---------------------------------------------------------------------------- consistency


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=needs_postgres)])
def busy(request: pytest.FixtureRequest, tmp_path: Path,
         seeded: tuple[Database, Path]) -> Iterator[Database]:
    """A seeded database of each engine."""
    if request.param == "sqlite":
        yield sqlite_copy(seeded[0], tmp_path / "busy")
        return
    with postgres_database(tmp_path) as db:
        db.migrated()
        assert db.python(SEED).code == 0
        yield db


@pytest.mark.slow
def test_backup_taken_while_deals_are_written_is_one_consistent_moment(
        busy: Database, tmp_path: Path, fresh: Any) -> None:
    writer = busy.popen(WRITER)
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "1", writer.stderr
        backup = tmp_path / "busy.zip"
        # The backup reads the audit log first and deals last, pausing in between while
        # the writer keeps creating deals, each with its audit row and history row.
        done = busy.python(SLOW_BACKUP, str(backup), "2")
        assert done.code == 0, done.err
    finally:
        writer.kill()
    remaining, _ = writer.communicate()
    written = int(remaining.split()[-1])
    deals = {row["id"] for row in table_rows(backup, "deals.deal")}
    created = {row["deal_id"] for row in table_rows(backup, "deals.stagehistory")
               if row["kind"] == "created"}
    audited = {row["deal_id"] for row in table_rows(backup, "audit.auditevent")
               if row["action"] == "deal.create"}
    assert deals == created == audited
    # The writer really did write while the backup ran, and none of it is half in.
    assert len(deals) < 25 + written
    restore(fresh("restored"), backup)


def test_backup_of_an_unmigrated_database_is_refused(tmp_path: Path) -> None:
    done = sqlite_database(tmp_path).dealcraft("backup", str(tmp_path / "b.zip"))
    assert done.code == 1
    assert not (tmp_path / "b.zip").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["home"]
    shutil.rmtree(tmp_path / "home")
