"""The manager view: a team's pipeline, stuck deals, overrides and gate adherence per rep.

Managers see the teams they manage; admins and revenue operations see every deal. Everything
is aggregated in the database, so the number of queries does not grow with the deals; Python
only arranges the few result rows. Amounts are kept per currency, never summed across them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import BooleanField, Case, Count, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from dealcraft.deals.models import Deal, ForecastCategory, StageHistory, Status
from dealcraft.domain.process import FORECAST_CATEGORIES, Process
from dealcraft.people.models import Team, User
from dealcraft.people.permissions import READ_ALL_ROLES, managed_team_ids

from .today import rots_at, stuck_filter

WINDOW_DAYS = 90
LIST_LIMIT = 25
TEAM_VIEW_ROLES = ("manager", *READ_ALL_ROLES)
CATEGORY_NAMES = dict(ForecastCategory.choices)
# Moves that leave a stage forward, so that a gate judged them.
GATED_MOVES = (StageHistory.Kind.ADVANCE, StageHistory.Kind.SKIP, StageHistory.Kind.OVERRIDE,
               StageHistory.Kind.WON)


def may_view_team(user: Any) -> bool:
    """Managers, revenue operations and admins; reps and viewers are refused."""
    return bool(getattr(user, "is_authenticated", False) and user.is_active
                and user.role in TEAM_VIEW_ROLES)


def sees_every_team(user: Any) -> bool:
    return bool(user.role in READ_ALL_ROLES)


def team_scope(user: Any) -> list[int] | None:
    """The teams the view covers: None (every deal) for admins and ops, the managed teams'
    ids for a manager."""
    return None if sees_every_team(user) else managed_team_ids(user)


def team_deals(team_ids: list[int] | None) -> QuerySet[Deal]:
    deals = Deal.objects.all()
    return deals if team_ids is None else deals.filter(team_id__in=team_ids)


def team_names(team_ids: list[int] | None) -> list[str]:
    teams = Team.objects.order_by("name")
    if team_ids is not None:
        teams = teams.filter(id__in=team_ids)
    return list(teams.values_list("name", flat=True))


# ---------------------------------------------------------------------------- pipeline


@dataclass
class Cell:
    """Open deals in one stage and forecast category (or a total): a count and the amount
    in each currency."""

    count: int = 0
    stuck: int = 0
    amounts: dict[str, Decimal] = field(default_factory=dict)

    def add(self, count: int, stuck: int, currency: str, amount: Decimal) -> None:
        self.count += count
        self.stuck += stuck
        self.amounts[currency] = self.amounts.get(currency, Decimal("0")) + amount

    @property
    def amount_list(self) -> list[tuple[str, Decimal]]:
        return sorted(self.amounts.items())


@dataclass
class StageRow:
    key: str
    name: str
    cells: list[Cell]
    total: Cell


@dataclass
class Pipeline:
    categories: list[tuple[str, str]]
    rows: list[StageRow]
    totals: list[Cell]
    total: Cell


def pipeline(deals: QuerySet[Deal], process: Process, now: datetime) -> Pipeline:
    """Open deals by stage × forecast category × currency, with stuck counts, in one query."""
    categories = [(key, CATEGORY_NAMES.get(key, key)) for key in FORECAST_CATEGORIES]
    found = (deals.filter(status=Status.OPEN).order_by()
             .values("stage", "forecast_category", "currency")
             .annotate(n=Count("id"), stuck=Count("id", filter=stuck_filter(process, now)),
                       amount=Sum("amount")))
    by_stage: dict[str, dict[str, Cell]] = defaultdict(lambda: defaultdict(Cell))
    for row in found:
        by_stage[row["stage"]][row["forecast_category"]].add(
            row["n"], row["stuck"], row["currency"], Decimal(row["amount"] or 0))
    names = {s.key: s.name for s in process.stages}
    # Stages a newer process dropped still hold deals; they are listed after the current ones.
    keys = [*process.stage_keys, *sorted(k for k in by_stage if k not in names)]
    extra = sorted({c for cells in by_stage.values() for c in cells} - dict(categories).keys())
    categories += [(key, CATEGORY_NAMES.get(key, key)) for key in extra]
    rows, totals, total = [], [Cell() for _ in categories], Cell()
    for key in keys:
        cells = [by_stage[key].get(cat, Cell()) for cat, _ in categories]
        stage_total = Cell()
        for i, cell in enumerate(cells):
            for currency, amount in cell.amounts.items():
                stage_total.add(0, 0, currency, amount)
                totals[i].add(0, 0, currency, amount)
                total.add(0, 0, currency, amount)
            stage_total.count += cell.count
            stage_total.stuck += cell.stuck
            totals[i].count += cell.count
            totals[i].stuck += cell.stuck
        total.count += stage_total.count
        total.stuck += stage_total.stuck
        rows.append(StageRow(key=key, name=names.get(key, key), cells=cells, total=stage_total))
    return Pipeline(categories=categories, rows=rows, totals=totals, total=total)


@dataclass(frozen=True)
class Stuck:
    deal: Deal
    stage_name: str
    days_in_stage: int
    rotting_days: int

    @property
    def days_over(self) -> int:
        return self.days_in_stage - self.rotting_days


def stuck_deals(deals: QuerySet[Deal], process: Process, now: datetime,
                limit: int = LIST_LIMIT) -> list[Stuck]:
    """The open deals furthest past their stage's rotting days, with owner and account."""
    found = (deals.filter(stuck_filter(process, now), status=Status.OPEN)
             .select_related("owner", "account")
             .annotate(rots=rots_at(process)).order_by("rots", "id")[:limit])
    return [Stuck(deal=deal, stage_name=process.stage(deal.stage).name,
                  days_in_stage=(now - deal.stage_entered_at).days,
                  rotting_days=process.stage(deal.stage).rotting_days)
            for deal in found]


