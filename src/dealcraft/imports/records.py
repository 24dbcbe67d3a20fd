"""What every reader hands to the importer: another system's export in one neutral shape.

A reader (Salesforce, HubSpot, Pipedrive, a mapped CSV) turns files into these records and keeps
every problem it meets, with the file, row and column; it never writes to the database. The
importer then maps stages and owners onto dealcraft, checks everything, and writes all of it or
nothing. Keys are the other system's ids (or, where an export has none, a stable natural key);
they become `external_id` so that importing the same export again updates in place.

Plain data only: no Django import here, so readers are tested without a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol


@dataclass(slots=True, frozen=True)
class Problem:
    """Something wrong with the input, where it is, and the offending value.

    `row` is the 1-based line of the file as a spreadsheet shows it (the header is row 1), or
    None for a problem with the file as a whole. A fatal problem stops the import before anything
    is written; a warning is reported and the row is still imported.
    """

    file: str
    row: int | None
    column: str
    message: str
    value: str = ""
    fatal: bool = True


@dataclass(slots=True, frozen=True)
class SourceStage:
    """A stage as the export spells it, with its place in the order and its outcome."""

    name: str
    order: float
    probability: int | None = None
    is_closed: bool = False
    is_won: bool = False
    forecast_category: str = ""


@dataclass(slots=True)
class SourceUser:
    key: str
    name: str
    email: str = ""
    active: bool = True


@dataclass(slots=True)
class SourceAccount:
    key: str
    name: str
    website: str = ""
    industry: str = ""
    employees: int | None = None
    file: str = ""
    row: int | None = None


@dataclass(slots=True)
class SourceContact:
    key: str
    account_key: str
    first_name: str
    last_name: str
    email: str = ""
    phone: str = ""
    title: str = ""
    file: str = ""
    row: int | None = None


@dataclass(slots=True)
class SourceDeal:
    """One opportunity/deal row. `stage` is the source's stage name, exactly as exported.

    `owner_key` refers to a SourceUser key, or to a name/email when the export only has that.
    `fields` carries process fields such as lead_source, segment or type, by field key.
    """

    key: str
    name: str
    stage: str
    owner_key: str
    account_key: str = ""
    amount: Decimal | None = None
    currency: str = ""
    close_date: date | None = None
    created_at: datetime | None = None
    closed_at: datetime | None = None
    probability: int | None = None
    forecast_category: str = ""
    next_step: str = ""
    loss_reason: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    file: str = ""
    row: int | None = None
    #: When the deal entered its current stage, when the export says (Salesforce's
    #: LastStageChangeDate); otherwise the importer takes it from the history. Optional and
    #: last, so readers that do not set it keep working.
    stage_entered_at: datetime | None = None


@dataclass(slots=True)
class SourceHistory:
    """One entry of a deal's past: it entered `stage` at `at`, or its amount, close date or
    probability changed while it stayed there (then `stage` repeats the current stage)."""

    deal_key: str
    at: datetime
    stage: str
    amount: Decimal | None = None
    close_date: date | None = None
    probability: int | None = None
    forecast_category: str = ""
    by_key: str = ""
    file: str = ""
    row: int | None = None


@dataclass(slots=True)
class SourceRole:
    """A contact's role on a deal (OpportunityContactRole and its equivalents)."""

    deal_key: str
    contact_key: str
    role: str
    primary: bool = False


@dataclass(slots=True)
class SourceActivity:
    """A task, call, email, meeting or note tied to a deal. `kind` is one of dealcraft's
    activity kinds: call, email, meeting, note, task."""

    key: str
    deal_key: str
    kind: str
    subject: str
    body: str = ""
    owner_key: str = ""
    due_at: datetime | None = None
    done_at: datetime | None = None
    created_at: datetime | None = None


class SourceExport(Protocol):
    """A read export. Lists are small; deals and history are iterated, possibly more than once
    (each call starts again from the files), so that a million deals never sit in memory.

    History is streamed in constant memory when each deal's rows come together (in any order
    within the deal); an export whose history interleaves deals is grouped in memory instead.

    Optionally a reader sets `path` (the folder or first file it read): the importer writes its
    row-level error report next to it. (Read with getattr: readers without it still work.)
    """

    source: str  # "salesforce", "hubspot", "pipedrive" or "csv": the external_source written
    stages: list[SourceStage]
    problems: list[Problem]

    def users(self) -> Iterable[SourceUser]: ...
    def accounts(self) -> Iterable[SourceAccount]: ...
    def contacts(self) -> Iterable[SourceContact]: ...
    def deals(self) -> Iterator[SourceDeal]: ...
    def history(self) -> Iterator[SourceHistory]: ...
    def roles(self) -> Iterable[SourceRole]: ...
    def activities(self) -> Iterable[SourceActivity]: ...
