"""The pipeline reports over the columnar extract: pipeline, stuck, velocity, cohorts, losses,
adherence and changes. How each figure is defined is in docs/reports.md; every SQL statement
here runs in DuckDB over the extract's tables (see `extract`)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb

from dealcraft.domain.process import Process
from dealcraft.processes.services import active_process

from . import schemas as S
from .extract import columnar
from .registry import register
from .scope import Params, deal_scope

DAYS = "(epoch({a} - {b}) / 86400.0)"
GATED = ("advance", "skip", "override", "won")


def _days(a: str, b: str) -> str:
    return DAYS.format(a=a, b=b)


def _rate(part: int | None, whole: int | None) -> float | None:
    return round(part / whole, 4) if whole and part is not None else None


def _money(value: Any) -> str:
    return f"{Decimal(value or 0):.2f}"


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)


def _scoped(con: duckdb.DuckDBPyConnection, user: Any, process: Process, params: Params,
            *, created: bool = True) -> tuple[str, list[Any], bool]:
    where, args = deal_scope(con, user, process.settings.visibility, params, created=created)
    return where, args, where == "TRUE"


def _history_scope(where: str, args: list[Any], everything: bool,
                   column: str = "deal_id") -> tuple[str, list[Any]]:
    if everything:
        return "TRUE", []
    return f"{column} IN (SELECT d.id FROM deals d WHERE {where})", list(args)


def _stage_names(process: Process) -> dict[str, str]:
    return {**{s.key: s.name for s in process.stages}, "won": "Won", "lost": "Lost"}


# ---------------------------------------------------------------------------- shared figures


def stays(con: duckdb.DuckDBPyConnection, process: Process, hwhere: str,
          hargs: list[Any]) -> dict[str, tuple[int, float | None, float | None]]:
    """Completed stays per stage: (count, median days, p90 days). A stay runs from a history
    entry into the stage to the deal's next stage change (amount/date updates aside)."""
    keys = list(process.stage_keys)
    if not keys:
        return {}
    marks = ", ".join("?" for _ in keys)
    rows = con.execute(f"""
        WITH h AS (
            SELECT to_stage, "at",
                   lead("at") OVER (PARTITION BY deal_id ORDER BY "at", id) AS next_at
            FROM history WHERE kind <> 'update' AND {hwhere})
        SELECT to_stage, count(*), quantile_cont(d, 0.5), quantile_cont(d, 0.9)
        FROM (SELECT to_stage, {_days('next_at', '"at"')} AS d FROM h
              WHERE next_at IS NOT NULL AND to_stage IN ({marks}))
        GROUP BY to_stage
    """, [*hargs, *keys]).fetchall()
    return {key: (int(n), med, p90) for key, n, med, p90 in rows}


def _velocity_rows(con: duckdb.DuckDBPyConnection, where: str, args: list[Any],
                   group: str = "NULL") -> dict[Any, dict[str, dict[str, Any]]]:
    """Velocity's parts per (group, currency)."""
    rows = con.execute(f"""
        SELECT {group} AS g, currency,
               count(*) FILTER (WHERE status = 'open'),
               count(*) FILTER (WHERE status = 'won'),
               count(*) FILTER (WHERE status = 'lost'),
               avg(amount) FILTER (WHERE status = 'won'),
               avg({_days('closed_at', 'created_at')}) FILTER (WHERE status = 'won')
        FROM deals d WHERE {where} GROUP BY ALL ORDER BY ALL
    """, args).fetchall()
    out: dict[Any, dict[str, dict[str, Any]]] = defaultdict(dict)
    for g, currency, open_n, won, lost, avg_won, cycle in rows:
        out[g][currency] = velocity_figures(open_n, won, lost, avg_won, cycle)
    return out


def velocity_figures(open_n: int, won: int, lost: int, avg_won: Any,
                     cycle: float | None) -> dict[str, Any]:
    """open deals × win rate × average won amount ÷ cycle length (days): amount per day."""
    win_rate = _rate(won, won + lost)
    per_day = None
    if win_rate is not None and avg_won is not None and cycle:
        per_day = _money(Decimal(open_n) * Decimal(won) / Decimal(won + lost)
                         * Decimal(avg_won) / Decimal(str(cycle)))
    return {"open_deals": open_n, "won": won, "lost": lost, "win_rate": win_rate,
            "average_won": None if avg_won is None else _money(avg_won),
            "cycle_days": _round(cycle), "per_day": per_day}


