"""The demo company's rows, generated deterministically from a seed.

Pure Python over the parsed process (no Django), so the builder can run it in a worker process
while it writes. Rows are plain tuples in the column order of `TABLE_FIELDS`; times are already
formatted as UTC text (``YYYY-MM-DD HH:MM:SS``), which SQLite stores as Django does and
PostgreSQL reads in the UTC session Django opens.

Time runs in business days: every duration is drawn in working days and mapped to weekdays
between 08:00 and 18:00, so deals move on weekdays and a deal's events stay in order.

Determinism: accounts come from one stream, and each block of `CHUNK_DEALS` deals from its
own stream keyed by the seed and the block number, so the same seed, size and day give the
same company however the work is split.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from dealcraft.domain.gates import DealFacts, GateResult, Transition, Unmet, unmet_reason
from dealcraft.domain.process import Criterion, Process
from dealcraft.domain.scoring import framework_score

from . import names as N

CHUNK_DEALS = 10_000
ACCOUNT_CHUNK = 20_000
DEALS_PER_ACCOUNT = 3.3
HISTORY_BUSINESS_DAYS = 522  # 24 months of weekdays

Row = tuple[Any, ...]

# Column order of each table's rows (model field names; the builder maps them to columns).
# Tables without an `id` here get theirs from the database: nothing refers to their rows.
TABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "account": ("id", "name", "domain", "industry", "employees", "country", "owner",
                "external_source", "external_id", "created_at"),
    "contact": ("id", "account", "first_name", "last_name", "email", "phone", "title",
                "external_source", "external_id", "created_at"),
    "next_step": ("id", "deal", "text", "due", "owner", "buyer_confirmed", "set_by", "set_at"),
    "deal": ("id", "name", "account", "owner", "team", "amount", "currency", "expected_close",
             "stage", "status", "forecast_category", "probability", "fields", "process_version",
             "next_step", "stage_entered_at", "created_at", "updated_at", "closed_at",
             "lost_reason", "lost_reason_category", "lost_from_stage", "version",
             "external_source", "external_id"),
    "history": ("deal", "kind", "from_stage", "to_stage", "at", "by", "amount", "currency",
                "expected_close", "forecast_category", "probability", "gate_result",
                "override_reason", "process_version"),
    "evidence": ("deal", "criterion", "stage", "kind", "text", "url", "file", "file_name",
                 "content_type", "size", "recorded_by", "recorded_at"),
    "activity": ("deal", "kind", "subject", "body", "owner", "due_at", "done_at", "created_at",
                 "external_source", "external_id"),
    "stakeholder": ("deal", "contact", "role", "influence", "support", "added_by", "added_at"),
    "qualification": ("deal", "framework", "criterion", "level", "evidence", "answered_by",
                      "answered_at"),
}

SEGMENTS = ("smb", "mid_market", "enterprise")
SEGMENT_SHARE = (0.45, 0.80)  # cumulative: SMB, then mid-market, the rest enterprise
EMPLOYEES = ((10, 199), (200, 1999), (2000, 60000))
AMOUNTS = ((5_000, 20_000, 100), (20_000, 80_000, 500), (80_000, 500_000, 1_000))
DURATION_FACTOR = (0.7, 1.1, 1.8)  # enterprise deals move slower
CYCLE_BUSINESS_DAYS = (35, 65, 110)  # the close date a rep first puts on a deal
# Stage-to-next conversion for the pipeline's stages in order (then to won); a process with
# more stages repeats the last figure.
CONVERSION = (0.70, 0.60, 0.55, 0.60, 0.65, 0.70)
# A stage's median duration, as a share of its rotting days (in business days).
MEDIAN_SHARE = 0.6
SIGMA = 0.55
LOST_LINGER = 2.0  # deals that will be lost drag on before anyone admits it
# A deal moved on with exit criteria unmet (overridden or warned past) converts less often in
# every later stage: the process's criteria carry real signal for the criteria report.
UNMET_PENALTY = 0.6
SKIP_RATE = 0.05
WARN_RATE = 0.12
UPDATE_RATE = 0.15
MISSING_NEXT_STEP = 0.12
OVERDUE_NEXT_STEP = 0.15
# Per rep within a team: how well they convert and how often their manager overrides a gate.
REP_SKILL = (1.12, 1.05, 1.0, 0.94, 0.86)
REP_OVERRIDE = (0.02, 0.035, 0.05, 0.07, 0.10)
# Custom fields a rep fills as the deal gets there, when no exit criterion asks for them:
# the pipeline position (0 = first stage) after which each is known.
FIELD_STAGE = {"problem_statement": 1, "business_impact": 1, "trigger_event": 0}


@dataclass(frozen=True)
class TeamSpec:
    """A sales team as the generator needs it; teams are given in `SEGMENTS` order."""

    segment: str
    team_id: int
    rep_ids: tuple[int, ...]
    manager_id: int


@dataclass(frozen=True)
class Spec:
    """Everything the generator needs; plain data so that it can cross to a worker process."""

    seed: int
    deals: int
    today: date
    process: Process
    process_version_id: int
    teams: tuple[TeamSpec, ...]
    first_account_id: int
    first_contact_id: int
    first_deal_id: int
    first_next_step_id: int

    @property
    def accounts(self) -> int:
        return max(3, round(self.deals / DEALS_PER_ACCOUNT))


@dataclass
class Chunk:
    """Rows for some tables, and how many deals they complete (for the progress bar)."""

    rows: dict[str, list[Row]]
    deals: int = 0
    stats: Counter[str] = field(default_factory=Counter)


def generate(spec: Spec) -> Iterator[Chunk]:
    """Every row of the demo company, accounts first, then deals in blocks."""
    gen = _Generator(spec)
    yield from gen.accounts()
    for block in range(0, spec.deals, CHUNK_DEALS):
        yield gen.deal_block(block // CHUNK_DEALS, block, min(spec.deals, block + CHUNK_DEALS))


def produce(spec: Spec, out: Any) -> None:
    """Worker-process entry: put every chunk on the `out` queue, then None (or the error)."""
    try:
        for chunk in generate(spec):
            out.put(chunk)
        out.put(None)
    except BaseException:  # the writer must hear of any failure, not wait for more rows
        import traceback

        out.put(traceback.format_exc())
        raise


# ---------------------------------------------------------------------------- calendar


class _Calendar:
    """Business days as indexes: `day[b]` is the b-th weekday from the start, as text."""

    def __init__(self, today: date) -> None:
        # Wide enough for accounts opened before the first deal and close dates pushed out.
        start = today - timedelta(days=1300)
        end = today + timedelta(days=900)
        days: list[date] = []
        d = start
        while d < end:
            if d.weekday() < 5:
                days.append(d)
            d += timedelta(days=1)
        self.today = today
        #: Index of the first business day on or after today: times below it are past.
        self.now = next(i for i, d in enumerate(days) if d >= today)
        self.date = [d.isoformat() for d in days]
        self.stamp_day = [d.isoformat() + " " for d in days]
        self.ordinal = [d.toordinal() for d in days]
        self.label = [f"{d.day} {d:%b}" for d in days]
        self.minute = [f"{8 + m // 60:02d}:{m % 60:02d}:00" for m in range(600)]
        self.last = len(days) - 1

    def stamp(self, b: float) -> str:
        i = int(b)
        return self.stamp_day[i] + self.minute[int((b - i) * 600)]


# ---------------------------------------------------------------------------- the process


# What meeting a criterion takes, as codes the hot loop compares cheaply.
CHECKLIST, FIELD, STAKEHOLDER, ACTIVITY, QUALIFY, NOTHING = range(6)
_CODES = {"checklist": CHECKLIST, "field_set": FIELD, "field_compare": FIELD,
          "stakeholder": STAKEHOLDER, "activity": ACTIVITY, "qualification_score": QUALIFY}


@dataclass
class _Stage:
    key: str
    index: int
    probability: int
    forecast_category: str
    rotting_days: int
    enforced: bool
    criteria: tuple[Criterion, ...]
    work: tuple[tuple[int, Criterion], ...]
    median: float
    conversion: float
    skippable: bool
    fields: tuple[str, ...]
    meeting_subject: str

    @property
    def rotting_business_days(self) -> float:
        return self.rotting_days * 5 / 7


class _Plan:
    """The process, read once into what generation needs, with gate results pre-rendered."""

    def __init__(self, process: Process, today: date, rng: random.Random) -> None:
        self.process = process
        self.today = today
        custom = {f.key for f in process.fields}
        asked = {c.field for _, c in process.all_criteria()
                 if c.kind in ("field_set", "field_compare")}
        any_next = any(s.next for s in process.stages)
        n = len(process.stages)
        self.stages: list[_Stage] = []
        for i, s in enumerate(process.stages):
            own_activity = any(c.kind == "activity" and c.since_stage == s.key
                               for c in s.exit_criteria)
            unknowable = any(c.kind in ("approval", "buyer_milestone") for c in s.exit_criteria)
            work = tuple(
                (_CODES.get(c.kind, NOTHING), c) for c in s.exit_criteria
                if c.kind != "activity" or c.activities)
            self.stages.append(_Stage(
                key=s.key, index=i, probability=s.probability,
                forecast_category=s.forecast_category, rotting_days=s.rotting_days,
                enforced=s.gate == "enforce", criteria=s.exit_criteria, work=work,
                median=max(1.0, s.rotting_days * MEDIAN_SHARE * 5 / 7),
                conversion=CONVERSION[min(i, len(CONVERSION) - 1)],
                skippable=(process.settings.skip == "gates" and not any_next and 0 < i < n - 1
                           and not own_activity and not unknowable),
                fields=tuple(k for k, at in FIELD_STAGE.items()
                             if min(at, n - 1) == i and k in custom and k not in asked),
                meeting_subject=N.MEETING_SUBJECTS[min(i, len(N.MEETING_SUBJECTS) - 1)],
            ))
        self.qualifying_stage = next(
            (s.index for s in self.stages
             if any(c.kind == "qualification_score" for c in s.criteria)), -1)
        self.won_criteria = process.won_criteria
        self.won_mode = process.won_gate
        self.roles = tuple(k for k, _ in process.stakeholder_roles)
        self.fields = {f.key: f for f in process.fields}
        self.has_segment = "segment" in self.fields and \
            set(SEGMENTS) <= set(self.fields["segment"].choices)
        self.lead_sources: tuple[str, ...] = ()
        if "lead_source" in self.fields:
            choices = self.fields["lead_source"].choices
            self.lead_sources = tuple(s for s in N.LEAD_SOURCES if s in choices) or choices
        # Per stage, the loss categories seen there, each with its reason and rendered row.
        categories = tuple(k for k, _ in process.lost_reasons) or ("other",)
        self.losses: list[list[tuple[str, str, str]]] = []
        for i in range(n):
            pool = [k for k in (N.LOSS_LATE if i * 2 >= n else N.LOSS_EARLY)
                    if k in categories] or list(categories)
            self.losses.append([
                (k, reason, json.dumps({"reason": reason, "category": k},
                                       separators=(",", ":")))
                for k in pool for reason in N.LOSS_REASONS.get(k, N.LOSS_REASONS["other"])])
        self.pv_json: dict[tuple[Any, ...], str] = {}
        # Qualification: the framework a score criterion uses (or the process's own).
        score = next((c for _, c in process.all_criteria() if c.kind == "qualification_score"),
                     None)
        fw_key = score.framework if score else process.qualification_framework
        self.framework = None
        self.passing: list[tuple[tuple[str, int, str], ...]] = []
        self.failing: list[tuple[tuple[str, int, str], ...]] = []
        if fw_key:
            with_key = [fw for fw in process.frameworks if fw.key == fw_key]
            if with_key:
                self.framework = with_key[0]
                threshold = score.min if score else process.qualification_threshold
                self._answer_pools(rng, threshold)

    def _answer_pools(self, rng: random.Random, threshold: float) -> None:
        assert self.framework is not None
        keys = [c.key for c in self.framework.criteria]
        tries = 0
        while (len(self.passing) < 48 or len(self.failing) < 16) and tries < 20_000:
            tries += 1
            levels = {k: rng.choice((1, 2, 2, 3, 3)) for k in keys}
            score = framework_score(self.framework, levels)
            vector = tuple((k, level, N.QUALIFICATION_EVIDENCE.get(k, "Confirmed with the buyer.")
                            if level >= 2 else "") for k, level in levels.items())
            if score >= threshold and len(self.passing) < 48:
                self.passing.append(vector)
            elif 0 < score < threshold and len(self.failing) < 16:
                self.failing.append(vector)
        if not self.passing:
            self.passing.append(tuple((k, 3, "Confirmed with the buyer.") for k in keys))
        if not self.failing:
            self.failing.append(tuple((k, 0, "") for k in keys))

    def criteria_of(self, gate: str) -> tuple[tuple[Criterion, ...], str]:
        if gate == "won":
            return self.won_criteria, self.won_mode
        stage = next(s for s in self.stages if s.key == gate)
        return stage.criteria, "enforce" if stage.enforced else "warn"

    def transition(self, src: int, dst: int, unmet: tuple[str, ...] = (),
                   failing: int = -1) -> str:
        """The gate result of a move, rendered as the services render it (cached)."""
        key = (src, dst, unmet, failing)
        cached = self.pv_json.get(key)
        if cached is not None:
            return cached
        n = len(self.stages)
        gates = [self.stages[k].key for k in range(src, min(dst, n))]
        if dst >= n:
            gates.append("won")
        direction = "won" if dst >= n else ("forward" if dst == src + 1 else "skip")
        qualification: dict[str, dict[str, int]] = {}
        if failing >= 0 and self.framework is not None:
            qualification = {self.framework.key: {
                k: level for k, level, _ in self.failing[failing]}}
        facts = DealFacts(today=self.today, qualification=qualification)
        results = []
        for gate in gates:
            criteria, mode = self.criteria_of(gate)
            met = tuple(c.key for c in criteria if c.key not in unmet)
            missing = tuple(
                Unmet(c.key, c.label, unmet_reason(self.process, c, facts) or c.label, gate)
                for c in criteria if c.key in unmet)
            results.append(GateResult(gate, mode, met, missing))
        blocking = tuple(u for g in results if g.mode == "enforce" for u in g.unmet)
        warnings = tuple(u for g in results if g.mode == "warn" for u in g.unmet)
        to = "won" if dst >= n else self.stages[dst].key
        rendered = json.dumps(Transition(self.stages[src].key, to, direction, tuple(results),
                                         blocking, warnings).as_dict(), separators=(",", ":"))
        self.pv_json[key] = rendered
        return rendered


# ---------------------------------------------------------------------------- accounts


@dataclass
class _Accounts:
    """What deals need to know about each account, by position."""

    name: list[str] = field(default_factory=list)
    segment: list[int] = field(default_factory=list)
    owner: list[int] = field(default_factory=list)
    currency: list[str] = field(default_factory=list)
    first_contact: list[int] = field(default_factory=list)
    contacts: list[int] = field(default_factory=list)


def _weighted(items: Sequence[tuple[Any, ...]]) -> list[int]:
    out: list[int] = []
    for i, item in enumerate(items):
        out += [i] * int(item[1])
    return out


class _Generator:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.cal = _Calendar(spec.today)
        self.plan = _Plan(spec.process, spec.today, random.Random(f"{spec.seed}/plan"))
        self.book = _Accounts()
        self.salt = random.Random(f"{spec.seed}/salt").getrandbits(32)
        self.next_step_id = spec.first_next_step_id
        self.skill: dict[int, float] = {}
        self.override_rate: dict[int, float] = {}
        self.manager: dict[int, int] = {}
        self.team_of: dict[int, int] = {}
        for team in spec.teams:
            for i, rep in enumerate(team.rep_ids):
                self.skill[rep] = REP_SKILL[i % len(REP_SKILL)]
                self.override_rate[rep] = REP_OVERRIDE[i % len(REP_OVERRIDE)]
                self.manager[rep] = team.manager_id
                self.team_of[rep] = team.team_id

    # -- people at accounts

    def person(self, contact_index: int) -> tuple[str, str, int]:
        """First name, last name and a title pick for a contact, derived from its position."""
        h = ((contact_index + 1) * 2654435761 + self.salt) & 0xFFFFFFFF
        h ^= h >> 13
        return (N.FIRST_NAMES[h % len(N.FIRST_NAMES)],
                N.LAST_NAMES[(h >> 7) % len(N.LAST_NAMES)], (h >> 17))

    def title(self, slot: int, pick: int, segment: int) -> str:
        if slot == 0 and segment == 0:
            return N.SMB_TOP_TITLES[pick % len(N.SMB_TOP_TITLES)]
        titles = N.TITLES_BY_SLOT[slot % len(N.TITLES_BY_SLOT)]
        return titles[pick % len(titles)]

    def who(self, acc: int, slot: int) -> tuple[int, str]:
        """The contact filling a slot at an account, with how a rep would cite them."""
        book = self.book
        n = book.contacts[acc]
        index = book.first_contact[acc] + slot % n - self.spec.first_contact_id
        first, last, pick = self.person(index)
        title = self.title(slot % n, pick, book.segment[acc])
        return self.spec.first_contact_id + index, f"{first} {last} ({title})"

    # -- accounts and contacts

    def accounts(self) -> Iterator[Chunk]:
        spec, cal, book = self.spec, self.cal, self.book
        total = spec.accounts
        heads, tails = N.NAME_HEADS, N.NAME_TAILS
        industries = _weighted(N.INDUSTRIES)
        countries = _weighted(N.COUNTRIES)
        kinds = max(len(i[2]) for i in N.INDUSTRIES)
        space = len(heads) * len(tails) * kinds
        rng = random.Random(f"{spec.seed}/accounts")
        # Walk the name space with a stride coprime to its size: distinct names until it wraps.
        stride = rng.randrange(space // 3, space // 2)
        while math.gcd(stride, space) != 1:
            stride += 1
        offset = rng.randrange(space)
        contact_id = spec.first_contact_id
        start_b = cal.now - HISTORY_BUSINESS_DAYS
        for lo in range(0, total, ACCOUNT_CHUNK):
            accounts: list[Row] = []
            contacts: list[Row] = []
            r = rng.random
            for i in range(lo, min(total, lo + ACCOUNT_CHUNK)):
                n = (offset + i * stride) % space
                head, tail = heads[n % len(heads)], tails[(n // len(heads)) % len(tails)]
                industry, _, words = N.INDUSTRIES[industries[int(r() * len(industries))]]
                word = words[(n // (len(heads) * len(tails))) % len(words)]
                country, _, currency, tld, forms, phone = N.COUNTRIES[
                    countries[int(r() * len(countries))]]
                form = forms[int(r() * len(forms))]
                name = f"{head}{tail} {word}{form}"
                domain = f"{head}{tail}".lower() + tld
                u = r()
                segment = 0 if u < SEGMENT_SHARE[0] else (1 if u < SEGMENT_SHARE[1] else 2)
                lo_emp, hi_emp = EMPLOYEES[segment]
                employees = int(lo_emp * (hi_emp / lo_emp) ** r())
                if employees > 100:
                    employees = employees // 10 * 10
                team = spec.teams[segment]
                owner = team.rep_ids[int(r() * len(team.rep_ids))]
                created = cal.stamp(start_b - 5 - r() * 120)
                account_id = spec.first_account_id + i
                accounts.append((account_id, name, domain, industry, employees, country, owner,
                                 "", "", created))
                count = 2 + int(r() * 3)
                book.name.append(name)
                book.segment.append(segment)
                book.owner.append(owner)
                book.currency.append(currency)
                book.first_contact.append(contact_id)
                book.contacts.append(count)
                for slot in range(count):
                    first, last, pick = self.person(contact_id - spec.first_contact_id)
                    digits = str(1000 + (pick % 9000))
                    contacts.append((
                        contact_id, account_id, first, last,
                        f"{first}.{last}@{domain}".lower().replace(" ", "").replace("'", ""),
                        phone.format(a=digits[0], b=digits[1], c=digits[2], d=digits[3],
                                     e=str(pick % 10)),
                        self.title(slot, pick, segment), "", "", created,
                    ))
                    contact_id += 1
            yield Chunk({"account": accounts, "contact": contacts},
                        stats=Counter(accounts=len(accounts), contacts=len(contacts)))

    # -- deals

    def deal_block(self, number: int, lo: int, hi: int) -> Chunk:
        rows: dict[str, list[Row]] = {name: [] for name in TABLE_FIELDS
                                      if name not in ("account", "contact")}
        stats: Counter[str] = Counter()
        rng = random.Random(f"{self.spec.seed}/deals/{number}")
        for i in range(lo, hi):
            _DealStory(self, rng, rows, stats).tell(i)
        return Chunk(rows, deals=hi - lo, stats=stats)


class _DealStory:
    """One deal's life, written as rows: created, moved through the gates, closed or open."""

    __slots__ = ("g", "rng", "r", "rows", "stats", "id", "acc", "segment", "owner", "amount",
                 "currency", "expected", "fields", "roles", "kinds", "qualified", "version",
                 "last", "history", "cited", "stamp")

    def __init__(self, g: _Generator, rng: random.Random, rows: dict[str, list[Row]],
                 stats: Counter[str]) -> None:
        self.g, self.rng, self.r, self.rows, self.stats = g, rng, rng.random, rows, stats
        self.stamp = g.cal.stamp
        self.fields: dict[str, Any] = {}
        self.roles: set[str] = set()
        self.kinds: set[str] = set()
        self.qualified = False
        self.version = 1
        self.history: list[Row] = []
        self.cited: dict[int, tuple[int, str]] = {}

    def pick(self, seq: Sequence[Any]) -> Any:
        return seq[int(self.r() * len(seq))]

    def who(self, slot: int) -> tuple[int, str]:
        cited = self.cited.get(slot)
        if cited is None:
            cited = self.cited[slot] = self.g.who(self.acc, slot)
        return cited

    def tell(self, i: int) -> None:
        g, r, cal, plan = self.g, self.r, self.g.cal, self.g.plan
        spec, book, stamp = g.spec, g.book, self.stamp
        stages = plan.stages
        n = len(stages)
        self.id = deal_id = spec.first_deal_id + i
        self.acc = acc = int(r() * len(book.name))
        self.segment = segment = book.segment[acc]
        self.owner = owner = book.owner[acc]
        self.currency = book.currency[acc]
        lo, hi, step = AMOUNTS[segment]
        self.amount = int(lo * (hi / lo) ** r()) // step * step
        # More deals are opened as the company grows: density rises over the 24 months.
        q = (i + r()) / spec.deals
        grown = (-0.6 + math.sqrt(0.36 + 1.6 * q)) / 0.8
        t = created = cal.now - HISTORY_BUSINESS_DAYS + grown * (HISTORY_BUSINESS_DAYS - 0.01)
        self.last = created
        self.expected = created + CYCLE_BUSINESS_DAYS[segment] * (0.7 + 0.6 * r())
        fields = self.fields
        if plan.has_segment:
            fields["segment"] = SEGMENTS[segment]
        if plan.lead_sources:
            fields["lead_source"] = plan.lead_sources[int(r() * len(plan.lead_sources))]
        pv = spec.process_version_id
        first = stages[0]
        self.history.append((deal_id, "created", "", first.key, stamp(created), owner,
                             self.amount, self.currency, cal.date[int(self.expected)],
                             first.forecast_category, first.probability, "{}", "", pv))
        factor = DURATION_FACTOR[segment]
        skill = g.skill[owner]
        update_at = int(r() * n) if r() < UPDATE_RATE else -1
        lognormal = self.rng.lognormvariate
        k = 0
        now = cal.now
        shortfall = 1.0
        while True:
            stage = stages[k]
            duration = stage.median * factor * lognormal(0.0, SIGMA)
            advances = r() < stage.conversion * skill * shortfall
            if not advances:
                duration *= LOST_LINGER
            end = t + duration
            if k == update_at:
                self._update(stage, t + duration * (0.2 + 0.5 * r()))
            if end >= now:
                # Work stops well before the stage rots, so deals idle past it look idle.
                work_end = min(now, t + stage.rotting_business_days * 0.8)
                self._stage_work(stage, t, work_end, (), min(0.9, (now - t) / duration))
                self._open(stage, t)
                return
            if not advances:
                self._stage_work(stage, t, end, (), 0.5)
                self._lost(stage, end)
                return
            unmet: tuple[str, ...] = ()
            dst, kind, failing, reason, by = k + 1, "advance", -1, "", owner
            if dst + 1 < n and stages[dst].skippable and r() < SKIP_RATE:
                dst, kind = k + 2, "skip"
            elif stage.enforced and r() < g.override_rate[owner]:
                unmet = self._eligible_unmet(stage.criteria)
                if unmet:
                    kind, by = "override", g.manager[owner]
                    reason = self._override_reason(stage.criteria, unmet)
                    failing = self._failing_index(stage.criteria, unmet)
            elif not stage.enforced and r() < WARN_RATE:
                unmet = self._eligible_unmet(stage.criteria)[:1]
            self._stage_work(stage, t, end, unmet, None, failing)
            if kind == "skip":
                self._stage_work(stages[k + 1], t + duration * 0.5, end, (), None)
            if dst >= n:
                self._won_work(t, end)
                kind = "won"
                self.history.append((
                    deal_id, kind, stage.key, "won", stamp(end), by, self.amount,
                    self.currency, cal.date[int(self.expected)], "closed", 100,
                    plan.transition(k, dst, unmet, failing), reason, pv))
            else:
                target = stages[dst]
                self.history.append((
                    deal_id, kind, stage.key, target.key, stamp(end), by, self.amount,
                    self.currency, cal.date[int(self.expected)], target.forecast_category,
                    target.probability, plan.transition(k, dst, unmet, failing), reason, pv))
            self.stats[kind] += 1
            if reason:
                self.stats["overridden"] += 1
            elif unmet:
                self.stats["warned"] += 1
            if unmet:
                shortfall *= UNMET_PENALTY
            t = self.last = end
            if dst >= n:
                self._won(end)
                return
            k = dst

    # -- what happens inside a stage

    def _stage_work(self, stage: _Stage, start: float, end: float, unmet: tuple[str, ...],
                    chance: float | None, failing: int = -1) -> None:
        """Record the work that meets a stage's exit criteria between `start` and `end`.

        With `chance` (open or lost deals) each criterion is met only that often; criteria in
        `unmet` leave no trace, so an override's blocking list matches the record.
        """
        r = self.r
        span = end - start
        for code, c in stage.work:
            if unmet and c.key in unmet:
                if code == QUALIFY and failing >= 0:
                    self._answers(self.g.plan.failing[failing], start + span * 0.5)
                continue
            if chance is not None and r() >= chance:
                continue
            at = start + span * (0.15 + 0.8 * r())
            if code == CHECKLIST:
                self._evidence(c.key, stage.key, at)
            elif code == FIELD:
                self._set_field(c.field, stage.index, c)
            elif code == STAKEHOLDER:
                self._stakeholder(c, at)
            elif code == ACTIVITY:
                for _ in range(c.count):
                    self._activity(c.activities[0], at, stage.meeting_subject
                                   if c.activities[0] == "meeting" else
                                   self.pick(N.ACTIVITY_SUBJECTS[c.activities[0]]))
            elif code == QUALIFY and not self.qualified:
                self._answers(self.pick(self.g.plan.passing), at)
                self.qualified = True
        for key in stage.fields:
            if chance is None or r() < chance:
                self._set_field(key, stage.index)
        # Everyday selling around the gates.
        if r() < 0.3:
            self._activity("email", start + span * r(), self.pick(N.ACTIVITY_SUBJECTS["email"]))
        if r() < 0.08:
            self._activity("note", start + span * r(), self.pick(N.ACTIVITY_SUBJECTS["note"]))
        if chance is not None and stage.index == self.g.plan.qualifying_stage \
                and not self.qualified and r() < 0.3:
            self._answers(self.pick(self.g.plan.failing), start + span * 0.5, partial=True)

    def _eligible_unmet(self, criteria: Sequence[Criterion]) -> tuple[str, ...]:
        """One or two criteria that the record so far does not already meet."""
        open_ = [c.key for c in criteria if not self._already_met(c)]
        if not open_:
            return ()
        first = self.pick(open_)
        if len(open_) > 1 and self.r() < 0.2:
            second = self.pick([k for k in open_ if k != first])
            return tuple(k for k in open_ if k in (first, second))
        return (first,)

    def _already_met(self, c: Criterion) -> bool:
        if c.kind == "stakeholder":
            return sum(1 for role in c.roles if role in self.roles) >= c.count
        if c.kind in ("field_set", "field_compare"):
            return c.field not in self.g.plan.fields or c.field in self.fields
        if c.kind == "activity":
            return not c.since_stage and any(a in self.kinds for a in c.activities)
        if c.kind == "qualification_score":
            return self.qualified
        return c.kind in ("approval", "buyer_milestone")

    def _failing_index(self, criteria: Sequence[Criterion], unmet: tuple[str, ...]) -> int:
        if any(c.kind == "qualification_score" and c.key in unmet for c in criteria):
            return int(self.r() * len(self.g.plan.failing))
        return -1

    def _override_reason(self, criteria: Sequence[Criterion], unmet: tuple[str, ...]) -> str:
        kind = next(c.kind for c in criteria if c.key == unmet[0])
        return str(self.pick(N.OVERRIDE_REASONS.get(kind, N.OVERRIDE_DEFAULT)))

    # -- rows

    def _evidence(self, criterion: str, stage: str, at: float) -> None:
        r = self.r
        _, who = self.who(0 if stage == "won" or r() < 0.3 else 1)
        templates = N.EVIDENCE_TEXT.get(criterion, N.EVIDENCE_DEFAULT)
        text = templates[int(r() * len(templates))].format(
            who=who, day=self.g.cal.label[int(at)], n=5 + int(r() * 40), k=2 + int(r() * 6))
        link = N.EVIDENCE_LINKS.get(criterion)
        if link is not None and r() < 0.35:
            row = (self.id, criterion, stage, "link", text, link.format(deal=self.id), "", "",
                   "", 0, self.owner, self.stamp(at))
        else:
            row = (self.id, criterion, stage, "text", text, "", "", "", "", 0, self.owner,
                   self.stamp(at))
        self.rows["evidence"].append(row)
        if at > self.last:
            self.last = at

    def _activity(self, kind: str, at: float, subject: str, due: float | None = None) -> None:
        if "{" in subject:
            subject = subject.format(who=self.who(1)[1].split(" (")[0])
        stamp = self.stamp(at)
        if due is None:
            self.rows["activity"].append((self.id, kind, subject, "", self.owner, None, stamp,
                                          stamp, "", ""))
            self.kinds.add(kind)
        else:
            self.rows["activity"].append((self.id, kind, subject, "", self.owner,
                                          self.stamp(due), None, stamp, "", ""))
        if at > self.last:
            self.last = at

    def _stakeholder(self, c: Criterion, at: float) -> None:
        roles = self.roles
        for _ in range(c.count - sum(1 for role in c.roles if role in roles)):
            free = [role for role in c.roles if role not in roles]
            if not free:
                return
            # Champions are usually found first; others as the criterion asks.
            role = "champion" if "champion" in free and self.r() < 0.6 else self.pick(free)
            contact, _ = self.who(N.ROLE_SLOT.get(role, len(roles)))
            influence, support = N.ROLE_INFLUENCE_SUPPORT.get(role, (2, 0))
            self.rows["stakeholder"].append((self.id, contact, role, influence, support,
                                             self.owner, self.stamp(at)))
            roles.add(role)

    def _answers(self, vector: tuple[tuple[str, int, str], ...], at: float,
                 partial: bool = False) -> None:
        framework = self.g.plan.framework
        assert framework is not None
        stamp, deal, owner, key = self.stamp(at), self.id, self.owner, framework.key
        if partial:
            vector = vector[::2]
        self.rows["qualification"].extend(
            [(deal, key, criterion, level, evidence, owner, stamp)
             for criterion, level, evidence in vector])

    def _set_field(self, key: str, index: int, criterion: Criterion | None = None) -> None:
        spec = self.g.plan.fields.get(key)
        if spec is None or key in self.fields:
            return
        r = self.r
        value: Any
        if criterion is not None and criterion.kind == "field_compare":
            value = _satisfying(criterion)
        elif key == "urgency" and "high" in spec.choices:
            value = self.pick(N.URGENCY)
        elif key == "trigger_event":
            if r() < 0.5:
                return
            value = self.pick(N.TRIGGERS)
        elif key == "problem_statement":
            value = self.pick(N.PROBLEMS)
        elif key == "business_impact":
            value = self.pick(N.IMPACTS).format(n=5 + int(r() * 40), m=2 + int(r() * 5),
                                                k=2 + int(r() * 3))
        elif key == "success_criteria":
            value = self.pick(N.SUCCESS_CRITERIA)
        elif key == "decision_process":
            value = self.pick(N.DECISION_PROCESSES)
        elif key == "procurement_ticket":
            value = f"PO-{self.g.cal.today.year}-{10000 + self.id % 90000}"
        elif spec.type == "choice":
            value = self.pick(spec.choices)
        elif spec.type == "date":
            value = self.g.cal.date[int(self.expected)]
        elif spec.type == "number":
            value = str(1 + int(r() * 100))
        elif spec.type == "bool":
            value = True
        else:
            value = f"{spec.label}: confirmed with the buyer."
        self.fields[key] = value
        if index > 0:
            self.version += 1  # each later edit went through update_deal

    def _update(self, stage: _Stage, at: float) -> None:
        """The rep revised the amount or pushed out the close date (an `update` row)."""
        if at >= self.g.cal.now:
            return
        if self.r() < 0.5:
            step = AMOUNTS[self.segment][2]
            revised = max(step, int(self.amount * (0.75 + 0.5 * self.r())) // step * step)
            self.amount = revised if revised != self.amount else self.amount + step
        else:
            self.expected = max(self.expected, at) + 10 + self.r() * 40
        self.history.append((self.id, "update", stage.key, stage.key, self.stamp(at),
                             self.owner, self.amount, self.currency,
                             self.g.cal.date[int(self.expected)], stage.forecast_category,
                             stage.probability, "{}", "", self.g.spec.process_version_id))
        self.stats["update"] += 1
        if at > self.last:
            self.last = at

    def _won_work(self, start: float, end: float) -> None:
        at = start + (end - start) * 0.9
        for c in self.g.plan.won_criteria:
            if c.kind == "checklist":
                self._evidence(c.key, "won", at)

    # -- endings

    def _write(self, stage: str, status: str, category: str, probability: int, entered: float,
               closed: str | None, lost: tuple[str, str, str], next_step: int | None) -> None:
        g = self.g
        self.rows["history"].extend(self.history)
        self.version += len(self.history) - 1 + (1 if next_step is not None else 0)
        name = f"{g.book.name[self.acc]}: {self.pick(N.INITIATIVES)}"
        owner = self.owner
        self.rows["deal"].append((
            self.id, name, g.spec.first_account_id + self.acc, owner, g.team_of[owner],
            self.amount, self.currency, g.cal.date[int(self.expected)], stage, status, category,
            probability, _json_object(self.fields), g.spec.process_version_id, next_step,
            self.stamp(entered), self.history[0][4], self.stamp(self.last), closed, lost[0],
            lost[1], lost[2], self.version, "", ""))
        self.stats[f"deals_{status}"] += 1

    def _next_step(self, text: str, due: str, confirmed: bool, set_at: float) -> int:
        step = self.g.next_step_id
        self.g.next_step_id += 1
        self.rows["next_step"].append((step, self.id, text, due, self.owner, confirmed,
                                       self.owner, self.stamp(set_at)))
        return step

    def _open(self, stage: _Stage, entered: float) -> None:
        cal, r = self.g.cal, self.r
        now = cal.now
        stuck = cal.today.toordinal() - cal.ordinal[int(entered)] > stage.rotting_days
        if stuck:
            self.stats["stuck"] += 1
        step: int | None = None
        if r() < MISSING_NEXT_STEP:
            self.stats["missing_next_step"] += 1
        else:
            name = self.who(1)[1].split(" (")[0]
            texts = N.NEXT_STEPS[min(stage.index, len(N.NEXT_STEPS) - 1)]
            text = self.pick(texts).format(who=name)
            if stuck or r() < OVERDUE_NEXT_STEP:
                due = min(now - 1, max(int(entered) + 1, now - 1 - int(r() * 15)))
                self.stats["overdue_next_step"] += 1
            else:
                due = now + int(r() * r() * 20)
            set_at = max(entered, min(now - 0.05, due - 3 - r() * 7))
            confirmed = r() < 0.3 + 0.08 * stage.index
            if confirmed:
                self.stats["buyer_confirmed"] += 1
            step = self._next_step(text, cal.date[due], confirmed, set_at)
            if set_at > self.last:
                self.last = set_at
        if r() < 0.4:
            subject = self.pick(N.ACTIVITY_SUBJECTS["task"])
            if stuck:  # set when the deal last moved, and never done
                created = entered + 0.5 * r()
                self._activity("task", created, subject, due=created + 2 + 5 * r())
            else:
                self._activity("task", max(entered, now - 2 - r() * 5), subject,
                               due=now - 3 + r() * 12)
        self._write(stage.key, "open", stage.forecast_category, stage.probability, entered,
                    None, ("", "", ""), step)

    def _won(self, at: float) -> None:
        cal = self.g.cal
        name = self.who(0)[1].split(" (")[0]
        kickoff = min(cal.last, int(at) + 3 + int(self.r() * 7))
        step = self._next_step(f"Kickoff with {name} and customer success",
                               cal.date[kickoff], True, at)
        self._write("won", "won", "closed", 100, at, self.stamp(at), ("", "", ""), step)

    def _lost(self, stage: _Stage, at: float) -> None:
        plan = self.g.plan
        category, reason, rendered = self.pick(plan.losses[stage.index])
        self.history.append((
            self.id, "lost", stage.key, "lost", self.stamp(at), self.owner, self.amount,
            self.currency, self.g.cal.date[int(self.expected)], "omitted", 0, rendered, "",
            self.g.spec.process_version_id))
        self.last = at
        self._write("lost", "lost", "omitted", 0, at, self.stamp(at),
                    (reason, category, stage.key), None)


def _json_object(values: Mapping[str, Any]) -> str:
    """Compact JSON for a flat mapping; plain text values skip the encoder (hot path)."""
    parts = []
    for key, value in values.items():
        if type(value) is not str or '"' in value or "\\" in value or not value.isprintable():
            return json.dumps(values, separators=(",", ":"))
        parts.append(f'"{key}":"{value}"')
    return "{" + ",".join(parts) + "}"


def _satisfying(c: Criterion) -> Any:
    """A value that meets a field comparison, for processes that use them."""
    value = c.value
    if c.op == "in" and isinstance(value, tuple | list) and value:
        return value[0]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value + 1 if c.op == "gt" else value - 1 if c.op == "lt" else value)
    if c.op == "ne":
        return f"not {value}"
    return value if not isinstance(value, Mapping) else str(value)
