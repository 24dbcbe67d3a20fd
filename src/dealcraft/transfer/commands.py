"""The `dealcraft export`, `dealcraft backup` and `dealcraft restore` commands.

Registered in `dealcraft.cli`; like every command there, each parses its arguments, calls
the code that does the work and prints one line per outcome. Errors are raised as the CLI's
`CommandError` (or a `ServiceError`), printed as `dealcraft: message`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from dealcraft.cli import CommandError, _setup, _user_by_name


def _infer_format(out: str, fmt: str | None) -> str:
    if fmt:
        return fmt
    return "xlsx" if out.lower().endswith(".xlsx") else "csv"


def _temporary_beside(target: Path) -> Path:
    """A new empty file in the target's directory, so that renaming it over the target is
    atomic: a failed command never leaves a half-written file under the target's name."""
    if not target.parent.is_dir():
        raise CommandError(f"cannot write {target}: no directory {target.parent}")
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    return Path(name)


def cmd_export(args: argparse.Namespace) -> int:
    _setup()
    from dealcraft.transfer.exports import write_csv, write_xlsx
    from dealcraft.transfer.services import DealScope, start_export

    fmt = _infer_format(args.out, args.format)
    if args.out == "-" and fmt == "xlsx":
        raise CommandError("an XLSX export needs a file: give --out FILE.xlsx")
    user = _user_by_name(args.as_user) if args.as_user else None
    export = start_export(acting_user=user, kind=args.kind, fmt=fmt, via="cli",
                          scope=DealScope(status=args.status or ""))
    started = time.perf_counter()
    if args.out == "-":
        sys.stdout.flush()
        rows = write_csv(export, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return 0
    target = Path(args.out)
    part = _temporary_beside(target)
    try:
        if fmt == "csv":
            with part.open("wb") as out:
                rows = write_csv(export, out)
        else:
            rows = write_xlsx(export, part)
        part.replace(target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    seconds = time.perf_counter() - started
    print(f"exported {rows:,} {_noun(args.kind, rows)} to {target} ({fmt}, {seconds:.1f}s)")
    return 0


def _noun(kind: str, n: int) -> str:
    singular = {"deals": "deal", "history": "history row", "activities": "activity",
                "evidence": "evidence record"}[kind]
    if n == 1:
        return singular
    return {"history row": "history rows", "activity": "activities",
            "evidence record": "evidence records"}.get(singular, singular + "s")


def cmd_backup(args: argparse.Namespace) -> int:
    _setup()
    from dealcraft.transfer.backup import write_backup

    target = Path(args.file)
    part = _temporary_beside(target)
    try:
        manifest = write_backup(part)
        part.replace(target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    for name in manifest["missing_media"]:
        print(f"warning: evidence file {name} is missing from the media directory; the backup "
              "does not include it", file=sys.stderr)
    rows = sum(t["rows"] for t in manifest["tables"])
    print(f"backed up {len(manifest['tables'])} tables ({rows:,} rows) and "
          f"{len(manifest['media'])} files to {target}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    _setup()
    from dealcraft.transfer.backup import BackupError, restore_backup

    try:
        manifest = restore_backup(Path(args.file), force=args.force)
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    rows = sum(t["rows"] for t in manifest["tables"])
    print(f"restored {len(manifest['tables'])} tables ({rows:,} rows) and "
          f"{len(manifest['media'])} files from {args.file} (taken {manifest['created_at']}); "
          "row counts and checksums verified")
    return 0


def register(commands: Any, command: Any) -> None:
    """Add `export`, `backup` and `restore` to the command line."""
    from dealcraft.transfer.kinds import FORMATS, KINDS

    sub = command(commands, "export", cmd_export,
                  "write deals, stage history, activities or evidence as CSV or XLSX")
    sub.add_argument("kind", metavar="KIND", choices=KINDS,
                     help=f"what to export: {', '.join(KINDS)}")
    sub.add_argument("--format", choices=FORMATS, default=None,
                     help="csv or xlsx (default: from the --out file name, else csv)")
    sub.add_argument("--out", required=True, metavar="FILE",
                     help="the file to write; - writes CSV to standard output")
    sub.add_argument("--as", dest="as_user", metavar="USERNAME",
                     help="export only what this user may see (default: everything)")
    sub.add_argument("--status", choices=("open", "won", "lost"), default=None,
                     help="only deals (or their records) with this status")
    sub = command(commands, "backup", cmd_backup,
                  "write a consistent snapshot of the database and evidence files")
    sub.add_argument("file", metavar="FILE", help="the backup file to write (a zip)")
    sub = command(commands, "restore", cmd_restore,
                  "restore a backup into an empty, migrated database")
    sub.add_argument("file", metavar="FILE", help="a file written by `dealcraft backup`")
    sub.add_argument("--force", action="store_true",
                     help="replace everything in a database that is not empty")
