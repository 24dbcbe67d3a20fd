"""The `dealcraft` command: what an operator runs at the console.

Every subcommand is thin: it parses its arguments, calls a service (or a read-only query) and
prints the result. Django is set up only by the subcommands that need it, so that
`dealcraft process validate` works without a database or any configuration.

Errors a user can act on (a refused service call, a bad setting, an unreadable file) are
printed as one line on stderr and end the command with exit status 1; argparse reports usage
mistakes with exit status 2.
"""

from __future__ import annotations

import argparse
import getpass
import io
import json
import os
import socket
import sys
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dealcraft.conf import ConfigError
from dealcraft.errors import ServiceError

if TYPE_CHECKING:
    from dealcraft.domain.process import Criterion, Process
    from dealcraft.processes.models import ProcessVersion

PROG = "dealcraft"
# The choices must be known before Django is set up; a test keeps them equal to people.Role.
ROLES = ("admin", "ops", "manager", "rep", "viewer")
DEFAULT_DEMO_DEALS = 5000
DEFAULT_DEMO_SEED = 42
DEFAULT_WORKERS = 2
DEFAULT_THREADS = 4


class CommandError(Exception):
    """A failure the user can act on; printed as `dealcraft: message`."""


class FileProblem(CommandError):
    """A file that cannot be read; printed bare, as `FILE:0: message`, like a problem in it."""


# ---------------------------------------------------------------------------- helpers


def _setup() -> None:
    """Configure Django on first use (settings may raise ConfigError for a bad variable)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealcraft.settings")
    from django.apps import apps

    if not apps.ready:
        import django

        django.setup()


def _read_source(path: str) -> str:
    """The text of a process file, or a FileProblem saying why it cannot be read."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise FileProblem(f"{path}:0: no such file") from None
    except IsADirectoryError:
        raise FileProblem(f"{path}:0: is a directory, not a process file") from None
    except PermissionError:
        raise FileProblem(f"{path}:0: permission denied") from None
    except OSError as exc:
        raise FileProblem(f"{path}:0: cannot read the file: {exc.strerror or exc}") from None
    try:
        # utf-8-sig: editors on Windows like to start UTF-8 files with a byte-order mark.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FileProblem(
            f"{path}:0: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
            "save the file as UTF-8"
        ) from None


def _print_problems(path: str, problems: Iterable[Any]) -> int:
    problems = list(problems)
    for problem in problems:
        print(problem.format(path))
    print(f"{path}: {len(problems)} problem{'s' if len(problems) != 1 else ''}", file=sys.stderr)
    return 1


def _when(moment: datetime | None, empty: str = "-") -> str:
    if moment is None:
        return empty
    from django.utils import timezone

    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M %Z}"


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]],
           right: Iterable[int] = ()) -> str:
    """Rows as aligned plain-text columns; `right` lists columns aligned right (numbers)."""
    body = [[str(cell) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in body:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    right = set(right)

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.rjust(w) if i in right else cell.ljust(w)
                         for i, (cell, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, body)])


def _user_by_name(username: str) -> Any:
    from dealcraft.people.models import User

    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"there is no user '{username}'")
    return user


def _database_label() -> str:
    from django.db import connection

    params = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"SQLite {params['NAME']}"
    host = params.get("HOST") or "local socket"
    port = f":{params['PORT']}" if params.get("PORT") else ""
    return f"{connection.vendor} database '{params['NAME']}' on {host}{port}"


