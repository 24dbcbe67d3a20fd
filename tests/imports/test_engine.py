"""The importer itself (`run_import`), fed with exports built in memory: stages, history kinds,
owners, re-imports, permissions, and all-or-nothing against a real database failure."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import DatabaseError, connection

from dealcraft.audit.models import AuditEvent
from dealcraft.crm.models import Account
from dealcraft.deals.models import Deal, StageHistory
from dealcraft.errors import NotAllowed
from dealcraft.imports.records import (
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
from dealcraft.imports.services import run_import
from dealcraft.people.models import User
from dealcraft.processes.models import ProcessVersion

T0 = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)
STAGES = [SourceStage("Discovery", 1, 10), SourceStage("Demo", 2, 40),
          SourceStage("Contract", 3, 80), SourceStage("Won", 4, 100, True, True),
          SourceStage("Lost", 5, 0, True, False)]


@dataclass
class ListExport:
    """An export held in lists: the SourceExport protocol without files."""

    source: str = "testcrm"
    stages: list[SourceStage] = field(default_factory=lambda: list(STAGES))
    problems: list[Problem] = field(default_factory=list)
    user_list: list[SourceUser] = field(default_factory=list)
    account_list: list[SourceAccount] = field(default_factory=list)
    deal_list: list[SourceDeal] = field(default_factory=list)
    history_list: list[SourceHistory] = field(default_factory=list)
    activity_list: list[SourceActivity] = field(default_factory=list)

    def users(self) -> Iterable[SourceUser]:
        return self.user_list

    def accounts(self) -> Iterable[SourceAccount]:
        return self.account_list

    def contacts(self) -> Iterable[SourceContact]:
        return ()

    def deals(self) -> Iterator[SourceDeal]:
        return iter(self.deal_list)

    def history(self) -> Iterator[SourceHistory]:
        return iter(self.history_list)

    def roles(self) -> Iterable[SourceRole]:
        return ()

    def activities(self) -> Iterable[SourceActivity]:
        return self.activity_list


def deal(key: str, stage: str = "Demo", owner: str = "alice", **kw: Any) -> SourceDeal:
    return SourceDeal(key=key, name=f"Deal {key}", stage=stage, owner_key=owner,
                      amount=Decimal("1000"), currency="EUR", close_date=date(2024, 6, 30),
                      created_at=T0, **kw)


def path(key: str, *stages: str) -> list[SourceHistory]:
    return [SourceHistory(deal_key=key, at=T0 + timedelta(days=7 * i), stage=s)
            for i, s in enumerate(stages)]


def snapshot() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (Deal, StageHistory, Account, User,
                                                    ProcessVersion, AuditEvent)}


def test_history_kinds_follow_the_stage_order(db: Any, org: Any) -> None:
    export = ListExport(deal_list=[deal("1", "Won"), deal("2", "Demo")],
                        history_list=[*path("1", "Discovery", "Contract", "Demo", "Demo",
                                            "Contract", "Won"),
                                      *path("2", "Discovery", "Demo", "Lost", "Demo")])
    export.history_list[3].amount = Decimal("1500")
    result = run_import(export, acting_user=org.olivia)
    assert result.committed, result.problems
    kinds = list(StageHistory.objects.filter(deal__external_id="1").values_list(
        "kind", "from_stage", "to_stage"))
    assert kinds == [("created", "", "discovery"), ("skip", "discovery", "contract"),
                     ("backward", "contract", "demo"), ("update", "demo", "demo"),
                     ("advance", "demo", "contract"), ("won", "contract", "won")]
    reopened = list(StageHistory.objects.filter(deal__external_id="2").values_list("kind",
                                                                                  flat=True))
    assert reopened == ["created", "advance", "lost", "reopen"]
    second = Deal.objects.get(external_id="2")
    assert second.stage_entered_at == T0 + timedelta(days=21)


def test_interleaved_history_is_grouped_per_deal(db: Any, org: Any) -> None:
    one, two = path("1", "Discovery", "Demo"), path("2", "Discovery", "Demo", "Contract")
    mixed = [one[0], two[0], one[1], two[1], two[2]]
    export = ListExport(deal_list=[deal("1"), deal("2", "Contract")], history_list=mixed)
    result = run_import(export, acting_user=olivia(org))
    assert result.counts["history"].created == 5
    assert list(StageHistory.objects.filter(deal__external_id="2").values_list(
        "to_stage", flat=True)) == ["discovery", "demo", "contract"]


def olivia(org: Any) -> Any:
    return org.olivia


def test_mapped_stages_land_on_the_active_process_and_unmapped_ones_are_named(
        db: Any, org: Any) -> None:
    export = ListExport(deal_list=[deal("1", "Discovery"), deal("2", "Demo"),
                                   deal("3", "Demo"), deal("4", "Contract")])
    result = run_import(export, acting_user=org.olivia,
                        stage_map={"Discovery": "qualification",
                                   "Contract": "negotiation & COMMITMENT"})
    assert not result.committed and Deal.objects.count() == 0
    assert dict(result.unmatched["stage"]) == {"Demo": 2}
    assert any(p.message == "the stage 'Demo' is not in the mapping" for p in result.fatal)
    result = run_import(export, acting_user=org.olivia,
                        stage_map={"Discovery": "qualification", "Demo": "solution",
                                   "Contract": "negotiation & COMMITMENT"})
    assert result.committed and not result.process_created
    assert dict(Deal.objects.values_list("external_id", "stage")) == {
        "1": "qualification", "2": "solution", "3": "solution", "4": "negotiation"}


def test_a_database_that_already_holds_deals_keeps_its_active_process(
        db: Any, org: Any, make_deal: Any) -> None:
    make_deal()
    active = ProcessVersion.objects.get(is_active=True)
    result = run_import(ListExport(deal_list=[deal("1")]), acting_user=org.olivia)
    assert result.committed and result.process_created and not result.process_active
    assert ProcessVersion.objects.get(is_active=True) == active
    imported = ProcessVersion.objects.get(number=result.process_version)
    assert Deal.objects.get(external_id="1").process_version_id == imported.pk


def test_owners_match_by_external_id_email_or_name(db: Any, org: Any) -> None:
    User.objects.filter(pk=org.bob.pk).update(email="bob@example.com")
    User.objects.filter(pk=org.charlie.pk).update(external_source="testcrm",
                                                  external_id="U-9")
    export = ListExport(
        user_list=[SourceUser("U-1", "Someone Else", "BOB@example.com"),
                   SourceUser("U-9", "Charles", "charles@elsewhere.example")],
        deal_list=[deal("1", owner="U-1"), deal("2", owner="U-9"), deal("3", owner="Mona"),
                   deal("4", owner="")])
    result = run_import(export, acting_user=org.olivia)
    owners = dict(Deal.objects.values_list("external_id", "owner__username"))
    assert owners == {"1": "bob", "2": "charlie", "3": "mona", "4": "olivia"}
    assert dict(result.unmatched["owner"]) == {"(none) → olivia": 1}
    assert Deal.objects.get(external_id="1").team == org.bob.team


def test_owner_map_names_existing_users_and_a_missing_one_is_an_error(db: Any,
                                                                        org: Any) -> None:
    export = ListExport(deal_list=[deal("1", owner="J. Doe"), deal("2", owner="Z")])
    result = run_import(export, acting_user=org.olivia,
                        owner_map={"J. Doe": "alice", "Z": "zed"})
    assert not result.committed
    assert [p.message for p in result.fatal] == [
        "the owner 'Z' maps to the user 'zed', who does not exist"]
    result = run_import(export, acting_user=org.olivia, owner_map={"J. Doe": "alice",
                                                                   "Z": "bob"})
    assert result.committed
    assert dict(Deal.objects.values_list("external_id", "owner__username")) == {
        "1": "alice", "2": "bob"}


def test_kept_fields_and_deals_without_an_account(db: Any, org: Any) -> None:
    export = ListExport(
        account_list=[SourceAccount("A-1", "Initech", website="https://www.initech.example/")],
        deal_list=[deal("1", "Lost", account_key="A-1", loss_reason="Went with a rival",
                        probability=0, fields={"lead_source": "Web"}),
                   deal("2", "Contract", probability=85, forecast_category="Best Case",
                        next_step="Send the order form"),
                   deal("3", "Demo", forecast_category="Gut feeling")])
    result = run_import(export, acting_user=org.olivia)
    lost, open_, odd = (Deal.objects.get(external_id=k) for k in "123")
    assert lost.account is not None and lost.account.domain == "initech.example"
    assert (lost.status, lost.lost_reason, lost.fields) == (
        "lost", "Went with a rival", {"lead_source": "Web"})
    assert open_.account is None
    assert (open_.probability, open_.forecast_category) == (85, "best_case")
    assert open_.next_step is not None and open_.next_step.text == "Send the order form"
    assert odd.forecast_category == "pipeline"
    assert dict(result.unmatched["forecast category"]) == {"Gut feeling": 1}


def test_a_rep_cannot_run_an_import(db: Any, org: Any) -> None:
    with pytest.raises(NotAllowed):
        run_import(ListExport(deal_list=[deal("1")]), acting_user=org.alice)
    assert Deal.objects.count() == 0


def test_one_audit_row_per_import_run(db: Any, org: Any) -> None:
    export = ListExport(deal_list=[deal(str(i)) for i in range(30)])
    before = AuditEvent.objects.filter(action="import.run").count()
    result = run_import(export, acting_user=org.olivia)
    events = AuditEvent.objects.filter(action="import.run")
    assert events.count() == before + 1
    event = events.get()
    assert event.actor == org.olivia
    assert event.changes["counts"]["deals"] == {"created": 30, "updated": 0, "unchanged": 0}
    assert result.counts["history"].created == 30  # one entry made for each deal


def test_writes_go_in_bulk(db: Any, org: Any, django_assert_max_num_queries: Any) -> None:
    deals = [deal(str(i), "Contract") for i in range(3000)]
    history = [h for i in range(3000) for h in path(str(i), "Discovery", "Demo", "Contract")]
    run_import(ListExport(deal_list=[deal("warm-up")]), acting_user=org.olivia)
    with django_assert_max_num_queries(60):
        result = run_import(ListExport(deal_list=deals, history_list=history),
                            acting_user=org.olivia)
    assert result.counts["deals"].created == 3000
    assert result.counts["history"].created == 9000


# ---------------------------------------------------------------------------- atomicity


@pytest.fixture
def failing_history_insert(transactional_db: Any) -> Iterator[None]:
    """A real database failure: inserting a stage-history row into `won` is refused."""
    table = StageHistory._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("CREATE FUNCTION dc_test_refuse() RETURNS trigger AS $$ BEGIN "
                           "IF NEW.to_stage = 'won' THEN RAISE EXCEPTION 'refused row'; "
                           "END IF; RETURN NEW; END $$ LANGUAGE plpgsql")
            cursor.execute(f"CREATE TRIGGER dc_test_refuse BEFORE INSERT ON {table} FOR EACH "
                           "ROW EXECUTE FUNCTION dc_test_refuse()")
        else:
            cursor.execute(f"CREATE TRIGGER dc_test_refuse BEFORE INSERT ON {table} "
                           "WHEN NEW.to_stage = 'won' BEGIN SELECT RAISE(ABORT, 'refused row');"
                           " END")
    yield
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER dc_test_refuse ON {table}")
            cursor.execute("DROP FUNCTION dc_test_refuse()")
        else:
            cursor.execute("DROP TRIGGER dc_test_refuse")


def test_a_failure_late_in_the_import_leaves_the_database_as_it_was(
        org: Any, failing_history_insert: None) -> None:
    n = 12_000  # more than two chunks of deals and history are written before the failure
    deals = [deal(str(i), "Contract", owner=f"new-owner-{i % 3}") for i in range(n)]
    deals.append(deal("last", "Won"))
    history = [h for i in range(n) for h in path(str(i), "Discovery", "Contract")]
    history += path("last", "Discovery", "Won")
    before = snapshot()
    with pytest.raises(DatabaseError):
        run_import(ListExport(deal_list=deals, history_list=history), acting_user=org.olivia)
    assert snapshot() == before
    result = run_import(ListExport(deal_list=deals[:10], history_list=history[:20]),
                        acting_user=org.olivia)
    assert result.committed and Deal.objects.count() == 10


def test_progress_is_reported_per_phase_with_rows_done(db: Any, org: Any) -> None:
    seen: list[tuple[str, int]] = []
    export = ListExport(deal_list=[deal(str(i)) for i in range(7)],
                        history_list=[h for i in range(7) for h in path(str(i), "Discovery",
                                                                        "Demo")])
    run_import(export, acting_user=org.olivia, progress=lambda phase, n: seen.append((phase, n)))
    phases = [phase for phase, _ in seen]
    assert phases.index("deals") < phases.index("history")
    assert seen[-1][1] >= 7 + 14


def test_a_field_value_outside_the_process_choices_is_kept_and_named(db: Any, org: Any) -> None:
    export = ListExport(stages=[STAGES[0]],
                        deal_list=[deal("1", "Discovery", fields={"segment": "enterprise"}),
                                   deal("2", "Discovery", fields={"segment": "Large Corp"}),
                                   deal("3", "Discovery", fields={"segment": "Large Corp"})])
    result = run_import(export, acting_user=org.olivia, stage_map={"Discovery": "discovery"})
    assert result.committed
    assert dict(result.unmatched["field segment"]) == {"Large Corp (not one of its choices)": 2}
    assert Deal.objects.get(external_id="2").fields["segment"] == "Large Corp"


def test_an_unreadable_export_reports_its_own_problem_only(db: Any, org: Any) -> None:
    missing = Problem("Opportunity.csv", None, "", "Opportunity.csv is not in the folder")
    result = run_import(ListExport(stages=[], problems=[missing]), acting_user=org.olivia)
    assert not result.committed
    assert result.problems == [missing]
