"""Filtering the board, and saving the filters as named views."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from dealcraft.audit.models import AuditEvent
from dealcraft.deals.services import update_deal
from dealcraft.web.board.queries import quarter_bounds
from dealcraft.web.models import SavedView

from .conftest import HTMX, card

pytestmark = pytest.mark.django_db


def shown(client: Any, query: str, *deals: Any) -> set[str]:
    """Names of the given deals whose cards the board shows with that query."""
    html = "".join(
        client.get(f"/pipeline/columns/{stage}/?{query}", **HTMX).content.decode()
        for stage in ("prospecting", "qualification"))
    return {d.name for d in deals if card(html, d.pk)}


def test_filter_by_owner_and_team(org: Any, make_deal: Any, signed_in: Any) -> None:
    alices = make_deal(name="Alice's")
    bobs = make_deal(name="Bob's", owner=org.bob)
    client = signed_in(org.ada)
    north = org.alice.team_id
    south = org.charlie.team_id
    charlies = make_deal(name="Charlie's", owner=org.charlie)

    assert shown(client, f"owner={org.bob.pk}", alices, bobs, charlies) == {"Bob's"}
    assert shown(client, f"team={north}", alices, bobs, charlies) == {"Alice's", "Bob's"}
    assert shown(client, f"team={south}", alices, bobs, charlies) == {"Charlie's"}


def test_filtering_by_another_team_never_shows_its_deals(org: Any, make_deal: Any,
                                                         signed_in: Any) -> None:
    charlies = make_deal(name="Charlie's", owner=org.charlie)

    client = signed_in(org.alice)

    assert shown(client, f"team={org.charlie.team_id}", charlies) == set()
    assert shown(client, f"owner={org.charlie.pk}", charlies) == set()


def test_filter_by_amount_and_forecast_category(org: Any, make_deal: Any,
                                                signed_in: Any) -> None:
    small = make_deal(name="Small", amount="1000.00")
    large = make_deal(name="Large", amount="90000.00")
    commit = make_deal(name="Commit", amount="5000.00")
    update_deal(acting_user=org.alice, deal=commit, version=None,
                changes={"forecast_category": "commit"})
    client = signed_in(org.alice)

    assert shown(client, "amount_min=5000", small, large, commit) == {"Large", "Commit"}
    assert shown(client, "amount_max=5000", small, large, commit) == {"Small", "Commit"}
    assert shown(client, "amount_min=2000&amount_max=10000", small, large, commit) == {"Commit"}
    assert shown(client, "forecast=commit", small, large, commit) == {"Commit"}


def test_filter_by_close_period(org: Any, make_deal: Any, signed_in: Any) -> None:
    today = timezone.localdate()
    this_start, this_end = quarter_bounds(today)
    next_start, next_end = quarter_bounds(today, 1)
    now = make_deal(name="This quarter", expected_close=this_end)
    later = make_deal(name="Next quarter", expected_close=next_start)
    far = make_deal(name="Far", expected_close=next_end + timedelta(days=1))
    client = signed_in(org.alice)
    deals = (now, later, far)

    assert shown(client, "close=this_quarter", *deals) == {"This quarter"}
    assert shown(client, "close=next_quarter", *deals) == {"Next quarter"}
    assert shown(client, f"close=custom&close_from={next_start}", *deals) == {
        "Next quarter", "Far"}
    assert shown(client, f"close=custom&close_to={next_start}", *deals) == {
        "This quarter", "Next quarter"}


def test_quarters_roll_over_the_year() -> None:
    assert quarter_bounds(date(2025, 11, 5)) == (date(2025, 10, 1), date(2025, 12, 31))
    assert quarter_bounds(date(2025, 11, 5), 1) == (date(2026, 1, 1), date(2026, 3, 31))
    assert quarter_bounds(date(2025, 2, 28), 1) == (date(2025, 4, 1), date(2025, 6, 30))


def test_the_column_totals_follow_the_filters(org: Any, make_deal: Any,
                                              signed_in: Any) -> None:
    make_deal(amount="1000.00")
    make_deal(amount="90000.00")

    html = signed_in(org.alice).get("/pipeline/?amount_min=5000").content.decode()

    assert "1 deal</p>" in html and "90,000.00 EUR" in html and "91,000.00" not in html
    assert 'hx-get="/pipeline/columns/prospecting/?amount_min=5000"' in html


def test_invalid_filters_are_reported_and_ignored(org: Any, make_deal: Any,
                                                  signed_in: Any) -> None:
    make_deal()

    response = signed_in(org.alice).get("/pipeline/?amount_min=lots&forecast=commit")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Enter a number." in html
    assert 'hx-get="/pipeline/columns/' not in html  # forecast=commit still applies: no deals


def test_the_filters_offer_only_people_and_teams_the_user_can_see(org: Any,
                                                                  signed_in: Any) -> None:
    html = signed_in(org.alice).get("/pipeline/").content.decode()
    owners = html.split('name="owner"')[1].split("</select>")[0]
    teams = html.split('name="team"')[1].split("</select>")[0]

    assert ">Alice</option>" in owners and ">Bob</option>" in owners
    assert "Charlie" not in owners
    assert ">North</option>" in teams and "South" not in teams


def test_save_a_view_then_apply_it(org: Any, make_deal: Any, signed_in: Any) -> None:
    client = signed_in(org.alice)

    response = client.post("/pipeline/views/", {
        "name": "Big deals", "filters": "amount_min=5000&forecast=commit&junk=1"})

    assert response.status_code == 303
    assert response["Location"] == "/pipeline/?amount_min=5000&forecast=commit"
    view = SavedView.objects.get(user=org.alice)
    assert (view.name, view.query) == ("Big deals", "amount_min=5000&forecast=commit")
    html = client.get("/pipeline/").content.decode()
    assert '<a href="/pipeline/?amount_min=5000&amp;forecast=commit">Big deals</a>' in html
    assert AuditEvent.objects.filter(action="saved_view.create", actor=org.alice).exists()


def test_saving_a_view_under_the_same_name_replaces_it(org: Any, signed_in: Any) -> None:
    client = signed_in(org.alice)
    client.post("/pipeline/views/", {"name": "Mine", "filters": f"owner={org.alice.pk}"})

    client.post("/pipeline/views/", {"name": "Mine", "filters": "close=this_quarter"})

    assert list(SavedView.objects.values_list("name", "query")) == [
        ("Mine", "close=this_quarter")]


def test_a_view_needs_a_name(org: Any, signed_in: Any) -> None:
    response = signed_in(org.alice).post("/pipeline/views/", {"name": " ", "filters": ""},
                                         follow=True)

    assert "The view was not saved: name must not be empty." in response.content.decode()
    assert not SavedView.objects.exists()


def test_saved_views_are_private(org: Any, signed_in: Any) -> None:
    signed_in(org.bob).post("/pipeline/views/", {"name": "Bob's view", "filters": ""})

    assert "Bob&#x27;s view" not in signed_in(org.alice).get("/pipeline/").content.decode()


def test_delete_your_own_view(org: Any, signed_in: Any) -> None:
    client = signed_in(org.alice)
    client.post("/pipeline/views/", {"name": "Old", "filters": ""})
    view = SavedView.objects.get()

    response = client.post(f"/pipeline/views/{view.pk}/delete/")

    assert response.status_code == 303
    assert not SavedView.objects.exists()
    assert AuditEvent.objects.filter(action="saved_view.delete", actor=org.alice).exists()


def test_nobody_deletes_another_users_view(org: Any, signed_in: Any) -> None:
    signed_in(org.bob).post("/pipeline/views/", {"name": "Bob's view", "filters": ""})
    view = SavedView.objects.get()

    for persona in (org.alice, org.mona, org.ada):
        assert signed_in(persona).post(f"/pipeline/views/{view.pk}/delete/").status_code == 403

    assert SavedView.objects.filter(pk=view.pk).exists()
    assert signed_in(org.alice).post("/pipeline/views/99999/delete/").status_code == 404


def test_saved_views_need_a_signed_in_user(client: Any, org: Any, signed_in: Any) -> None:
    signed_in(org.bob).post("/pipeline/views/", {"name": "Bob's view", "filters": ""})
    view = SavedView.objects.get()

    assert client.post("/pipeline/views/", {"name": "x"}).status_code == 302
    assert client.post(f"/pipeline/views/{view.pk}/delete/").status_code == 302
    assert SavedView.objects.count() == 1