# ---------------------------------------------------------------------------- pipeline


def _pipeline_chart(result: dict[str, Any]) -> dict[str, Any]:
    return {"type": "bar", "labels": [s["name"] for s in result["funnel"]],
            "series": [{"label": "Reached", "data": [s["reached"] for s in result["funnel"]]},
                       {"label": "Went straight to the next stage",
                        "data": [s["direct"] for s in result["funnel"]]},
                       {"label": "Reached any later stage",
                        "data": [s["reached_later"] for s in result["funnel"]]}]}


@register("pipeline", "Pipeline", S.PipelineOut, chart=_pipeline_chart,
          description="Deal counts, win rate, stage-to-stage conversion (direct and to any "
                      "later stage), time in stage (median, p90), deal velocity and amounts "
                      "per currency.")
def pipeline(user: Any, params: Params) -> dict[str, Any]:
    version, process = active_process()
    keys = list(process.stage_keys)
    with columnar() as con:
        where, args, everything = _scoped(con, user, process, params)
        velocity = _velocity_rows(con, where, args).get(None, {})
        amounts_rows = con.execute(f"""
            SELECT currency, sum(amount) FILTER (WHERE status = 'open'),
                   sum(amount) FILTER (WHERE status = 'won'),
                   sum(amount) FILTER (WHERE status = 'lost')
            FROM deals d WHERE {where} GROUP BY currency ORDER BY currency
        """, args).fetchall()
        hwhere, hargs = _history_scope(where, args, everything)
        funnel = _funnel(con, keys, hwhere, hargs)
        stay = stays(con, process, hwhere, hargs)
    counts = {"total": 0, "open": 0, "won": 0, "lost": 0}
    for figures in velocity.values():
        counts["open"] += figures["open_deals"]
        counts["won"] += figures["won"]
        counts["lost"] += figures["lost"]
    counts["total"] = counts["open"] + counts["won"] + counts["lost"]
    closed = counts["won"] + counts["lost"]
    names = _stage_names(process)
    stages, funnel_out, time_out = [], [], []
    for i, key in enumerate(keys):
        reached, later, direct = funnel[i]
        n, med, p90 = stay.get(key, (0, None, None))
        stages.append({"key": key, "name": names[key], "reached": reached, "advanced": later,
                       "conversion": _rate(later, reached),
                       "median_days_in_stage": _round(med)})
        funnel_out.append({"key": key, "name": names[key], "reached": reached,
                           "direct": direct, "direct_conversion": _rate(direct, reached),
                           "reached_later": later, "later_conversion": _rate(later, reached)})
        time_out.append({"key": key, "name": names[key], "stays": n,
                         "median_days": _round(med), "p90_days": _round(p90)})
    return {
        "process_version": version.number,
        "params": params.as_dict(),
        "deals": counts,
        "win_rate": _rate(counts["won"], closed),
        "stages": stages,
        "amounts_by_currency": {c: {"open": _money(o), "won": _money(w), "lost": _money(lo)}
                                for c, o, w, lo in amounts_rows},
        "funnel": funnel_out,
        "time_in_stage": time_out,
        "velocity": velocity,
    }


