"""Report parameters and the deals a report covers, as SQL over the extract.

`Params.parse` reads the same parameters from the API's query string, the CLI's options and
the web pages' forms, and refuses a bad one with `InvalidInput` naming it. `deal_scope` turns
the caller's visibility (the same rules as `people.permissions.visible_deals`) and the filters
into a WHERE clause over the extract's ``deals`` table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

import duckdb

from dealcraft.errors import InvalidInput
from dealcraft.people.permissions import READ_ALL_ROLES, managed_team_ids

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
PARAM_NAMES = ("since", "until", "team", "rep", "segment", "lead_source", "limit")


@dataclass(frozen=True)
class Params:
    """What a report is asked for. `since`/`until` bound the deals' creation date (both
    inclusive); the `changes` report reads them as the two dates it compares. `now` is the
    moment "today" means (stuck deals, open ages); it is not a request parameter."""

    since: date | None = None
    until: date | None = None
    team: str = ""
    rep: str = ""
    segment: str = ""
    lead_source: str = ""
    limit: int = DEFAULT_LIMIT
    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))

    @classmethod
    def parse(cls, values: Mapping[str, Any]) -> Params:
        """Parameters from text (query string, form, CLI); unknown names are refused."""
        unknown = sorted(set(values) - set(PARAM_NAMES))
        if unknown:
            raise InvalidInput(f"unknown report parameter '{unknown[0]}'; reports take: "
                               f"{', '.join(PARAM_NAMES)}", unknown[0])
        out: dict[str, Any] = {}
        for name in ("since", "until"):
            value = values.get(name)
            if value in (None, ""):
                continue
            if isinstance(value, date):
                out[name] = value
                continue
            try:
                out[name] = date.fromisoformat(str(value))
            except ValueError:
                raise InvalidInput(f"{name} must be a date as YYYY-MM-DD, got {value!r}",
                                   name) from None
        for name in ("team", "rep", "segment", "lead_source"):
            value = values.get(name)
            if value not in (None, ""):
                text = str(value).strip()
                if len(text) > 150:
                    raise InvalidInput(f"{name} is too long (at most 150 characters)", name)
                out[name] = text
        limit = values.get("limit")
        if limit not in (None, ""):
            try:
                number = int(str(limit))
            except ValueError:
                raise InvalidInput(f"limit must be a whole number, got {limit!r}",
                                   "limit") from None
            if not 1 <= number <= MAX_LIMIT:
                raise InvalidInput(f"limit must be from 1 to {MAX_LIMIT}, got {number}", "limit")
            out["limit"] = number
        params = cls(**out)
        if params.since and params.until and params.since > params.until:
            raise InvalidInput(f"since ({params.since}) is after until ({params.until})",
                               "since")
        return params

    def with_now(self, now: datetime) -> Params:
        return replace(self, now=now.astimezone(UTC).replace(tzinfo=None)
                       if now.tzinfo else now)

    def cache_key(self) -> str:
        return "|".join(str(getattr(self, n) or "") for n in PARAM_NAMES)

    def as_dict(self) -> dict[str, Any]:
        """The parameters as they appear in every report's JSON (`params`)."""
        return {"since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None,
                "team": self.team or None, "rep": self.rep or None,
                "segment": self.segment or None, "lead_source": self.lead_source or None}


def visibility_sql(user: Any, visibility: str, alias: str = "d") -> tuple[str, list[Any]]:
    """The deals `user` may read, as SQL (None: everything, as the CLI reads)."""
    if user is None:
        return "TRUE", []
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return "FALSE", []
    role = user.role
    if role in READ_ALL_ROLES:
        return "TRUE", []
    if role == "manager":
        teams = managed_team_ids(user)
        if not teams:
            return f"{alias}.owner_id = ?", [user.pk]
        marks = ", ".join("?" for _ in teams)
        return f"({alias}.team_id IN ({marks}) OR {alias}.owner_id = ?)", [*teams, user.pk]
    if role == "rep":
        if visibility == "all":
            return "TRUE", []
        if user.team_id:
            return f"({alias}.team_id = ? OR {alias}.owner_id = ?)", [user.team_id, user.pk]
        return f"{alias}.owner_id = ?", [user.pk]
    if role == "viewer":
        return (f"{alias}.team_id = ?", [user.team_id]) if user.team_id else ("TRUE", [])
    return "FALSE", []


def deal_scope(con: duckdb.DuckDBPyConnection, user: Any, visibility: str, params: Params,
               alias: str = "d", *, created: bool = True) -> tuple[str, list[Any]]:
    """WHERE clause over ``deals AS alias``: visibility and the filters. Unknown team or rep
    names are refused. `created=False` leaves the creation dates out (the `changes` report)."""
    sql, args = visibility_sql(user, visibility, alias)
    clauses, values = [sql], list(args)
    if params.team:
        row = con.execute("SELECT id FROM teams WHERE lower(name) = lower(?)",
                          [params.team]).fetchone()
        if row is None:
            raise InvalidInput(f"there is no team named '{params.team}'", "team")
        clauses.append(f"{alias}.team_id = ?")
        values.append(row[0])
    if params.rep:
        row = con.execute("SELECT id FROM users WHERE lower(username) = lower(?)",
                          [params.rep]).fetchone()
        if row is None:
            raise InvalidInput(f"there is no user named '{params.rep}'", "rep")
        clauses.append(f"{alias}.owner_id = ?")
        values.append(row[0])
    if params.segment:
        clauses.append(f"{alias}.segment = ?")
        values.append(params.segment)
    if params.lead_source:
        clauses.append(f"{alias}.lead_source = ?")
        values.append(params.lead_source)
    if created and params.since:
        clauses.append(f"{alias}.created_at >= ?")
        values.append(datetime.combine(params.since, datetime.min.time()))
    if created and params.until:
        clauses.append(f"{alias}.created_at < ? + INTERVAL 1 DAY")
        values.append(datetime.combine(params.until, datetime.min.time()))
    return " AND ".join(clauses), values
