"""What the pipeline board reads, in a fixed number of queries however many deals there are.

Column headers come from one aggregate query (count and amount per stage and currency), and
cards from keyset pages of a column (ordered by expected close, then id) whose gate readiness
is computed from `facts_for_deals`: the cost of a page does not depend on how deep it is.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from dealcraft.deals.facts import facts_for_deals, gate_readiness
from dealcraft.deals.models import Deal, Status
from dealcraft.domain.process import Process, Stage
from dealcraft.people.models import Role, Team, User
from dealcraft.people.permissions import (
    READ_ALL_ROLES,
    can_edit_deal,
    managed_team_ids,
    visible_deals,
)

#: Cards in one page of a column; the next page loads on demand.
PAGE_SIZE = 50


# ---------------------------------------------------------------------------- filters


def quarter_bounds(today: date, offset: int = 0) -> tuple[date, date]:
    """First and last day of the calendar quarter `offset` quarters from today's."""
    index = (today.month - 1) // 3 + offset
    year, quarter = today.year + index // 4, index % 4
    start = date(year, quarter * 3 + 1, 1)
    following = date(year + (quarter + 1) // 4, (quarter + 1) % 4 * 3 + 1, 1)
    return start, following - timedelta(days=1)


def close_range(values: dict[str, Any], today: date) -> tuple[date | None, date | None]:
    period = values.get("close", "")
    if period == "this_quarter":
        return quarter_bounds(today)
    if period == "next_quarter":
        return quarter_bounds(today, 1)
    return values.get("close_from"), values.get("close_to")


def open_deals(user: Any, process: Process, values: dict[str, Any],
               today: date | None = None) -> QuerySet[Deal]:
    """The open deals the user may see that match the board's filters."""
    deals = visible_deals(user, Deal.objects.filter(status=Status.OPEN),
                          visibility=process.settings.visibility)
    if "owner" in values:
        deals = deals.filter(owner_id=values["owner"])
    if "team" in values:
        deals = deals.filter(team_id=values["team"])
    start, end = close_range(values, today or timezone.localdate())
    if start:
        deals = deals.filter(expected_close__gte=start)
    if end:
        deals = deals.filter(expected_close__lte=end)
    if "amount_min" in values:
        deals = deals.filter(amount__gte=values["amount_min"])
    if "amount_max" in values:
        deals = deals.filter(amount__lte=values["amount_max"])
    if "forecast" in values:
        deals = deals.filter(forecast_category=values["forecast"])
    return deals


def owner_choices(user: Any, process: Process) -> list[tuple[int, str]]:
    """The people whose deals the user can see, for the owner filter (one query)."""
    people = User.objects.exclude(role=Role.VIEWER)
    sees_all = (user.role in READ_ALL_ROLES
                or (user.role == Role.REP and process.settings.visibility == "all")
                or (user.role == Role.VIEWER and not user.team_id))
    if not sees_all:
        teams = managed_team_ids(user) if user.role == Role.MANAGER else [user.team_id]
        people = people.filter(Q(team_id__in=[t for t in teams if t]) | Q(pk=user.pk))
    rows = people.order_by("first_name", "last_name", "username").only(
        "id", "first_name", "last_name", "username")
    return [(p.pk, p.display_name) for p in rows]


def team_choices(user: Any, process: Process) -> list[tuple[int, str]]:
    """The teams whose deals the user can see, for the team filter (one query)."""
    teams = Team.objects.all()
    sees_all = (user.role in READ_ALL_ROLES
                or (user.role == Role.REP and process.settings.visibility == "all")
                or (user.role == Role.VIEWER and not user.team_id))
    if not sees_all:
        ids = managed_team_ids(user) if user.role == Role.MANAGER else [user.team_id]
        teams = teams.filter(pk__in=[t for t in ids if t])
    return list(teams.order_by("name").values_list("id", "name"))


# ---------------------------------------------------------------------------- columns


@dataclass(frozen=True)
class Column:
    """One stage of the board with the number and value of the open deals in it."""

    stage: Stage
    count: int
    amounts: tuple[tuple[str, Decimal], ...]  # per currency, never added across currencies

    @property
    def key(self) -> str:
        return self.stage.key


def columns(process: Process, deals: QuerySet[Deal],
            stage_keys: tuple[str, ...] | None = None) -> list[Column]:
    """The board's columns (all open stages, or those given) with their totals, in one query."""
    keys = stage_keys or process.stage_keys
    counts: dict[str, int] = defaultdict(int)
    amounts: dict[str, dict[str, Decimal]] = defaultdict(dict)
    rows = (deals.filter(stage__in=keys).order_by().values("stage", "currency")
            .annotate(n=Count("id"), total=Sum("amount")))
    for row in rows:
        counts[row["stage"]] += row["n"]
        amounts[row["stage"]][row["currency"]] = row["total"] or Decimal(0)
    return [Column(stage=process.stage(key), count=counts[key],
                   amounts=tuple(sorted(amounts[key].items())))
            for key in keys if process.has_stage(key)]


# ---------------------------------------------------------------------------- cards


@dataclass(frozen=True)
class Card:
    """A deal as its card shows it."""

    deal: Deal
    next_step_due: date | None
    next_step_state: str  # missing | overdue | today | scheduled
    days_in_stage: int
    rotting_days: int
    met: int
    criteria: int
    can_move: bool
    target_options: SafeString  # the "Move to…" menu's <option>s

    @property
    def rotting(self) -> bool:
        return self.days_in_stage > self.rotting_days

    @property
    def ready(self) -> bool:
        return self.met == self.criteria


@dataclass(frozen=True)
class Cursor:
    """Where a column page ends: the last card's expected close date and id."""

    close: date
    id: int

    def __str__(self) -> str:
        return f"{self.close.isoformat()}.{self.id}"

    @classmethod
    def parse(cls, text: str | None) -> Cursor | None:
        """The cursor in `text`, or None when there is none or it is malformed."""
        day, _, ident = (text or "").partition(".")
        try:
            cursor = cls(date.fromisoformat(day), int(ident))
        except ValueError:
            return None
        return cursor if 0 <= cursor.id < 2**63 else None


@dataclass(frozen=True)
class CardPage:
    cards: list[Card]
    next: Cursor | None


def move_targets(process: Process, stage: str) -> tuple[tuple[str, str], ...]:
    """Where a deal in `stage` could be moved from its card: every other stage, and won."""
    return (*((s.key, s.name) for s in process.stages if s.key != stage), ("won", "Won"))


def target_options(process: Process, stage: str) -> SafeString:
    """The menu's options for a deal in `stage`, the next stage forward selected.

    Built once per stage rather than once per card: a page of cards shares six menus.
    """
    targets = move_targets(process, stage)
    forward = process.forward_targets(stage) if process.has_stage(stage) else ()
    chosen = forward[0] if forward else targets[0][0]
    return format_html_join("", "{}", (
        (format_html('<option value="{}"{}>{}</option>', key,
                     " selected" if key == chosen else "", name),)
        for key, name in targets))


def cards(user: Any, process: Process, deals: list[Deal],
          today: date | None = None) -> list[Card]:
    """Cards for deals loaded with `account`, `owner` and `next_step` (five more queries)."""
    today = today or timezone.localdate()
    facts = facts_for_deals(deals, today)
    gates = gate_readiness(process, deals, facts)
    menus: dict[str, SafeString] = {}
    out = []
    for deal in deals:
        step = deal.next_step if deal.next_step_id else None
        due = step.due if step else None
        if due is None:
            state = "missing"
        elif due < today:
            state = "overdue"
        elif due == today:
            state = "today"
        else:
            state = "scheduled"
        stage = process.stage(deal.stage) if process.has_stage(deal.stage) else None
        gate = gates.get(deal.pk)
        if deal.stage not in menus:
            menus[deal.stage] = target_options(process, deal.stage)
        out.append(Card(
            deal=deal,
            next_step_due=due,
            next_step_state=state,
            days_in_stage=(today - timezone.localtime(deal.stage_entered_at).date()).days,
            rotting_days=stage.rotting_days if stage else 0,
            met=len(gate.met) if gate else 0,
            criteria=gate.total if gate else 0,
            can_move=deal.status == Status.OPEN and can_edit_deal(user, deal),
            target_options=menus[deal.stage],
        ))
    return out


def card_page(user: Any, process: Process, deals: QuerySet[Deal], stage: str,
              after: Cursor | None = None, size: int = PAGE_SIZE) -> CardPage:
    """One page of a column's cards, after `after` (in six queries whatever the page)."""
    page = (deals.filter(stage=stage).select_related("account", "owner", "next_step")
            .order_by("expected_close", "id"))
    if after is not None:
        page = page.filter(Q(expected_close__gt=after.close)
                           | Q(expected_close=after.close, id__gt=after.id))
    rows = list(page[:size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return CardPage(cards=cards(user, process, rows),
                    next=Cursor(rows[-1].expected_close, rows[-1].pk) if more else None)


def card_for(user: Any, process: Process, deal_id: int) -> Card | None:
    """The card of one deal the user may see, or None."""
    deal = (visible_deals(user, Deal.objects.filter(pk=deal_id),
                          visibility=process.settings.visibility)
            .select_related("account", "owner", "next_step").first())
    return cards(user, process, [deal])[0] if deal else None
