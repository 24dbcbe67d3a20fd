"""Read-only forecasting analytics: the period forecast (weighted, history-calibrated, P10/P50/
P90), the roll-up of calls, the forecast-accuracy ledger replayed from stage history,
calibrated stage probabilities with their reliability table, and the criteria that predict
winning. The maths is in `dealcraft.domain.forecast`; this module only reads and arranges.

Amounts are kept per currency and never added across currencies.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils import timezone

from dealcraft.analytics.extract import columnar
from dealcraft.analytics.scope import Params, deal_scope
from dealcraft.deals.models import Status
from dealcraft.domain import forecast as F
from dealcraft.domain.process import Process
from dealcraft.people.models import Team, User
from dealcraft.people.permissions import READ_ALL_ROLES, managed_team_ids
from dealcraft.processes.services import active_process

from .models import ForecastAdjustment, ForecastSnapshotLine, ForecastSubmission

#: The custom field that names a deal's segment; without it every deal is in one segment.
SEGMENT_FIELD = "segment"
#: Open-pipeline categories, from most to least certain; `omitted` deals are left out.
OPEN_CATEGORIES = ("commit", "best_case", "pipeline")
#: What the accuracy ledger judges: the cumulative category calls, the weighted forecast and
#: the rep's own submitted call.
LEDGER_CATEGORIES = ("commit", "best_case", "pipeline", "weighted", "submitted")
ZERO = Decimal("0")
CENT = Decimal("0.01")


def money(value: Decimal) -> str:
    return f"{value.quantize(CENT, ROUND_HALF_UP):.2f}"


def ratio(value: float | None, places: int = 4) -> float | None:
    return None if value is None else round(value, places)


def bounds(pair: tuple[float, float] | None) -> list[float] | None:
    return None if pair is None else [round(pair[0], 4), round(pair[1], 4)]


# ---------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class DealRow:
    """A deal as the forecast needs it."""

    id: int
    owner_id: int
    status: str
    stage: str
    amount: Decimal
    currency: str
    expected_close: date
    probability: int
    category: str
    entered: datetime
    closed_at: datetime | None
    segment: str


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=UTC)


def _naive(moment: datetime) -> datetime:
    """A moment as the extract stores it: UTC without a zone."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def local_day(moment: datetime, zone: tzinfo | None = None) -> date:
    """The day a moment falls on in the server's time zone (or `zone`)."""
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(zone or timezone.get_current_timezone()).date()


def start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _scope(con: Any, user: Any, process: Process, params: Params | None,
           ) -> tuple[str, list[Any]]:
    return deal_scope(con, user, process.settings.visibility, params or Params())


# ---------------------------------------------------------------------------- calibration


@dataclass
class StageStats:
    """A stage's closed deals: how many went through it, how many were won, and the sum of
    the probabilities they entered it with (0–100)."""

    count: int = 0
    won: int = 0
    probability_sum: int = 0


@dataclass
class History:
    """What the team's own closed deals say: per stage counts, the calibration, close times
    and the squared error of the recorded probabilities."""

    stages: dict[str, StageStats]
    calibration: F.Calibration
    close_times: F.CloseTimes
    squared_error: float
    stays: int


