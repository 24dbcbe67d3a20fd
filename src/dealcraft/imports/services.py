"""The importer: one service that writes a read export into dealcraft, all of it or nothing.

`run_import(export, acting_user=…)` takes any reader's `SourceExport` (Salesforce, HubSpot,
Pipedrive, a mapped CSV) and:

- lands every source stage on a dealcraft stage: through `stage_map` onto the active process,
  or, without a map, on a process generated from the export's own stages (kept exactly as the
  export spells them; active when the database held no deals before, stored inactive otherwise);
- maps owners onto users by external id, email, user name or full name, and creates the
  missing ones as inactive users (through the people services);
- upserts accounts, contacts, deals, stakeholders and activities by (external_source,
  external_id): importing the same export again changes nothing and counts every row as
  unchanged;
- turns history into stage-history rows with their original timestamps (rows that only change
  amount, close date or probability become `update` entries);
- reports every problem with file, row, column and value, and every value that matches
  nothing by name and count, and writes them to a CSV error report next to the input.

Everything runs in one transaction: when any problem is fatal, or on a dry run, or when
anything fails, the database is left exactly as it was. Rows are written in bulk (`COPY` on
PostgreSQL, `executemany` on SQLite) in chunks, so memory stays flat while history streams.
One audit row records the run.
"""

from __future__ import annotations

import csv
import os
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from tqdm import tqdm

from dealcraft.audit.services import record
from dealcraft.crm.models import Account, Contact
from dealcraft.deals.models import Activity, Deal, NextStep, StageHistory, Stakeholder
from dealcraft.domain.process import parse_process
from dealcraft.errors import InvalidInput, NotAllowed
from dealcraft.people.models import User
from dealcraft.people.services import create_user
from dealcraft.processes.models import ProcessVersion
from dealcraft.processes.services import active_version, apply_process, parse

from . import bulk
from .records import (
    Problem,
    SourceDeal,
    SourceExport,
    SourceHistory,
    SourceUser,
)
from .stagemap import (
    FORECAST_CATEGORIES,
    LOST,
    WON,
    StagePlan,
    forecast_category,
    generate_process,
    map_onto,
    slug_key,
)

#: Deals per chunk: rows are gathered and written this many deals at a time.
CHUNK = 5000
SOURCE_NAMES = {"salesforce": "Salesforce", "hubspot": "HubSpot", "pipedrive": "Pipedrive",
                "csv": "CSV"}
ACTIVITY_KINDS = frozenset(Activity.Kind.values)
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("1e16")

DEAL_FIELDS = ("id", "name", "account", "owner", "team", "amount", "currency", "expected_close",
               "stage", "status", "forecast_category", "probability", "fields",
               "process_version", "next_step", "stage_entered_at", "created_at", "updated_at",
               "closed_at", "lost_reason", "lost_reason_category", "lost_from_stage", "version",
               "external_source", "external_id")
#: What an import compares, and rewrites when it differs, on a deal that already exists.
DEAL_COMPARED = ("name", "account", "owner", "team", "amount", "currency", "expected_close",
                 "stage", "status", "forecast_category", "probability", "fields", "closed_at",
                 "lost_reason")
HISTORY_FIELDS = ("deal", "kind", "from_stage", "to_stage", "at", "by", "amount", "currency",
                  "expected_close", "forecast_category", "probability", "gate_result",
                  "override_reason", "process_version")
ACCOUNT_FIELDS = ("id", "name", "domain", "industry", "employees", "country", "owner",
                  "external_source", "external_id", "created_at")
NEXT_STEP_FIELDS = ("id", "deal", "text", "due", "owner", "buyer_confirmed", "set_by", "set_at")

ProgressCallback = Callable[[str, int], None]


