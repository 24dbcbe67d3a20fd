"""The pipeline figures computed a second, independent way: pandas over rows read from the
database with plain SQL (never through the extract), for comparison with the reports."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd

DEAL_SQL = ("SELECT id, owner_id, team_id, status, stage, currency, amount, created_at, "
            "closed_at, stage_entered_at, lost_reason_category, lost_from_stage "
            "FROM deals_deal")
HISTORY_SQL = ("SELECT id, deal_id, kind, from_stage, to_stage, at, override_reason "
               "FROM deals_stagehistory")


def frames(cursor: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    cursor.execute(DEAL_SQL)
    deals = pd.DataFrame(cursor.fetchall(), columns=[c[0] for c in cursor.description])
    cursor.execute(HISTORY_SQL)
    history = pd.DataFrame(cursor.fetchall(), columns=[c[0] for c in cursor.description])
    for frame, columns in ((deals, ("created_at", "closed_at", "stage_entered_at")),
                           (history, ("at",))):
        for column in columns:
            frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_localize(None)
    deals["amount"] = deals["amount"].map(lambda v: Decimal(str(v)).quantize(Decimal("0.01")))
    return deals, history


def pipeline(deals: pd.DataFrame, history: pd.DataFrame, keys: list[str]) -> dict[str, Any]:
    counts = deals["status"].value_counts().to_dict()
    out: dict[str, Any] = {"deals": {"total": len(deals), "open": counts.get("open", 0),
                                     "won": counts.get("won", 0),
                                     "lost": counts.get("lost", 0)}}
    amounts = {}
    for currency, group in deals.groupby("currency"):
        amounts[currency] = {s: f"{sum(group.loc[group.status == s, 'amount'], Decimal(0)):.2f}"
                             for s in ("open", "won", "lost")}
    out["amounts_by_currency"] = amounts
    moves = history[history.kind != "update"].sort_values(["deal_id", "at", "id"])
    order = {key: i for i, key in enumerate([*keys, "won"])}
    moves = moves.assign(ord=moves.to_stage.map(order))
    funnel = {}
    for i, key in enumerate(keys):
        first = moves[moves.ord == i].groupby("deal_id")["at"].min()
        later = moves[moves.ord > i].groupby("deal_id")["at"].max()
        joined = pd.concat([first.rename("f"), later.rename("l")], axis=1).dropna(subset=["f"])
        direct = set(moves[(moves.from_stage == key)
                           & (moves.to_stage == [*keys, "won"][i + 1])].deal_id)
        funnel[key] = (len(joined), int((joined.l >= joined.f).sum()),
                       len(set(joined.index) & direct))
    out["funnel"] = funnel
    moves = moves.assign(next_at=moves.groupby("deal_id")["at"].shift(-1))
    stays = moves.dropna(subset=["next_at"])
    stays = stays[stays.to_stage.isin(keys)]
    days = (stays.next_at - stays["at"]).dt.total_seconds() / 86400
    out["stays"] = {key: (int(len(d)), round(float(d.median()), 1),
                          round(float(d.quantile(0.9)), 1))
                    for key, d in days.groupby(stays.to_stage)}
    velocity = {}
    for currency, group in deals.groupby("currency"):
        won = group[group.status == "won"]
        lost = group[group.status == "lost"]
        n_open = int((group.status == "open").sum())
        closed = len(won) + len(lost)
        if closed and len(won):
            average = sum(won.amount, Decimal(0)) / len(won)
            cycle = ((won.closed_at - won.created_at).dt.total_seconds() / 86400).mean()
            per_day = (Decimal(n_open) * Decimal(len(won)) / Decimal(closed) * average
                       / Decimal(str(cycle)))
            velocity[currency] = f"{per_day:.2f}"
        else:
            velocity[currency] = None
    out["velocity"] = velocity
    return out


def stuck_count(deals: pd.DataFrame, stays: dict[str, tuple[int, float, float]],
                rotting: dict[str, int], now: datetime, p90: dict[str, float]) -> int:
    open_deals = deals[(deals.status == "open") & deals.stage.isin(list(rotting))]
    days = (pd.Timestamp(now) - open_deals.stage_entered_at).dt.total_seconds() / 86400
    rots = days > open_deals.stage.map(rotting)
    long = days > open_deals.stage.map(p90)
    return int((rots | long).sum())
