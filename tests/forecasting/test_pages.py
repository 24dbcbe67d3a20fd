"""The forecast pages: what each role sees and may do there, and who is refused."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from dealcraft.domain.forecast import period_of
from dealcraft.forecasting.models import ForecastAdjustment, ForecastSubmission
from dealcraft.forecasting.queries import start_of
from dealcraft.forecasting.services import adjust_forecast, submit_forecast

from .conftest import past_deal

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def this_quarter() -> str:
    return period_of(timezone.localdate()).label


def test_rep_sees_the_quarter_and_their_own_line_and_submits_a_call(org: Any,
                                                                    make_deal: Any) -> None:
    make_deal(amount="1000", currency="USD", expected_close=timezone.localdate())
    client = client_for(org.alice)
    page = client.get("/forecast/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Your call" in html and "Make your call" in html
    assert '<th scope="row">Alice</th>' in html
    assert '<th scope="row">Bob</th>' not in html  # a rep's roll-up is their own line
    assert 'id="forecast-chart-data"' in html
    response = client.post("/forecast/submit/", {"period": this_quarter(), "amount": "750",
                                                 "currency": "USD", "note": "One deal"})
    assert response.status_code == 302
    call = ForecastSubmission.objects.get()
    assert (call.rep, call.amount) == (org.alice, Decimal("750.00"))
    assert "750.00" in client.get(response["Location"]).content.decode()


def test_a_bad_call_is_refused_with_the_reason_and_nothing_saved(org: Any) -> None:
    client = client_for(org.alice)
    response = client.post("/forecast/submit/", {"period": this_quarter(), "amount": "lots"},
                           follow=True)
    assert "Your call was not saved: amount &#x27;lots&#x27; is not a number" in (
        response.content.decode())
    assert not ForecastSubmission.objects.exists()


@pytest.mark.parametrize("who", ["mona", "vera", "olivia", "ada"])
def test_only_reps_may_submit_a_call(org: Any, who: str) -> None:
    response = client_for(getattr(org, who)).post("/forecast/submit/", {
        "period": this_quarter(), "amount": "1"})
    assert response.status_code == 403
    assert not ForecastSubmission.objects.exists()


def test_manager_sees_the_rollup_and_adjusts_a_call_with_a_reason(org: Any) -> None:
    client = client_for(org.mona)
    html = client.get("/forecast/").content.decode()
    assert "Roll-up of the calls" in html
    assert '<th scope="row">Alice</th>' in html and '<th scope="row">Bob</th>' in html
    assert '<th scope="row">Charlie</th>' not in html
    assert 'name="reason"' in html
    response = client.post("/forecast/adjust/", {"rep": "alice", "period": this_quarter(),
                                                 "amount": "900", "reason": "Acme slips"})
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    assert "Acme slips" in html and "900.00" in html
    assert ForecastAdjustment.objects.get().by == org.mona


@pytest.mark.parametrize(("who", "rep"), [("mona", "charlie"), ("bob", "alice"),
                                          ("olivia", "alice"), ("vera", "alice")])
def test_adjusting_a_call_is_refused_to_all_but_the_reps_manager(org: Any, who: str,
                                                                 rep: str) -> None:
    response = client_for(getattr(org, who)).post("/forecast/adjust/", {
        "rep": rep, "period": this_quarter(), "amount": "1", "reason": "No"})
    assert response.status_code == 403
    assert not ForecastAdjustment.objects.exists()


def test_viewer_sees_the_figures_without_calls_or_forms(org: Any) -> None:
    html = client_for(org.vera).get("/forecast/").content.decode()
    assert "The quarter" in html
    assert "Make your call" not in html and "Roll-up" not in html


def test_accuracy_ledger_shows_reps_their_own_lines_and_managers_everyones(
        org: Any) -> None:
    today = timezone.localdate()
    quarter = period_of(today).previous()
    for rep in (org.alice, org.bob):
        past_deal(rep, "100", quarter.start + timedelta(days=20), [
            (start_of(quarter.start) - timedelta(days=3), "negotiation", "commit", 80),
            (start_of(quarter.start) + timedelta(days=10), "won", "closed", 100)])
    manager = client_for(org.mona).get("/forecast/accuracy/?week=3").content.decode()
    assert '<th scope="row">alice</th>' in manager and '<th scope="row">bob</th>' in manager
    assert '<th scope="row">Everyone</th>' in manager
    rep = client_for(org.alice).get("/forecast/accuracy/?week=3").content.decode()
    assert '<th scope="row">alice</th>' in rep and '<th scope="row">bob</th>' not in rep
    viewer = client_for(org.vera).get("/forecast/accuracy/").content.decode()
    assert '<th scope="row">alice</th>' not in viewer
    assert '<th scope="row">Everyone</th>' in viewer
    south = client_for(org.charlie).get("/forecast/accuracy/").content.decode()
    assert '<th scope="row">alice</th>' not in south


def test_calibration_and_criteria_pages_show_their_tables(org: Any, make_deal: Any) -> None:
    make_deal(expected_close=timezone.localdate() + timedelta(days=3))
    client = client_for(org.alice)
    html = client.get("/forecast/calibration/").content.decode()
    assert "Reliability table" in html and "Prospecting" in html
    html = client.get("/forecast/criteria/").content.decode()
    assert "Target account identified" in html


def test_forecast_pages_ask_visitors_to_sign_in(db: Any) -> None:
    for path in ("/forecast/", "/forecast/accuracy/", "/forecast/calibration/",
                 "/forecast/criteria/"):
        response = Client().get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def _queries(client: Client, path: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


@pytest.mark.parametrize("path", ["/forecast/", "/forecast/accuracy/",
                                  "/forecast/calibration/", "/forecast/criteria/"])
def test_forecast_pages_read_a_fixed_number_of_queries(org: Any, make_deal: Any,
                                                       path: str) -> None:
    close = timezone.localdate()
    make_deal(amount="10", currency="USD", expected_close=close)
    client = client_for(org.mona)
    few = _queries(client, path)
    for i in range(8):
        make_deal(owner=org.bob if i % 2 else org.alice, amount=str(100 + i), currency="USD",
                  expected_close=close)
    submit_forecast(acting_user=org.bob, period=this_quarter(), amount="5")
    adjust_forecast(acting_user=org.mona, rep=org.alice, period=this_quarter(), amount="7",
                    reason="Check")
    assert _queries(client, path) == few


@pytest.mark.parametrize("name", ["forecast", "accuracy", "calibration", "criteria"])
def test_generic_report_pages_show_the_forecasting_reports(org: Any, make_deal: Any,
                                                           name: str) -> None:
    make_deal(amount="10", currency="USD", expected_close=timezone.localdate())
    response = client_for(org.alice).get(f"/reports/{name}/")
    assert response.status_code == 200


def test_rep_chooses_a_deals_category_on_the_forecast_page_and_it_is_kept(
        org: Any, make_deal: Any) -> None:
    from dealcraft.deals.models import Deal
    from dealcraft.deals.services import advance_stage

    deal = make_deal(amount="500", currency="USD", expected_close=timezone.localdate())
    client = client_for(org.alice)
    html = client.get("/forecast/").content.decode()
    assert f'action="/forecast/deals/{deal.pk}/category/"' in html and "from the stage" in html
    response = client.post(f"/forecast/deals/{deal.pk}/category/", {
        "category": "commit", "version": str(deal.version), "period": this_quarter()})
    assert response.status_code == 302
    advance_stage(acting_user=org.alice, deal=deal, to="qualification")
    deal = Deal.objects.get(pk=deal.pk)
    assert (deal.stage, deal.forecast_category, deal.forecast_category_overridden) == (
        "qualification", "commit", True)
    assert "your choice" in client.get("/forecast/").content.decode()


def test_a_stale_or_unknown_category_is_refused_without_a_change(org: Any,
                                                                  make_deal: Any) -> None:
    deal = make_deal(amount="500", expected_close=timezone.localdate())
    client = client_for(org.alice)
    page = client.post(f"/forecast/deals/{deal.pk}/category/",
                       {"category": "closed", "version": str(deal.version)}, follow=True)
    assert "The category was not changed: forecast_category must be" in page.content.decode()
    page = client.post(f"/forecast/deals/{deal.pk}/category/",
                       {"category": "commit", "version": str(deal.version + 5)}, follow=True)
    assert "The category was not changed: The deal changed since you read it" in (
        page.content.decode())
    deal.refresh_from_db()
    assert (deal.forecast_category, deal.forecast_category_overridden) == ("pipeline", False)


@pytest.mark.parametrize("who", ["bob", "charlie", "vera", "olivia"])
def test_only_those_who_may_edit_the_deal_choose_its_category(org: Any, make_deal: Any,
                                                              who: str) -> None:
    deal = make_deal(amount="500", expected_close=timezone.localdate())
    response = client_for(getattr(org, who)).post(
        f"/forecast/deals/{deal.pk}/category/", {"category": "commit"})
    assert response.status_code == 403
    deal.refresh_from_db()
    assert deal.forecast_category == "pipeline"