@dataclass(slots=True)
class Counts:
    """Rows of one kind: created, updated in place, or found unchanged."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


KINDS = ("users", "accounts", "contacts", "deals", "history", "next_steps", "stakeholders",
         "activities")


@dataclass
class ImportResult:
    """What an import did, or (dry run, or fatal problems) would have done.

    `committed` is True only when the rows are in the database. `stage_map` is where each
    source stage went (a stage key, `won` or `lost`), `stage_names` the names of those keys.
    `unmatched` counts, per kind of value (owner, account, forecast category…), each value that
    matched nothing and what was done with it. `error_report` is the CSV written next to the
    input (None when there was nothing to report)."""

    source: str
    dry_run: bool
    committed: bool = False
    counts: dict[str, Counts] = field(default_factory=lambda: {k: Counts() for k in KINDS})
    stage_map: dict[str, str] = field(default_factory=dict)
    stage_names: dict[str, str] = field(default_factory=dict)
    process_version: int | None = None
    process_created: bool = False
    process_active: bool = False
    process_source: str | None = None
    unmatched: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    problems: list[Problem] = field(default_factory=list)
    error_report: str | None = None
    rows: int = 0
    seconds: float = 0.0
    #: Where the time went, by phase (reading is counted in the phase that reads).
    phase_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def fatal(self) -> list[Problem]:
        return [p for p in self.problems if p.fatal]

    @property
    def ok(self) -> bool:
        return not self.fatal

    def summary(self) -> dict[str, Any]:
        """Plain data for JSON, the CLI and the web page."""
        return {
            "source": self.source, "dry_run": self.dry_run, "committed": self.committed,
            "counts": {k: c.as_dict() for k, c in self.counts.items()},
            "stage_map": self.stage_map, "stage_names": self.stage_names,
            "process_version": self.process_version, "process_created": self.process_created,
            "process_active": self.process_active,
            "unmatched": {k: dict(v) for k, v in self.unmatched.items() if v},
            "problems": len(self.problems), "fatal_problems": len(self.fatal),
            "error_report": self.error_report, "rows": self.rows,
            "seconds": round(self.seconds, 2), "phase_seconds": self.phase_seconds,
        }


class _Rollback(Exception):
    """Leaves the transaction: a dry run, or fatal problems."""


class _Regroup(Exception):
    """The history interleaves deals: read it again, grouped in memory."""


def run_import(export: SourceExport, *, acting_user: Any,
               stage_map: Mapping[str, str] | None = None, dry_run: bool = False,
               progress: bool | ProgressCallback | None = None,
               owner_map: Mapping[str, str] | None = None,
               value_maps: Mapping[str, Mapping[str, str]] | None = None,
               report_path: str | os.PathLike[str] | None = None,
               map_file: str = "") -> ImportResult:
    """Import a read export; all of it, or (dry run, fatal problems, any failure) nothing.

    - `acting_user`: an admin or ops user (others are refused with NotAllowed); the import's
      audit row, created users and next steps name them.
    - `stage_map`: source stage name → stage key or name of the active process (or `won` /
      `lost`). None: the export's stages become a process of their own.
    - `owner_map`: source owner (id, email or name) → username of an existing user.
    - `value_maps`: `{"forecast_category": {...}, "currency": {...}}`, source value → value.
    - `progress`: True for a bar with rows per second on stderr, or a callable
      `(phase, rows_done)` called after each chunk.
    - `report_path`: where to write the error report; default next to the input (the export's
      `path`), as `<name>.errors.csv`.
    - `map_file`: the mapping file's name, for problems about it.

    Returns an ImportResult; it never raises for bad input (problems are in the result), only
    for a refused user (NotAllowed) or a failure of the database itself.
    """
    if getattr(acting_user, "role", None) not in ("admin", "ops") or not getattr(
            acting_user, "is_active", False):
        raise NotAllowed("Only admins and revenue operations import data.")
    started = time.perf_counter()
    result = ImportResult(source=export.source, dry_run=dry_run)
    job = _Import(export, result, acting_user=acting_user, stage_map=stage_map,
                  owner_map=owner_map or {}, value_maps=value_maps or {}, progress=progress,
                  map_file=map_file)
    try:
        with bulk.bulk_mode(connection) as checks_off, transaction.atomic():
            job.run(checks_off)
            result.problems = _unique_problems([*job.reader_problems(), *job.problems])
            if dry_run or result.fatal:
                raise _Rollback
    except _Rollback:
        pass
    else:
        result.committed = True
        mark = time.perf_counter()
        if result.counts["history"].created > 100_000:
            bulk.analyze(connection)
        result.phase_seconds["commit and statistics"] = round(time.perf_counter() - mark, 2)
    finally:
        job.close()
    if not result.committed and not result.problems:
        result.problems = _unique_problems([*job.reader_problems(), *job.problems])
    result.seconds = time.perf_counter() - started
    result.error_report = _write_report(result, export, report_path)
    return result


# ---------------------------------------------------------------------------- the job


@dataclass(slots=True)
class _DealInfo:
    """What the history pass needs to know of a deal written by the deal pass."""

    id: int
    stage: str
    currency: str
    amount: Decimal
    close: date
    existed: bool
    entered: datetime  # when the deal entered its stage, as written
    created: datetime
    created_known: bool
    lost_from: str
    history: bool = False


class _Import:
    def __init__(self, export: SourceExport, result: ImportResult, *, acting_user: Any,
                 stage_map: Mapping[str, str] | None, owner_map: Mapping[str, str],
                 value_maps: Mapping[str, Mapping[str, str]],
                 progress: bool | ProgressCallback | None, map_file: str) -> None:
        self.export = export
        self.result = result
        self.source = export.source
        self.actor = acting_user
        self.stage_map = stage_map
        self.owner_map = owner_map
        self.value_maps = {k: dict(v) for k, v in value_maps.items()}
        self.map_file = map_file
        self.problems: list[Problem] = []
        self.now = timezone.now()
        self.zone = timezone.get_current_timezone()
        self.adapt = bulk.Adapt(connection)
        self.now_text = self.adapt.dt(self.now)
        self.callback = progress if callable(progress) else None
        self.bar = tqdm(unit=" rows", desc=f"import {self.source}", file=sys.stderr,
                        disable=progress is not True, mininterval=0.5, unit_scale=True)
        self.rows = 0
        self.users: dict[str, int | None] = {}
        self.teams: dict[int, int | None] = {}
        self.accounts: dict[str, int] = {}
        self.contacts: dict[str, int] = {}
        self.deals: dict[str, _DealInfo] = {}
        self.stage_failed = False
        self.choices: dict[str, frozenset[str]] = {}
        self.user_labels: dict[str, str] = {}
        self.matched: set[int] = set()
        self.by_name_accounts: set[str] = set()
        self.fix_entered: dict[int, datetime] = {}
        self.fix_created: dict[int, datetime] = {}
        self.fix_lost_from: dict[int, str] = {}
        #: A history entry's kind by (previous stage, stage), worked out once per pair.
        self.kinds: dict[tuple[str, str], str] = {}

    # -- plumbing

    def close(self) -> None:
        self.bar.close()

    def reader_problems(self) -> list[Problem]:
        return list(self.export.problems)

    def problem(self, message: str, *, file: str = "", row: int | None = None, column: str = "",
                value: str = "", fatal: bool = True) -> None:
        self.problems.append(Problem(file, row, column, message, value, fatal))

    def tick(self, phase: str, n: int) -> None:
        self.rows += n
        self.result.rows = self.rows
        self.bar.update(n)
        if self.callback is not None:
            self.callback(phase, self.rows)

    def aware(self, value: datetime | None) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return timezone.make_aware(value, self.zone)

    # -- the run

    def run(self, checks_off: bool) -> None:
        roles = list(self.export.roles())
        self.plan = self._stages(roles)
        if self.stage_failed:
            return
        self._load_users()
        first = bulk.lock_and_allocate(connection, [Account, Contact, Deal, NextStep])
        self.next_id = {model: first[model] for model in first}
        fresh = not Deal.objects.filter(external_source=self.source).exists()
        # Rebuilding indexes pays off only when the import brings most of the rows: into an
        # empty database.
        deferred = bulk.defer_indexes(connection, [Deal, StageHistory]) if (
            checks_off and not Deal.objects.exists()) else []
        clock = self.result.phase_seconds
        mark = time.perf_counter()

        def lap(phase: str) -> None:
            nonlocal mark
            now = time.perf_counter()
            clock[phase] = round(clock.get(phase, 0.0) + now - mark, 2)
            mark = now

        lap("stages and users")
        with connection.cursor() as cursor:
            self._accounts(cursor)
            self._contacts()
            lap("accounts and contacts")
            self._deals(cursor, fresh)
            lap("deals")
            self._history(cursor)
            self._fixups(cursor)
            lap("history")
            self._stakeholders(roles)
            self._activities()
            lap("stakeholders and activities")
            for sql in deferred:
                cursor.execute(sql)
            lap("indexes")
        bulk.reset_sequences(connection, [Account, Contact, Deal, NextStep])
        if checks_off:
            connection.check_constraints(table_names=[
                m._meta.db_table for m in (Account, Contact, Deal, NextStep, StageHistory)])
            lap("foreign-key check")
        counts = {k: c.as_dict() for k, c in self.result.counts.items()}
        record(actor=self.actor, action="import.run", obj=self.version, changes={
            "source": self.source, "path": str(getattr(self.export, "path", "") or ""),
            "counts": counts, "stage_map": self.result.stage_map,
            "process_version": self.version.number,
            "process_created": self.result.process_created,
            "unmatched": {k: len(v) for k, v in self.result.unmatched.items() if v},
            "problems": len(self.problems) + len(self.export.problems),
        })

    # -- stages and the process

    def _stages(self, roles: list[Any]) -> StagePlan:
        stages = list(self.export.stages)
        active = active_version()
        if self.stage_map is None:
            name = SOURCE_NAMES.get(self.source, self.source)
            currency = self._default_currency(parse(active).currency)
            source, plan = generate_process(stages, source_name=name, currency=currency,
                                            roles=[r.role for r in roles])
            if plan.problems:
                if not any(p.fatal for p in self.export.problems):
                    # (an unreadable export explains the missing stages by itself)
                    self.problems.extend(plan.problems)
                self.stage_failed = True
                self.version = active
                return plan
            self.version = self._store_process(source)
        else:
            plan = map_onto(parse(active), stages, self.stage_map, map_file=self.map_file)
            self.problems.extend(plan.problems)
            self.version = active
        self.result.stage_map = dict(plan.target)
        names = {s.key: s.name for s in plan.process.stages}
        names.update({WON: "Won", LOST: "Lost"})
        self.result.stage_names = {k: names.get(k, k) for k in plan.target.values()}
        self.result.process_version = self.version.number
        self.result.process_active = self.version.is_active
        self.stage_defaults = {s.key: (s.probability, s.forecast_category)
                               for s in plan.process.stages}
        self.stage_defaults[WON] = (100, "closed")
        self.stage_defaults[LOST] = (0, "omitted")
        self.choices = {f.key: frozenset(f.choices) for f in plan.process.fields
                        if f.type == "choice"}
        return plan

    def _store_process(self, source: str) -> ProcessVersion:
        """The generated process: the version already holding it, else a new one — active
        when the database held no deals, stored beside the active one otherwise."""
        import hashlib

        digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
        existing = ProcessVersion.objects.filter(sha256=digest).order_by("-number").first()
        self.result.process_source = source
        if existing is not None:
            return existing
        self.result.process_created = True
        name = SOURCE_NAMES.get(self.source, self.source)
        if not Deal.objects.exists():
            return apply_process(source, acting_user=self.actor, note=f"imported from {name}")
        process, _ = parse_process(source)
        last = ProcessVersion.objects.order_by("-number").values_list("number", flat=True).first()
        version = ProcessVersion.objects.create(
            number=(last or 0) + 1, name=(process.name if process else name)[:200],
            source=source, sha256=digest, is_active=False, applied_by=self.actor,
            note=f"imported from {name}; not active: the database already held deals")
        return version

    def _default_currency(self, fallback: str) -> str:
        return self.value_maps.get("currency", {}).get("", "") or fallback

    # -- people

    def _load_users(self) -> None:
        self.by_external: dict[str, int] = {}
        self.by_email: dict[str, int] = {}
        self.by_username: dict[str, int] = {}
        self.by_name: dict[str, int] = {}
        for pk, username, email, first, last, source, external, team in User.objects.values_list(
                "id", "username", "email", "first_name", "last_name", "external_source",
                "external_id", "team_id"):
            self.teams[pk] = team
            if source == self.source and external:
                self.by_external[external] = pk
            if email:
                self.by_email.setdefault(email.casefold(), pk)
            self.by_username[username.casefold()] = pk
            full = f"{first} {last}".strip().casefold()
            if full:
                self.by_name.setdefault(full, pk)
        self.source_users: dict[str, SourceUser] = {u.key: u for u in self.export.users()}
        self.owner_targets = {k.casefold(): v for k, v in self.owner_map.items()}

    def user(self, key: str, *, what: str = "owner") -> int | None:
        """The user a source owner key, email or name stands for; created inactive when
        nobody matches. None for an empty key."""
        key = key.strip()
        if not key:
            return None
        if key in self.users:
            pk = self.users[key]
        else:
            pk = self.users[key] = self._match_user(key, what)
            if pk is not None and key not in self.user_labels and pk not in self.matched:
                self.matched.add(pk)
                self.result.counts["users"].unchanged += 1
        label = self.user_labels.get(key)
        if label:
            self.result.unmatched[what][label] += 1
        return pk

    def _match_user(self, key: str, what: str) -> int | None:
        su = self.source_users.get(key)
        names = [key] + ([su.email, su.name] if su else [])
        for name in names:
            target = self.owner_targets.get(name.casefold()) if name else None
            if target is not None:
                pk = self.by_username.get(target.casefold())
                if pk is None:
                    self.problem(f"the {what} '{name}' maps to the user '{target}', who does not "
                                 "exist", file=self.map_file, column="owners", value=target)
                return pk
        if su is None and key in self.by_external:
            return self.by_external[key]
        if su is not None and su.key in self.by_external:
            return self.by_external[su.key]
        email = (su.email if su else (key if "@" in key else "")).strip()
        if email and email.casefold() in self.by_email:
            return self.by_email[email.casefold()]
        name = (su.name if su else ("" if "@" in key else key)).strip()
        if name and name.casefold() in self.by_name:
            return self.by_name[name.casefold()]
        if not su and key.casefold() in self.by_username:
            return self.by_username[key.casefold()]
        return self._create_user(key, su, name, email, what)

    def _create_user(self, key: str, su: SourceUser | None, name: str, email: str,
                     what: str) -> int:
        base = (email.split("@")[0] if email else slug_key(name or key, prefix="user")
                ).replace("_", ".").lower()[:140] or "imported"
        username, n = base, 1
        while username.casefold() in self.by_username:
            n += 1
            username = f"{base}{n}"
        first, _, last = (name or username).partition(" ")
        source, external_id = (self.source, su.key) if su else ("", "")
        try:
            user = create_user(acting_user=self.actor, username=username, role="rep",
                               first_name=first[:150], last_name=last[:150], email=email,
                               active=False, external_source=source, external_id=external_id)
        except InvalidInput:  # an address the people service refuses: keep the person
            user = create_user(acting_user=self.actor, username=username, role="rep",
                               first_name=first[:150], last_name=last[:150],
                               active=False, external_source=source, external_id=external_id)
        self.by_username[username.casefold()] = user.pk
        if email:
            self.by_email.setdefault(email.casefold(), user.pk)
        if name:
            self.by_name.setdefault(name.casefold(), user.pk)
        self.teams[user.pk] = None
        label = name or email or key
        self.result.counts["users"].created += 1
        self.user_labels[key] = f"{label} → created inactive user {username}"
        return int(user.pk)

    # -- accounts and contacts

    def _accounts(self, cursor: Any) -> None:
        existing = {ext: (pk, name, domain, industry, employees) for ext, pk, name, domain,
                    industry, employees in Account.objects.filter(
                        external_source=self.source).exclude(external_id="").values_list(
                        "external_id", "id", "name", "domain", "industry", "employees")}
        writer = bulk.Writer(connection, Account, ACCOUNT_FIELDS)
        counts = self.result.counts["accounts"]
        rows: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        for a in self.export.accounts():
            key = a.key.strip()[:100]
            if not key or key in self.accounts:
                if key:
                    self.problem("the account id repeats", file=a.file, row=a.row,
                                 column="id", value=key, fatal=False)
                continue
            values = (a.name[:255] or key, _domain(a.website), a.industry[:100], a.employees)
            old = existing.get(key)
            if old is not None:
                self.accounts[key] = old[0]
                if old[1:] != values:
                    updates.append((*values, old[0]))
                    counts.updated += 1
                else:
                    counts.unchanged += 1
                continue
            pk = self._take(Account)
            self.accounts[key] = pk
            rows.append((pk, *values, "", None, self.source, key, self.now_text))
            counts.created += 1
            if len(rows) >= CHUNK:
                writer.write(cursor, rows)
                self.tick("accounts", len(rows))
                rows = []
        writer.write(cursor, rows)
        self.tick("accounts", len(rows))
        if updates:
            cursor.executemany(bulk.updater(connection, Account,
                                            ("name", "domain", "industry", "employees")), updates)
        self._existing_accounts = existing

    def account(self, key: str, cursor: Any, pending: list[tuple[Any, ...]]) -> int | None:
        """The account a deal names; an account key the export's accounts do not hold is
        created by name (and reported)."""
        key = key.strip()[:100]
        if not key:
            return None
        pk = self.accounts.get(key)
        if pk is not None:
            if key in self.by_name_accounts:
                self.result.unmatched["account"][f"{key} → account by that name"] += 1
            return pk
        self.by_name_accounts.add(key)
        self.result.unmatched["account"][f"{key} → account by that name"] += 1
        old = self._existing_accounts.get(key)
        if old is None:
            pk = self._take(Account)
            pending.append((pk, key[:255], "", "", None, "", None, self.source, key,
                            self.now_text))
            self.result.counts["accounts"].created += 1
        else:
            pk = old[0]
            self.result.counts["accounts"].unchanged += 1
        self.accounts[key] = pk
        return pk

    def _contacts(self) -> None:
        counts = self.result.counts["contacts"]
        existing = {ext: pk for ext, pk in Contact.objects.filter(
            external_source=self.source).exclude(external_id="").values_list("external_id", "id")}
        new: list[Contact] = []
        changed: list[Contact] = []
        current = {c.pk: c for c in Contact.objects.filter(pk__in=list(existing.values()))}
        for c in self.export.contacts():
            key = c.key.strip()[:100]
            if not key or key in self.contacts:
                continue
            values = {"account_id": self.accounts.get(c.account_key.strip()) if c.account_key
                      else None, "first_name": c.first_name[:100], "last_name": c.last_name[:100],
                      "email": c.email[:254], "phone": c.phone[:50], "title": c.title[:150]}
            pk = existing.get(key)
            if pk is not None:
                obj = current[pk]
                self.contacts[key] = pk
                if any(getattr(obj, f) != v for f, v in values.items()):
                    for f, v in values.items():
                        setattr(obj, f, v)
                    changed.append(obj)
                    counts.updated += 1
                else:
                    counts.unchanged += 1
                continue
            pk = self._take(Contact)
            self.contacts[key] = pk
            new.append(Contact(pk=pk, external_source=self.source, external_id=key,
                               created_at=self.now, **values))
            counts.created += 1
        Contact.objects.bulk_create(new, batch_size=1000)
        if changed:
            Contact.objects.bulk_update(changed, ["account_id", "first_name", "last_name",
                                                  "email", "phone", "title"], batch_size=1000)
        self.tick("contacts", len(new) + len(changed))

    def _take(self, model: type[Any]) -> int:
        pk = self.next_id[model]
        self.next_id[model] = pk + 1
        return pk

    # -- deals

    def _deals(self, cursor: Any, fresh: bool) -> None:
        existing: dict[str, int] = {} if fresh else dict(
            Deal.objects.filter(external_source=self.source).exclude(external_id="")
            .values_list("external_id", "id"))
        self.existing_deals = existing
        writer = bulk.Writer(connection, Deal, DEAL_FIELDS)
        steps = bulk.Writer(connection, NextStep, NEXT_STEP_FIELDS)
        accounts = bulk.Writer(connection, Account, ACCOUNT_FIELDS)
        chunk: list[SourceDeal] = []
        for deal in self.export.deals():
            chunk.append(deal)
            if len(chunk) >= CHUNK:
                self._deal_chunk(cursor, chunk, writer, steps, accounts)
                chunk = []
        self._deal_chunk(cursor, chunk, writer, steps, accounts)

    def _deal_chunk(self, cursor: Any, chunk: list[SourceDeal], writer: bulk.Writer,
                    steps: bulk.Writer, accounts: bulk.Writer) -> None:
        if not chunk:
            return
        a = self.adapt
        counts = self.result.counts["deals"]
        old = self._load_existing(chunk)
        rows: list[tuple[Any, ...]] = []
        step_rows: list[tuple[Any, ...]] = []
        new_accounts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        vid = self.version.pk
        today = timezone.localdate()
        now, dt, json_text = self.now_text, a.dt, a.json
        for d in chunk:
            values = self._deal_values(d, cursor, new_accounts)
            if values is None:
                continue
            key, v, next_step = values
            stage, status = v["stage"], v["status"]
            current = old.get(key)
            if current is not None:
                pk = current["id"]
                step_id = current["next_step"]
                if next_step and status == "open" and next_step != current["next_step_text"]:
                    step_id = self._take(NextStep)
                    step_rows.append((step_id, pk, next_step[:500], a.day(today), v["owner"],
                                      False, self.actor.pk, now))
                    self.result.counts["next_steps"].created += 1
                created_known = d.created_at is not None
                if not created_known:
                    v["created_at"] = current["created_at"]
                if v["closed_at"] is None and status != "open":
                    v["closed_at"] = current["closed_at"]
                changed = any(v[f] != current[f] for f in DEAL_COMPARED) or (
                    step_id != current["next_step"]) or v["created_at"] != current["created_at"]
                if changed:
                    counts.updated += 1
                    updates.append((
                        v["name"], v["account"], v["owner"], v["team"], v["amount"],
                        v["currency"], a.day(v["expected_close"]), stage, status,
                        v["forecast_category"], v["probability"], json_text(v["fields"]),
                        a.dt(v["closed_at"]), v["lost_reason"], a.dt(v["created_at"]), step_id,
                        vid, now, current["version"] + 1, pk))
                else:
                    counts.unchanged += 1
                entered = current["stage_entered_at"]
                lost_from = current["lost_from_stage"]
            else:
                pk = self._take(Deal)
                step_id = None
                if next_step and status == "open":
                    step_id = self._take(NextStep)
                    step_rows.append((step_id, pk, next_step[:500], a.day(today), v["owner"],
                                      False, self.actor.pk, now))
                    self.result.counts["next_steps"].created += 1
                entered = self.aware(d.stage_entered_at) or v["closed_at"] or v["created_at"]
                lost_from = ""
                created_text = dt(v["created_at"])
                closed_text = dt(v["closed_at"])
                entered_text = (created_text if entered is v["created_at"] else closed_text
                                if entered is v["closed_at"] else dt(entered))
                rows.append((
                    pk, v["name"], v["account"], v["owner"], v["team"], v["amount"],
                    v["currency"], a.day(v["expected_close"]), stage, status,
                    v["forecast_category"], v["probability"],
                    json_text(v["fields"]) if v["fields"] else "{}", vid, step_id,
                    entered_text, created_text, now, closed_text,
                    v["lost_reason"], "", lost_from, 1, self.source, key))
                counts.created += 1
                created_known = d.created_at is not None
            self.deals[key] = _DealInfo(
                id=pk, stage=stage, currency=v["currency"], amount=v["amount"],
                close=v["expected_close"], existed=current is not None, entered=entered,
                created=v["created_at"], created_known=created_known, lost_from=lost_from)
        if new_accounts:
            accounts.write(cursor, new_accounts)
        writer.write(cursor, rows)
        steps.write(cursor, step_rows)
        if updates:
            cursor.executemany(bulk.updater(connection, Deal, (
                "name", "account", "owner", "team", "amount", "currency", "expected_close",
                "stage", "status", "forecast_category", "probability", "fields", "closed_at",
                "lost_reason", "created_at", "next_step", "process_version", "updated_at",
                "version")), updates)
        self.tick("deals", len(chunk))

    def _load_existing(self, chunk: list[SourceDeal]) -> dict[str, dict[str, Any]]:
        ids = [self.existing_deals[k] for k in {d.key.strip() for d in chunk}
               if k in self.existing_deals]
        if not ids:
            return {}
        names = ("id", "external_id", "name", "account", "owner", "team", "amount", "currency",
                 "expected_close", "stage", "status", "forecast_category", "probability",
                 "fields", "closed_at", "lost_reason", "created_at", "next_step", "version",
                 "stage_entered_at", "lost_from_stage")
        out: dict[str, dict[str, Any]] = {}
        for values in Deal.objects.filter(pk__in=ids).values_list(*names, "next_step__text"):
            row = dict(zip(names, values, strict=False))
            row["next_step_text"] = values[-1] or ""
            out[row["external_id"]] = row
        return out

    def _deal_values(self, d: SourceDeal, cursor: Any, new_accounts: list[tuple[Any, ...]]
                     ) -> tuple[str, dict[str, Any], str] | None:
        key = d.key.strip()
        if not key:
            self.problem("the deal has no id", column="id", file=d.file, row=d.row)
            return None
        if len(key) > 100:
            self.problem("the deal id is longer than 100 characters", column="id", value=key,
                         file=d.file, row=d.row)
            return None
        if key in self.deals:
            self.problem("the deal id repeats: the deal appears twice in the export", column="id",
                         value=key, file=d.file, row=d.row)
            return None
        stage = self.plan.target.get(d.stage)
        if stage is None:
            self.result.unmatched["stage"][d.stage] += 1
            self.problem(f"the stage '{d.stage}' is not in the mapping", column="stage",
                         value=d.stage, file=d.file, row=d.row)
            return None
        status = "won" if stage == WON else "lost" if stage == LOST else "open"
        owner = self.user(d.owner_key)
        if owner is None:
            if d.owner_key.strip():
                return None  # a mapped owner whose user is missing: reported by `user`
            owner = int(self.actor.pk)
            self.result.unmatched["owner"][f"(none) → {self.actor.username}"] += 1
        currency = (d.currency or "").strip().upper()
        currency = self.value_maps.get("currency", {}).get(currency, currency)
        if not currency:
            currency = self._default_currency(self.plan.process.currency or "USD")
        if len(currency) != 3 or not currency.isalpha() or not currency.isascii():
            self.problem("not a currency code (three letters, such as EUR)", column="currency",
                         value=d.currency, file=d.file, row=d.row)
            return None
        amount = d.amount if d.amount is not None else Decimal(0)
        try:
            amount = amount.quantize(CENT)
        except InvalidOperation:
            amount = MAX_AMOUNT
        if abs(amount) >= MAX_AMOUNT:
            self.problem("the amount is too large", column="amount", value=str(d.amount),
                         file=d.file, row=d.row)
            return None
        created = self.aware(d.created_at)
        closed = self.aware(d.closed_at)
        close = d.close_date or (closed.date() if closed else None) or (
            created.date() if created else None)
        if close is None:
            self.problem("the deal has no close date", column="close_date", file=d.file, row=d.row)
            return None
        if status != "open" and closed is None:
            closed = timezone.make_aware(datetime.combine(close, datetime.min.time()), self.zone)
        if created is None:
            created = closed or timezone.make_aware(datetime.combine(
                close, datetime.min.time()), self.zone)
        probability, category = self.stage_defaults[stage]
        if d.probability is not None:
            if 0 <= d.probability <= 100:
                probability = d.probability
            else:
                self.problem("the probability is not from 0 to 100; the stage's is used",
                             column="probability", value=str(d.probability), fatal=False,
                             file=d.file, row=d.row)
        if status == "open" and d.forecast_category.strip():
            mapped = self._category(d.forecast_category)
            if mapped is None or mapped == "closed":
                self.result.unmatched["forecast category"][d.forecast_category] += 1
            else:
                category = mapped
        account = self.account(d.account_key, cursor, new_accounts) if d.account_key else None
        fields = {k: v for k, v in d.fields.items() if v not in ("", None)}
        for k, v in fields.items():
            choices = self.choices.get(k)
            if choices is not None and v not in choices:
                # Kept as exported, and named: a value the process's choices do not hold.
                self.result.unmatched[f"field {k}"][f"{v} (not one of its choices)"] += 1
        if d.next_step.strip():
            fields["next_step"] = d.next_step.strip()
        name = d.name.strip()[:255]
        if not name:
            name = key
            self.problem("the deal has no name; its id is used", column="name", value=key,
                         fatal=False, file=d.file, row=d.row)
        return key, {
            "name": name, "account": account, "owner": owner, "team": self.teams.get(owner),
            "amount": amount, "currency": currency, "expected_close": close, "stage": stage,
            "status": status, "forecast_category": category, "probability": probability,
            "fields": fields, "closed_at": closed if status != "open" else None,
            "lost_reason": d.loss_reason.strip() if status == "lost" else "",
            "created_at": created,
        }, d.next_step.strip()

    def _category(self, text: str) -> str | None:
        mapped = self.value_maps.get("forecast_category", {}).get(text.strip())
        if mapped is not None:
            return mapped if mapped in FORECAST_CATEGORIES else None
        return forecast_category(text)

    # -- history

    def _history(self, cursor: Any) -> None:
        try:
            with transaction.atomic():
                self._write_history(cursor, self._streamed_groups())
        except _Regroup:
            self.result.counts["history"] = Counts()
            for info in self.deals.values():
                info.history = False
            for fixes in (self.fix_entered, self.fix_created, self.fix_lost_from):
                fixes.clear()
            self._write_history(cursor, self._grouped_in_memory())
        self._synthesise(cursor)

    def _streamed_groups(self) -> Iterator[tuple[str, list[SourceHistory]]]:
        done: set[str] = set()
        key: str | None = None
        group: list[SourceHistory] = []
        for h in self.export.history():
            k = h.deal_key.strip()
            if k != key:
                if key is not None:
                    yield key, group
                    done.add(key)
                if k in done:
                    raise _Regroup
                key, group = k, []
            group.append(h)
        if key is not None:
            yield key, group

    def _grouped_in_memory(self) -> Iterator[tuple[str, list[SourceHistory]]]:
        groups: dict[str, list[SourceHistory]] = defaultdict(list)
        for h in self.export.history():
            groups[h.deal_key.strip()].append(h)
        yield from groups.items()

    def _write_history(self, cursor: Any,
                       groups: Iterable[tuple[str, list[SourceHistory]]]) -> None:
        writer = bulk.Writer(connection, StageHistory, HISTORY_FIELDS)
        pending: list[tuple[_DealInfo, list[tuple[Any, ...]], list[tuple[Any, ...]]]] = []
        missing: Counter[str] = Counter()
        first_row: dict[str, SourceHistory] = {}
        size = 0
        for key, group in groups:
            info = self.deals.get(key)
            if info is None:
                missing[key] += len(group)
                first_row.setdefault(key, group[0])
                continue
            rows, keys = self._history_rows(info, group)
            pending.append((info, rows, keys))
            size += len(rows)
            if len(pending) >= CHUNK:
                self._flush_history(cursor, writer, pending, size)
                pending, size = [], 0
        self._flush_history(cursor, writer, pending, size)
        for key, n in missing.items():
            h = first_row[key]
            self.result.unmatched["history of a deal not in the export"][key] += n
            self.problem(f"{n} history row(s) of a deal that is not in the export (or was "
                         "refused); not imported", file=h.file, row=h.row, column="deal",
                         value=key, fatal=False)

    def _history_rows(self, info: _DealInfo, group: list[SourceHistory]
                      ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """One deal's history rows (in time order) and, for a deal that existed before, their
        identities. The hot path of a big import: nine rows per deal, so it avoids every call
        it can: kinds come from a table, amounts and dates are turned into their stored form
        once per change, and a CSV cell already in UTC is stored as its text."""
        zone, dt = self.zone, self.adapt.dt
        # Text both databases read as it is (COPY's text format, SQLite's stored form).
        utc_suffix = "" if self.adapt.sqlite else "+00"
        target, defaults, user, kinds = (self.plan.target, self.stage_defaults, self.user,
                                         self.kinds)
        ats = [h.at if h.at.tzinfo is not None else timezone.make_aware(h.at, zone)
               for h in group]
        pairs = list(zip(ats, group, strict=True))
        if any(ats[i] > ats[i + 1] for i in range(len(ats) - 1)):
            pairs.sort(key=lambda pair: pair[0])
        rows: list[tuple[Any, ...]] = []
        keys: list[tuple[Any, ...]] = []
        existed = info.existed
        previous = ""
        deal_id, currency, vid = info.id, info.currency, self.version.pk
        amount, close = info.amount, info.close
        stored_amount = str(amount)
        raw_amount: Decimal | None = None
        close_text = close.isoformat() if close is not None else None
        entered: datetime | None = None
        first_at: datetime | None = None
        lost_from = last_open = ""
        won, lost, deal_stage, append = WON, LOST, info.stage, rows.append
        for at, h in pairs:
            to = target.get(h.stage)
            if to is None:
                self.result.unmatched["stage"][h.stage] += 1
                self.problem(f"the stage '{h.stage}' is not in the mapping", file=h.file,
                             row=h.row, column="stage", value=h.stage)
                continue
            kind = kinds.get((previous, to))
            if kind is None:
                kind = kinds[previous, to] = self._kind(previous, to) if previous != to \
                    else "update"
            new_amount = h.amount
            if new_amount is not None and new_amount != raw_amount:
                raw_amount = new_amount
                if abs(raw_amount) < MAX_AMOUNT:
                    amount = raw_amount.quantize(CENT)
                    stored_amount = str(amount)
            new_close = h.close_date
            if new_close is not None and new_close != close:
                close = new_close
                close_text = close.isoformat()
            probability, category = defaults[to]
            if h.probability is not None and 0 <= h.probability <= 100:
                probability = h.probability
            if h.forecast_category and to != won and to != lost:
                mapped = self._category(h.forecast_category)
                if mapped is not None and mapped != "closed":
                    category = mapped
            by = user(h.by_key, what="history author") if h.by_key else None
            if to == deal_stage and kind != "update":
                entered = at
            if to == lost:
                lost_from = last_open
            elif to != won:
                last_open = to
            stamp = getattr(h, "utc", "")
            append((deal_id, kind, previous, to, stamp + utc_suffix if stamp else dt(at), by,
                    stored_amount, currency, close_text, category, probability, "{}", "", vid))
            if existed:
                keys.append((at, to, kind))
            if first_at is None:
                first_at = at
            previous = to
        if rows:
            info.history = True
            if entered is not None and entered != info.entered:
                self.fix_entered[deal_id] = entered
            if info.stage == LOST and lost_from and lost_from != info.lost_from:
                self.fix_lost_from[deal_id] = lost_from
            if (not info.created_known and not existed and first_at is not None
                    and first_at < info.created):
                self.fix_created[deal_id] = first_at
        return rows, keys

    def _kind(self, previous: str, to: str) -> str:
        if not previous:
            return "created"
        if to == previous:
            return "update"
        if to == WON:
            return "won"
        if to == LOST:
            return "lost"
        if previous in (WON, LOST):
            return "reopen"
        step = self.plan.order(to) - self.plan.order(previous)
        return "advance" if step == 1 else "skip" if step > 1 else "backward"

    def _flush_history(self, cursor: Any, writer: bulk.Writer,
                       pending: list[tuple[_DealInfo, list[tuple[Any, ...]],
                                           list[tuple[Any, ...]]]], size: int) -> None:
        counts = self.result.counts["history"]
        existed = [info.id for info, _, _ in pending if info.existed]
        have: set[tuple[Any, ...]] = set()
        if existed:
            have = {(deal, _utc(at), to, kind) for deal, at, to, kind in
                    StageHistory.objects.filter(deal_id__in=existed).values_list(
                        "deal_id", "at", "to_stage", "kind")}
        out: list[tuple[Any, ...]] = []
        for info, rows, keys in pending:
            if info.existed and have:
                for row, (at, to, kind) in zip(rows, keys, strict=True):
                    if (info.id, _utc(at), to, kind) in have:
                        counts.unchanged += 1
                    else:
                        out.append(row)
            else:
                out.extend(rows)
        writer.write(cursor, out)
        counts.created += len(out)
        self.tick("history", size)

    def _synthesise(self, cursor: Any) -> None:
        """A deal the history says nothing of still gets its entry: created in its stage (or
        closed, for a closed deal), at the times the deal itself gives."""
        a = self.adapt
        writer = bulk.Writer(connection, StageHistory, HISTORY_FIELDS)
        vid = self.version.pk
        pending: list[tuple[_DealInfo, list[tuple[Any, ...]], list[tuple[Any, ...]]]] = []
        quiet = [info for info in self.deals.values() if not info.history]
        existed = [info.id for info in quiet if info.existed]
        with_history: set[int] = set()
        for start in range(0, len(existed), CHUNK):
            with_history.update(StageHistory.objects.filter(
                deal_id__in=existed[start:start + CHUNK]).values_list("deal_id", flat=True))
        for info in quiet:
            if info.id in with_history:
                self.result.counts["history"].unchanged += 1
                continue
            probability, category = self.stage_defaults[info.stage]
            kind = info.stage if info.stage in (WON, LOST) else "created"
            at = info.entered if info.stage in (WON, LOST) else info.created
            pending.append((info, [(info.id, kind, "", info.stage, a.dt(at), None, info.amount,
                                    info.currency, a.day(info.close), category, probability,
                                    "{}", "", vid)], [(at, info.stage, kind)]))
            if len(pending) >= CHUNK:
                self._flush_history(cursor, writer, pending, len(pending))
                pending = []
        self._flush_history(cursor, writer, pending, len(pending))

    def _fixups(self, cursor: Any) -> None:
        """Deals whose stage entry, creation or lost-from stage the history told better."""
        a = self.adapt
        qn = connection.ops.quote_name
        table = qn(Deal._meta.db_table)
        fixes: tuple[tuple[dict[int, Any], str, Callable[[Any], Any]], ...] = (
            (self.fix_entered, "stage_entered_at", a.dt), (self.fix_created, "created_at", a.dt),
            (self.fix_lost_from, "lost_from_stage", str))
        for values, col, conv in fixes:
            if values:
                cursor.executemany(f"UPDATE {table} SET {qn(col)} = %s WHERE id = %s",
                                   [(conv(v), pk) for pk, v in values.items()])

    # -- stakeholders and activities

    def _stakeholders(self, roles: list[Any]) -> None:
        if not roles:
            return
        counts = self.result.counts["stakeholders"]
        deal_ids = {info.id for info in self.deals.values() if info.existed}
        have = set(Stakeholder.objects.filter(deal_id__in=deal_ids).values_list(
            "deal_id", "contact_id", "role")) if deal_ids else set()
        new: list[Stakeholder] = []
        for r in roles:
            info = self.deals.get(r.deal_key.strip())
            contact = self.contacts.get(r.contact_key.strip())
            if info is None or contact is None:
                what = "deal" if info is None else "contact"
                self.result.unmatched[f"stakeholder {what}"][
                    r.deal_key if info is None else r.contact_key] += 1
                continue
            role = slug_key(r.role or "contact", prefix="role")[:64]
            triple = (info.id, contact, role)
            if triple in have:
                counts.unchanged += 1
                continue
            have.add(triple)
            new.append(Stakeholder(deal_id=info.id, contact_id=contact, role=role,
                                   added_by=self.actor, added_at=self.now))
            counts.created += 1
        Stakeholder.objects.bulk_create(new, batch_size=2000)
        self.tick("stakeholders", len(new))

    def _activities(self) -> None:
        counts = self.result.counts["activities"]
        existing = {ext: pk for ext, pk in Activity.objects.filter(
            external_source=self.source).exclude(external_id="").values_list("external_id", "id")}
        new: list[Activity] = []
        changed: list[Activity] = []
        seen: set[str] = set()
        compared = ("deal_id", "kind", "subject", "body", "owner_id", "due_at", "done_at",
                    "created_at")
        batch: list[tuple[Any, dict[str, Any]]] = []

        def flush() -> None:
            ids = [existing[k] for k, _ in batch if k in existing]
            current = {a.pk: a for a in Activity.objects.filter(pk__in=ids)} if ids else {}
            for key, values in batch:
                pk = existing.get(key)
                if pk is None:
                    new.append(Activity(external_source=self.source, external_id=key,
                                        **values))
                    counts.created += 1
                    continue
                obj = current[pk]
                if any(getattr(obj, f) != values[f] for f in compared):
                    for f in compared:
                        setattr(obj, f, values[f])
                    changed.append(obj)
                    counts.updated += 1
                else:
                    counts.unchanged += 1
            Activity.objects.bulk_create(new, batch_size=2000)
            if changed:
                Activity.objects.bulk_update(changed, list(compared), batch_size=1000)
            self.tick("activities", len(batch))
            batch.clear()
            new.clear()
            changed.clear()

        for act in self.export.activities():
            key = act.key.strip()[:100]
            info = self.deals.get(act.deal_key.strip())
            if info is None:
                self.result.unmatched["activity of a deal not in the export"][act.deal_key] += 1
                continue
            if not key or key in seen:
                continue
            seen.add(key)
            kind = act.kind if act.kind in ACTIVITY_KINDS else "task"
            if act.kind not in ACTIVITY_KINDS:
                self.result.unmatched["activity kind"][f"{act.kind} → task"] += 1
            owner = self.user(act.owner_key, what="activity owner") if act.owner_key else None
            batch.append((key, {
                "deal_id": info.id, "kind": kind, "subject": (act.subject or kind)[:255],
                "body": act.body, "owner_id": owner, "due_at": self.aware(act.due_at),
                "done_at": self.aware(act.done_at),
                "created_at": self.aware(act.created_at) or self.aware(act.done_at)
                or self.aware(act.due_at) or info.created,
            }))
            if len(batch) >= CHUNK:
                flush()
        flush()


# ---------------------------------------------------------------------------- helpers


def _utc(value: datetime | None) -> datetime:
    if value is None:
        return datetime.min.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _domain(website: str) -> str:
    text = website.strip().lower()
    for prefix in ("https://", "http://"):
        if text.startswith(prefix):
            text = text[len(prefix):]
    if text.startswith("www."):
        text = text[4:]
    return text.split("/")[0][:255]


def _unique_problems(problems: Iterable[Problem]) -> list[Problem]:
    seen: set[Problem] = set()
    out: list[Problem] = []
    for p in problems:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


REPORT_COLUMNS = ("file", "row", "column", "problem", "value", "severity")


def report_path_for(export: SourceExport) -> Path | None:
    """Where the error report of an export goes: `<file>.errors.csv` beside its file, or
    `import-errors.csv` inside its folder."""
    raw = getattr(export, "path", None)
    if not raw:
        return None
    path = Path(raw)
    if path.is_dir():
        return path / "import-errors.csv"
    return path.with_name(path.stem + ".errors.csv")


def _write_report(result: ImportResult, export: SourceExport,
                  report_path: str | os.PathLike[str] | None) -> str | None:
    problems = list(result.problems)
    for kind, values in result.unmatched.items():
        for value, n in values.items():
            if n:
                problems.append(Problem("", None, kind, f"matched nothing ({n} rows)", value,
                                        fatal=False))
    if not problems:
        return None
    path = Path(report_path) if report_path else report_path_for(export)
    if path is None:
        return None
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow(REPORT_COLUMNS)
        for p in problems:
            out.writerow((p.file, "" if p.row is None else p.row, p.column,
                          _neutral(p.message), _neutral(p.value),
                          "error" if p.fatal else "warning"))
    return str(path)


def _neutral(text: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