def _funnel(con: duckdb.DuckDBPyConnection, keys: list[str], hwhere: str,
            hargs: list[Any]) -> list[tuple[int, int, int]]:
    """Per stage: deals that reached it; of them, those that entered a later stage (or won)
    at or after their first entry; those that moved from it straight to the next stage (or,
    from the last stage, to won)."""
    if not keys:
        return []
    order = [*keys, "won"]
    case = " ".join(f"WHEN ? THEN {i}" for i in range(len(order)))
    parts, sums, values = [], [], list(order)
    for i in range(len(keys)):
        parts.append(f'min("at") FILTER (WHERE ord = {i}) AS f{i}')
        parts.append(f'max("at") FILTER (WHERE ord > {i}) AS l{i}')
        parts.append(f"bool_or(from_stage = ? AND to_stage = ?) AS d{i}")
        values.extend([keys[i], order[i + 1]])
        sums.append(f"count(f{i})")
        sums.append(f"count(*) FILTER (WHERE f{i} IS NOT NULL AND l{i} >= f{i})")
        sums.append(f"count(*) FILTER (WHERE f{i} IS NOT NULL AND d{i})")
    row = con.execute(f"""
        WITH h AS (SELECT deal_id, "at", from_stage, to_stage, CASE to_stage {case} END AS ord
                   FROM history WHERE kind <> 'update' AND {hwhere}),
             per AS (SELECT deal_id, {', '.join(parts)} FROM h GROUP BY deal_id)
        SELECT {', '.join(sums)} FROM per
    """, [*order, *hargs, *values[len(order):]]).fetchone()
    row = row or tuple(0 for _ in sums)
    return [(int(row[3 * i] or 0), int(row[3 * i + 1] or 0), int(row[3 * i + 2] or 0))
            for i in range(len(keys))]


# ---------------------------------------------------------------------------- stuck


def _stuck_chart(result: dict[str, Any]) -> dict[str, Any]:
    return {"type": "bar", "labels": [s["name"] for s in result["stages"]],
            "series": [{"label": "Open", "data": [s["open"] for s in result["stages"]]},
                       {"label": "Stuck", "data": [s["stuck"] for s in result["stages"]]}]}


@register("stuck", "Stuck deals", S.StuckOut, chart=_stuck_chart,
          description="Open deals in their stage longer than the stage's p90 stay or its "
                      "rotting days, with the reason.")
def stuck(user: Any, params: Params) -> dict[str, Any]:
    _, process = active_process()
    names = _stage_names(process)
    now = params.now
    with columnar() as con:
        where, args, everything = _scoped(con, user, process, params)
        hwhere, hargs = _history_scope(where, args, everything)
        stay = stays(con, process, hwhere, hargs)
        limits = [(s.key, s.rotting_days, stay.get(s.key, (0, None, None))[2])
                  for s in process.stages]
        if not limits:
            return {"params": params.as_dict(), "as_of": now, "count": 0, "stages": [],
                    "deals": []}
        values = ", ".join("(?, ?, ?)" for _ in limits)
        flat = [v for row in limits for v in (row[0], row[1], row[2])]
        base = f"""
            WITH lim(stage, rotting, p90) AS (VALUES {values}),
            o AS (SELECT d.*, {_days('CAST(? AS TIMESTAMP)', 'd.stage_entered_at')} AS days,
                         lim.rotting, CAST(lim.p90 AS DOUBLE) AS p90
                  FROM deals d JOIN lim ON lim.stage = d.stage
                  WHERE d.status = 'open' AND {where}),
            s AS (SELECT *, days > rotting AS rots, p90 IS NOT NULL AND days > p90 AS long
                  FROM o)
        """
        base_args = [*flat, now, *args]
        per_stage = {k: (o, st) for k, o, st in con.execute(
            base + "SELECT stage, count(*), count(*) FILTER (WHERE rots OR long) "
                   "FROM s GROUP BY stage", base_args).fetchall()}
        rows = con.execute(base + """
            SELECT s.id, s.name, u.username, u.name, t.name, s.stage, s.days, s.rotting, s.p90,
                   s.rots, s.long, s.amount, s.currency
            FROM s LEFT JOIN users u ON u.id = s.owner_id LEFT JOIN teams t ON t.id = s.team_id
            WHERE s.rots OR s.long
            ORDER BY greatest(s.days - s.rotting, coalesce(s.days - s.p90, -1e9)) DESC, s.id
            LIMIT ?
        """, [*base_args, params.limit]).fetchall()
    deals = []
    for (deal_id, name, username, owner, team, stage, days, rotting, p90, rots, long,
         amount, currency) in rows:
        reasons = []
        if rots:
            reasons.append({"code": "rotting", "text": (
                f"{int(days)} days in {names[stage]}, past its rotting days ({rotting})")})
        if long:
            reasons.append({"code": "p90", "text": (
                f"{days:.1f} days in {names[stage]}, longer than 90% of completed stays "
                f"there ({p90:.1f} days)")})
        deals.append({"id": deal_id, "name": name, "owner": username, "owner_name": owner,
                      "team": team, "stage": stage, "stage_name": names[stage],
                      "days_in_stage": round(days, 1), "rotting_days": rotting,
                      "p90_days": _round(p90), "reasons": reasons,
                      "amount": _money(amount), "currency": currency})
    stages_out = [{"key": key, "name": names[key], "rotting_days": rotting,
                   "p90_days": _round(p90), "open": per_stage.get(key, (0, 0))[0],
                   "stuck": per_stage.get(key, (0, 0))[1]} for key, rotting, p90 in limits]
    return {"params": params.as_dict(), "as_of": now,
            "count": sum(s["stuck"] for s in stages_out), "stages": stages_out,
            "deals": deals}