# ---------------------------------------------------------------------------- overrides


@dataclass(frozen=True)
class Override:
    entry: StageHistory
    from_name: str
    to_name: str
    unmet: tuple[str, ...]


def recent_overrides(team_ids: list[int] | None, process: Process, since: datetime,
                     limit: int = LIST_LIMIT) -> list[Override]:
    """Moves made past an unmet gate by override since `since`, newest first, with the
    criteria that were unmet."""
    names = {**{s.key: s.name for s in process.stages}, "won": "Won"}
    found = (_gated_history(team_ids, since).filter(_overridden())
             .select_related("deal", "deal__owner", "by").order_by("-at", "-id")[:limit])
    return [
        Override(entry=entry, from_name=names.get(entry.from_stage, entry.from_stage),
                 to_name=names.get(entry.to_stage, entry.to_stage),
                 unmet=tuple(str(u.get("label") or u.get("key", ""))
                             for u in (entry.gate_result or {}).get("blocking", ())))
        for entry in found
    ]


def _gated_history(team_ids: list[int] | None, since: datetime) -> QuerySet[StageHistory]:
    history = StageHistory.objects.filter(kind__in=GATED_MOVES, at__gte=since)
    return history if team_ids is None else history.filter(deal__team_id__in=team_ids)


def _overridden() -> Q:
    return Q(kind=StageHistory.Kind.OVERRIDE) | ~Q(override_reason="")


# ---------------------------------------------------------------------------- adherence


@dataclass
class Adherence:
    """How one owner's deals went through the gates in the window."""

    owner_id: int
    name: str
    passed: int = 0
    warned: int = 0
    overridden: int = 0
    skipped_stages: int = 0
    open_deals: int = 0
    without_next_step: int = 0

    @property
    def moves(self) -> int:
        return self.passed + self.warned + self.overridden

    @property
    def passed_share(self) -> float | None:
        return self.passed / self.moves if self.moves else None

    @property
    def passed_percent(self) -> str:
        share = self.passed_share
        return "—" if share is None else f"{share:.0%}"