def _migrate() -> list[str]:
    """Apply pending migrations quietly; returns the names of those applied."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        call_command("migrate", interactive=False, verbosity=0)
    return [f"{migration.app_label}.{migration.name}" for migration, backwards in plan
            if not backwards]


def _report_migrations(applied: list[str]) -> None:
    for name in applied:
        print(f"applied migration {name}")


def _port(value: str) -> int:
    try:
        port = int(value, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is out of range (1 to 65535)")
    return port


def _positive(value: str) -> int:
    try:
        number = int(value, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number} must be 1 or more")
    return number


def _configured_port(port: int | None) -> int:
    """The --port given, else DEALCRAFT_PORT (read by settings), else 8000."""
    if port is not None:
        return port
    from django.conf import settings

    configured = int(settings.DEALCRAFT_PORT)
    if not 1 <= configured <= 65535:
        raise CommandError(f"DEALCRAFT_PORT {configured} is out of range (1 to 65535)")
    return configured


def _ensure_can_listen(host: str, port: int) -> None:
    """Fail in one line now rather than after gunicorn's retries, or after a long demo build."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # The same option gunicorn sets, so a port in TIME_WAIT is not mistaken for a busy one.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _prepare_to_serve() -> None:
    """Bring the schema up to date and collect static files for whitenoise."""
    from django.core.management import call_command

    _report_migrations(_migrate())
    call_command("collectstatic", interactive=False, verbosity=0)


def _gunicorn_options(host: str, port: int, workers: int, threads: int) -> dict[str, Any]:
    bind_host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return {
        "bind": [f"{bind_host}:{port}"],
        "workers": workers,
        # Threads serve concurrent requests cheaply while a worker waits on the database.
        "worker_class": "gthread",
        "threads": threads,
        "timeout": 30,
        "graceful_timeout": 20,
        "keepalive": 5,
        # gunicorn's largest request line (its default is 4094 bytes), so that long filter
        # queries reach the API, which answers them as it documents.
        "limit_request_line": 8190,
        # Import the application once in the master so that workers fork ready to serve.
        "preload_app": True,
        # Recycle workers now and then so that a slow leak can never grow without bound.
        "max_requests": 2000,
        "max_requests_jitter": 200,
        "accesslog": "-",
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": PROG,
    }


def _serve(host: str, port: int, workers: int, threads: int) -> int:
    """Run gunicorn in this process until it is stopped (SIGTERM: gracefully; Ctrl-C: now)."""
    from django.db import connections
    from gunicorn.app.base import BaseApplication

    from dealcraft.wsgi import application

    options = _gunicorn_options(host, port, workers, threads)

    class Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return application

    # Connections opened for migrate/collectstatic must not be shared by forked workers, and
    # output still buffered would be written once by every worker.
    connections.close_all()
    sys.stdout.flush()
    sys.stderr.flush()
    Server().run()
    return 0


# ---------------------------------------------------------------------------- migrate


def cmd_migrate(args: argparse.Namespace) -> int:
    _setup()
    print(f"database: {_database_label()}")
    applied = _migrate()
    _report_migrations(applied)
    if not applied:
        print("no migrations to apply; the database is up to date")
    return 0


# ---------------------------------------------------------------------------- createuser


def _ask_password() -> str:
    first = getpass.getpass("Password: ")
    if not first:
        raise CommandError("no password given")
    if getpass.getpass("Password (again): ") != first:
        raise CommandError("the passwords do not match")
    return first


def cmd_createuser(args: argparse.Namespace) -> int:
    _setup()
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    from dealcraft.people.models import Role, Team, User
    from dealcraft.people.services import create_user

    password: str | None = args.password
    if password is not None and not password:
        raise CommandError("--password must not be empty")
    if password is None and sys.stdin.isatty():
        password = _ask_password()
    if password is not None:
        try:
            validate_password(password, user=User(username=args.username))
        except ValidationError as exc:
            raise CommandError("password refused: " + " ".join(exc.messages)) from None
    team_existed = bool(args.team) and Team.objects.filter(name=args.team.strip()).exists()
    user = create_user(acting_user=None, username=args.username, role=args.role,
                       team=args.team, password=password)
    if args.team and not team_existed:
        print(f"created team {args.team.strip()}")
    role = Role(user.role).label.lower()
    if user.role == Role.MANAGER and args.team:
        print(f"created user {user.username} ({role}), managing team {args.team.strip()}")
    elif user.team_id:
        print(f"created user {user.username} ({role}) on team {args.team.strip()}")
    else:
        print(f"created user {user.username} ({role})")
    if password is None:
        print(f"{user.username} has no usable password (there is no terminal to ask for one "
              "on): API tokens work, signing in to the web app does not")
    return 0


