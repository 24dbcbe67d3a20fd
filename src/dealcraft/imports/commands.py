"""`dealcraft import salesforce|hubspot|pipedrive|csv …`: read an export, then run the importer.

Thin entry points: each reads its files with the matching reader, loads the mapping file, and
calls `services.run_import`; the result is printed (or, with --json, printed as JSON).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .records import Problem

Handler = Callable[[argparse.Namespace], int]


def register(commands: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the `import` command group to the dealcraft parser."""
    group = commands.add_parser("import", help="import deals and their history from another "
                                "CRM's export or any CSV",
                                description="import deals and their history from another "
                                "CRM's export or any CSV")
    imports = group.add_subparsers(dest="import_command", metavar="SOURCE", required=True)
    sub = command(imports, "salesforce", cmd_import_salesforce,
                  "import a Salesforce data-export folder (Opportunity.csv, "
                  "OpportunityHistory.csv, …)")
    sub.add_argument("directory", metavar="DIR")
    _common(sub, "a stage/owner/value mapping file (default: the export's stages become a "
                 "process of their own)")
    sub = command(imports, "hubspot", cmd_import_hubspot, "import HubSpot deal exports")
    sub.add_argument("files", metavar="FILE", nargs="+")
    _common(sub, "a stage/owner/value mapping file")
    sub = command(imports, "pipedrive", cmd_import_pipedrive, "import Pipedrive deal exports")
    sub.add_argument("files", metavar="FILE", nargs="+")
    _common(sub, "a stage/owner/value mapping file")
    sub = command(imports, "csv", cmd_import_csv,
                  "import any CSV of deals through a column and value mapping file")
    sub.add_argument("file", metavar="FILE")
    _common(sub, "the column and value mapping file (required)", required=True)


def _common(sub: argparse.ArgumentParser, map_help: str, *, required: bool = False) -> None:
    sub.add_argument("--map", metavar="FILE", required=required, help=map_help)
    sub.add_argument("--dry-run", action="store_true",
                     help="print counts, the mapping and every problem; write nothing")
    sub.add_argument("--date-format", choices=("dmy", "mdy"),
                     help="read numeric dates day-first (dmy) or month-first (mdy)")
    sub.add_argument("--as", dest="as_user", metavar="USERNAME",
                     help="the admin or ops user the import acts as (default: the first admin)")
    sub.add_argument("--json", action="store_true", help="print the result as JSON")


# ---------------------------------------------------------------------------- handlers


def cmd_import_salesforce(args: argparse.Namespace) -> int:
    from .salesforce import read_salesforce

    return _vendor(args, lambda: read_salesforce(Path(args.directory),
                                                 date_format=args.date_format))


def cmd_import_hubspot(args: argparse.Namespace) -> int:
    from .hubspot import read_hubspot

    return _vendor(args, lambda: read_hubspot([Path(f) for f in args.files],
                                              date_format=args.date_format, zone=_zone()))


def cmd_import_pipedrive(args: argparse.Namespace) -> int:
    from .pipedrive import read_pipedrive

    return _vendor(args, lambda: read_pipedrive([Path(f) for f in args.files],
                                                date_format=args.date_format, zone=_zone()))


def cmd_import_csv(args: argparse.Namespace) -> int:
    from dealcraft.cli import _setup

    from .csvmap import MappingInvalid, load_mapping, read_csv

    _setup()
    try:
        mapping = load_mapping(args.map, date_format=args.date_format)
    except MappingInvalid as exc:
        return _refuse(exc.problems)
    user = _acting_user(args.as_user)
    export = read_csv(Path(args.file), mapping)
    return _run(args, export, user, stage_map=mapping.stage_map, owner_map=mapping.owner_map,
                value_maps=mapping.value_maps, map_file=Path(args.map).name)