# ---------------------------------------------------------------------------- velocity


def _velocity_chart(result: dict[str, Any]) -> dict[str, Any] | None:
    currencies = sorted(result["overall"])
    if not currencies:
        return None
    currency = currencies[0]
    rows = [r for r in result["by_team"] if currency in r["currencies"]]
    return {"type": "bar", "labels": [r["label"] for r in rows],
            "series": [{"label": f"{currency} per day",
                        "data": [float(r["currencies"][currency]["per_day"] or 0)
                                 for r in rows]}]}


@register("velocity", "Deal velocity", S.VelocityOut, chart=_velocity_chart,
          description="Open deals × win rate × average won amount ÷ cycle length, per "
                      "currency, overall, per team and per segment.")
def velocity(user: Any, params: Params) -> dict[str, Any]:
    _, process = active_process()
    with columnar() as con:
        where, args, _ = _scoped(con, user, process, params)
        overall = _velocity_rows(con, where, args).get(None, {})
        by_team = _velocity_rows(con, where, args,
                                 "(SELECT name FROM teams t WHERE t.id = d.team_id)")
        by_segment = _velocity_rows(con, where, args, "segment")
    return {"params": params.as_dict(), "overall": overall,
            "by_team": _group_rows(by_team), "by_segment": _group_rows(by_segment)}