# ---------------------------------------------------------------------------- tokens


def cmd_token_create(args: argparse.Namespace) -> int:
    _setup()
    from dealcraft.people.services import create_token

    user = _user_by_name(args.username)
    token, key = create_token(acting_user=None, user=user, read_only=args.read_only,
                              expires_days=args.expires_days, name=args.name)
    print(f"token {token.key_prefix} for {user.username}")
    print(f"  name:     {token.name or '-'}")
    print(f"  access:   {'read-only' if token.read_only else 'read and write'}")
    print(f"  expires:  {_when(token.expires_at, 'never')}")
    print("Copy the token now: only its hash is stored, it cannot be shown again.")
    print(key)
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    _setup()
    from dealcraft.people.models import ApiToken

    tokens = ApiToken.objects.select_related("user").order_by("-created_at", "-id")
    if args.username:
        tokens = tokens.filter(user=_user_by_name(args.username))
    rows = [(t.key_prefix, t.user.username, t.name or "-", "yes" if t.read_only else "no",
             _when(t.created_at), _when(t.expires_at, "never"), _when(t.last_used_at, "never"),
             _when(t.revoked_at, "no")) for t in tokens]
    if not rows:
        print("no tokens")
        return 0
    print(_table(("PREFIX", "USER", "NAME", "READ-ONLY", "CREATED", "EXPIRES", "LAST USED",
                  "REVOKED"), rows))
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    _setup()
    from django.utils import timezone

    from dealcraft.people.services import revoke_token

    started = timezone.now()
    token = revoke_token(acting_user=None, prefix=args.prefix)
    if token.revoked_at is not None and token.revoked_at < started:
        print(f"token {token.key_prefix} of {token.user.username} was already revoked "
              f"{_when(token.revoked_at)}")
    else:
        print(f"token {token.key_prefix} of {token.user.username} revoked")
    return 0


# ---------------------------------------------------------------------------- webhooks


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.1 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"expected seconds between 0.1 and 3600, got {text!r}")
    return value


def cmd_webhooks_deliver(args: argparse.Namespace) -> int:
    _setup()
    from dealcraft.webhooks.delivery import run_worker

    if not args.once:
        print(f"delivering webhooks every {args.interval:g}s; Ctrl-C stops", flush=True)
    attempts = run_worker(interval=args.interval, once=args.once)
    print(f"{attempts} delivery attempt{'s' if attempts != 1 else ''} made")
    return 0


def cmd_webhooks_list(args: argparse.Namespace) -> int:
    _setup()
    from django.db.models import Count, Q

    from dealcraft.webhooks.models import WebhookDelivery, WebhookEndpoint

    status = WebhookDelivery.Status
    endpoints = WebhookEndpoint.objects.annotate(
        pending=Count("deliveries", filter=Q(deliveries__status=status.PENDING)),
        delivered=Count("deliveries", filter=Q(deliveries__status=status.DELIVERED)),
        failed=Count("deliveries", filter=Q(deliveries__status=status.FAILED)))
    rows = [(str(e.pk), e.url, ",".join(e.events), "yes" if e.active else "no",
             str(e.pending), str(e.delivered), str(e.failed)) for e in endpoints]
    if not rows:
        print("no webhook endpoints")
        return 0
    print(_table(("ID", "URL", "EVENTS", "ACTIVE", "PENDING", "DELIVERED", "FAILED"), rows))
    return 0


# ---------------------------------------------------------------------------- process


def cmd_process_validate(args: argparse.Namespace) -> int:
    from dealcraft.domain.process import parse_process

    source = _read_source(args.file)
    process, problems = parse_process(source)
    if process is None:
        return _print_problems(args.file, problems)
    criteria = sum(len(stage.exit_criteria) for stage in process.stages)
    print(f"{args.file}: valid ({len(process.stages)} stages, {criteria} exit criteria, "
          f"{len(process.won_criteria)} won criteria, {len(process.frameworks)} frameworks)")
    return 0


