"""HubSpot: deal exports from the deals index ("Export" of a view, CSV or XLSX).

HubSpot heads each column with the property's label: `Record ID`, `Deal Name`, `Pipeline`,
`Deal Stage`, `Amount`, `Currency` (when the account uses several), `Close Date`,
`Create Date`, `Deal owner` (a name), `Associated Company` / `Associated Company IDs`,
`Deal Type`, `Closed Lost Reason`, `Deal probability` (0 to 1), `Forecast category`,
`Next step`; and, from the stage calculated properties, one `Date entered "<stage>
(<pipeline>)"` column per stage — the deal's stage history. Datetimes are written without a
zone (`2024-05-02 09:15`), in the HubSpot account's time zone: pass `zone` to say which;
otherwise they stay naive and the importer reads them in the server's time zone.

A stage's outcome comes from the `Is Closed Won` and `Is Deal Closed?` columns when exported,
else from its probability (100 % is won) and its name ("Closed won", "Closed lost"). Stages
are ordered by probability when every open stage has one, else in the order of their
`Date entered` columns (HubSpot writes them in pipeline order), won and lost stages last.
HubSpot keeps only the latest entry into each stage: a deal that went back and forth shows
its last visit to each stage. `Date entered` columns of pipelines none of the exported deals is
in are left out.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path

from .records import (
    Problem,
    SourceAccount,
    SourceActivity,
    SourceContact,
    SourceDeal,
    SourceHistory,
    SourceRole,
    SourceStage,
    SourceUser,
)
from .tabular import DateOrder, normalise_header
from .vendor_files import (
    Cells,
    Column,
    SourceFile,
    StageBook,
    forecast_category,
    midnight,
    open_source,
)

DEALS = (
    Column("id", ("Record ID", "Deal ID", "Deal Id", "hs_object_id"), required=True),
    Column("name", ("Deal Name", "dealname"), required=True),
    Column("stage", ("Deal Stage", "dealstage"), required=True),
    Column("pipeline", ("Pipeline",)),
    Column("amount", ("Amount",)),
    Column("currency", ("Currency", "Deal currency code", "deal_currency_code")),
    Column("close", ("Close Date", "closedate")),
    Column("created", ("Create Date", "Created Date", "createdate")),
    Column("owner", ("Deal owner", "Deal Owner", "HubSpot Owner", "hubspot_owner_id")),
    Column("type", ("Deal Type", "dealtype")),
    Column("loss_reason", ("Closed Lost Reason", "closed_lost_reason")),
    Column("probability", ("Deal probability", "Deal Stage Probability",
                           "hs_deal_stage_probability")),
    Column("forecast", ("Forecast category", "hs_forecast_category")),
    Column("next_step", ("Next step", "hs_next_step")),
    Column("company", ("Associated Company", "Associated Company (Primary)")),
    Column("company_ids", ("Associated Company IDs", "Associated Company IDs (Primary)")),
    Column("closed_won", ("Is Closed Won", "Is closed won", "hs_is_closed_won")),
    Column("closed", ("Is Deal Closed?", "Is closed", "hs_is_closed")),
    Column("lead_source", ("Original Source Type", "Original Traffic Source",
                           "Original Source")),
    Column("stage_entered", ("Date entered current stage",)),
)

#: Properties an export usually holds that dealcraft has no place for: read past silently.
IGNORED = frozenset(normalise_header(h) for h in (
    "Last Modified Date", "Closed Won Reason", "Amount in company currency",
    "Annual contract value", "Annual recurring revenue", "Monthly recurring revenue",
    "Total contract value", "Weighted amount", "Forecast amount", "Deal Description",
    "Number of Associated Contacts", "Associated Contact", "Associated Contact IDs",
    "Associated Contact IDs (Primary)", "Last Activity Date", "Next Activity Date",
    "Number of times contacted", "Number of Sales Activities", "Record source",
    "Record source detail 1", "Record source detail 2", "Days to close", "Last Contacted",
    "Priority", "Deal collaborator", "Deal Split Users", "Business units", "Owner Assigned Date",
    "Team", "HubSpot Team", "Date entered current stage", "Time in current stage",
    "Deal Score", "Original Source Drill-Down 1", "Original Source Drill-Down 2",
    "Latest Traffic Source", "Latest Source", "Last Modified By", "Created by",
))
_ENTERED = re.compile(r'^date entered\s+["“”\'‘’]?(.*?)["“”\'‘’]?$', re.IGNORECASE)
_STAGE_COLUMNS = re.compile(r"^(date exited|cumulative time in|latest time in|time in)\b",
                            re.IGNORECASE)
_PIPELINE = re.compile(r"^(.*\S)\s+\(([^()]*)\)$")
_LOOKS_LIKE = (
    ({"first_name", "last_name", "email"}, "a contacts export"),
    ({"company_name", "company_domain_name"}, "a companies export"),
    ({"ticket_name", "ticket_status"}, "a tickets export"),
    ({"ticket_name"}, "a tickets export"),
)


def _looks_like(keys: set[str]) -> str:
    return next((name for signature, name in _LOOKS_LIKE if signature <= keys), "")


def _squash(text: str) -> str:
    return " ".join(text.split()).casefold()


def read_hubspot(paths: Sequence[Path], *, date_format: DateOrder | None = None,
                 zone: tzinfo | None = None) -> HubSpotExport:
    """Read one or more HubSpot deal exports (CSV or XLSX); every problem is in `.problems`."""
    return HubSpotExport([Path(p) for p in paths], date_format=date_format, zone=zone)


@dataclass
class _Entered:
    """A `Date entered "<stage> (<pipeline>)"` column."""

    index: int
    stage: str
    pipeline: str


@dataclass
class HubSpotExport:
    paths: list[Path]
    date_format: DateOrder | None = None
    zone: tzinfo | None = None
    source: str = "hubspot"
    stages: list[SourceStage] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.path = self.paths[0] if self.paths else Path(".")
        self._files: list[tuple[SourceFile, list[_Entered]]] = []
        self._owners: dict[str, None] = {}
        self._companies: dict[str, str] = {}
        self._spelling: dict[str, str] = {}  # squashed stage name → as the deals spell it
        self._dropped: set[tuple[int, int]] = set()  # (file position, row)
        if not self.paths:
            self.problems.append(Problem("", None, "", "no HubSpot export file given"))
            return
        for path in self.paths:
            entered: list[_Entered] = []

            def known(index: int, header: str, entered: list[_Entered] = entered) -> bool:
                return _stage_column(index, header, entered)

            source = open_source(path, DEALS, self.problems, what="a HubSpot deals export",
                                 date_format=self.date_format, known=known, ignored=IGNORED,
                                 looks_like=_looks_like)
            self._files.append((source, entered))
        self._scan()

    # --- the scan ------------------------------------------------------------------------

    def _scan(self) -> None:
        book = StageBook()
        header_position: dict[str, int] = {}
        for _, entered in self._files:
            for position, column in enumerate(entered):
                header_position.setdefault(_squash(column.stage), position)
        tallies_won: dict[str, Counter[bool]] = {}
        tallies_closed: dict[str, Counter[bool]] = {}
        pipelines: Counter[str] = Counter()
        seen: dict[str, str] = {}
        no_owner = 0
        for number, (source, _entered) in enumerate(self._files):
            if source.unusable:
                continue
            for row, values in source.records():
                cells = source.cells(row, values, self.problems)
                deal = self._deal(cells)
                if deal is None:
                    continue
                where = f"{source.name}:{row}"
                if deal.key in seen:
                    self.problems.append(Problem(
                        source.name, row, source.header("id"),
                        f"the same Record ID is on {seen[deal.key]}; this row is not imported",
                        deal.key, fatal=False))
                    self._dropped.add((number, row))
                    continue
                seen[deal.key] = where
                tally = book.see(deal.stage)
                self._spelling.setdefault(_squash(deal.stage), deal.stage)
                if deal.probability is not None:
                    tally.probabilities[deal.probability] += 1
                if deal.forecast_category:
                    tally.categories[deal.forecast_category] += 1
                won, closed = cells.boolean("closed_won"), cells.boolean("closed")
                if won is not None:
                    tallies_won.setdefault(deal.stage, Counter())[won] += 1
                if closed is not None:
                    tallies_closed.setdefault(deal.stage, Counter())[closed] += 1
                if cells.text("pipeline"):
                    pipelines[cells.text("pipeline")] += 1
                if deal.owner_key:
                    self._owners.setdefault(deal.owner_key, None)
                else:
                    no_owner += 1
                if deal.account_key:
                    self._companies.setdefault(deal.account_key, _company_name(cells))
                for _ in self._entries(cells, _entered, deal.key):
                    pass  # checked here, read again with the deals
            source.settle_dates(self.problems)
        for _, entered in self._files:
            # an export of all properties has a Date entered column for every stage of every
            # pipeline: only the pipelines of the exported deals bring stages
            entered[:] = [c for c in entered
                          if not (pipelines and c.pipeline and c.pipeline not in pipelines)]
            for column in entered:
                if _squash(column.stage) not in self._spelling:
                    self._spelling[_squash(column.stage)] = column.stage
                    book.see(column.stage)
        if not seen and any(not f.unusable for f, _ in self._files):
            self.problems.append(Problem(self.paths[0].name, None, "", "no deal to import",
                                         fatal=False))
        if len(pipelines) > 1:
            self.problems.append(Problem(
                self.paths[0].name, None, "Pipeline",
                f"deals of {len(pipelines)} pipelines ({', '.join(sorted(pipelines))}): their "
                "stages are imported as one list, stages of the same name merged; import one "
                "pipeline's export at a time to keep them apart", fatal=False))
        if no_owner:
            self.problems.append(Problem(
                self.paths[0].name, None, "Deal owner",
                f"{no_owner} deals have no owner", fatal=False))
        self.stages = self._order(book, header_position, tallies_won, tallies_closed)

    def _order(self, book: StageBook, header_position: dict[str, int],
               tallies_won: dict[str, Counter[bool]],
               tallies_closed: dict[str, Counter[bool]]) -> list[SourceStage]:
        outcomes: dict[str, tuple[bool, bool]] = {}
        for name, tally in book.tallies.items():
            folded = _squash(name)
            probability = tally.probability()
            if name in tallies_won or name in tallies_closed:
                won = bool(tallies_won.get(name)) and tallies_won[name].most_common(1)[0][0]
                closed = won or (bool(tallies_closed.get(name))
                                 and tallies_closed[name].most_common(1)[0][0])
            elif probability == 100 or ("won" in folded.split() and "closed" in folded):
                won, closed = True, True
            else:
                won = False
                closed = "lost" in folded.split() and (probability in (0, None))
            outcomes[name] = (closed, won)
        open_probabilities = [t.probability() for n, t in book.tallies.items()
                              if not outcomes[n][0]]
        by_probability = bool(open_probabilities) and None not in open_probabilities

        def rank(name: str) -> tuple[int, float, int]:
            closed, won = outcomes[name]
            tally = book.tallies[name]
            outcome = 0 if not closed else 1 if won else 2
            position = header_position.get(_squash(name), 10_000 + tally.first_seen)
            if by_probability and not closed:
                return outcome, float(tally.probability() or 0), position
            return outcome, float(position), tally.first_seen

        names = sorted(book.tallies, key=rank)
        return [SourceStage(name=name, order=float(i),
                            probability=book.tallies[name].probability(),
                            is_closed=outcomes[name][0], is_won=outcomes[name][1],
                            forecast_category=book.tallies[name].category())
                for i, name in enumerate(names)]

    # --- rows to records ---------------------------------------------------------------

    def _deal(self, cells: Cells) -> SourceDeal | None:
        key = cells.require("id", "the Record ID")
        name = cells.require("name", "the deal name")
        stage = cells.raw("stage")
        if not stage.strip():
            cells.problem("stage", "the deal stage is empty")
        amount = cells.decimal("amount")
        close = cells.date("close")
        created = cells.datetime("created", self.zone)
        entered = cells.datetime("stage_entered", self.zone)
        probability = cells.percent("probability", fractions=True)
        category = _category(cells)
        currency = cells.text("currency").upper()
        if currency and not re.fullmatch(r"[A-Z]{3}", currency):
            cells.problem("currency", "not a three-letter currency code",
                          cells.text("currency"))
        if not cells.ok:
            return None
        fields = {k: v for k, v in (("type", cells.text("type")),
                                    ("lead_source", cells.text("lead_source")),
                                    ("pipeline", cells.text("pipeline"))) if v}
        return SourceDeal(
            key=key, name=name, stage=self._spelling.get(_squash(stage), stage),
            owner_key=cells.text("owner"), account_key=_company_key(cells), amount=amount,
            currency=currency, close_date=close, created_at=created,
            closed_at=None, probability=probability, forecast_category=category,
            next_step=cells.text("next_step"), loss_reason=cells.text("loss_reason"),
            fields=fields, file=cells.file.name, row=cells.row, stage_entered_at=entered)

    def _entries(self, cells: Cells, entered: list[_Entered], deal: str
                 ) -> Iterator[SourceHistory]:
        for column in entered:
            text = cells.values[column.index].strip() if column.index >= 0 else ""
            if not text:
                continue
            key = f"entered:{column.index}"
            cells.file.idx.setdefault(key, column.index)
            at = cells.datetime(key, self.zone)
            if at is None:
                continue
            stage = self._spelling.get(_squash(column.stage), column.stage)
            yield SourceHistory(deal_key=deal, at=at, stage=stage, file=cells.file.name,
                                row=cells.row)

    # --- the SourceExport interface ----------------------------------------------------

    def _rows(self) -> Iterator[tuple[Cells, list[_Entered]]]:
        for number, (source, entered) in enumerate(self._files):
            if source.unusable:
                continue
            for row, values in source.records():
                if (number, row) not in self._dropped:
                    yield source.cells(row, values, None), entered

    def users(self) -> Iterable[SourceUser]:
        return [SourceUser(key=name, name=name) for name in self._owners]

    def accounts(self) -> Iterable[SourceAccount]:
        return [SourceAccount(key=key, name=name or key) for key, name in self._companies.items()]

    def contacts(self) -> Iterable[SourceContact]:
        return []

    def deals(self) -> Iterator[SourceDeal]:
        outcome = {stage.name: stage.is_closed for stage in self.stages}
        for cells, entered in self._rows():
            deal = self._deal(cells)
            if deal is None:
                continue
            if deal.stage_entered_at is None or outcome.get(deal.stage):
                at = max((h.at for h in self._entries(cells, entered, deal.key)
                          if h.stage == deal.stage), default=None)
                deal.stage_entered_at = deal.stage_entered_at or at
                if outcome.get(deal.stage):
                    deal.closed_at = at or midnight(deal.close_date, self.zone)
            yield deal

    def history(self) -> Iterator[SourceHistory]:
        # a row the scan found unreadable stops the import anyway: only its id is needed here
        for cells, entered in self._rows():
            key = cells.text("id")
            if key:
                yield from sorted(self._entries(cells, entered, key), key=lambda h: h.at)

    def roles(self) -> Iterable[SourceRole]:
        return []

    def activities(self) -> Iterable[SourceActivity]:
        return []


def _stage_column(index: int, header: str, entered: list[_Entered]) -> bool:
    """Whether `header` is one of the stage calculated properties; a `Date entered` one is
    added to `entered`."""
    if _STAGE_COLUMNS.match(header):
        return True
    m = _ENTERED.match(header)
    if not m or _squash(m.group(1)) == "current stage":
        return False
    inner = m.group(1)
    split = _PIPELINE.match(inner)
    stage, pipeline = (split.group(1), split.group(2)) if split else (inner, "")
    entered.append(_Entered(index, stage, pipeline))
    return True


def _category(cells: Cells) -> str:
    text = cells.text("forecast")
    category = forecast_category(text)
    if category is None:
        cells.problem("forecast", "not a forecast category; left empty", text, fatal=False)
        return ""
    return category


def _company_key(cells: Cells) -> str:
    """The deal's company: its first associated company ID, else its name."""
    ids = [part.strip() for part in re.split(r"[;,]", cells.text("company_ids")) if part.strip()]
    if ids:
        return ids[0]
    return _company_name(cells)


def _company_name(cells: Cells) -> str:
    name = cells.text("company")
    ids = [part for part in re.split(r"[;,]", cells.text("company_ids")) if part.strip()]
    parts = [p.strip() for p in name.split(";")]
    return parts[0] if len(ids) > 1 and len(parts) == len(ids) else name
