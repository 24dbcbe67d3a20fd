"""Who sees which figures: reports cover the deals the reader may see, through the API, the
web pages and the registry; visitors are refused; bad parameters are refused by name."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from dealcraft.analytics.extract import columnar
from dealcraft.analytics.registry import CATALOGUE, reports, run
from dealcraft.analytics.scope import Params, visibility_sql
from dealcraft.deals.models import Deal
from dealcraft.people.permissions import visible_deals
from dealcraft.people.services import create_token

from .conftest import Company

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"


def api_get(user: Any, path: str, **params: Any) -> Any:
    headers = {}
    if user is not None:
        _, key = create_token(acting_user=None, user=user)
        headers["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return Client().get("/api/v1/reports/" + path, params, **headers)


def signed_in(user: Any) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_visibility_in_the_extract_is_the_same_as_everywhere_else(org: Any,
                                                                  company: Company) -> None:
    for persona in ("alice", "bob", "mona", "charlie", "olivia", "ada", "vera"):
        user = getattr(org, persona)
        for visibility in ("team", "all"):
            where, args = visibility_sql(user, visibility)
            with columnar() as con:
                seen = {row[0] for row in con.execute(
                    f"SELECT d.id FROM deals d WHERE {where}", args).fetchall()}
            expected = set(visible_deals(user, Deal.objects.all(), visibility=visibility)
                           .values_list("id", flat=True))
            assert seen == expected, (persona, visibility)


def test_a_rep_of_another_team_sees_none_of_norths_figures(org: Any, company: Company) -> None:
    for name in ("pipeline", "cohorts", "losses", "adherence", "stuck"):
        got = run(name, org.charlie, Params())
        text = json.dumps(got, default=str)
        assert "alice" not in text and "bob" not in text, name
    assert run("pipeline", org.charlie, Params())["deals"]["total"] == 1
    # Naming North's team or a North rep gives nothing more.
    assert run("pipeline", org.charlie, Params(team="North"))["deals"]["total"] == 0
    assert run("pipeline", org.charlie, Params(rep="alice"))["deals"]["total"] == 0


def test_a_manager_sees_their_teams_deals_only(org: Any, company: Company) -> None:
    got = run("pipeline", org.mona, Params())
    assert got["deals"]["total"] == 5  # North's five; D4 is South's
    assert "South" not in {r["key"] for r in run("velocity", org.mona, Params())["by_team"]}


def test_the_api_answers_each_report_with_the_callers_figures(org: Any,
                                                              company: Company) -> None:
    for name in ("pipeline", "stuck", "velocity", "cohorts", "losses", "adherence", "changes"):
        response = api_get(org.charlie, name)
        assert response.status_code == 200, (name, response.content)
    assert api_get(org.charlie, "pipeline").json()["deals"]["total"] == 1
    assert api_get(org.olivia, "pipeline", segment="smb").json()["deals"]["total"] == 3


def test_a_visitor_without_a_token_is_refused(org: Any, company: Company) -> None:
    response = api_get(None, "losses")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/problem+json")
    page = Client().get("/reports/losses/")
    assert page.status_code == 302 and page["Location"].startswith("/login/")


def test_a_bad_parameter_is_a_problem_naming_it(org: Any, company: Company) -> None:
    for params, field in (({"since": "yesterday"}, "since"), ({"limit": "0"}, "limit"),
                          ({"team": "Atlantis"}, "team"), ({"colour": "red"}, "colour"),
                          ({"since": "2025-02-01", "until": "2025-01-01"}, "since")):
        response = api_get(org.ada, "pipeline", **params)
        assert response.status_code == 422, (params, response.content)
        body = response.json()
        assert response["Content-Type"].startswith("application/problem+json")
        assert field in json.dumps(body), body


def test_the_openapi_description_has_a_schema_per_report(db: Any) -> None:
    spec = Client().get("/api/v1/openapi.json").json()
    for name in ("pipeline", "stuck", "velocity", "cohorts", "losses", "adherence", "changes"):
        operation = spec["paths"][f"/api/v1/reports/{name}"]["get"]
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith("Out"), name
        assert {p["name"] for p in operation["parameters"]} >= {"since", "until", "team",
                                                                "rep", "segment"}


def test_report_pages_show_the_figures_as_tables_and_a_chart(org: Any,
                                                             company: Company) -> None:
    client = signed_in(org.mona)
    index = client.get("/reports/")
    assert index.status_code == 200
    for name in reports():
        assert f'href="/reports/{name}/"' in index.content.decode()
    page = client.get("/reports/losses/")
    html = page.content.decode()
    assert page.status_code == 200
    assert '<th scope="col">Buyer reason</th>' in html
    assert "no_budget" in html and 'id="report-chart-data"' in html
    assert "<script>" not in html.replace('<script src=', '')  # no inline script


def test_a_report_page_refuses_a_bad_date_with_a_message(org: Any, company: Company) -> None:
    page = signed_in(org.alice).get("/reports/pipeline/", {"since": "soon"})
    assert page.status_code == 400
    assert "since must be a date" in page.content.decode()


def test_an_unknown_report_page_is_not_found(org: Any) -> None:
    assert signed_in(org.alice).get("/reports/horoscope/").status_code == 404


def test_every_catalogued_report_is_registered(db: Any) -> None:
    assert set(CATALOGUE) <= set(reports())