def cmd_process_apply(args: argparse.Namespace) -> int:
    source = _read_source(args.file)
    _setup()
    from dealcraft.processes.models import ProcessVersion
    from dealcraft.processes.services import ProcessInvalid, apply_process

    active_before = (ProcessVersion.objects.filter(is_active=True)
                     .values_list("pk", flat=True).first())
    try:
        version = apply_process(source, acting_user=None, note=args.note)
    except ProcessInvalid as exc:
        return _print_problems(args.file, exc.problems)
    if version.pk == active_before:
        print(f"{args.file} is identical to the active version {version.number}; "
              "nothing applied")
    else:
        print(f"applied {args.file} as version {version.number} ({version.name})")
    return 0


def _wrap(text: str, indent: str) -> str:
    return textwrap.fill(" ".join(text.split()), width=96, initial_indent=indent,
                         subsequent_indent=indent)


def _criterion_line(criterion: Criterion) -> str:
    return f"      - {criterion.label} [{criterion.key}]: {criterion.describe()}"


def render_process(version: ProcessVersion, process: Process,
                   versions: Sequence[ProcessVersion]) -> str:
    """The human reading of a stored process version, for `dealcraft process show`."""
    by = version.applied_by.username if version.applied_by else "the console"
    state = "active" if version.is_active else "not active"
    out = [f"{process.name}",
           f"version {version.number} ({state}), applied {_when(version.applied_at)} by {by}"]
    if version.note:
        out.append(f"note: {version.note}")
    if process.description:
        out += ["", _wrap(process.description, "")]
    s = process.settings
    out += ["", f"currency {process.currency}; visibility {s.visibility}; skipping stages "
                f"{s.skip}; moving back {s.backward}; overrides by {s.override}", "", "Stages:"]
    for i, stage in enumerate(process.stages, 1):
        out.append(f"  {i}. {stage.name} [{stage.key}]")
        out.append(_wrap(stage.purpose, "     "))
        out.append(f"     gate {stage.gate}; probability {stage.probability}%; forecast "
                   f"{stage.forecast_category}; rotting after {stage.rotting_days} days")
        if stage.next:
            out.append(f"     next: {', '.join(stage.next)}")
        if stage.exit_criteria:
            out.append("     exit criteria:")
            out += [_criterion_line(c) for c in stage.exit_criteria]
        else:
            out.append("     exit criteria: none")
    out += ["", f"Won (gate {process.won_gate}):"]
    out += [_criterion_line(c) for c in process.won_criteria] or ["      - no criteria"]
    if process.checkins_days:
        out.append(f"    check-ins after {', '.join(map(str, process.checkins_days))} days")
    out += ["", "Qualification frameworks:"]
    for fw in process.frameworks:
        parts = ", ".join(f"{c.name} {c.weight:g}" for c in fw.criteria)
        out.append(f"  {fw.name} [{fw.key}]: {parts}")
    if process.qualification_framework:
        out.append(f"  qualification: {process.qualification_framework}, threshold "
                   f"{process.qualification_threshold:g}")
    out += ["", "Loss reasons:"]
    out += [f"  {name} [{key}]" for key, name in process.lost_reasons] or ["  none"]
    out += ["", "Versions:"]
    for v in versions:
        who = v.applied_by.username if v.applied_by else "the console"
        mark = " (active)" if v.is_active else ""
        note = f" - {v.note}" if v.note else ""
        out.append(f"  v{v.number}{mark} {_when(v.applied_at)} by {who}: {v.name}{note}")
    return "\n".join(out)


def cmd_process_show(args: argparse.Namespace) -> int:
    _setup()
    from dealcraft.processes.models import ProcessVersion
    from dealcraft.processes.services import active_version, parse

    version: ProcessVersion | None
    if args.version is None:
        version = active_version()
    else:
        version = (ProcessVersion.objects.select_related("applied_by")
                   .filter(number=args.version).first())
        if version is None:
            numbers = list(ProcessVersion.objects.order_by("number")
                           .values_list("number", flat=True))
            known = ", ".join(map(str, numbers)) or "none"
            raise CommandError(f"there is no process version {args.version} (versions: {known})")
    if args.yaml:
        sys.stdout.write(version.source)
        if not version.source.endswith("\n"):
            sys.stdout.write("\n")
        return 0
    versions = list(ProcessVersion.objects.select_related("applied_by").order_by("-number"))
    print(render_process(version, parse(version), versions))
    return 0


