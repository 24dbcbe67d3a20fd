"""Setting the deal's account from the deal page: picked from suggestions, named by hand,
created when no account has the name, or cleared; always against the deal's version."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dealcraft.audit.models import AuditEvent
from dealcraft.crm.models import Account
from dealcraft.crm.services import create_account
from dealcraft.deals.models import Deal
from dealcraft.deals.services import update_deal

from .conftest import Node, parse

pytestmark = pytest.mark.django_db


def account(org: Any, name: str, **extra: Any) -> Account:
    return create_account(acting_user=org.alice, name=name, **extra)


def suggestions(client: Any, deal: Deal, typed: str) -> list[str]:
    response = client.get(f"/deals/{deal.pk}/accounts/", {"q": typed})
    assert response.status_code == 200
    datalist = parse(response.content).find("datalist", id="account-options")
    assert datalist is not None
    return [option.attrs["value"] for option in datalist.find_all("option")]


def pick(deal: Deal, name: str, account_id: int | str = "", *, action: str = "set",
         version: int | None = None) -> dict[str, str]:
    """What the account form posts: the typed name, and the id scripts set when it was picked
    from the suggestions."""
    return {"version": str(version or deal.version), "account": str(account_id),
            "account_name": name, "action": action}


def account_set(page: Node) -> str:
    return page.testid("criterion-account_set").attrs["data-met"]


def test_suggestions_are_the_accounts_starting_with_the_typed_text_in_any_case(
        org: Any, make_deal: Any, signed_in: Any) -> None:
    for name in ("Acme Corp", "acme labs", "ACME", "Acmeville", "Bacme", "Globex", "Ac"):
        account(org, name)
    deal = make_deal()
    client = signed_in(org.alice)

    assert suggestions(client, deal, "acme") == ["ACME", "Acme Corp", "Acmeville", "acme labs"]
    assert suggestions(client, deal, "  aCmE l") == ["acme labs"]
    assert suggestions(client, deal, "zz") == []
    assert suggestions(client, deal, "") == []


def test_suggestions_reach_names_past_z_and_nine_and_names_starting_with_punctuation(
        org: Any, make_deal: Any, signed_in: Any) -> None:
    for name in ("Zz Top", "zzyzx", "Az9 Labs", "a9 Partners", "3M", "@home", "Über AG", "B"):
        account(org, name)
    deal = make_deal()
    client = signed_in(org.alice)

    assert suggestions(client, deal, "ZZ") == ["Zz Top", "zzyzx"]
    assert suggestions(client, deal, "az9") == ["Az9 Labs"]
    assert suggestions(client, deal, "A9") == ["a9 Partners"]
    assert suggestions(client, deal, "3m") == ["3M"]
    assert suggestions(client, deal, "@h") == ["@home"]
    assert suggestions(client, deal, "Über") == ["Über AG"]


def test_suggestions_stop_at_twenty_and_carry_each_accounts_id(
        org: Any, make_deal: Any, signed_in: Any) -> None:
    made = [account(org, f"Initech {i:02d}") for i in range(25)]
    deal = make_deal()

    response = signed_in(org.alice).get(f"/deals/{deal.pk}/accounts/", {"q": "initech"})

    options = parse(response.content).find_all("option")
    assert len(options) == 20
    assert [(o.attrs["value"], o.attrs["data-id"]) for o in options] == [
        (a.name, str(a.pk)) for a in made[:20]]


@pytest.mark.parametrize("persona", ["charlie", "vera"])
def test_suggestions_and_the_form_are_refused_to_those_who_cannot_edit_the_deal(
        org: Any, make_deal: Any, signed_in: Any, persona: str) -> None:
    acme = account(org, "Acme Corp")
    deal = make_deal()
    client = signed_in(getattr(org, persona))

    assert client.get(f"/deals/{deal.pk}/accounts/", {"q": "acme"}).status_code == 403
    posted = client.post(f"/deals/{deal.pk}/account/", pick(deal, acme.name, acme.pk))

    assert posted.status_code == 403
    assert Deal.objects.get(pk=deal.pk).account_id is None


def test_anonymous_visitors_are_sent_to_sign_in(org: Any, make_deal: Any, client: Any) -> None:
    deal = make_deal()

    response = client.get(f"/deals/{deal.pk}/accounts/", {"q": "acme"})

    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_viewer_sees_no_account_form(org: Any, make_deal: Any, page: Any) -> None:
    deal = make_deal()

    assert not page(org.vera, deal).has("account-form")


def test_picking_an_account_meets_target_account_identified(
        org: Any, make_deal: Any, signed_in: Any, page: Any) -> None:
    acme = account(org, "Acme Corp")
    deal = make_deal()
    assert account_set(page(org.alice, deal)) == "false"
    link = page(org.alice, deal).testid("criterion-account_set").find("a")
    assert link is not None and link.attrs["href"] == "#account-name"

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/account/",
                                         pick(deal, "Acme Corp", acme.pk))

    assert response.status_code == 302
    assert response["Location"] == f"/deals/{deal.pk}/#account-picker"
    stored = Deal.objects.get(pk=deal.pk)
    assert (stored.account_id, stored.version) == (acme.pk, 2)
    event = AuditEvent.objects.filter(action="deal.update").get()
    assert (event.actor, event.changes) == (
        org.alice, {"account": {"from": None, "to": "Acme Corp"}})
    shown = page(org.alice, deal)
    assert account_set(shown) == "true"
    form = shown.testid("account-form")
    assert form.find("input", name="account_name").attrs["value"] == "Acme Corp"  # type: ignore[union-attr]
    assert form.find("input", name="version").attrs["value"] == "2"  # type: ignore[union-attr]


def test_a_name_typed_without_scripts_sets_the_one_account_it_names(
        org: Any, make_deal: Any, signed_in: Any, page: Any) -> None:
    account(org, "Acme Corporation")
    acme = account(org, "Acme Corp")
    deal = make_deal()

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/account/",
                                         pick(deal, "  acme corp "))

    assert response.status_code == 302
    assert Deal.objects.get(pk=deal.pk).account_id == acme.pk
    assert account_set(page(org.alice, deal)) == "true"


def test_a_name_edited_over_a_picked_account_goes_by_the_name(
        org: Any, make_deal: Any, signed_in: Any) -> None:
    acme, globex = account(org, "Acme Corp"), account(org, "Globex")
    deal = make_deal(account=acme)

    # Without scripts the form still carries the current account's id beside the new name.
    signed_in(org.alice).post(f"/deals/{deal.pk}/account/", pick(deal, "Globex", acme.pk))

    assert Deal.objects.get(pk=deal.pk).account_id == globex.pk


def test_a_name_several_accounts_share_asks_which_one(
        org: Any, make_deal: Any, signed_in: Any) -> None:
    first = account(org, "Acme", domain="acme.com", country="us")
    second = account(org, "ACME", domain="acme.de", country="de")
    deal = make_deal()
    client = signed_in(org.alice)

    refused = client.post(f"/deals/{deal.pk}/account/", pick(deal, "acme"))

    assert refused.status_code == 422
    assert Deal.objects.get(pk=deal.pk).account_id is None
    html = parse(refused.content)
    form = html.testid("account-form")
    choices = form.find(data_testid="account-choices")
    assert choices is not None
    radios = choices.find_all("input", type="radio", name="account")
    assert sorted(r.attrs["value"] for r in radios) == sorted([str(first.pk), str(second.pk)])
    assert "acme.de (DE)" in choices.text() and "acme.com (US)" in choices.text()
    assert "Several accounts are called “acme”" in form.testid("account-error").text()
    assert html.testid("form-error").find("a").attrs["href"] == "#account-picker"  # type: ignore[union-attr]

    chosen = client.post(f"/deals/{deal.pk}/account/", pick(deal, "acme", second.pk))

    assert chosen.status_code == 302
    assert Deal.objects.get(pk=deal.pk).account_id == second.pk


def test_a_name_no_account_has_can_be_created_and_set(
        org: Any, make_deal: Any, signed_in: Any, page: Any) -> None:
    deal = make_deal()
    client = signed_in(org.alice)

    refused = client.post(f"/deals/{deal.pk}/account/", pick(deal, "Umbrella Corp"))

    assert refused.status_code == 422
    form = parse(refused.content).testid("account-form")
    create = form.testid("account-create")
    assert (create.attrs["name"], create.attrs["value"]) == ("action", "create")
    assert create.text() == "Create account “Umbrella Corp”"
    assert not Account.objects.exists()

    created = client.post(f"/deals/{deal.pk}/account/",
                          pick(deal, "Umbrella Corp", action="create"))

    assert created.status_code == 302
    umbrella = Account.objects.get()
    assert (umbrella.name, umbrella.owner) == ("Umbrella Corp", org.alice)
    assert Deal.objects.get(pk=deal.pk).account_id == umbrella.pk
    assert AuditEvent.objects.filter(action="account.create").count() == 1
    assert account_set(page(org.alice, deal)) == "true"


def test_an_empty_name_is_refused_and_sets_nothing(org: Any, make_deal: Any,
                                                   signed_in: Any) -> None:
    deal = make_deal()
    client = signed_in(org.alice)

    for action in ("set", "create"):
        response = client.post(f"/deals/{deal.pk}/account/", pick(deal, "  ", action=action))

        assert response.status_code == 422
        field = parse(response.content).testid("account-form").find("input", id="account-name")
        assert field is not None and field.attrs["aria-invalid"] == "true"
    assert not Account.objects.exists()
    assert Deal.objects.get(pk=deal.pk).version == 1


def test_clearing_the_account_unmeets_the_criterion(org: Any, make_deal: Any, signed_in: Any,
                                                    page: Any) -> None:
    acme = account(org, "Acme Corp")
    deal = make_deal(account=acme)
    form = page(org.alice, deal).testid("account-form")
    clear = form.testid("account-clear")
    assert (clear.attrs["name"], clear.attrs["value"]) == ("action", "clear")

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/account/",
                                         pick(deal, "Acme Corp", acme.pk, action="clear"))

    assert response.status_code == 302
    assert Deal.objects.get(pk=deal.pk).account_id is None
    shown = page(org.alice, deal)
    assert account_set(shown) == "false"
    assert not shown.testid("account-form").has("account-clear")


@pytest.mark.parametrize("action", ["set", "create", "clear"])
def test_a_stale_version_is_refused_and_shows_the_conflict(
        org: Any, make_deal: Any, signed_in: Any, action: str) -> None:
    acme, globex = account(org, "Acme Corp"), account(org, "Globex")
    deal = make_deal(account=acme)
    opened = pick(deal, "Globex" if action != "create" else "Umbrella Corp", globex.pk,
                  action=action)  # Alice opens the page at version 1 …
    update_deal(acting_user=org.mona, deal=deal, version=1,
                changes={"amount": "60000.00"})  # … and Mona changes the amount meanwhile.

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/account/", opened)

    assert response.status_code == 409
    stored = Deal.objects.get(pk=deal.pk)
    assert (stored.account_id, stored.version) == (acme.pk, 2)
    assert not Account.objects.filter(name="Umbrella Corp").exists()
    html = parse(response.content)
    conflict = html.testid("conflict")
    assert "Amount 48000.00 → 60000.00" in conflict.testid("changes-since").text()
    rows = [[cell.text() for cell in tr.find_all() if cell.tag in ("th", "td")]
            for tr in conflict.find("tbody").find_all("tr")]  # type: ignore[union-attr]
    wanted = {"set": "Globex", "create": "Umbrella Corp", "clear": "—"}[action]
    assert rows == [["Account", wanted, "Acme Corp"]]
    form = html.testid("account-form")
    assert form.find("input", name="version").attrs["value"] == "2"  # type: ignore[union-attr]


def test_hostile_account_names_are_shown_as_text(org: Any, make_deal: Any,
                                                 signed_in: Any) -> None:
    attack = '"><img src=x onerror=alert(1)>'
    hostile = account(org, attack)
    account(org, attack)
    deal = make_deal()
    client = signed_in(org.alice)

    listed = client.get(f"/deals/{deal.pk}/accounts/", {"q": '">'}).content.decode()
    asked = client.post(f"/deals/{deal.pk}/account/", pick(deal, attack)).content.decode()
    update_deal(acting_user=org.alice, deal=deal, version=None, changes={"account": hostile})
    shown = client.get(f"/deals/{deal.pk}/").content.decode()

    for html in (listed, asked, shown):
        assert "<img" not in html
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in listed
    assert parse(listed).find("option").attrs["value"] == attack  # type: ignore[union-attr]
    assert parse(shown).testid("account-form").find(  # type: ignore[union-attr]
        "input", name="account_name").attrs["value"] == attack


def search_queries(client: Any, deal: Deal, typed: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/deals/{deal.pk}/accounts/", {"q": typed})
    assert response.status_code == 200
    return len(captured), len(parse(response.content).find_all("option"))


def test_suggestions_run_the_same_queries_for_few_and_many_accounts(
        org: Any, make_deal: Any, signed_in: Any) -> None:
    deal = make_deal()
    client = signed_in(org.alice)
    for i in range(3):
        account(org, f"Acme {i:02d}")
    search_queries(client, deal, "acme")  # the first request also loads the process

    few, shown_few = search_queries(client, deal, "acme")
    for i in range(3, 60):
        account(org, f"Acme {i:02d}")
    many, shown_many = search_queries(client, deal, "acme")

    assert (shown_few, shown_many) == (3, 20)
    assert few == many
    assert many <= 6
