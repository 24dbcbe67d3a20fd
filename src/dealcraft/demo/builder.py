"""Building the demo company: the one bulk loader.

The sales organisation (teams, managers, reps, ops, an admin) is created through the people
services. Accounts, contacts and deals with their whole record — stage history, evidence,
activities, stakeholders, next steps, qualification answers — are generated in blocks (see
`generator`) and written straight through the database connection: `executemany` on SQLite,
`COPY` on PostgreSQL. Ids are allocated here, above the current maximum, so that child rows
can point at their deal without reading anything back.

Everything is written in one transaction: a build that fails or is interrupted leaves the
database as it was. (Only the default process, when the database had none yet, is applied
before, in its own transaction, exactly as the first use of any service would.)
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import sys
import time
from collections import Counter
from collections.abc import Generator
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Max
from django.utils import timezone
from tqdm import tqdm

from dealcraft.audit.models import AuditEvent
from dealcraft.audit.services import record
from dealcraft.crm.models import Account, Contact
from dealcraft.deals.models import (
    Activity,
    Deal,
    Evidence,
    NextStep,
    QualificationAnswer,
    StageHistory,
    Stakeholder,
)
from dealcraft.errors import InvalidInput
from dealcraft.imports.bulk import analyze, bulk_mode, defer_indexes
from dealcraft.people.models import Team, User
from dealcraft.people.services import add_team_manager, create_user
from dealcraft.processes.services import active_process

from . import names as N
from .generator import SEGMENTS, TABLE_FIELDS, Chunk, Spec, TeamSpec, generate, produce

MAX_DEALS = 10_000_000
#: From this size on, rows are generated in a second process while this one writes.
WORKER_FROM_DEALS = 50_000

MODELS: dict[str, type[models.Model]] = {
    "account": Account,
    "contact": Contact,
    "next_step": NextStep,
    "deal": Deal,
    "history": StageHistory,
    "evidence": Evidence,
    "activity": Activity,
    "stakeholder": Stakeholder,
    "qualification": QualificationAnswer,
}
#: Tables whose ids the builder allocates (the others' rows are never referred to).
ALLOCATED = ("account", "contact", "deal", "next_step")
COUNT_NAMES = {
    "account": "accounts", "contact": "contacts", "deal": "deals", "history": "history",
    "evidence": "evidence", "activity": "activities", "stakeholder": "stakeholders",
    "next_step": "next_steps", "qualification": "qualification_answers",
}


@dataclass(frozen=True)
class DemoResult:
    """What a build made: the logins to try it with, a summary to print, and the counts."""

    logins: list[tuple[str, str, str, str]]  # username, password, role, team(s) or ""
    summary: str
    counts: dict[str, int]
    elapsed: float

    @property
    def rows(self) -> int:
        """Rows written to the bulk tables (people and the audit log aside)."""
        return sum(self.counts[name] for name in COUNT_NAMES.values())


def build_demo(*, deals: int = 5000, seed: int = 42, progress: bool = False,
               today: date | None = None) -> DemoResult:
    """Build the demo company into an empty database.

    The same `seed`, `deals` and `today` always give the same company. Dates run over the
    24 months before `today` (default: today). With `progress`, a progress bar goes to stderr.
    """
    if isinstance(deals, bool) or not isinstance(deals, int) or not 1 <= deals <= MAX_DEALS:
        raise InvalidInput(f"deals must be a whole number from 1 to {MAX_DEALS:,}", "deals")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidInput("seed must be a whole number", "seed")
    started = time.perf_counter()
    today = today or timezone.localdate()
    existing = Deal.objects.count()
    if existing:
        raise InvalidInput(f"the database already holds {existing:,} deals; use --reset to "
                           "empty it before building the demo company", "deals")
    taken = sorted(User.objects.filter(username__in=[u for u, *_ in _people()])
                   .values_list("username", flat=True))
    if taken:
        raise InvalidInput(f"the database already has the demo user(s) {', '.join(taken)}; "
                           "use --reset to empty it before building the demo company",
                           "username")
    version, process = active_process()
    stats: Counter[str] = Counter()
    with bulk_mode(connection, sole_writer=True) as checks_disabled, transaction.atomic():
        logins, teams = _create_people()
        first = _allocate_ids(connection)
        spec = Spec(seed=seed, deals=deals, today=today, process=process,
                    process_version_id=version.pk, teams=teams,
                    first_account_id=first["account"], first_contact_id=first["contact"],
                    first_deal_id=first["deal"], first_next_step_id=first["next_step"])
        writer = _Writer(connection)
        deferred = defer_indexes(connection, [MODELS[t] for t in TABLE_FIELDS])
        bar = tqdm(total=deals, unit=" deals", desc="demo company", file=sys.stderr,
                   disable=not progress, mininterval=0.5)
        chunks = contextlib.closing(_chunks(spec, parallel=deals >= WORKER_FROM_DEALS))
        with bar, chunks as generated, connection.cursor() as cursor:
            for chunk in generated:
                for table, rows in chunk.rows.items():
                    writer.write(cursor, table, rows)
                    stats[table] += len(rows)
                stats.update({f"stat:{k}": v for k, v in chunk.stats.items()})
                bar.update(chunk.deals)
            writer.finish(cursor)
            for sql in deferred:
                cursor.execute(sql)
        if checks_disabled:
            connection.check_constraints(
                table_names=[MODELS[t]._meta.db_table for t in TABLE_FIELDS])
        counts = _counts(stats, teams=len(teams), users=len(logins))
        elapsed = time.perf_counter() - started
        record(actor=None, action="demo.build", obj=version, changes={
            "seed": seed, "deals": deals, "today": today.isoformat(),
            "seconds": round(elapsed, 1), "counts": counts,
        })
    analyze(connection)
    elapsed = time.perf_counter() - started
    return DemoResult(logins=logins, summary=_summary(counts, seed, elapsed), counts=counts,
                      elapsed=elapsed)


def existing_demo() -> DemoResult | None:
    """The demo company already in the database, if a build completed there, so that running
    the demo again serves it instead of refusing."""
    build = AuditEvent.objects.filter(action="demo.build").order_by("-at").first()
    deals = Deal.objects.count()
    if build is None or not deals:
        return None
    present = set(User.objects.filter(username__in=[u for u, *_ in _people()], is_active=True)
                  .values_list("username", flat=True))
    logins = [(u, f"demo-{u}", role, ", ".join(teams))
              for u, _, _, role, teams in _people() if u in present]
    summary = (f"The demo company built on {build.at:%Y-%m-%d %H:%M} UTC is already here "
               f"({deals:,} deals); serving it. Use --reset to build it again.")
    return DemoResult(logins=logins, summary=summary, counts=dict(build.changes.get("counts", {})),
                      elapsed=0.0)


# ---------------------------------------------------------------------------- people


def _people() -> list[tuple[str, str, str, str, tuple[str, ...]]]:
    """(username, first, last, role, teams) for everyone in the demo company."""
    people: list[tuple[str, str, str, str, tuple[str, ...]]] = [
        (N.ADMIN[0], N.ADMIN[1], N.ADMIN[2], "admin", ()),
              (N.OPS[0], N.OPS[1], N.OPS[2], "ops", ())]
    people += [(u, f, last, "manager", teams) for u, f, last, teams in N.MANAGERS]
    for team, _, reps in N.TEAMS:
        people += [(u, f, last, "rep", (team,)) for u, f, last in reps]
    return people


def _create_people() -> tuple[list[tuple[str, str, str, str]], tuple[TeamSpec, ...]]:
    logins: list[tuple[str, str, str, str]] = []
    users: dict[str, User] = {}
    for username, first, last, role, teams in _people():
        password = f"demo-{username}"
        user = create_user(acting_user=None, username=username, role=role,
                           team=teams[0] if teams else None, password=password,
                           first_name=first, last_name=last,
                           email=f"{username}@dealcraft.example")
        for extra in teams[1:]:
            add_team_manager(acting_user=None, team=extra, manager=user)
        users[username] = user
        logins.append((username, password, role, ", ".join(teams)))
    by_segment: dict[str, TeamSpec] = {}
    for team_name, segment, reps in N.TEAMS:
        team = Team.objects.get(name=team_name)
        manager = next(users[u] for u, _, _, managed in N.MANAGERS if team_name in managed)
        by_segment[segment] = TeamSpec(segment=segment, team_id=team.pk,
                                       rep_ids=tuple(users[u].pk for u, _, _ in reps),
                                       manager_id=manager.pk)
    return logins, tuple(by_segment[s] for s in SEGMENTS)


# ---------------------------------------------------------------------------- writing


def _allocate_ids(conn: BaseDatabaseWrapper) -> dict[str, int]:
    """The first free id of each table whose ids the builder hands out."""
    if conn.vendor == "postgresql":
        # Nobody else may take ids from under the build while it runs.
        tables = ", ".join(conn.ops.quote_name(MODELS[t]._meta.db_table) for t in ALLOCATED)
        with conn.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")
    # On SQLite the transaction holds the write lock from its start (IMMEDIATE mode).
    return {t: (MODELS[t]._default_manager.aggregate(top=Max("pk"))["top"] or 0) + 1
            for t in ALLOCATED}


def _column(field: Any) -> str:
    column = getattr(field, "column", None)
    if not isinstance(column, str):
        raise TypeError(f"{field} is not stored in a column")
    return column


class _Writer:
    """Inserts rows in each table's column order, the fastest way the database offers."""

    def __init__(self, conn: BaseDatabaseWrapper) -> None:
        self.conn = conn
        self.copy = conn.vendor == "postgresql"
        qn = conn.ops.quote_name
        self.statements: dict[str, str] = {}
        for table, fields in TABLE_FIELDS.items():
            meta = MODELS[table]._meta
            columns = ", ".join(qn(_column(meta.get_field(f))) for f in fields)
            if self.copy:
                self.statements[table] = f"COPY {qn(meta.db_table)} ({columns}) FROM STDIN"
            else:
                marks = ", ".join(["%s"] * len(fields))
                self.statements[table] = (f"INSERT INTO {qn(meta.db_table)} ({columns}) "
                                          f"VALUES ({marks})")

    def write(self, cursor: Any, table: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.copy:
            with cursor.cursor.copy(self.statements[table]) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(self.statements[table], rows)

    def finish(self, cursor: Any) -> None:
        """Move sequences past the ids written explicitly (PostgreSQL; SQLite does it)."""
        for sql in self.conn.ops.sequence_reset_sql(no_style(),
                                                    [MODELS[t] for t in ALLOCATED]):
            cursor.execute(sql)


def _chunks(spec: Spec, *, parallel: bool) -> Generator[Chunk, None, None]:
    """The generated rows, from this process or from a worker process generating ahead."""
    if not parallel:
        yield from generate(spec)
        return
    # A fresh interpreter: the worker never touches Django or this process's connections.
    context = multiprocessing.get_context("spawn")
    chunks: Any = context.Queue(maxsize=4)  # bounds how far the worker runs ahead
    worker = context.Process(target=produce, args=(spec, chunks), name="dealcraft-demo",
                             daemon=True)
    worker.start()
    try:
        while True:
            try:
                item = chunks.get(timeout=1.0)
            except queue.Empty:
                if not worker.is_alive():
                    raise RuntimeError("the demo generator stopped unexpectedly "
                                       f"(exit code {worker.exitcode})") from None
                continue
            if item is None:
                break
            if isinstance(item, str):
                raise RuntimeError(f"the demo generator failed:\n{item}")
            yield item
        worker.join()
    finally:
        if worker.is_alive():
            worker.terminate()
            worker.join()
        chunks.close()


# ---------------------------------------------------------------------------- reporting


def _counts(stats: Counter[str], *, teams: int, users: int) -> dict[str, int]:
    counts = {name: stats[table] for table, name in COUNT_NAMES.items()}
    counts.update(
        teams=teams, users=users,
        open=stats["stat:deals_open"], won=stats["stat:deals_won"],
        lost=stats["stat:deals_lost"], stuck=stats["stat:stuck"],
        overrides=stats["stat:overridden"], skips=stats["stat:skip"],
        warned_advances=stats["stat:warned"], updates=stats["stat:update"],
        missing_next_steps=stats["stat:missing_next_step"],
        overdue_next_steps=stats["stat:overdue_next_step"],
    )
    return counts


def _summary(c: dict[str, int], seed: int, elapsed: float) -> str:
    return (
        f"Built the demo company in {elapsed:.1f} s (seed {seed}): {c['teams']} teams, "
        f"{c['users']} people, {c['accounts']:,} accounts, {c['contacts']:,} contacts and "
        f"{c['deals']:,} deals ({c['open']:,} open, {c['won']:,} won, {c['lost']:,} lost).\n"
        f"Open deals: {c['stuck']:,} stuck past their stage's rotting days, "
        f"{c['missing_next_steps']:,} without a next step, {c['overdue_next_steps']:,} with "
        f"an overdue one. Gates: {c['overrides']:,} overridden by a manager, {c['skips']:,} "
        f"stages skipped.\n"
        f"Records: {c['history']:,} stage-history entries, {c['evidence']:,} evidence, "
        f"{c['activities']:,} activities, {c['stakeholders']:,} stakeholders, "
        f"{c['qualification_answers']:,} qualification answers."
    )