def learn(con: Any, process: Process, where: str, args: list[Any]) -> History:
    """Each closed deal's stays — every process stage it was in, counted once, with the
    probability recorded at its last entry into it and the days from there to closing — are
    aggregated in the extract: per stage and segment, closed deals and wins; per stage and
    segment, the median days to winning."""
    keys = list(process.stage_keys)
    stages = {key: StageStats() for key in keys}
    defaults = {s.key: s.probability / 100 for s in process.stages}
    if not keys:
        return History(stages, F.calibrate_counts({}, defaults),
                       F.close_times_from_medians({}, {}), 0.0, 0)
    marks = ", ".join("?" for _ in keys)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE forecast_stays AS
        WITH h AS (
            SELECT h.deal_id, h.to_stage, h."at", h.id, h.probability,
                   lag(h.to_stage) OVER (PARTITION BY h.deal_id ORDER BY h."at", h.id) AS prev
            FROM history h JOIN deals d ON d.id = h.deal_id
            WHERE d.status <> 'open' AND {where})
        SELECT h.deal_id, h.to_stage AS stage, coalesce(d.segment, '') AS segment,
               d.status = 'won' AS won,
               arg_max(h.probability, (h."at", h.id)) AS probability,
               epoch(any_value(d.closed_at) - max(h."at")) / 86400.0 AS days
        FROM h JOIN deals d ON d.id = h.deal_id
        WHERE (h.prev IS NULL OR h.prev <> h.to_stage) AND h.to_stage IN ({marks})
        GROUP BY h.deal_id, h.to_stage, d.segment, d.status
    """, [*args, *keys])
    counts: dict[tuple[str, str], tuple[int, int]] = {}
    squared, stays = 0.0, 0
    for stage, segment, n, won, prob_sum, sq in con.execute("""
            SELECT stage, segment, count(*), count(*) FILTER (WHERE won), sum(probability),
                   sum(power(probability / 100.0 - CASE WHEN won THEN 1 ELSE 0 END, 2))
            FROM forecast_stays GROUP BY stage, segment""").fetchall():
        counts[(stage, segment)] = (int(n), int(won))
        row = stages[stage]
        row.count += int(n)
        row.won += int(won)
        row.probability_sum += int(prob_sum or 0)
        squared += float(sq or 0.0)
        stays += int(n)
    team: dict[str, tuple[int, float]] = {}
    segments: dict[tuple[str, str], tuple[int, float]] = {}
    for stage, segment, n, days in con.execute("""
            SELECT stage, segment, count(*), median(days) FROM forecast_stays
            WHERE won AND days IS NOT NULL
            GROUP BY GROUPING SETS ((stage), (stage, segment))""").fetchall():
        if segment is None:
            team[stage] = (int(n), float(days))
        elif segment:
            segments[(stage, segment)] = (int(n), float(days))
    con.execute("DROP TABLE forecast_stays")
    return History(stages, F.calibrate_counts(counts, defaults),
                   F.close_times_from_medians(team, segments), squared, stays)


def calibrated_close(deal: DealRow, history: History, today: date,
                     zone: tzinfo | None = None) -> date:
    """When the team's history says an open deal closes: its stage entry plus the median
    days from that stage to winning (per segment, shrunk to the team); the rep's expected
    close date when there is too little history; never before today."""
    days = history.close_times.days(deal.stage, deal.segment)
    if days is None:
        return max(deal.expected_close, today)
    return max(local_day(deal.entered, zone) + timedelta(days=round(days)), today)


# ---------------------------------------------------------------------------- forecast


def _periods(today: date, count: int) -> list[F.Period]:
    out = [F.period_of(today)]
    while len(out) < count:
        out.append(out[-1].next())
    return out


def load_deals(con: Any, where: str, args: list[Any], since: datetime) -> list[DealRow]:
    """Open deals, and deals won since `since`: all a forecast from then on can use."""
    rows = con.execute(
        "SELECT id, owner_id, status, stage, amount, currency, expected_close, probability, "
        "forecast_category, stage_entered_at, closed_at, coalesce(segment, '') FROM deals d "
        f"WHERE (d.status = 'open' OR (d.status = 'won' AND d.closed_at >= ?)) AND {where} "
        "ORDER BY id", [_naive(since), *args]).fetchall()
    return [DealRow(pk, owner, status, stage, Decimal(amount), currency, close, prob,
                    category, _aware(entered) or datetime.min.replace(tzinfo=UTC),
                    _aware(closed), segment)
            for (pk, owner, status, stage, amount, currency, close, prob, category,
                 entered, closed, segment) in rows]


def period_figures(period: F.Period, deals: Sequence[DealRow], history: History,
                   today: date) -> list[dict[str, Any]]:
    """One row per currency: won so far, the category calls, the weighted and calibrated
    forecasts, and the P10/P50/P90 of the calibrated outcome."""
    zone = timezone.get_current_timezone()
    by_currency: dict[str, dict[str, Any]] = defaultdict(lambda: {
        "won": ZERO, "commit": ZERO, "best_case": ZERO, "pipeline": ZERO, "omitted": ZERO,
        "open_deals": 0, "weighted_open": [], "calibrated": ([], [])})
    for d in deals:
        row = by_currency[d.currency]
        if d.status == Status.WON:
            if d.closed_at is not None and period.contains(local_day(d.closed_at, zone)):
                row["won"] += d.amount
            continue
        if d.status != Status.OPEN:
            continue
        if period.contains(d.expected_close):
            row[d.category if d.category in row else "pipeline"] += d.amount
            if d.category != "omitted":
                row["open_deals"] += 1
                row["weighted_open"].append(F.OpenDeal(d.amount, d.probability / 100))
        if d.category != "omitted" and period.contains(
                calibrated_close(d, history, today, zone)):
            row["calibrated"][0].append(d.amount)
            row["calibrated"][1].append(history.calibration.probability(d.stage, d.segment))
    out = []
    for currency in sorted(by_currency):
        row = by_currency[currency]
        won = row["won"]
        commit = won + row["commit"]
        best = commit + row["best_case"]
        amounts, probabilities = row["calibrated"]
        spread = F.interval(won, amounts, probabilities)
        out.append({
            "period": period.label, "start": period.start.isoformat(),
            "end": period.end.isoformat(), "currency": currency,
            "won": money(won), "commit": money(commit), "best_case": money(best),
            "pipeline": money(best + row["pipeline"]), "omitted": money(row["omitted"]),
            "open_deals": row["open_deals"],
            "weighted": money(won + F.weighted(row["weighted_open"])),
            "calibrated": money(won + F.expected(amounts, probabilities)),
            "calibrated_deals": len(amounts),
            "p10": money(spread.p10), "p50": money(spread.p50), "p90": money(spread.p90),
            "exact": spread.exact,
        })
    return out


def forecast_report(user: Any = None, *, today: date | None = None, periods: int = 2,
                    params: Params | None = None) -> dict[str, Any]:
    """The forecast for this quarter and the next (`periods` quarters in all), per currency."""
    today = today or timezone.localdate()
    _, process = active_process()
    quarters = _periods(today, periods)
    with columnar() as con:
        where, args = _scope(con, user, process, params)
        history = learn(con, process, where, args)
        deals = load_deals(con, where, args, start_of(quarters[0].start))
    rows = [row for p in quarters for row in period_figures(p, deals, history, today)]
    return {"today": today.isoformat(), "periods": rows,
            "min_sample": history.calibration.min_sample,
            "prior_strength": history.calibration.prior_strength}


# ---------------------------------------------------------------------------- roll-up


@dataclass
class RepLine:
    """One rep's quarter: their deals by category, their call and the manager's adjustment."""

    rep: User
    currency: str
    won: Decimal = ZERO
    commit: Decimal = ZERO
    best_case: Decimal = ZERO
    pipeline: Decimal = ZERO
    weighted: Decimal = ZERO
    submission: ForecastSubmission | None = None
    adjustment: ForecastAdjustment | None = None

    @property
    def call(self) -> Decimal | None:
        """The number that counts: the manager's adjustment, else the rep's own call."""
        if self.adjustment is not None:
            return self.adjustment.amount
        return self.submission.amount if self.submission is not None else None


@dataclass
class Rollup:
    period: F.Period
    teams: list[str]
    lines: list[RepLine]
    totals: dict[str, dict[str, Decimal]]


def rollup_scope(user: Any) -> list[int] | None:
    """Team ids a user's roll-up covers: None (every team) for admins and ops, the managed
    teams for a manager; a rep sees only their own line (empty list of teams)."""
    if user.role in READ_ALL_ROLES:
        return None
    if user.role == "manager":
        return managed_team_ids(user)
    return []


def rollup(user: Any, period: F.Period, *, currency: str | None = None) -> Rollup:
    """Per rep of the teams in scope (or just the rep themself): the quarter's won amount,
    category calls and weighted forecast from their deals, their latest call and the latest
    adjustment with its reason; and the team totals of each, per currency."""
    _, process = active_process()
    currency = currency or process.currency
    team_ids = rollup_scope(user)
    reps = User.objects.filter(role="rep", is_active=True).order_by(
        "first_name", "last_name", "username")
    if team_ids is None:
        teams = list(Team.objects.order_by("name").values_list("name", flat=True))
    elif team_ids:
        reps = reps.filter(team_id__in=team_ids)
        teams = list(Team.objects.filter(id__in=team_ids).order_by("name")
                     .values_list("name", flat=True))
    else:
        reps = User.objects.filter(pk=user.pk)
        teams = []
    people = {rep.pk: rep for rep in reps}
    lines = {pk: RepLine(rep=rep, currency=currency) for pk, rep in people.items()}
    if people:
        # The deals' figures come from the columnar extract: one grouped scan, however many
        # deals the reps hold.
        marks = ", ".join("?" for _ in people)
        start, end = start_of(period.start), start_of(period.end + timedelta(days=1))
        with columnar() as con:
            found = con.execute(f"""
                SELECT owner_id, status, forecast_category, sum(amount),
                       sum(amount * probability)
                FROM deals
                WHERE currency = ? AND owner_id IN ({marks}) AND (
                    (status = 'won' AND closed_at >= ? AND closed_at < ?) OR
                    (status = 'open' AND forecast_category <> 'omitted'
                     AND expected_close BETWEEN ? AND ?))
                GROUP BY ALL""", [currency, *people, _naive(start), _naive(end),
                                  period.start, period.end]).fetchall()
        for owner, status, category, total, weighted in found:
            line = lines[owner]
            if status == Status.WON:
                line.won += Decimal(total)
                continue
            if category in OPEN_CATEGORIES:
                setattr(line, category, getattr(line, category) + Decimal(total))
            line.weighted += Decimal(weighted) / 100
    for line in lines.values():
        line.commit += line.won
        line.best_case += line.commit
        line.pipeline += line.best_case
        line.weighted = (line.weighted + line.won).quantize(CENT, ROUND_HALF_UP)
    for sub in (ForecastSubmission.objects.filter(period=period.label, currency=currency,
                                                  rep_id__in=list(people))
                .order_by("rep_id", "-submitted_at", "-id")):
        if lines[sub.rep_id].submission is None:
            lines[sub.rep_id].submission = sub
    for adj in (ForecastAdjustment.objects.filter(period=period.label, currency=currency,
                                                  rep_id__in=list(people))
                .select_related("by").order_by("rep_id", "-at", "-id")):
        if lines[adj.rep_id].adjustment is None:
            lines[adj.rep_id].adjustment = adj
    ordered = [lines[pk] for pk in people]
    totals: dict[str, Decimal] = {k: sum((getattr(x, k) for x in ordered), ZERO)
                                  for k in ("won", "commit", "best_case", "pipeline",
                                            "weighted")}
    totals["submitted"] = sum((x.submission.amount for x in ordered if x.submission), ZERO)
    totals["call"] = sum((x.call for x in ordered if x.call is not None), ZERO)
    return Rollup(period=period, teams=teams, lines=ordered, totals={currency: totals})


@dataclass(frozen=True)
class SnapshotRow:
    """What one weekly snapshot said about the quarter, for the owners a user oversees."""

    week: date
    won: Decimal
    commit: Decimal
    best_case: Decimal
    pipeline: Decimal
    weighted: Decimal


def snapshot_trend(user: Any, period: F.Period, currency: str) -> list[SnapshotRow]:
    """The quarter's weekly snapshots, oldest first, added up over the same people as the
    roll-up (every owner for admins and ops, the managed teams' for a manager, a rep's own),
    with the category calls made cumulative as on the roll-up."""
    lines = ForecastSnapshotLine.objects.filter(snapshot__period=period.label,
                                                currency=currency)
    team_ids = rollup_scope(user)
    if team_ids is not None:
        lines = lines.filter(team_id__in=team_ids) if team_ids else lines.filter(
            owner_id=user.pk)
    sums: dict[date, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for week, category, amount, weighted in lines.values_list(
            "snapshot__week", "category", "amount", "weighted"):
        sums[week][category] += amount
        if category != "omitted":
            sums[week]["weighted"] += weighted
    rows = []
    for week in sorted(sums):
        got = sums[week]
        commit = got["closed"] + got["commit"]
        best = commit + got["best_case"]
        rows.append(SnapshotRow(week=week, won=got["closed"], commit=commit, best_case=best,
                                pipeline=best + got["pipeline"],
                                weighted=got["weighted"].quantize(CENT, ROUND_HALF_UP)))
    return rows


# ---------------------------------------------------------------------------- accuracy


def ledger_moments(period: F.Period) -> list[tuple[int, datetime]]:
    """The start of each week of the quarter: when the forecast is judged "at week N"."""
    return [(n, start_of(period.week_start(n))) for n in range(1, period.weeks + 1)]


def _replayed(con: Any, where: str, args: list[Any], periods: Sequence[F.Period],
              ) -> list[tuple[dict[tuple[str, int, str, int], Decimal],
                              dict[tuple[str, int], Decimal]]]:
    """For each quarter: the calls at each of its weeks per currency, owner and call, and
    what each owner won in it — from the stage history replayed in the extract, in one pass:
    every deal that could matter to a quarter (created before it ended, not closed before it
    began) is joined, at each week's start, to its latest history entry at or before then
    (ASOF JOIN), and to its final outcome."""
    marks, moment_args = [], []
    for index, period in enumerate(periods):
        start, end = start_of(period.start), start_of(period.end + timedelta(days=1))
        for week, moment in ledger_moments(period):
            marks.append("(?, ?, ?, ?, ?, ?, ?)")
            moment_args += [index, week, _naive(moment), _naive(start), _naive(end),
                            period.start, period.end]
    rows = con.execute(f"""
        WITH moments(p, week, t, p_start, p_end, first_day, last_day) AS (
            VALUES {", ".join(marks)}),
        hist AS (
            SELECT deal_id, "at", to_stage, amount, expected_close, forecast_category,
                   probability
            FROM history
            QUALIFY row_number() OVER (PARTITION BY deal_id, "at" ORDER BY id DESC) = 1),
        final AS (
            SELECT deal_id, arg_max(to_stage, ("at", id)) AS stage, max("at") AS "at"
            FROM history GROUP BY deal_id),
        grid AS (
            SELECT d.id, d.owner_id, d.currency, m.*
            FROM deals d JOIN moments m
              ON d.created_at < m.p_end AND (d.closed_at IS NULL OR d.closed_at >= m.p_start)
            WHERE {where}),
        state AS (
            SELECT g.*, h.to_stage, h.amount, h.expected_close, h.forecast_category,
                   h.probability
            FROM grid g ASOF JOIN hist h ON h.deal_id = g.id AND h."at" <= g.t),
        calls AS (
            SELECT s.p, s.currency, s.owner_id, s.week,
                CASE WHEN s.to_stage = 'won' AND f.stage = 'won' AND f."at" >= s.p_start
                          AND f."at" < s.p_end AND f."at" <= s.t THEN 'won'
                     WHEN s.to_stage NOT IN ('won', 'lost')
                          AND s.forecast_category <> 'omitted'
                          AND s.expected_close BETWEEN s.first_day AND s.last_day THEN
                        CASE WHEN s.forecast_category IN ('commit', 'best_case')
                             THEN s.forecast_category ELSE 'pipeline' END
                END AS bucket, s.amount, s.probability
            FROM state s JOIN final f ON f.deal_id = s.id)
        SELECT p, currency, owner_id, week, bucket, sum(amount), sum(amount * probability)
        FROM calls WHERE bucket IS NOT NULL GROUP BY p, currency, owner_id, week, bucket
    """, [*moment_args, *args]).fetchall()
    out: list[tuple[dict[tuple[str, int, str, int], Decimal],
                    dict[tuple[str, int], Decimal]]] = [
        (defaultdict(lambda: ZERO), defaultdict(lambda: ZERO)) for _ in periods]
    for index, currency, owner, week, bucket, amount, weighted in rows:
        forecast = out[index][0]
        amount, weighted = Decimal(amount), Decimal(weighted) / 100
        key = (currency, owner)
        if bucket == "won":
            for category in ("commit", "best_case", "pipeline", "weighted"):
                forecast[(*key, category, week)] += amount
            continue
        for category in OPEN_CATEGORIES[OPEN_CATEGORIES.index(bucket):]:
            forecast[(*key, category, week)] += amount
        forecast[(*key, "weighted", week)] += weighted
    ranges = ", ".join("(?, ?, ?)" for _ in periods)
    range_args = [v for i, p in enumerate(periods)
                  for v in (i, _naive(start_of(p.start)),
                            _naive(start_of(p.end + timedelta(days=1))))]
    for index, currency, owner, amount in con.execute(f"""
            WITH ranges(p, p_start, p_end) AS (VALUES {ranges}),
            final AS (
                SELECT deal_id, arg_max(to_stage, ("at", id)) AS stage, max("at") AS "at",
                       arg_max(amount, ("at", id)) AS amount
                FROM history GROUP BY deal_id)
            SELECT r.p, d.currency, d.owner_id, sum(f.amount)
            FROM final f JOIN deals d ON d.id = f.deal_id
            JOIN ranges r ON f."at" >= r.p_start AND f."at" < r.p_end
            WHERE f.stage = 'won' AND {where}
            GROUP BY r.p, d.currency, d.owner_id""", [*range_args, *args]).fetchall():
        out[index][1][(currency, owner)] = Decimal(amount)
    return out


def accuracy_report(user: Any = None, *, today: date | None = None, periods: int = 4,
                    params: Params | None = None) -> dict[str, Any]:
    """The forecast-accuracy ledger over the last `periods` quarters that have ended.

    For each quarter and each week N, the stage history is replayed to the start of week N:
    a rep's `commit` call is what they had won in the quarter so far plus the open deals then
    in commit and expected to close in the quarter; `best_case` adds best-case deals,
    `pipeline` adds pipeline deals, `weighted` is won so far plus amount × probability of the
    open deals (omitted ones aside), `submitted` is the rep's latest call made by then.
    A rep sees only their own lines besides everyone's; a viewer only everyone's.
    Each is judged against what the rep won in the quarter: error Σ|F − A| ÷ ΣA and bias
    Σ(F − A) ÷ ΣA over the quarters, per rep, and for everyone (rep None: the reps' calls
    added up against what they won together, per quarter), per currency. The `submitted`
    row for everyone adds up only the reps who had made a call by then.
    """
    today = today or timezone.localdate()
    _, process = active_process()
    ended = [F.period_of(today).previous()]
    while len(ended) < periods:
        ended.append(ended[-1].previous())
    ended.reverse()
    # (currency, owner or 0 for everyone, category, week) → Accuracy
    ledger: dict[tuple[str, int, str, int], F.Accuracy] = defaultdict(F.Accuracy)
    submissions = _submissions_by(ended)
    with columnar() as con:
        where, args = _scope(con, user, process, params)
        replays = [(period, forecast, actual) for period, (forecast, actual)
                   in zip(ended, _replayed(con, where, args, ended), strict=True)]
    owner_ids = {o for _, forecast, actual in replays
                 for o in {k[1] for k in forecast} | {k[1] for k in actual}}
    owners = dict(User.objects.filter(id__in=owner_ids).values_list("id", "username"))
    for period, forecast, actual in replays:
        moments = ledger_moments(period)
        people = set(actual) | {(c, o) for c, o, _, _ in forecast}
        # Everyone together: the sum of the reps' calls against the sum of what they won,
        # one pair per quarter (so reps' misses in opposite directions offset, as they do
        # in a team's number).
        team: dict[tuple[str, str, int], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
        for currency, owner in sorted(people):
            a = actual.get((currency, owner), ZERO)
            for week, moment in moments:
                for category in LEDGER_CATEGORIES:
                    if category == "submitted":
                        call = _call_at(submissions, period.label, owner, currency, moment)
                        if call is None:
                            continue
                        f = call
                    else:
                        f = forecast.get((currency, owner, category, week), ZERO)
                        f = f.quantize(CENT, ROUND_HALF_UP)
                    ledger[(currency, owner, category, week)].add(f, a)
                    total = team[(currency, category, week)]
                    total[0] += f
                    total[1] += a
        for (currency, category, week), (f, a) in team.items():
            ledger[(currency, 0, category, week)].add(f, a)
    # Reps see their own lines (and everyone's together, over the deals they may read);
    # viewers only the together lines; managers, ops and admins every rep's.
    if user is not None and user.role not in ("manager", *READ_ALL_ROLES):
        ledger = {k: v for k, v in ledger.items() if k[1] in (0, user.pk)}
    rows = []
    for (currency, owner, category, week), acc in sorted(
            ledger.items(), key=lambda kv: (kv[0][0], kv[0][1] != 0,
                                            owners.get(kv[0][1], ""),
                                            LEDGER_CATEGORIES.index(kv[0][2]), kv[0][3])):
        rows.append({
            "currency": currency, "rep": owners.get(owner) if owner else None,
            "category": category, "week": week, "periods": len(acc.pairs),
            "forecast": money(acc.forecast), "actual": money(acc.actual),
            "error": ratio(acc.error), "bias": ratio(acc.bias),
        })
    return {"today": today.isoformat(), "periods": [p.label for p in ended],
            "weeks": F.WEEKS, "categories": list(LEDGER_CATEGORIES), "rows": rows}


def _submissions_by(periods: Sequence[F.Period],
                    ) -> dict[tuple[str, int, str], list[tuple[datetime, Decimal]]]:
    found: dict[tuple[str, int, str], list[tuple[datetime, Decimal]]] = defaultdict(list)
    for period, rep, currency, at, amount in (
            ForecastSubmission.objects.filter(period__in=[p.label for p in periods])
            .order_by("submitted_at", "id")
            .values_list("period", "rep_id", "currency", "submitted_at", "amount")):
        found[(period, rep, currency)].append((at, amount))
    return found


def _call_at(submissions: dict[tuple[str, int, str], list[tuple[datetime, Decimal]]],
             period: str, rep: int, currency: str, moment: datetime) -> Decimal | None:
    call = None
    for at, amount in submissions.get((period, rep, currency), ()):
        if at > moment:
            break
        call = amount
    return call


# ---------------------------------------------------------------------------- calibration


def calibration_report(user: Any = None, *, params: Params | None = None) -> dict[str, Any]:
    """Per stage: the probability the process gave its deals (`predicted`, the mean of the
    probabilities recorded as they entered) against the share of its closed deals that were
    won (`actual`), with counts, a 95% Wilson interval and the calibrated probability; and
    per segment the calibrated estimate with where it came from."""
    version, process = active_process()
    with columnar() as con:
        where, args = _scope(con, user, process, params)
        history = learn(con, process, where, args)
    stages = []
    for stage in process.stages:
        stats = history.stages[stage.key]
        estimate = history.calibration.team[stage.key]
        segments = sorted(seg for (s, seg) in history.calibration.segments if s == stage.key)
        stages.append({
            "stage": stage.key, "name": stage.name, "default": stage.probability / 100,
            "count": stats.count, "won": stats.won,
            "predicted": ratio(stats.probability_sum / 100 / stats.count
                               if stats.count else None),
            "actual": ratio(stats.won / stats.count if stats.count else None),
            "interval": bounds(F.wilson(stats.won, stats.count)),
            "calibrated": ratio(estimate.probability), "source": estimate.source,
            "segments": [{
                "segment": seg, "count": est.trials, "won": est.wins,
                "actual": ratio(est.raw), "calibrated": ratio(est.probability),
                "source": est.source,
            } for seg in segments for est in [history.calibration.estimate(stage.key, seg)]],
        })
    return {"process_version": version.number, "stages": stages,
            "brier": ratio(history.squared_error / history.stays if history.stays else None),
            "min_sample": history.calibration.min_sample,
            "prior_strength": history.calibration.prior_strength}


# ---------------------------------------------------------------------------- criteria


def criteria_report(user: Any = None, *, params: Params | None = None) -> dict[str, Any]:
    """For each exit criterion: closed deals that met it at their (last) gate against those
    that did not, the win rate of each with a 95% Wilson interval, and the difference with
    Newcombe's interval (an interval above zero: meeting it goes with winning)."""
    version, process = active_process()
    # Per closed deal, the last time each criterion was judged at a gate it left through.
    sql = """
        WITH last AS (
            SELECT g.deal_id, g.gate, g.criterion,
                   arg_max(g.met, (g.at, g.history_id)) AS met
            FROM gate_criteria g JOIN deals d ON d.id = g.deal_id
            WHERE d.status <> 'open' AND g.kind IN ('advance', 'skip', 'override', 'won')
              AND {where}
            GROUP BY g.deal_id, g.gate, g.criterion)
        SELECT l.gate, l.criterion,
               count(*) FILTER (WHERE l.met),
               count(*) FILTER (WHERE l.met AND d.status = 'won'),
               count(*) FILTER (WHERE NOT l.met),
               count(*) FILTER (WHERE NOT l.met AND d.status = 'won')
        FROM last l JOIN deals d ON d.id = l.deal_id
        GROUP BY l.gate, l.criterion
    """
    with columnar() as con:
        where, args = deal_scope(con, user, process.settings.visibility, params or Params())
        found = con.execute(sql.replace("{where}", where), args).fetchall()
    counts = {(gate, key): [int(a), int(b), int(c), int(e)]
              for gate, key, a, b, c, e in found}
    labels = {(stage, c.key): c.label for stage, c in process.all_criteria()}
    names = {**{s.key: s.name for s in process.stages}, "won": "Won"}
    order = [k for k in labels] + sorted(k for k in counts if k not in labels)
    rows = []
    for stage, key in order:
        met, won_met, not_met, won_not_met = counts.get((stage, key), [0, 0, 0, 0])
        diff = F.difference_interval(won_met, met, won_not_met, not_met)
        rows.append({
            "stage": stage, "stage_name": names.get(stage, stage), "criterion": key,
            "label": labels.get((stage, key), key),
            "met": met, "won_met": won_met, "not_met": not_met, "won_not_met": won_not_met,
            "win_rate_met": ratio(won_met / met if met else None),
            "win_rate_not_met": ratio(won_not_met / not_met if not_met else None),
            "interval_met": bounds(F.wilson(won_met, met)),
            "interval_not_met": bounds(F.wilson(won_not_met, not_met)),
            "difference": ratio(won_met / met - won_not_met / not_met
                                if met and not_met else None),
            "interval": bounds(diff),
        })
    return {"process_version": version.number, "criteria": rows}
