"""Pipedrive: deal exports ("Export filter results" from the Deals list, CSV or XLSX).

Pipedrive heads each column `Deal - <field>`: `Deal - ID`, `Deal - Title`, `Deal - Value`,
`Deal - Currency`, `Deal - Stage`, `Deal - Pipeline`, `Deal - Status` (Open, Won or Lost),
`Deal - Owner` (a name), `Deal - Organization` (a name), `Deal - Expected close date`,
`Deal - Deal created`, `Deal - Last stage change`, `Deal - Won time`, `Deal - Lost time`,
`Deal - Deal closed on`, `Deal - Lost reason`, `Deal - Probability`. Datetimes are written
without a zone (`2024-04-02 09:00:00`), in the exporting user's time zone: pass `zone` to
say which; otherwise they stay naive and the importer reads them in the server's time zone.

Pipedrive keeps a won or lost deal in the stage it was in and records the outcome in the
status; here such a deal moves on to a stage `Won` or `Lost` (closed, won or lost), entered at
its won or lost time, after its entry into the stage it was in. The deal export carries no
more history than that: when the deal entered its current stage (`Last stage change`, or its
creation when it never moved) and when it was won or lost.

The export does not say in which order a pipeline's stages come. They are ordered by the
deals' probability when every open stage has one, else by how long after their creation deals
entered them (later stages are entered later), else in the order met; a warning shows the
order chosen, which `--map` can override.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
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
from .vendor_files import Cells, Column, SourceFile, StageBook, midnight, open_source

WON, LOST = "Won", "Lost"
STATUSES = {"open": "open", "won": "won", "lost": "lost", "deleted": "deleted"}

DEALS = (
    Column("id", ("Deal - ID", "Deal - Pipedrive System ID", "Deal ID"), required=True),
    Column("title", ("Deal - Title", "Title"), required=True),
    Column("stage", ("Deal - Stage", "Stage"), required=True),
    Column("status", ("Deal - Status", "Status"), required=True),
    Column("owner", ("Deal - Owner", "Owner")),
    Column("value", ("Deal - Value", "Value")),
    Column("currency", ("Deal - Currency", "Deal - Currency of Value", "Currency")),
    Column("probability", ("Deal - Probability",)),
    Column("organization", ("Deal - Organization", "Organization",
                            "Deal - Organization name")),
    Column("organization_id", ("Deal - Organization ID",)),
    Column("pipeline", ("Deal - Pipeline", "Pipeline")),
    Column("created", ("Deal - Deal created", "Deal - Creation date", "Deal - Deal created on",
                       "Deal - Add time")),
    Column("stage_changed", ("Deal - Last stage change",)),
    Column("won", ("Deal - Won time",)),
    Column("lost", ("Deal - Lost time",)),
    Column("closed", ("Deal - Deal closed on", "Deal - Closed on", "Deal - Close time")),
    Column("lost_reason", ("Deal - Lost reason",)),
    Column("expected_close", ("Deal - Expected close date",)),
    Column("source", ("Deal - Source channel", "Deal - Source origin", "Deal - Lead source")),
)

#: Fields a deal export usually holds that dealcraft has no place for: read past silently.
IGNORED = frozenset(normalise_header(h) for h in (
    "Deal - Creator", "Deal - Weighted value", "Deal - Currency of Weighted value",
    "Deal - Weighted value currency", "Deal - Contact person", "Deal - Contact person ID",
    "Deal - Label", "Deal - Update time", "Deal - Next activity date",
    "Deal - Last activity date", "Deal - Last email received", "Deal - Last email sent",
    "Deal - Visible to", "Deal - Total activities", "Deal - Done activities",
    "Deal - Activities to do", "Deal - Email messages count", "Deal - Product quantity",
    "Deal - Product amount", "Deal - Product name", "Deal - Archive status",
    "Deal - Archive time", "Deal - Source origin ID", "Deal - Source channel ID",
    "Deal - Sequence enrollment", "Deal - MRR", "Deal - ARR", "Deal - ACV",
    "Deal - Currency of MRR", "Deal - Currency of ARR", "Deal - Currency of ACV",
))
_LOOKS_LIKE = (
    ({"person_name"}, "a people export"),
    ({"person_email"}, "a people export"),
    ({"organization_name", "organization_address"}, "an organizations export"),
    ({"activity_subject"}, "an activities export"),
    ({"lead_title"}, "a leads export"),
)


def _looks_like(keys: set[str]) -> str:
    if any(k.startswith("deal_") for k in keys if k not in ("deal_title", "deal_id")):
        return ""
    return next((name for signature, name in _LOOKS_LIKE if signature <= keys), "")


def read_pipedrive(paths: Sequence[Path], *, date_format: DateOrder | None = None,
                   zone: tzinfo | None = None) -> PipedriveExport:
    """Read one or more Pipedrive deal exports (CSV or XLSX); every problem is in
    `.problems` on return."""
    return PipedriveExport([Path(p) for p in paths], date_format=date_format, zone=zone)


@dataclass
class PipedriveExport:
    paths: list[Path]
    date_format: DateOrder | None = None
    zone: tzinfo | None = None
    source: str = "pipedrive"
    stages: list[SourceStage] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.path = self.paths[0] if self.paths else Path(".")
        self._files: list[SourceFile] = []
        self._owners: dict[str, None] = {}
        self._organizations: dict[str, str] = {}
        self._dropped: set[tuple[int, int]] = set()  # (file position, row)
        if not self.paths:
            self.problems.append(Problem("", None, "", "no Pipedrive export file given"))
            return
        for path in self.paths:
            self._files.append(open_source(
                path, DEALS, self.problems, what="a Pipedrive deals export",
                date_format=self.date_format, ignored=IGNORED, looks_like=_looks_like))
        self._scan()

    # --- the scan ------------------------------------------------------------------------

    def _scan(self) -> None:
        book = StageBook()
        ages: dict[str, list[float]] = defaultdict(list)
        seen: dict[str, str] = {}
        pipelines: Counter[str] = Counter()
        deleted = 0
        for number, source in enumerate(self._files):
            if source.unusable:
                continue
            for row, values in source.records():
                cells = source.cells(row, values, self.problems)
                status = self._status(cells)
                if status == "deleted":
                    deleted += 1
                    self._dropped.add((number, row))
                    continue
                deal = self._deal(cells, status)
                if deal is None or status is None:
                    continue
                if deal.key in seen:
                    self.problems.append(Problem(
                        source.name, row, source.header("id"),
                        f"the same Deal ID is on {seen[deal.key]}; this row is not imported",
                        deal.key, fatal=False))
                    self._dropped.add((number, row))
                    continue
                seen[deal.key] = f"{source.name}:{row}"
                stage = cells.raw("stage")
                tally = book.see(stage)
                if status == "open" and deal.probability is not None:
                    tally.probabilities[deal.probability] += 1
                # a deal that never changed stage entered its stage when it was created
                changed = cells.datetime("stage_changed", self.zone) or deal.created_at
                if changed is not None and deal.created_at is not None:
                    ages[stage].append((changed - deal.created_at).total_seconds())
                if cells.text("pipeline"):
                    pipelines[cells.text("pipeline")] += 1
                if deal.owner_key:
                    self._owners.setdefault(deal.owner_key, None)
                if deal.account_key:
                    self._organizations.setdefault(deal.account_key,
                                                   cells.text("organization"))
            source.settle_dates(self.problems)
        first = self.paths[0].name
        if deleted:
            self.problems.append(Problem(first, None, "Deal - Status",
                                         f"{deleted} deleted deals are not imported",
                                         fatal=False))
        if not seen and any(not f.unusable for f in self._files):
            self.problems.append(Problem(self.paths[0].name, None, "", "no deal to import",
                                         fatal=False))
        if len(pipelines) > 1:
            self.problems.append(Problem(
                first, None, "Deal - Pipeline",
                f"deals of {len(pipelines)} pipelines ({', '.join(sorted(pipelines))}): their "
                "stages are imported as one list, stages of the same name merged; import one "
                "pipeline's export at a time to keep them apart", fatal=False))
        if book.tallies:
            self.stages = self._order(book, ages, first)

    def _order(self, book: StageBook, ages: dict[str, list[float]], first: str
               ) -> list[SourceStage]:
        tallies = list(book.tallies.values())
        if all(t.probabilities for t in tallies):
            how = "by the deals' probability"
            tallies.sort(key=lambda t: (t.probability() or 0, t.first_seen))
        elif all(ages.get(t.name) for t in tallies):
            how = "by how long after their creation deals entered them"
            tallies.sort(key=lambda t: (sorted(ages[t.name])[len(ages[t.name]) // 2],
                                        t.first_seen))
        else:
            how = "in the order the export first names them"
        self.problems.append(Problem(
            first, None, "Deal - Stage",
            "Pipedrive exports do not give the order of the stages; they were ordered "
            f"{how}: {' → '.join(t.name for t in tallies)}. Map them with --map if the "
            "order is wrong", fatal=False))
        stages = [SourceStage(name=t.name, order=float(i), probability=t.probability())
                  for i, t in enumerate(tallies)]
        names = {t.name for t in tallies}
        for name, won in ((WON, True), (LOST, False)):
            if name in names:
                self.problems.append(Problem(
                    first, None, "Deal - Stage",
                    f"a pipeline stage is called '{name}', like the outcome: deals won or lost "
                    "there cannot be told from open ones; rename the stage or use --map",
                    name))
                continue
            stages.append(SourceStage(name=name, order=float(len(stages)),
                                      probability=100 if won else 0, is_closed=True,
                                      is_won=won,
                                      forecast_category="closed" if won else "omitted"))
        return stages

    # --- rows to records ---------------------------------------------------------------

    def _status(self, cells: Cells) -> str | None:
        text = cells.text("status")
        status = STATUSES.get(text.lower())
        if status is None:
            cells.problem("status", "the status must be Open, Won or Lost", text)
        return status

    def _deal(self, cells: Cells, status: str | None) -> SourceDeal | None:
        key = cells.require("id", "the deal ID")
        title = cells.require("title", "the deal title")
        stage = cells.raw("stage")
        if not stage.strip():
            cells.problem("stage", "the stage is empty")
        value = cells.decimal("value")
        currency = cells.text("currency").upper()
        if currency and not re.fullmatch(r"[A-Z]{3}", currency):
            cells.problem("currency", "not a three-letter currency code",
                          cells.text("currency"))
        probability = cells.percent("probability")
        created = cells.datetime("created", self.zone)
        changed = cells.datetime("stage_changed", self.zone)
        won = cells.datetime("won", self.zone)
        lost = cells.datetime("lost", self.zone)
        closed = cells.datetime("closed", self.zone)
        expected = cells.date("expected_close")
        if not cells.ok or status is None:
            return None
        closed_at: datetime | None = None
        current = stage
        entered = changed or created
        if status in ("won", "lost"):
            closed_at = (won if status == "won" else lost) or closed or midnight(expected,
                                                                                   self.zone)
            current = WON if status == "won" else LOST
            entered = closed_at
        organization = cells.text("organization_id") or cells.text("organization")
        fields = {k: v for k, v in (("pipeline", cells.text("pipeline")),
                                    ("lead_source", cells.text("source"))) if v}
        return SourceDeal(
            key=key, name=title, stage=current, owner_key=cells.text("owner"),
            account_key=organization, amount=value, currency=currency,
            close_date=expected or (closed_at.date() if closed_at else None),
            created_at=created, closed_at=closed_at, probability=probability,
            loss_reason=cells.text("lost_reason") if status == "lost" else "",
            fields=fields, file=cells.file.name, row=cells.row, stage_entered_at=entered)

    def _history(self, cells: Cells, deal: SourceDeal) -> Iterator[SourceHistory]:
        stage = cells.raw("stage")
        entered = cells.datetime("stage_changed", self.zone) or deal.created_at
        if entered is not None:
            yield SourceHistory(deal_key=deal.key, at=entered, stage=stage,
                                file=cells.file.name, row=cells.row)
        if deal.stage in (WON, LOST) and deal.closed_at is not None:
            yield SourceHistory(deal_key=deal.key, at=deal.closed_at, stage=deal.stage,
                                amount=deal.amount, close_date=deal.close_date,
                                file=cells.file.name, row=cells.row)

    # --- the SourceExport interface ----------------------------------------------------

    def _rows(self) -> Iterator[tuple[Cells, SourceDeal]]:
        for number, source in enumerate(self._files):
            if source.unusable:
                continue
            for row, values in source.records():
                if (number, row) in self._dropped:
                    continue
                cells = source.cells(row, values, None)
                deal = self._deal(cells, self._status(cells))
                if deal is not None:
                    yield cells, deal

    def users(self) -> Iterable[SourceUser]:
        return [SourceUser(key=name, name=name) for name in self._owners]

    def accounts(self) -> Iterable[SourceAccount]:
        return [SourceAccount(key=key, name=name or key)
                for key, name in self._organizations.items()]

    def contacts(self) -> Iterable[SourceContact]:
        return []

    def deals(self) -> Iterator[SourceDeal]:
        for _, deal in self._rows():
            yield deal

    def history(self) -> Iterator[SourceHistory]:
        for cells, deal in self._rows():
            yield from self._history(cells, deal)

    def roles(self) -> Iterable[SourceRole]:
        return []

    def activities(self) -> Iterable[SourceActivity]:
        return []