def _group_rows(groups: dict[Any, dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [{"key": key, "label": key if key is not None else "(none)", "currencies": value}
            for key, value in sorted(groups.items(), key=lambda kv: (kv[0] is None,
                                                                     str(kv[0])))]


# ---------------------------------------------------------------------------- cohorts

DIMENSIONS = {
    "rep": ("d.owner_id", "u.username", "coalesce(u.name, u.username)"),
    "team": ("d.team_id", "t.name", "t.name"),
    "segment": ("d.segment", "d.segment", "d.segment"),
    "lead_source": ("d.lead_source", "d.lead_source", "d.lead_source"),
    "cohort": ("strftime(d.created_at, '%Y-%m')", "strftime(d.created_at, '%Y-%m')",
               "strftime(d.created_at, '%Y-%m')"),
}


def _cohorts_chart(result: dict[str, Any]) -> dict[str, Any]:
    rows = result["dimensions"]["cohort"]
    return {"type": "line", "labels": [r["label"] for r in rows],
            "series": [{"label": "Win rate (%)",
                        "data": [None if r["win_rate"] is None else round(r["win_rate"] * 100, 1)
                                 for r in rows]}]}


@register("cohorts", "Win rate and cycle length", S.CohortsOut, chart=_cohorts_chart,
          description="Win rate and cycle length by rep, team, segment, lead source and "
                      "creation month.")
def cohorts(user: Any, params: Params) -> dict[str, Any]:
    _, process = active_process()
    out: dict[str, list[dict[str, Any]]] = {}
    with columnar() as con:
        where, args, _ = _scoped(con, user, process, params)
        for dimension, (group, key, label) in DIMENSIONS.items():
            rows = con.execute(f"""
                SELECT {key} AS k, any_value({label}) AS label, count(*),
                       count(*) FILTER (WHERE d.status = 'open'),
                       count(*) FILTER (WHERE d.status = 'won'),
                       count(*) FILTER (WHERE d.status = 'lost'),
                       avg({_days('d.closed_at', 'd.created_at')})
                           FILTER (WHERE d.status = 'won'),
                       quantile_cont({_days('d.closed_at', 'd.created_at')}, 0.5)
                           FILTER (WHERE d.status = 'won')
                FROM deals d LEFT JOIN users u ON u.id = d.owner_id
                     LEFT JOIN teams t ON t.id = d.team_id
                WHERE {where} GROUP BY {group}, {key} ORDER BY k NULLS LAST
            """, args).fetchall()
            out[dimension] = [
                {"key": k, "label": lab if lab is not None else "(none)", "deals": n,
                 "open": o, "won": w, "lost": lo, "win_rate": _rate(w, w + lo),
                 "cycle_days": _round(mean), "cycle_days_median": _round(med)}
                for k, lab, n, o, w, lo, mean, med in rows]
    return {"params": params.as_dict(), "dimensions": out}


# ---------------------------------------------------------------------------- losses


def _losses_chart(result: dict[str, Any]) -> dict[str, Any]:
    return {"type": "bar", "labels": [r["label"] for r in result["by_reason"]],
            "series": [{"label": "Lost deals", "data": [r["deals"] for r in result["by_reason"]]}]}


@register("losses", "Losses", S.LossesOut, chart=_losses_chart,
          description="Loss reasons, the stage deals were lost from, and the rep's reason "
                      "against the buyer's where the buyer's is recorded.")
def losses(user: Any, params: Params) -> dict[str, Any]:
    _, process = active_process()
    labels = dict(process.lost_reasons)
    names = _stage_names(process)
    with columnar() as con:
        where, args, _ = _scoped(con, user, process, params)
        lost_where = f"d.status = 'lost' AND {where}"
        total = con.execute(f"SELECT count(*) FROM deals d WHERE {lost_where}",
                            args).fetchone()
        by_reason = con.execute(f"""
            SELECT lost_reason_category, count(*) FROM deals d WHERE {lost_where}
            GROUP BY 1 ORDER BY 2 DESC, 1 NULLS LAST""", args).fetchall()
        by_stage = con.execute(f"""
            SELECT lost_from_stage, count(*) FROM deals d WHERE {lost_where}
            GROUP BY 1""", args).fetchall()
        amounts = con.execute(f"""
            SELECT currency, sum(amount) FROM deals d WHERE {lost_where}
            GROUP BY 1 ORDER BY 1""", args).fetchall()
        pairs = con.execute(f"""
            SELECT lost_reason_category, buyer_loss_reason, count(*) FROM deals d
            WHERE {lost_where} AND buyer_loss_reason IS NOT NULL
            GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2""", args).fetchall()
    lost = int(total[0]) if total else 0
    order = {key: i for i, key in enumerate(process.stage_keys)}
    known = sum(n for _, _, n in pairs)
    agree = sum(n for rep, buyer, n in pairs if rep == buyer)
    return {
        "params": params.as_dict(),
        "lost": lost,
        "amounts_by_currency": {c: _money(a) for c, a in amounts},
        "by_reason": [{"category": c, "label": labels.get(c, c) if c else "(none)",
                       "deals": n, "share": _rate(n, lost)} for c, n in by_reason],
        "by_stage": [{"stage": s, "name": names.get(s, s) if s else "(none)", "deals": n,
                      "share": _rate(n, lost)}
                     for s, n in sorted(by_stage, key=lambda r: (order.get(r[0], 99),
                                                                 str(r[0])))],
        "rep_vs_buyer": {
            "known": known, "agree": agree, "agreement_rate": _rate(agree, known),
            "pairs": [{"rep_reason": r, "buyer_reason": b, "deals": n, "agree": r == b}
                      for r, b, n in pairs],
        },
    }


# ---------------------------------------------------------------------------- adherence


def _adherence_chart(result: dict[str, Any]) -> dict[str, Any]:
    reps = result["reps"]
    return {"type": "bar", "labels": [r["name"] for r in reps],
            "series": [{"label": "Overrides", "data": [r["overrides"] for r in reps]},
                       {"label": "Skips", "data": [r["skips"] for r in reps]},
                       {"label": "Open deals without next step",
                        "data": [r["without_next_step"] for r in reps]}]}


@register("adherence", "Process adherence", S.AdherenceOut, chart=_adherence_chart,
          description="Per rep, for coaching: skipped gates, overrides, deals without a next "
                      "step and evidence completeness, next to the rep's outcomes.")
def adherence(user: Any, params: Params) -> dict[str, Any]:
    _, process = active_process()
    order = [*process.stage_keys, "won"]
    case = " ".join(f"WHEN ? THEN {i}" for i in range(len(order)))
    with columnar() as con:
        where, args, _ = _scoped(con, user, process, params)
        moves = con.execute(f"""
            WITH m AS (
                SELECT d.owner_id, h.id, h.kind, h.overridden,
                       (CASE h.to_stage {case} END) - (CASE h.from_stage {case} END) - 1
                           AS jumped
                FROM history h JOIN deals d ON d.id = h.deal_id
                WHERE h.kind IN ('advance', 'skip', 'override', 'won') AND {where}),
            c AS (
                SELECT g.history_id, count(*) AS judged, count(*) FILTER (WHERE g.met) AS met,
                       bool_or(NOT g.met AND g.mode = 'warn') AS warned
                FROM gate_criteria g JOIN deals d ON d.id = g.deal_id
                WHERE g.kind IN ('advance', 'skip', 'override', 'won') AND {where}
                GROUP BY g.history_id)
            SELECT m.owner_id, count(*), count(*) FILTER (WHERE m.overridden),
                   count(*) FILTER (WHERE m.kind = 'skip'),
                   coalesce(sum(greatest(m.jumped, 0)) FILTER (WHERE m.kind = 'skip'), 0),
                   count(*) FILTER (WHERE c.warned AND NOT m.overridden),
                   coalesce(sum(c.judged), 0), coalesce(sum(c.met), 0)
            FROM m LEFT JOIN c ON c.history_id = m.id GROUP BY m.owner_id
        """, [*order, *order, *args, *args]).fetchall()
        deals = con.execute(f"""
            SELECT d.owner_id, any_value(u.username), any_value(coalesce(u.name, u.username)),
                   any_value(t.name),
                   count(*) FILTER (WHERE d.status = 'open'),
                   count(*) FILTER (WHERE d.status = 'open' AND NOT d.has_next_step),
                   count(*) FILTER (WHERE d.status = 'won'),
                   count(*) FILTER (WHERE d.status = 'lost')
            FROM deals d LEFT JOIN users u ON u.id = d.owner_id
                 LEFT JOIN teams t ON t.id = u.team_id
            WHERE {where} GROUP BY d.owner_id
        """, args).fetchall()
        won_amounts = con.execute(f"""
            SELECT owner_id, currency, sum(amount) FROM deals d
            WHERE d.status = 'won' AND {where} GROUP BY 1, 2 ORDER BY 1, 2""",
                                  args).fetchall()
    per_move = {row[0]: row[1:] for row in moves}
    amounts: dict[int, dict[str, str]] = defaultdict(dict)
    for owner, currency, amount in won_amounts:
        amounts[owner][currency] = _money(amount)
    reps = []
    for owner, username, name, team, open_n, no_step, won, lost in deals:
        gated, overrides, skips, skipped, warned, judged, met = per_move.get(
            owner, (0, 0, 0, 0, 0, 0, 0))
        reps.append({
            "owner": username, "name": name, "team": team,
            "gated_moves": gated, "overrides": overrides,
            "override_rate": _rate(overrides, gated), "skips": skips,
            "skipped_stages": int(skipped), "warned": warned,
            "criteria_judged": int(judged), "criteria_met": int(met),
            "evidence_completeness": _rate(int(met), int(judged)),
            "open_deals": open_n, "without_next_step": no_step,
            "won": won, "lost": lost, "win_rate": _rate(won, won + lost),
            "won_amounts": amounts.get(owner, {}),
        })
    reps.sort(key=lambda r: (str(r["name"]).casefold(), str(r["owner"])))
    return {"params": params.as_dict(), "reps": reps}


# ---------------------------------------------------------------------------- changes

CHANGE_KINDS = (
    ("new", "New deals"), ("won", "Won"), ("lost", "Lost"),
    ("pulled_in", "Close date pulled in"), ("pushed_out", "Close date pushed out"),
    ("slipped", "Slipped (due in the period, still open)"),
    ("amount_up", "Amount up"), ("amount_down", "Amount down"),
)


def _changes_chart(result: dict[str, Any]) -> dict[str, Any]:
    return {"type": "bar", "labels": [c["label"] for c in result["changes"]],
            "series": [{"label": "Deals", "data": [c["deals"] for c in result["changes"]]}]}


@register("changes", "Pipeline changes", S.ChangesOut, chart=_changes_chart,
          description="How the pipeline changed between two dates (since, until): new, "
                      "pulled in, pushed out, slipped, amount up or down, won, lost.")
def changes(user: Any, params: Params) -> dict[str, Any]:
    _, process = active_process()
    end_day = params.until or params.now.date()
    start_day = params.since or (end_day - timedelta(days=30))
    start = datetime.combine(start_day, datetime.min.time()) + timedelta(days=1)
    end = datetime.combine(end_day, datetime.min.time()) + timedelta(days=1)
    with columnar() as con:
        where, args, everything = _scoped(con, user, process, params, created=False)
        hwhere, hargs = _history_scope(where, args, everything)
        rows = con.execute(f"""
            WITH h AS (SELECT * FROM history WHERE "at" < ? AND {hwhere}),
            a AS (SELECT deal_id, arg_max(to_stage, ("at", id)) AS stage,
                         arg_max(amount, ("at", id)) AS amount,
                         arg_max(currency, ("at", id)) AS currency,
                         arg_max(expected_close, ("at", id)) AS close
                  FROM h WHERE "at" < ? GROUP BY deal_id),
            b AS (SELECT deal_id, arg_max(to_stage, ("at", id)) AS stage,
                         arg_max(amount, ("at", id)) AS amount,
                         arg_max(currency, ("at", id)) AS currency,
                         arg_max(expected_close, ("at", id)) AS close
                  FROM h GROUP BY deal_id)
            SELECT b.deal_id, a.stage, a.amount, a.currency, a.close,
                   b.stage, b.amount, b.currency, b.close
            FROM b LEFT JOIN a USING (deal_id)
        """, [end, *hargs, start]).fetchall()
    buckets: dict[str, dict[str, Any]] = {k: {"deals": 0, "amounts": defaultdict(Decimal)}
                                          for k, _ in CHANGE_KINDS}
    open_before: dict[str, list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    open_after: dict[str, list[Any]] = defaultdict(lambda: [0, Decimal(0)])

    def add(kind: str, currency: str, amount: Decimal) -> None:
        buckets[kind]["deals"] += 1
        buckets[kind]["amounts"][currency] += amount

    for _, a_stage, a_amount, a_cur, a_close, b_stage, b_amount, b_cur, b_close in rows:
        was_open = a_stage is not None and a_stage not in ("won", "lost")
        is_open = b_stage not in ("won", "lost")
        if was_open:
            open_before[a_cur][0] += 1
            open_before[a_cur][1] += a_amount
        if is_open:
            open_after[b_cur][0] += 1
            open_after[b_cur][1] += b_amount
        if a_stage is None:
            add("new", b_cur, b_amount)
        if b_stage == "won" and a_stage != "won":
            add("won", b_cur, b_amount)
        if b_stage == "lost" and a_stage != "lost":
            add("lost", b_cur, b_amount)
        if not (was_open and is_open):
            continue
        if a_close is not None and b_close is not None:
            if b_close < a_close:
                add("pulled_in", b_cur, b_amount)
            elif b_close > a_close:
                add("pushed_out", b_cur, b_amount)
        if a_close is not None and start_day < a_close <= end_day:
            add("slipped", b_cur, b_amount)
        if a_cur == b_cur and b_amount != a_amount:
            add("amount_up" if b_amount > a_amount else "amount_down", b_cur,
                b_amount - a_amount)

    def pipeline_at(found: dict[str, list[Any]]) -> dict[str, dict[str, Any]]:
        return {c: {"deals": n, "amount": _money(a)} for c, (n, a) in sorted(found.items())}

    return {
        "params": params.as_dict(), "since": start_day, "until": end_day,
        "open_at_since": pipeline_at(open_before), "open_at_until": pipeline_at(open_after),
        "changes": [{"key": k, "label": label, "deals": buckets[k]["deals"],
                     "amounts_by_currency": {c: _money(a) for c, a in
                                             sorted(buckets[k]["amounts"].items())}}
                    for k, label in CHANGE_KINDS],
    }