# ---------------------------------------------------------------------------- report


def _percent(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio * 100:.1f}%"


def _money(value: str) -> str:
    return f"{Decimal(value):,.2f}"


def render_pipeline(report: dict[str, Any]) -> str:
    deals = report["deals"]
    out = [f"Pipeline: {deals['total']:,} deals ({deals['open']:,} open, {deals['won']:,} won, "
           f"{deals['lost']:,} lost); win rate {_percent(report['win_rate'])}"]
    if "process_version" in report:
        out[0] += f"; process version {report['process_version']}"
    rows = [(stage["name"], f"{stage['reached']:,}", f"{stage['advanced']:,}",
             _percent(stage["conversion"]),
             "-" if stage["median_days_in_stage"] is None else
             f"{stage['median_days_in_stage']:.1f}")
            for stage in report["stages"]]
    out += ["", _table(("STAGE", "REACHED", "ADVANCED", "CONVERSION", "MEDIAN DAYS"), rows,
                       right=(1, 2, 3, 4))]
    amounts = report["amounts_by_currency"]
    out.append("")
    if amounts:
        out.append(_table(("CURRENCY", "OPEN", "WON", "LOST"),
                          [(cur, _money(a["open"]), _money(a["won"]), _money(a["lost"]))
                           for cur, a in amounts.items()], right=(1, 2, 3)))
    else:
        out.append("no amounts: there are no deals")
    return "\n".join(out)


def cmd_report(args: argparse.Namespace) -> int:
    """Any report of the registry, over every deal (`dealcraft report NAME`)."""
    _setup()
    from dealcraft.analytics import text
    from dealcraft.analytics.registry import get, run
    from dealcraft.analytics.scope import Params

    name = args.report_command
    params = Params.parse({key: getattr(args, key) for key in (
        "since", "until", "team", "rep", "segment", "lead_source", "limit")
        if getattr(args, key) is not None})
    report = run(name, None, params)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    elif name == "pipeline":
        print(render_pipeline(report))
        print()
        print(text.render(report, keys=("funnel", "time_in_stage")))
        print()
        print(text.velocity_lines(report["velocity"]))
    else:
        print(text.render(report, title=get(name).title))
    return 0


def cmd_report_refresh(args: argparse.Namespace) -> int:
    """Bring the analytics extract up to date (`--full`: rebuild it) and say what it did."""
    _setup()
    from dealcraft.analytics.extract import extract_dir, refresh

    done = refresh(full=args.full)
    print(f"analytics extract: {done.kind} refresh in {done.seconds:.2f} s "
          f"({done.deals:,} deals and {done.history:,} history rows read); "
          f"generation {done.generation} in {extract_dir()}")
    return 0


# ---------------------------------------------------------------------------- serve, demo


def cmd_serve(args: argparse.Namespace) -> int:
    _setup()
    port = _configured_port(args.port)
    _ensure_can_listen(args.host, port)
    _prepare_to_serve()
    return _serve(args.host, port, args.workers, args.threads)


@dataclass
class _Login:
    username: str
    password: str
    role: str
    team: str


def cmd_demo(args: argparse.Namespace) -> int:
    _setup()
    host = "127.0.0.1"
    port = _configured_port(args.port)
    if not args.no_serve:
        _ensure_can_listen(host, port)
    _report_migrations(_migrate())
    if args.reset:
        from django.core.management import call_command

        call_command("flush", interactive=False, verbosity=0)
        print("emptied the database")
    from dealcraft.demo.builder import build_demo, existing_demo

    result = None if args.reset else existing_demo()
    if result is None:
        result = build_demo(deals=args.deals, seed=args.seed, progress=True)
    if getattr(result, "summary", ""):
        print(result.summary)
    logins = [_Login(*login) for login in getattr(result, "logins", ())]
    print()
    print(f"dealcraft demo: http://{host}:{port}/")
    if logins:
        print()
        print(_table(("USERNAME", "PASSWORD", "ROLE", "TEAM"),
                     [(x.username, x.password, x.role, x.team or "-") for x in logins]))
    if args.no_serve:
        return 0
    print()
    _prepare_to_serve()
    return _serve(host, port, args.workers, args.threads)


