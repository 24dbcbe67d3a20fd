"""The pipeline report: deal counts, win rate, stage conversion and time in stage, amounts per
currency. Aggregation happens in the database; Python only assembles the few result rows."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from dealcraft.deals.models import Deal, StageHistory, Status
from dealcraft.people.permissions import visible_deals
from dealcraft.processes.services import active_process

ZERO = Value(Decimal("0"), output_field=DecimalField(max_digits=20, decimal_places=2))


def _scope(user: Any, visibility: str) -> QuerySet[Deal]:
    deals = Deal.objects.all()
    return deals if user is None else visible_deals(user, deals, visibility=visibility)


def _days_between(later: str, earlier: str) -> str:
    if connection.vendor == "postgresql":
        return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400.0)"
    return f"(julianday({later}) - julianday({earlier}))"


def _stage_rows(stage_keys: list[str], scope: QuerySet[Deal] | None) -> dict[str, Any]:
    """Per stage: deals that reached it, those that later entered a later stage or won, and
    the median length of completed stays, from the stage history in three passes of SQL."""
    history = StageHistory._meta.db_table
    params: list[Any] = []
    where = "kind <> %s"
    params.append(StageHistory.Kind.UPDATE)
    if scope is not None:
        sub_sql, sub_params = scope.values("id").query.sql_with_params()
        where += f" AND deal_id IN ({sub_sql})"
        params.extend(sub_params)
    order = [*stage_keys, "won"]
    case = " ".join("WHEN %s THEN %s" for _ in order)
    case_params: list[Any] = [v for i, key in enumerate(order) for v in (key, i)]
    firsts, lasts = [], []
    for i in range(len(stage_keys)):
        firsts.append(f"MIN(CASE WHEN ord = {i} THEN at END) AS f{i}")
        lasts.append(f"MAX(CASE WHEN ord > {i} THEN at END) AS l{i}")
    sums = []
    for i in range(len(stage_keys)):
        sums.append(f"SUM(CASE WHEN f{i} IS NOT NULL THEN 1 ELSE 0 END)")
        sums.append(f"SUM(CASE WHEN f{i} IS NOT NULL AND l{i} >= f{i} THEN 1 ELSE 0 END)")
    funnel_sql = (
        f"WITH h AS (SELECT deal_id, at, CASE to_stage {case} END AS ord FROM {history} "
        f"WHERE {where}), "
        f"per AS (SELECT deal_id, {', '.join(firsts + lasts)} FROM h GROUP BY deal_id) "
        f"SELECT {', '.join(sums)} FROM per"
    )
    stay = _days_between("next_at", "at")
    in_stages = ", ".join("%s" for _ in stage_keys)
    median_sql = (
        f"WITH h AS (SELECT to_stage, at, LEAD(at) OVER (PARTITION BY deal_id ORDER BY at, id) "
        f"AS next_at FROM {history} WHERE {where}), "
        f"stays AS (SELECT to_stage, {stay} AS d FROM h "
        f"WHERE next_at IS NOT NULL AND to_stage IN ({in_stages})), "
        "ranked AS (SELECT to_stage, d, ROW_NUMBER() OVER (PARTITION BY to_stage ORDER BY d) "
        "AS rn, COUNT(*) OVER (PARTITION BY to_stage) AS c FROM stays) "
        "SELECT to_stage, AVG(d) FROM ranked WHERE rn IN ((c + 1) / 2, (c + 2) / 2) "
        "GROUP BY to_stage"
    )
    with connection.cursor() as cursor:
        cursor.execute(funnel_sql, case_params + params)
        funnel = cursor.fetchone() or ()
        cursor.execute(median_sql, params + stage_keys)
        medians = {key: value for key, value in cursor.fetchall()}
    out: dict[str, Any] = {}
    for i, key in enumerate(stage_keys):
        reached = int(funnel[2 * i] or 0) if funnel else 0
        advanced = int(funnel[2 * i + 1] or 0) if funnel else 0
        median = medians.get(key)
        out[key] = {
            "reached": reached,
            "advanced": advanced,
            "conversion": round(advanced / reached, 4) if reached else None,
            "median_days_in_stage": round(float(median), 1) if median is not None else None,
        }
    return out


def pipeline_report(user: Any = None) -> dict[str, Any]:
    """The pipeline report over every deal (user None) or the deals a user may see.

    `reached`: deals that were ever in the stage; `advanced`: those of them that later entered
    a later stage or won; `conversion` = advanced ÷ reached; `median_days_in_stage` over
    completed stays (entry to the next stage change). Amounts are never summed across
    currencies.
    """
    version, process = active_process()
    scope = _scope(user, process.settings.visibility)
    counts = scope.aggregate(
        total=Count("id"),
        open=Count("id", filter=Q(status=Status.OPEN)),
        won=Count("id", filter=Q(status=Status.WON)),
        lost=Count("id", filter=Q(status=Status.LOST)),
    )
    amounts: dict[str, dict[str, str]] = {}
    for row in scope.order_by().values("currency").annotate(
        open=Coalesce(Sum("amount", filter=Q(status=Status.OPEN)), ZERO),
        won=Coalesce(Sum("amount", filter=Q(status=Status.WON)), ZERO),
        lost=Coalesce(Sum("amount", filter=Q(status=Status.LOST)), ZERO),
    ).order_by("currency"):
        amounts[row["currency"]] = {k: f"{Decimal(row[k]):.2f}" for k in ("open", "won", "lost")}
    closed = counts["won"] + counts["lost"]
    stage_keys = list(process.stage_keys)
    stats = _stage_rows(stage_keys, None if user is None else scope)
    return {
        "process_version": version.number,
        "deals": counts,
        "win_rate": round(counts["won"] / closed, 4) if closed else None,
        "stages": [{"key": s.key, "name": s.name, **stats[s.key]} for s in process.stages],
        "amounts_by_currency": amounts,
    }
