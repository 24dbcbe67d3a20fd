"""The demo company: its people, accounts and deals, and the rules of building it."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.db import connection

from dealcraft.audit.models import AuditEvent
from dealcraft.crm.models import Account, Contact
from dealcraft.crm.services import create_account, create_contact
from dealcraft.deals.models import Deal, StageHistory
from dealcraft.deals.services import create_deal, set_next_step
from dealcraft.demo.builder import MODELS, DemoResult, build_demo
from dealcraft.errors import InvalidInput
from dealcraft.people.models import Team, User
from dealcraft.processes.services import active_version

from .conftest import SMALL


def test_the_company_has_three_teams_of_five_reps_two_managers_ops_and_an_admin(
        demo: DemoResult) -> None:
    assert sorted(Team.objects.values_list("name", flat=True)) == [
        "Enterprise", "Mid-Market", "SMB"]
    roles = Counter(User.objects.values_list("role", flat=True))
    assert roles == {"rep": 15, "manager": 2, "ops": 1, "admin": 1}
    for team in Team.objects.all():
        assert team.members.filter(role="rep").count() == 5
        assert team.managers.count() == 1


def test_one_manager_manages_two_teams(demo: DemoResult) -> None:
    managed = {m.username: sorted(m.managed_teams.values_list("name", flat=True))
               for m in User.objects.filter(role="manager")}
    assert sorted(len(teams) for teams in managed.values()) == [1, 2]
    assert sorted(t for teams in managed.values() for t in teams) == [
        "Enterprise", "Mid-Market", "SMB"]


def test_every_printed_login_signs_in_with_its_role_and_team(demo: DemoResult) -> None:
    assert len(demo.logins) == 19
    for username, password, role, team in demo.logins:
        assert password == f"demo-{username}"
        user = authenticate(username=username, password=password)
        assert user is not None, username
        assert user.role == role
        if role == "rep":
            assert user.team.name == team
        elif role == "manager":
            assert ", ".join(sorted(user.managed_teams.values_list("name", flat=True))) == team
        else:
            assert team == ""
    assert authenticate(username="mona", password="wrong") is None


def test_accounts_scale_with_deals_and_each_has_two_to_four_contacts(demo: DemoResult) -> None:
    assert Deal.objects.count() == SMALL == demo.counts["deals"]
    assert Account.objects.count() == round(SMALL / 3.3) == demo.counts["accounts"]
    per_account = Counter(Contact.objects.values_list("account_id", flat=True))
    assert set(per_account) == set(Account.objects.values_list("id", flat=True))
    assert set(per_account.values()) <= {2, 3, 4}
    names = list(Account.objects.values_list("name", flat=True))
    assert len(set(names)) == len(names)
    for account in Account.objects.all()[:20]:
        assert account.industry and account.country and account.employees
        assert account.owner.role == "rep"
    contact = Contact.objects.select_related("account").first()
    assert contact is not None and contact.account is not None
    assert contact.email.endswith("@" + contact.account.domain) and contact.title


def test_amounts_are_decimals_in_iso_currencies_sized_by_segment(demo: DemoResult) -> None:
    ranges = {"smb": (5_000, 20_000), "mid_market": (20_000, 80_000),
              "enterprise": (80_000, 500_000)}
    currencies: Counter[str] = Counter()
    for deal in Deal.objects.all():
        assert isinstance(deal.amount, Decimal)
        assert re.fullmatch(r"[A-Z]{3}", deal.currency)
        currencies[deal.currency] += 1
    assert set(currencies) == {"USD", "EUR", "GBP"}
    assert currencies.most_common(1)[0][0] == "USD"
    revised = set(StageHistory.objects.filter(kind="update").values_list("deal_id", flat=True))
    for deal in Deal.objects.exclude(pk__in=revised):
        low, high = ranges[deal.fields["segment"]]
        assert low <= deal.amount <= high, (deal.fields["segment"], deal.amount)


def test_deals_and_their_history_carry_the_active_process_version(demo: DemoResult) -> None:
    version = active_version()
    assert set(Deal.objects.values_list("process_version_id", flat=True)) == {version.pk}
    assert set(StageHistory.objects.values_list("process_version_id", flat=True)) == {
        version.pk}
    assert not Deal.objects.filter(version__lt=1).exists()
    assert Deal.objects.filter(version__gt=3).exists()


def test_the_build_is_audited_with_its_counts(demo: DemoResult) -> None:
    event = AuditEvent.objects.get(action="demo.build")
    assert event.changes["seed"] == 42
    assert event.changes["counts"]["deals"] == SMALL
    assert event.changes["counts"]["history"] == StageHistory.objects.count()


def test_a_second_build_is_refused_and_changes_nothing(demo: DemoResult) -> None:
    before = StageHistory.objects.count()
    with pytest.raises(InvalidInput, match=rf"already holds {SMALL} deals; use --reset"):
        build_demo(deals=10)
    assert Deal.objects.count() == SMALL
    assert StageHistory.objects.count() == before


def test_a_database_with_demo_usernames_is_refused(db: Any) -> None:
    User.objects.create_user("mona", password="x")  # as `createuser` would have made her
    with pytest.raises(InvalidInput, match="demo user"):
        build_demo(deals=10)
    assert not Deal.objects.exists()


@pytest.mark.parametrize("deals", [0, -5, True, "100"])
def test_nonsense_sizes_are_refused(db: Any, deals: Any) -> None:
    with pytest.raises(InvalidInput):
        build_demo(deals=deals)


def test_every_foreign_key_points_at_a_row(demo: DemoResult) -> None:
    connection.check_constraints(table_names=[m._meta.db_table for m in MODELS.values()])


def test_the_build_leaves_every_index_and_constraint_in_place(db: Any) -> None:
    def constraints() -> dict[str, Any]:
        with connection.cursor() as cursor:
            return {m._meta.db_table: connection.introspection.get_constraints(
                cursor, m._meta.db_table) for m in MODELS.values()}

    before = constraints()
    build_demo(deals=50)
    assert constraints() == before


def test_records_created_after_the_build_get_fresh_ids(demo: DemoResult) -> None:
    rep = User.objects.get(username="maya")
    top = {name: model._default_manager.order_by("-pk").values_list("pk", flat=True).first()
           for name, model in MODELS.items() if name in ("account", "contact", "deal",
                                                         "next_step")}
    account = create_account(acting_user=rep, name="Signed after the demo")
    contact = create_contact(acting_user=rep, account=account, first_name="Ines")
    deal = create_deal(acting_user=rep, name="New pilot", amount="12000", currency="USD",
                       expected_close=date.today() + timedelta(days=30), account=account)
    step = set_next_step(acting_user=rep, deal=deal, text="Kickoff",
                         due=date.today() + timedelta(days=3))
    assert (account.pk, contact.pk, deal.pk, step.pk) > (0, 0, 0, 0)
    assert account.pk > top["account"] and contact.pk > top["contact"]
    assert deal.pk > top["deal"] and step.pk > top["next_step"]