def _vendor(args: argparse.Namespace, read: Callable[[], Any]) -> int:
    from dealcraft.cli import _setup

    from .mapfile import ValueMapInvalid, load_value_map

    _setup()
    stage_map = owner_map = None
    value_maps: dict[str, dict[str, str]] = {}
    if args.map:
        try:
            loaded = load_value_map(args.map)
        except ValueMapInvalid as exc:
            return _refuse(exc.problems)
        stage_map, owner_map, value_maps = loaded.stages, loaded.owners, loaded.values
    user = _acting_user(args.as_user)
    export = read()
    return _run(args, export, user, stage_map=stage_map, owner_map=owner_map,
                value_maps=value_maps, map_file=Path(args.map).name if args.map else "")


def _zone() -> Any:
    from django.utils import timezone

    return timezone.get_current_timezone()


def _acting_user(username: str | None) -> Any:
    from dealcraft.cli import CommandError
    from dealcraft.people.models import User

    if username:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user '{username}'")
        return user
    user = User.objects.filter(role="admin", is_active=True).order_by("id").first()
    if user is None:
        raise CommandError("no admin user: create one with `dealcraft createuser NAME --role "
                           "admin`, or name the ops user to act as with --as")
    return user


def _run(args: argparse.Namespace, export: Any, user: Any, **kwargs: Any) -> int:
    from .services import run_import

    result = run_import(export, acting_user=user, dry_run=args.dry_run, progress=True,
                        **kwargs)
    if args.json:
        summary = result.summary()
        summary["problem_list"] = [_problem_dict(p) for p in result.problems]
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        print(render(result))
    return 0 if result.ok else 1


def _refuse(problems: list[Problem]) -> int:
    for p in problems:
        print(format_problem(p), file=sys.stderr)
    return 1


def _problem_dict(p: Problem) -> dict[str, Any]:
    return {"file": p.file, "row": p.row, "column": p.column, "problem": p.message,
            "value": p.value, "fatal": p.fatal}


def format_problem(p: Problem) -> str:
    # A problem of the whole file, or counted over many rows, has no row to point at.
    where = f"{p.file or '-'}" + (f":{p.row}" if p.row is not None else "")
    column = f" [{p.column}]" if p.column else ""
    value = f" (value: {p.value!r})" if p.value else ""
    kind = "error" if p.fatal else "warning"
    return f"{where}:{column} {kind}: {p.message}{value}"


def render(result: Any) -> str:
    """The result as the console shows it: what happened, the counts, the stage mapping, the
    values that matched nothing and every problem."""
    lines: list[str] = []
    if result.committed:
        lines.append(f"Imported from {result.source} in {result.seconds:.1f} s "
                     f"({result.rows:,} rows).")
    elif result.dry_run and result.ok:
        lines.append(f"Dry run: nothing was written. An import from {result.source} would do "
                     "this:")
    else:
        lines.append(f"Nothing was imported: {len(result.fatal)} problem(s) must be fixed "
                     "first (see below).")
    lines.append("")
    lines.append(f"{'records':<14}{'created':>10}{'updated':>10}{'unchanged':>11}")
    for kind, counts in result.counts.items():
        lines.append(f"{kind:<14}{counts.created:>10,}{counts.updated:>10,}"
                     f"{counts.unchanged:>11,}")
    if result.stage_map:
        lines.append("")
        version = result.process_version
        if result.process_created:
            state = "active" if result.process_active else "stored, not active"
            lines.append(f"Stages (a new process v{version}, {state}):")
        else:
            lines.append(f"Stages (onto process v{version}):")
        width = max(len(s) for s in result.stage_map)
        for source, key in result.stage_map.items():
            lines.append(f"  {source:<{width}}  → {result.stage_names.get(key, key)} ({key})")
    unmatched = {k: v for k, v in result.unmatched.items() if v}
    if unmatched:
        lines.append("")
        lines.append("Values that matched nothing:")
        for kind, values in unmatched.items():
            for value, n in values.most_common():
                lines.append(f"  {kind}: {value} ({n:,})")
    if result.problems:
        lines.append("")
        lines.append(f"Problems ({len(result.fatal)} error(s), "
                     f"{len(result.problems) - len(result.fatal)} warning(s)):")
        lines.extend("  " + format_problem(p) for p in result.problems)
    if result.error_report:
        lines.append("")
        lines.append(f"Error report: {result.error_report}")
    return "\n".join(lines)