# ---------------------------------------------------------------------------- the parser


def _version() -> str:
    try:
        return package_version("dealcraft")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


def _add_server_options(parser: argparse.ArgumentParser, *, host: bool) -> None:
    if host:
        parser.add_argument("--host", default="127.0.0.1", metavar="ADDRESS",
                            help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=None, metavar="N",
                        help="port to listen on (default: $DEALCRAFT_PORT, else 8000)")
    parser.add_argument("--workers", type=_positive, default=DEFAULT_WORKERS, metavar="N",
                        help=f"worker processes (default: {DEFAULT_WORKERS})")
    parser.add_argument("--threads", type=_positive, default=DEFAULT_THREADS, metavar="N",
                        help=f"threads per worker process (default: {DEFAULT_THREADS})")


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; tests/test_docs.py checks docs/cli.md covers all of it."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="dealcraft: run every deal through your sales process.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(group: Any, name: str, handler: Callable[[argparse.Namespace], int],
                help_text: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = group.add_parser(name, help=help_text,
                                                        description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    command(commands, "migrate", cmd_migrate, "create or upgrade the database schema")

    sub = command(commands, "createuser", cmd_createuser, "create a user with a role")
    sub.add_argument("username", metavar="USERNAME")
    sub.add_argument("--role", required=True, choices=ROLES, help="the user's role")
    sub.add_argument("--team", metavar="NAME",
                     help="team to join (a manager manages it); created when missing")
    sub.add_argument("--password", metavar="PW",
                     help="the password (default: asked twice on a terminal)")

    token = commands.add_parser("token", help="issue, list and revoke API tokens",
                                description="issue, list and revoke API tokens")
    tokens = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    sub = command(tokens, "create", cmd_token_create, "issue an API token for a user")
    sub.add_argument("username", metavar="USERNAME")
    sub.add_argument("--read-only", action="store_true", help="the token may only read")
    sub.add_argument("--expires-days", type=_positive, metavar="N",
                     help="expire after N days (1 to 3650; default: never)")
    sub.add_argument("--name", default="", help="a label saying what the token is for")
    sub = command(tokens, "list", cmd_token_list, "list API tokens")
    sub.add_argument("username", metavar="USERNAME", nargs="?",
                     help="only this user's tokens")
    sub = command(tokens, "revoke", cmd_token_revoke, "revoke an API token")
    sub.add_argument("prefix", metavar="PREFIX", help="the token's prefix, as `token list` shows")

    process = commands.add_parser("process", help="validate, apply and show the process file",
                                  description="validate, apply and show the process file")
    processes = process.add_subparsers(dest="process_command", metavar="ACTION", required=True)
    sub = command(processes, "validate", cmd_process_validate,
                  "check a process file and print every problem as FILE:LINE: message")
    sub.add_argument("file", metavar="FILE")
    sub = command(processes, "apply", cmd_process_apply,
                  "store a process file as the new active version")
    sub.add_argument("file", metavar="FILE")
    sub.add_argument("--note", default="", metavar="TEXT", help="why this version was applied")
    sub = command(processes, "show", cmd_process_show, "print the active process")
    sub.add_argument("--version", type=_positive, metavar="N",
                     help="show version N instead of the active one")
    sub.add_argument("--yaml", action="store_true", help="print the stored file verbatim")

    report = commands.add_parser("report", help="print reports",
                                 description="print reports")
    reports = report.add_subparsers(dest="report_command", metavar="REPORT", required=True)
    from dealcraft.analytics.registry import CATALOGUE

    for name, (_, summary) in CATALOGUE.items():
        sub = command(reports, name, cmd_report, summary)
        sub.add_argument("--json", action="store_true", help="print JSON instead of tables")
        sub.add_argument("--since", metavar="DATE",
                         help="deals created on or after DATE (changes: the first date)")
        sub.add_argument("--until", metavar="DATE",
                         help="deals created on or before DATE (changes: the second date)")
        sub.add_argument("--team", metavar="NAME", help="one team's deals")
        sub.add_argument("--rep", metavar="USERNAME", help="one owner's deals")
        sub.add_argument("--segment", metavar="VALUE", help="deals of this segment")
        sub.add_argument("--lead-source", dest="lead_source", metavar="VALUE",
                         help="deals of this lead source")
        sub.add_argument("--limit", metavar="N", help="rows in deal lists (default 100)")
    sub = command(reports, "refresh", cmd_report_refresh,
                  "bring the analytics extract up to date")
    sub.add_argument("--full", action="store_true", help="rebuild it from scratch")

    webhook = commands.add_parser("webhooks", help="send and list outgoing webhooks",
                                  description="send and list outgoing webhooks")
    webhooks = webhook.add_subparsers(dest="webhooks_command", metavar="ACTION", required=True)
    sub = command(webhooks, "deliver", cmd_webhooks_deliver,
                  "send due webhook deliveries, retrying failures with backoff")
    sub.add_argument("--once", action="store_true",
                     help="send what is due now, then exit (default: keep running)")
    sub.add_argument("--interval", type=_seconds, default=5.0, metavar="S",
                     help="seconds to wait between passes (default: 5)")
    command(webhooks, "list", cmd_webhooks_list, "list webhook endpoints and delivery counts")

    sub = command(commands, "serve", cmd_serve, "serve the web app and API in production")
    _add_server_options(sub, host=True)

    sub = command(commands, "demo", cmd_demo, "build the demo company, then serve it")
    sub.add_argument("--deals", type=_positive, default=DEFAULT_DEMO_DEALS, metavar="N",
                     help=f"number of deals (default: {DEFAULT_DEMO_DEALS})")
    sub.add_argument("--seed", type=int, default=DEFAULT_DEMO_SEED, metavar="S",
                     help=f"random seed; the same seed builds the same company "
                          f"(default: {DEFAULT_DEMO_SEED})")
    sub.add_argument("--reset", action="store_true", help="empty the database first")
    sub.add_argument("--no-serve", action="store_true", help="build only; do not serve")
    _add_server_options(sub, host=False)

    from dealcraft.transfer.commands import register as register_transfer

    register_transfer(commands, command)  # export, backup, restore

    from dealcraft.imports.commands import register as register_imports

    register_imports(commands, command)  # import salesforce|hubspot|pipedrive|csv

    from dealcraft.forecasting.commands import register as register_forecast

    register_forecast(commands, command)  # forecast snapshot
    return parser


# ---------------------------------------------------------------------------- main


def _fail(message: str) -> int:
    print(message, file=sys.stderr)
    return 1


def _database_error(exc: Exception) -> str:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if "no such table" in text or ("relation" in text and "does not exist" in text):
        text += " (run `dealcraft migrate` first)"
    return f"{PROG}: database error: {text}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    for stream in (sys.stdout, sys.stderr):
        # A stage name in a non-UTF-8 terminal must not end the command with a traceback.
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management.base import CommandError as DjangoCommandError
    from django.db import DatabaseError

    try:
        return int(args.handler(args))
    except FileProblem as exc:
        return _fail(str(exc))
    except CommandError as exc:
        return _fail(f"{PROG}: {exc}")
    except ServiceError as exc:
        return _fail(f"{PROG}: {exc.message}")
    except (ConfigError, ImproperlyConfigured) as exc:
        return _fail(f"{PROG}: configuration error: {exc}")
    except DjangoCommandError as exc:  # from migrate, flush or collectstatic
        return _fail(f"{PROG}: {(str(exc).strip().splitlines() or ['failed'])[0]}")
    except DatabaseError as exc:
        return _fail(_database_error(exc))
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`dealcraft process show | head`): stop quietly, and point
        # stdout at /dev/null so that flushing it at exit does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
