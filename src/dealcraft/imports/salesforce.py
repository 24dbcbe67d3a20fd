"""Salesforce: the Data Export Service's folder of CSV files, one per object.

Headers are the objects' API field names (`StageName`, `CloseDate`, `CurrencyIsoCode`…), dates
are ISO (`2024-06-28`) and datetimes UTC (`2024-01-10T09:00:00.000Z`). `Opportunity.csv` is
required; `OpportunityHistory.csv`, `User.csv`, `Account.csv`, `Contact.csv`,
`OpportunityContactRole.csv`, `Task.csv` and `Event.csv` are read when present.

Stages come from the export itself: every `StageName` in Opportunity and OpportunityHistory,
spelled exactly as exported. Their order is the `StageSortOrder` column when the export has
one, else the stages' usual probability (open stages by rising probability, then won stages,
then lost ones); `IsClosed` and `IsWon` decide outcomes.

`read_salesforce(directory)` checks every row once (problems and stages are known when it
returns); deals, history and activities are then read again from the files each time they are
iterated, so a million opportunities never sit in memory.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
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
    count_problem,
    forecast_category,
    midnight,
    open_source,
)

OPPORTUNITY_PREFIX = "006"  # the key prefix of Opportunity record ids

OPPORTUNITY = (
    Column("id", ("Id",), required=True),
    Column("name", ("Name",), required=True),
    Column("stage", ("StageName",), required=True),
    Column("close", ("CloseDate",), required=True),
    Column("owner", ("OwnerId",), required=True),
    Column("account", ("AccountId",)),
    Column("amount", ("Amount",)),
    Column("probability", ("Probability",)),
    Column("is_closed", ("IsClosed",)),
    Column("is_won", ("IsWon",)),
    Column("forecast_name", ("ForecastCategoryName",)),
    Column("forecast", ("ForecastCategory",)),
    Column("currency", ("CurrencyIsoCode",)),
    Column("created", ("CreatedDate",)),
    Column("type", ("Type",)),
    Column("lead_source", ("LeadSource",)),
    Column("next_step", ("NextStep",)),
    Column("deleted", ("IsDeleted",)),
    Column("sort_order", ("StageSortOrder",)),
    Column("stage_changed", ("LastStageChangeDate",)),
)
HISTORY = (
    Column("deal", ("OpportunityId",), required=True),
    Column("at", ("CreatedDate",), required=True),
    Column("stage", ("StageName",), required=True),
    Column("amount", ("Amount",)),
    Column("close", ("CloseDate",)),
    Column("probability", ("Probability",)),
    Column("forecast", ("ForecastCategory",)),
    Column("by", ("CreatedById",)),
    Column("deleted", ("IsDeleted",)),
)
USER = (
    Column("id", ("Id",), required=True),
    Column("name", ("Name",)),
    Column("first", ("FirstName",)),
    Column("last", ("LastName",)),
    Column("email", ("Email",)),
    Column("active", ("IsActive",)),
)
ACCOUNT = (
    Column("id", ("Id",), required=True),
    Column("name", ("Name",), required=True),
    Column("website", ("Website",)),
    Column("industry", ("Industry",)),
    Column("employees", ("NumberOfEmployees",)),
    Column("deleted", ("IsDeleted",)),
)
CONTACT = (
    Column("id", ("Id",), required=True),
    Column("last", ("LastName",), required=True),
    Column("first", ("FirstName",)),
    Column("account", ("AccountId",)),
    Column("email", ("Email",)),
    Column("phone", ("Phone",)),
    Column("mobile", ("MobilePhone",)),
    Column("title", ("Title",)),
    Column("deleted", ("IsDeleted",)),
)
ROLE = (
    Column("deal", ("OpportunityId",), required=True),
    Column("contact", ("ContactId",), required=True),
    Column("role", ("Role",)),
    Column("primary", ("IsPrimary",)),
    Column("deleted", ("IsDeleted",)),
)
TASK = (
    Column("id", ("Id",), required=True),
    Column("what", ("WhatId",), required=True),
    Column("subject", ("Subject",)),
    Column("due", ("ActivityDate",)),
    Column("status", ("Status",)),
    Column("closed", ("IsClosed",)),
    Column("owner", ("OwnerId",)),
    Column("body", ("Description",)),
    Column("subtype", ("TaskSubtype",)),
    Column("completed", ("CompletedDateTime",)),
    Column("created", ("CreatedDate",)),
    Column("deleted", ("IsDeleted",)),
)
EVENT = (
    Column("id", ("Id",), required=True),
    Column("what", ("WhatId",), required=True),
    Column("subject", ("Subject",)),
    Column("start", ("StartDateTime",)),
    Column("when", ("ActivityDateTime",)),
    Column("day", ("ActivityDate",)),
    Column("end", ("EndDateTime",)),
    Column("owner", ("OwnerId",)),
    Column("body", ("Description",)),
    Column("created", ("CreatedDate",)),
    Column("deleted", ("IsDeleted",)),
)

#: Standard fields the export holds that dealcraft has no place for: read past silently.
#: Any other column (a custom `__c` field, say) is reported as not imported.
IGNORED = frozenset(normalise_header(h) for h in (
    "RecordTypeId", "IsPrivate", "Description", "ExpectedRevenue", "TotalOpportunityQuantity",
    "CampaignId", "HasOpportunityLineItem", "Pricebook2Id", "CreatedById", "LastModifiedDate",
    "LastModifiedById", "SystemModstamp", "LastActivityDate", "LastActivityInDays",
    "FiscalQuarter", "FiscalYear", "Fiscal", "ContactId", "LastViewedDate",
    "LastReferencedDate", "HasOpenActivity", "HasOverdueTask",
    "LastStageChangeInDays", "LastAmountChangedHistoryId", "LastCloseDateChangedHistoryId",
    "PushCount", "AgeInDays", "IqScore", "SyncedQuoteId", "ContractId", "PartnerAccountId",
    "Budget_Confirmed__c", "Discovery_Completed__c", "ROI_Analysis_Completed__c", "Id",
    "ExpectedRevenue", "PrevAmount", "PrevCloseDate", "CurrencyIsoCode", "IsDeleted",
    "Username", "CompanyName", "UserRoleId", "ProfileId", "CreatedDate", "MasterRecordId",
    "Type", "ParentId", "BillingStreet", "BillingCity", "BillingState", "BillingPostalCode",
    "BillingCountry", "ShippingStreet", "ShippingCity", "ShippingState", "ShippingPostalCode",
    "ShippingCountry", "Phone", "Fax", "AccountNumber", "Sic", "AnnualRevenue", "Ownership",
    "TickerSymbol", "Rating", "Site", "OwnerId", "Salutation", "Name", "MobilePhone",
    "Department", "LeadSource", "Birthdate", "ReportsToId", "MailingStreet", "MailingCity",
    "MailingState", "MailingPostalCode", "MailingCountry", "Alias", "TimeZoneSidKey",
    "LocaleSidKey", "LanguageLocaleKey", "EmailEncodingKey", "Title", "WhoId", "Priority",
    "AccountId", "CallType", "CallDurationInSeconds", "CallDisposition", "ReminderDateTime",
    "IsReminderSet", "RecurrenceActivityId", "IsRecurrence", "Location", "IsAllDayEvent",
    "DurationInMinutes", "ShowAs", "IsPrivate", "EventSubtype", "ActivityDate", "IsHighPriority",
    "IsArchived", "IsVisibleInSelfService", "WhatCount", "WhoCount", "Status", "IsClosed",
))

#: A custom field holding the reason a deal was lost: Loss_Reason__c, Lost_Reason__c,
#: Reason_Lost__c, Closed_Lost_Reason__c… (namespaced ones too).
_LOSS_REASON = re.compile(r"(^|_)(loss|lost)_?reason(_c)?$|(^|_)reason_?(lost|loss)(_c)?$")

_KINDS = {"call": "call", "email": "email", "listemail": "email", "cadence": "task",
          "task": "task", "linkedin": "task"}

_LOOKS_LIKE = (
    ({"opportunityid", "stagename", "createdbyid"}, "OpportunityHistory.csv"),
    ({"opportunityid", "contactid", "role"}, "OpportunityContactRole.csv"),
    ({"lastname", "email", "accountid"}, "Contact.csv"),
    ({"username", "email", "isactive"}, "User.csv"),
    ({"billingcity", "name"}, "Account.csv"),
    ({"whatid", "subject", "status"}, "Task.csv"),
    ({"whatid", "subject", "startdatetime"}, "Event.csv"),
)


def _looks_like(keys: set[str]) -> str:
    folded = {k.replace("_", "") for k in keys}
    return next((name for signature, name in _LOOKS_LIKE if signature <= folded), "")


def read_salesforce(directory: Path, *, date_format: DateOrder | None = None
                    ) -> SalesforceExport:
    """Read a Salesforce data-export folder; every problem is in `.problems` on return."""
    return SalesforceExport(Path(directory), date_format=date_format)


@dataclass
class SalesforceExport:
    directory: Path
    date_format: DateOrder | None = None
    source: str = "salesforce"
    stages: list[SourceStage] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.path = self.directory
        self._files: dict[str, SourceFile] = {}
        self._opportunity_ids: set[str] = set()
        self._user_ids: set[str] = set()
        self._account_ids: set[str] = set()
        self._loss_reason: int | None = None
        self._unknown_owners: list[str] = []
        if not self.directory.is_dir():
            self.problems.append(Problem(self.directory.name, None, "",
                                         "not a folder: give the unzipped data-export folder"))
            return
        names = {p.name.lower(): p for p in self.directory.iterdir() if p.is_file()}
        for name, columns in (("Opportunity", OPPORTUNITY), ("OpportunityHistory", HISTORY),
                              ("User", USER), ("Account", ACCOUNT), ("Contact", CONTACT),
                              ("OpportunityContactRole", ROLE), ("Task", TASK),
                              ("Event", EVENT)):
            path = names.get(f"{name.lower()}.csv")
            if path is None:
                if name == "Opportunity":
                    self.problems.append(Problem(
                        "Opportunity.csv", None, "",
                        f"Opportunity.csv is not in {self.directory}: give the unzipped "
                        "data-export folder"))
                    return
                if name == "OpportunityHistory":
                    self.problems.append(Problem(
                        "OpportunityHistory.csv", None, "",
                        "OpportunityHistory.csv is not in the folder: deals are imported "
                        "without their stage history", fatal=False))
                continue
            known = self._known_loss_reason if name == "Opportunity" else _never
            self._files[name] = open_source(
                path, columns, self.problems, what=path.name, date_format=self.date_format,
                known=known, ignored=IGNORED, looks_like=_looks_like,
                optional=name != "Opportunity")
        self._scan()

    # --- the scan ------------------------------------------------------------------------

    def _known_loss_reason(self, index: int, header: str) -> bool:
        if self._loss_reason is None and _LOSS_REASON.search(normalise_header(header)):
            self._loss_reason = index
            return True
        return False

    def _file(self, name: str) -> SourceFile | None:
        source = self._files.get(name)
        return None if source is None or source.unusable else source

    def _scan(self) -> None:
        opportunities = self._file("Opportunity")
        if opportunities is None:
            return
        if self._loss_reason is not None:
            opportunities.idx["loss_reason"] = self._loss_reason
        book = StageBook()
        for name, ids in (("User", self._user_ids), ("Account", self._account_ids)):
            source = self._file(name)
            if source is not None:
                for row, values in source.records():
                    key = source.cells(row, values, None).text("id")
                    if key:
                        ids.add(key)
        unknown_owners: Counter[str] = Counter()
        unknown_accounts: Counter[str] = Counter()
        deleted = 0
        for row, values in opportunities.records():
            cells = opportunities.cells(row, values, self.problems)
            if cells.boolean("deleted"):
                deleted += 1
                continue
            deal = self._deal(cells)
            if deal is None:
                continue
            if deal.key in self._opportunity_ids:
                self.problems.append(Problem(opportunities.name, row, "Id",
                                             "the same Id is on an earlier row", deal.key))
                continue
            self._opportunity_ids.add(deal.key)
            tally = book.see(deal.stage)
            if deal.probability is not None:
                tally.probabilities[deal.probability] += 1
            closed, won = cells.boolean("is_closed"), cells.boolean("is_won")
            if closed is not None:
                tally.closed[closed] += 1
            if won is not None:
                tally.won[won] += 1
            if deal.forecast_category:
                tally.categories[deal.forecast_category] += 1
            order = cells.decimal("sort_order")
            if order is not None:
                tally.sort_orders[float(order)] += 1
            if self._user_ids and deal.owner_key not in self._user_ids:
                unknown_owners[deal.owner_key] += 1
            account = cells.text("account")
            if account and account not in self._account_ids:
                unknown_accounts[account] += 1
        if "Account" not in self._files and unknown_accounts:
            self.problems.append(Problem(
                "Account.csv", None, "", "Account.csv is not in the folder: "
                f"{unknown_accounts.total()} deals are imported without their account",
                fatal=False))
            unknown_accounts.clear()
        if not self._opportunity_ids:
            self.problems.append(Problem(opportunities.name, None, "",
                                         "no opportunity to import", fatal=False))
        if deleted:
            self.problems.append(Problem(opportunities.name, None, "IsDeleted",
                                         f"{deleted} deleted opportunities are not imported",
                                         fatal=False))
        if "User" not in self._files:
            self.problems.append(Problem(
                "User.csv", None, "", "User.csv is not in the folder: owners are known by "
                "their Salesforce Id only, and missing ones are created inactive", fatal=False))
        count_problem(self.problems, opportunities.name, "OwnerId", unknown_owners,
                      "owner not in User.csv; created as an inactive user")
        self._unknown_owners = list(unknown_owners)
        count_problem(self.problems, opportunities.name, "AccountId", unknown_accounts,
                      "account not in Account.csv; the deal is imported without it")
        history = self._file("OpportunityHistory")
        if history is not None:
            unknown: Counter[str] = Counter()
            for entry in self._iter_history(history, self.problems):
                if entry.deal_key not in self._opportunity_ids:
                    unknown[entry.deal_key] += 1
                    continue
                tally = book.see(entry.stage)
                if entry.probability is not None:
                    tally.probabilities[entry.probability] += 1
                if entry.forecast_category:
                    tally.categories[entry.forecast_category] += 1
            count_problem(self.problems, history.name, "OpportunityId", unknown,
                          "history of an opportunity that is not in Opportunity.csv; "
                          "not imported")
        for name in ("Task", "Event", "Contact", "OpportunityContactRole", "User", "Account"):
            source = self._file(name)
            if source is not None:
                self._scan_small(name, source)
        for source in self._files.values():
            source.settle_dates(self.problems)
        self.stages = _order_stages(book)

    def _scan_small(self, name: str, source: SourceFile) -> None:
        """Check every row of the smaller files; count tasks and events left out."""
        elsewhere = 0
        for row, values in source.records():
            cells = source.cells(row, values, self.problems)
            if name in ("Task", "Event"):
                activity = self._activity(cells, name)
                if activity is None and cells.ok and not cells.boolean("deleted"):
                    elsewhere += 1
            elif name == "Contact":
                self._contact(cells)
            elif name == "OpportunityContactRole":
                self._role(cells)
            elif name == "User":
                self._user(cells)
            else:
                self._account(cells)
        if elsewhere:
            self.problems.append(Problem(
                source.name, None, "WhatId",
                f"{elsewhere} {name.lower()}s are tied to something other than an imported "
                "opportunity (an account, a contact, a lead); they are not imported",
                fatal=False))

    # --- rows to records ---------------------------------------------------------------

    def _deal(self, cells: Cells) -> SourceDeal | None:
        key = cells.require("id", "the opportunity Id")
        name = cells.require("name", "the opportunity name")
        stage = cells.raw("stage")
        if not stage.strip():
            cells.problem("stage", "the stage (StageName) is empty")
        owner = cells.require("owner", "the owner (OwnerId)")
        amount = cells.decimal("amount")
        close = cells.date("close")
        if close is None and cells.ok and not cells.text("close"):
            cells.problem("close", "the close date is empty")
        probability = cells.percent("probability")
        created = cells.datetime("created", UTC)
        entered = cells.datetime("stage_changed", UTC)
        category = _category(cells, "forecast_name") or _category(cells, "forecast")
        closed = cells.boolean("is_closed")
        account = cells.text("account")
        if account not in self._account_ids:
            account = ""
        if not cells.ok:
            return None
        fields = {k: v for k, v in (("type", cells.text("type")),
                                    ("lead_source", cells.text("lead_source"))) if v}
        return SourceDeal(
            key=key, name=name, stage=stage, owner_key=owner, account_key=account,
            amount=amount, currency=cells.text("currency").upper(), close_date=close,
            created_at=created, closed_at=midnight(close) if closed else None,
            probability=probability, forecast_category=category,
            next_step=cells.text("next_step"), loss_reason=cells.text("loss_reason"),
            fields=fields, file=cells.file.name, row=cells.row, stage_entered_at=entered)

    def _history(self, cells: Cells) -> SourceHistory | None:
        deal = cells.require("deal", "the OpportunityId")
        at = cells.datetime("at", UTC)
        if at is None and cells.ok:
            cells.problem("at", "the date of the change (CreatedDate) is empty")
        stage = cells.raw("stage")
        if not stage.strip():
            cells.problem("stage", "the stage (StageName) is empty")
        amount = cells.decimal("amount")
        close = cells.date("close")
        probability = cells.percent("probability")
        category = _category(cells, "forecast")
        if not cells.ok or at is None:
            return None
        return SourceHistory(deal_key=deal, at=at, stage=stage, amount=amount,
                             close_date=close, probability=probability,
                             forecast_category=category, by_key=cells.text("by"),
                             file=cells.file.name, row=cells.row)

    def _user(self, cells: Cells) -> SourceUser | None:
        key = cells.require("id", "the user Id")
        name = cells.text("name") or " ".join(
            part for part in (cells.text("first"), cells.text("last")) if part)
        active = cells.boolean("active")
        if not cells.ok:
            return None
        return SourceUser(key=key, name=name or key, email=cells.text("email"),
                          active=True if active is None else active)

    def _account(self, cells: Cells) -> SourceAccount | None:
        key = cells.require("id", "the account Id")
        name = cells.require("name", "the account name")
        employees = cells.decimal("employees")
        if cells.boolean("deleted") or not cells.ok:
            return None
        return SourceAccount(key=key, name=name, website=cells.text("website"),
                             industry=cells.text("industry"),
                             employees=int(employees) if employees is not None else None,
                             file=cells.file.name, row=cells.row)

    def _contact(self, cells: Cells) -> SourceContact | None:
        key = cells.require("id", "the contact Id")
        last = cells.require("last", "the contact's last name")
        if cells.boolean("deleted") or not cells.ok:
            return None
        account = cells.text("account")
        return SourceContact(key=key, account_key=account if account in self._account_ids
                             else "", first_name=cells.text("first"), last_name=last,
                             email=cells.text("email"),
                             phone=cells.text("phone") or cells.text("mobile"),
                             title=cells.text("title"), file=cells.file.name, row=cells.row)

    def _role(self, cells: Cells) -> SourceRole | None:
        deal = cells.require("deal", "the OpportunityId")
        contact = cells.require("contact", "the ContactId")
        primary = cells.boolean("primary")
        if cells.boolean("deleted") or not cells.ok or deal not in self._opportunity_ids:
            return None
        return SourceRole(deal_key=deal, contact_key=contact, role=cells.text("role"),
                          primary=bool(primary))

    def _activity(self, cells: Cells, name: str) -> SourceActivity | None:
        key = cells.require("id", f"the {name.lower()} Id")
        what = cells.text("what")
        created = cells.datetime("created", UTC)
        if name == "Task":
            due = midnight(cells.date("due"))
            completed = cells.datetime("completed", UTC)
            closed = cells.boolean("closed")
            if completed is None and (closed or cells.text("status").lower() == "completed"):
                completed = due or created
            kind = _KINDS.get(cells.text("subtype").lower().replace(" ", ""), "task")
        else:
            due = (cells.datetime("start", UTC) or cells.datetime("when", UTC)
                   or midnight(cells.date("day")))
            end = cells.datetime("end", UTC) or due
            completed = end if end is not None and end <= datetime.now(UTC) else None
            kind = "meeting"
        if (cells.boolean("deleted") or not cells.ok
                or not what.startswith(OPPORTUNITY_PREFIX) or what not in self._opportunity_ids):
            return None
        return SourceActivity(key=key, deal_key=what, kind=kind,
                              subject=cells.text("subject") or kind.capitalize(),
                              body=cells.text("body"), owner_key=cells.text("owner"),
                              due_at=due, done_at=completed, created_at=created)

    # --- the SourceExport interface ----------------------------------------------------

    def _rows(self, name: str) -> Iterator[Cells]:
        source = self._file(name)
        if source is None:
            return
        for row, values in source.records():
            yield source.cells(row, values, None)

    def users(self) -> Iterable[SourceUser]:
        for cells in self._rows("User"):
            if (user := self._user(cells)) is not None:
                yield user
        for key in self._unknown_owners:  # known by their Id only
            yield SourceUser(key=key, name=key, active=False)

    def accounts(self) -> Iterable[SourceAccount]:
        for cells in self._rows("Account"):
            if (account := self._account(cells)) is not None:
                yield account

    def contacts(self) -> Iterable[SourceContact]:
        for cells in self._rows("Contact"):
            if (contact := self._contact(cells)) is not None:
                yield contact

    def deals(self) -> Iterator[SourceDeal]:
        seen: set[str] = set()
        for cells in self._rows("Opportunity"):
            if cells.boolean("deleted"):
                continue
            deal = self._deal(cells)
            if deal is not None and deal.key not in seen:
                seen.add(deal.key)
                yield deal

    def history(self) -> Iterator[SourceHistory]:
        source = self._file("OpportunityHistory")
        if source is None:
            return
        ids = self._opportunity_ids
        for entry in self._iter_history(source, None):
            if entry.deal_key in ids:
                yield entry

    def _iter_history(self, source: SourceFile, sink: list[Problem] | None
                      ) -> Iterator[SourceHistory]:
        """Every history row of `source`. Rows written the way the Data Export Service writes
        them (ISO datetimes and dates, plain numbers) are read on a fast path; any other row
        goes through the checking readers, which report what they cannot read."""
        ix = source.idx
        i_deal, i_at, i_stage = ix["deal"], ix["at"], ix["stage"]
        assert i_deal is not None and i_at is not None and i_stage is not None
        i_amount, i_close, i_prob, i_cat, i_by, i_del = (
            ix.get(k) for k in ("amount", "close", "probability", "forecast", "by", "deleted"))
        name = source.name
        categories: dict[str, str | None] = {}
        for row, v in source.records():
            if i_del is not None and v[i_del].strip().lower() in ("true", "1"):
                continue
            deal, at_text, stage = v[i_deal].strip(), v[i_at].strip(), v[i_stage]
            entry: SourceHistory | None = None
            if deal and stage.strip() and len(at_text) >= 19 and at_text[10] == "T":
                try:
                    at = datetime.fromisoformat(at_text)
                    if at.tzinfo is None:
                        at = at.replace(tzinfo=UTC)
                    text = v[i_amount].strip() if i_amount is not None else ""
                    amount = Decimal(text) if text else None
                    if amount is not None and not amount.is_finite():
                        raise ValueError(text)
                    text = v[i_close].strip() if i_close is not None else ""
                    close = date.fromisoformat(text) if len(text) == 10 else None
                    if text and close is None:
                        raise ValueError(text)
                    text = v[i_prob].strip() if i_prob is not None else ""
                    probability = int(text) if text else None
                    if probability is not None and not 0 <= probability <= 100:
                        raise ValueError(text)
                    text = v[i_cat] if i_cat is not None else ""
                    if text not in categories:
                        categories[text] = forecast_category(text)
                    category = categories[text]
                    if category is None:
                        raise ValueError(text)
                    entry = SourceHistory(
                        deal_key=deal, at=at, stage=stage, amount=amount, close_date=close,
                        probability=probability, forecast_category=category,
                        by_key=v[i_by].strip() if i_by is not None else "", file=name,
                        row=row)
                except (ValueError, ArithmeticError):
                    entry = None
            if entry is None:
                entry = self._history(source.cells(row, v, sink))
            if entry is not None:
                yield entry

    def roles(self) -> Iterable[SourceRole]:
        for cells in self._rows("OpportunityContactRole"):
            if (role := self._role(cells)) is not None:
                yield role

    def activities(self) -> Iterable[SourceActivity]:
        for name in ("Task", "Event"):
            for cells in self._rows(name):
                if (activity := self._activity(cells, name)) is not None:
                    yield activity


def _never(index: int, header: str) -> bool:
    return False


def _category(cells: Cells, key: str) -> str:
    text = cells.text(key)
    category = forecast_category(text)
    if category is None:
        cells.problem(key, "not a forecast category (Pipeline, Best Case, Commit, Closed, "
                      "Omitted); left empty", text, fatal=False)
        return ""
    return category


def _order_stages(book: StageBook) -> list[SourceStage]:
    """Open stages first — by StageSortOrder when the export has it, else by their usual
    probability, then in the order met — then won stages, then lost ones."""
    entries = []
    for tally in book.tallies.values():
        probability = tally.probability()
        category = tally.category()
        if tally.closed:
            closed = tally.closed.most_common(1)[0][0]
            won = bool(tally.won) and tally.won.most_common(1)[0][0]
        else:
            # only met in the history: Salesforce gives closed stages 100 % (won) or 0 %
            # (lost) and the Closed or Omitted forecast category
            won = probability == 100 and category == "closed"
            closed = won or (probability == 0 and category == "omitted")
        sort_order = (tally.sort_orders.most_common(1)[0][0] if tally.sort_orders else None)
        outcome = 0 if not closed else 1 if won else 2
        position = (sort_order if sort_order is not None
                    else probability if probability is not None else 0.0)
        entries.append(((outcome, sort_order is None, position, tally.first_seen), tally,
                         closed, won))
    entries.sort(key=lambda e: e[0])
    return [SourceStage(name=tally.name, order=float(i), probability=tally.probability(),
                        is_closed=closed, is_won=won, forecast_category=tally.category())
            for i, (_, tally, closed, won) in enumerate(entries)]
