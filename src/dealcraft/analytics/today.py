"""My day: what a seller should do first, read in a fixed number of queries.

Four kinds of work, in this order (`PRIORITY`):
1. **Overdue**: tasks past their due time and deals whose next step date has passed, the
   longest overdue first. A promise to the buyer is already broken.
2. **No next step**: open deals with no dated next step, the largest amount first (amounts
   are ordered as numbers whatever their currency). Nothing will happen on them otherwise.
3. **Stuck**: open deals idle in their stage longer than the stage's `rotting_days`, the
   furthest past it first.
4. **Due today**: tasks due later today, earliest first.

A deal shows once, in its most urgent group; being also stuck is noted on it. The page lists
the first `LIMIT` items and counts them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from dealcraft.deals.models import Activity, Deal, Status
from dealcraft.domain.process import Process
from dealcraft.people.permissions import READ_ALL_ROLES, visible_deals

LIMIT = 100

OVERDUE, NO_NEXT_STEP, STUCK, DUE_TODAY = 1, 2, 3, 4
PRIORITY = {
    OVERDUE: "Overdue",
    NO_NEXT_STEP: "No next step",
    STUCK: "Stuck",
    DUE_TODAY: "Due today",
}


@dataclass(frozen=True)
class Item:
    """One thing to do: a deal to act on, or a task (`task` set)."""

    group: int
    kind: str  # task_overdue | next_step_overdue | no_next_step | stuck | task_today
    deal: Deal
    stage_name: str
    task: Activity | None = None
    due: date | None = None
    days_overdue: int = 0
    days_in_stage: int = 0
    rotting_days: int = 0
    also_stuck: bool = False

    @property
    def days_over(self) -> int:
        return self.days_in_stage - self.rotting_days


@dataclass(frozen=True)
class Group:
    key: int
    title: str
    items: list[Item] = field(default_factory=list)
    total: int = 0


@dataclass(frozen=True)
class MyDay:
    groups: list[Group]
    shown: int
    total: int

    @property
    def truncated(self) -> bool:
        return self.shown < self.total


def stuck_filter(process: Process, now: datetime) -> Q:
    """Open deals idle in their stage past its rotting days (stages a newer process dropped
    never rot: their rule is gone)."""
    condition = Q(pk__in=[])
    for stage in process.stages:
        condition |= Q(stage=stage.key,
                       stage_entered_at__lt=now - timedelta(days=stage.rotting_days))
    return condition


def rots_at(process: Process) -> Case:
    """When a deal's current stay passes its stage's rotting days; earlier means more stuck."""
    return Case(
        *(When(stage=stage.key, then=ExpressionWrapper(
            F("stage_entered_at") + Value(timedelta(days=stage.rotting_days)),
            output_field=DateTimeField()))
          for stage in process.stages),
        default=None, output_field=DateTimeField(),
    )


def _day_bounds(now: datetime) -> tuple[date, datetime]:
    today = timezone.localdate(now)
    tomorrow = timezone.make_aware(datetime.combine(today + timedelta(days=1), time.min))
    return today, tomorrow


def my_tasks(user: Any, visibility: str) -> QuerySet[Activity]:
    """Open tasks that are the user's: assigned to them, or unassigned on a deal they own,
    on deals they may still read."""
    tasks = Activity.objects.filter(
        Q(owner_id=user.pk) | Q(owner__isnull=True, deal__owner_id=user.pk),
        kind=Activity.Kind.TASK, done_at__isnull=True, due_at__isnull=False,
    )
    if user.role not in READ_ALL_ROLES:
        tasks = tasks.filter(deal__in=visible_deals(user, Deal.objects.all(),
                                                    visibility=visibility).values("id"))
    return tasks


def my_day(user: Any, process: Process, now: datetime | None = None,
           limit: int = LIMIT) -> MyDay:
    """The user's work for today on the deals they own, most urgent first, in four queries."""
    now = now or timezone.now()
    today, tomorrow = _day_bounds(now)
    names = {s.key: s.name for s in process.stages}
    rotting = {s.key: s.rotting_days for s in process.stages}

    overdue = Q(next_step__isnull=False, next_step__due__lt=today)
    missing = Q(next_step__isnull=True)
    stuck = stuck_filter(process, now)
    mine = Deal.objects.filter(owner_id=user.pk, status=Status.OPEN)
    deal_counts = mine.aggregate(
        overdue=Count("id", filter=overdue), missing=Count("id", filter=missing),
        stuck=Count("id", filter=stuck & ~overdue & ~missing),
    )
    deals = list(
        mine.filter(overdue | missing | stuck)
        .select_related("account", "next_step")
        .annotate(
            priority=Case(When(overdue, then=Value(OVERDUE)), When(missing, then=Value(
                NO_NEXT_STEP)), default=Value(STUCK), output_field=IntegerField()),
            # Each group's own order key, empty in the other groups so it cannot interfere.
            late_since=Case(When(overdue, then=F("next_step__due")), default=None),
            rots=Case(When(priority=STUCK, then=rots_at(process)), default=None,
                      output_field=DateTimeField()),
        )
        .order_by("priority", F("late_since").asc(nulls_last=True),
                  F("rots").asc(nulls_last=True), F("amount").desc(), "id")[:limit]
    )

    tasks = my_tasks(user, process.settings.visibility).filter(due_at__lt=tomorrow)
    task_counts = tasks.aggregate(overdue=Count("id", filter=Q(due_at__lt=now)),
                                  today=Count("id", filter=Q(due_at__gte=now)))
    task_rows = list(tasks.select_related("deal", "deal__account")
                     .order_by("due_at", "id")[:limit])

    def in_stage(deal: Deal) -> int:
        return (now - deal.stage_entered_at).days

    def is_stuck(deal: Deal) -> bool:
        return deal.stage in rotting and now - deal.stage_entered_at > timedelta(
            days=rotting[deal.stage])

    def deal_item(deal: Deal) -> Item:
        group = deal.priority  # type: ignore[attr-defined]
        kind = {OVERDUE: "next_step_overdue", NO_NEXT_STEP: "no_next_step",
                STUCK: "stuck"}[group]
        due = deal.next_step.due if deal.next_step_id and deal.next_step else None
        return Item(
            group=group, kind=kind, deal=deal, stage_name=names.get(deal.stage, deal.stage),
            due=due, days_overdue=(today - due).days if group == OVERDUE and due else 0,
            days_in_stage=in_stage(deal), rotting_days=rotting.get(deal.stage, 0),
            also_stuck=group != STUCK and is_stuck(deal),
        )

    def task_item(task: Activity) -> Item:
        assert task.due_at is not None
        late = task.due_at < now
        return Item(
            group=OVERDUE if late else DUE_TODAY, kind="task_overdue" if late else "task_today",
            deal=task.deal, stage_name=names.get(task.deal.stage, task.deal.stage), task=task,
            due=timezone.localdate(task.due_at),
            days_overdue=(today - timezone.localdate(task.due_at)).days if late else 0,
            days_in_stage=in_stage(task.deal), rotting_days=rotting.get(task.deal.stage, 0),
        )

    by_group: dict[int, list[Item]] = {key: [] for key in PRIORITY}
    for item in [*map(deal_item, deals), *map(task_item, task_rows)]:
        by_group[item.group].append(item)

    def overdue_since(item: Item) -> tuple[datetime, int]:
        # Tasks carry a time; a next step is due at the start of its day.
        if item.task is not None and item.task.due_at is not None:
            return item.task.due_at, 0
        assert item.due is not None
        return timezone.make_aware(datetime.combine(item.due, time.min)), 1

    by_group[OVERDUE].sort(key=overdue_since)
    totals = {
        OVERDUE: deal_counts["overdue"] + task_counts["overdue"],
        NO_NEXT_STEP: deal_counts["missing"],
        STUCK: deal_counts["stuck"],
        DUE_TODAY: task_counts["today"],
    }
    groups, room = [], limit
    for key, title in PRIORITY.items():
        items = by_group[key][:room]
        room -= len(items)
        groups.append(Group(key=key, title=title, items=items, total=totals[key]))
    return MyDay(groups=groups, shown=limit - room, total=sum(totals.values()))