def adherence(team_ids: list[int] | None, process: Process, since: datetime,
              members: QuerySet[User] | None) -> list[Adherence]:
    """Per deal owner: forward moves that passed their gate, passed with warnings (warn-mode
    gates), or were overridden; stages skipped over; open deals and those without a next step.
    `members` adds people who have no deals yet (the managed teams' reps)."""
    people: dict[int, Adherence] = {}

    def person(pk: int, first: str, last: str, username: str) -> Adherence:
        if pk not in people:
            people[pk] = Adherence(owner_id=pk, name=f"{first} {last}".strip() or username)
        return people[pk]

    if members is not None:
        for pk, first, last, username in members.values_list("id", "first_name", "last_name",
                                                             "username"):
            person(pk, first, last, username)
    moves = (
        _gated_history(team_ids, since)
        .annotate(
            forced=Case(When(_overridden(), then=Value(True)), default=Value(False),
                        output_field=BooleanField()),
            warned=Case(When(gate_result__warnings__0__isnull=False, then=Value(True)),
                        default=Value(False), output_field=BooleanField()),
        )
        .order_by()
        .values("deal__owner_id", "deal__owner__first_name", "deal__owner__last_name",
                "deal__owner__username", "from_stage", "to_stage", "forced", "warned")
        .annotate(n=Count("id"))
    )
    for row in moves:
        who = person(row["deal__owner_id"], row["deal__owner__first_name"],
                     row["deal__owner__last_name"], row["deal__owner__username"])
        if row["forced"]:
            who.overridden += row["n"]
        elif row["warned"]:
            who.warned += row["n"]
        else:
            who.passed += row["n"]
        who.skipped_stages += row["n"] * _stages_between(process, row["from_stage"],
                                                         row["to_stage"])
    open_rows = (team_deals(team_ids).filter(status=Status.OPEN).order_by()
                 .values("owner_id", "owner__first_name", "owner__last_name", "owner__username")
                 .annotate(n=Count("id"), missing=Count("id", filter=Q(next_step__isnull=True))))
    for row in open_rows:
        who = person(row["owner_id"], row["owner__first_name"], row["owner__last_name"],
                     row["owner__username"])
        who.open_deals, who.without_next_step = row["n"], row["missing"]
    return sorted(people.values(), key=lambda a: (a.name.casefold(), a.owner_id))


def _stages_between(process: Process, from_stage: str, to_stage: str) -> int:
    """Stages jumped over by a forward move (0 for a move to the next stage)."""
    keys = process.stage_keys
    if from_stage not in keys or (to_stage not in keys and to_stage != "won"):
        return 0
    return max(process.index(to_stage) - process.index(from_stage) - 1, 0)


# ---------------------------------------------------------------------------- the page


@dataclass
class TeamView:
    teams: list[str]
    every_team: bool
    since: datetime
    pipeline: Pipeline
    stuck: list[Stuck]
    overrides: list[Override]
    adherence: list[Adherence]


def team_view(user: Any, process: Process, now: datetime | None = None) -> TeamView:
    """Everything the manager view shows except the funnel (`reports.pipeline_report`)."""
    now = now or timezone.now()
    since = now - timedelta(days=WINDOW_DAYS)
    team_ids = team_scope(user)
    deals = team_deals(team_ids)
    members = (None if team_ids is None else
               User.objects.filter(team_id__in=team_ids, role="rep", is_active=True))
    return TeamView(
        teams=team_names(team_ids), every_team=team_ids is None, since=since,
        pipeline=pipeline(deals, process, now),
        stuck=stuck_deals(deals, process, now),
        overrides=recent_overrides(team_ids, process, since),
        adherence=adherence(team_ids, process, since, members),
    )
