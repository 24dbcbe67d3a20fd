"""Who may use which door: every URL of the site and every API operation, tried by every role.

The tables below are the expected outcome of each (route, method) for each persona. Routes
are read from the URL resolver and the API's OpenAPI document, so a route or operation added
without a row here fails `test_every_route_has_an_expectation`: no door opens by accident.

Outcomes: `ok` (2xx/3xx, or for a write any 4xx but 401/403: it got past authorization with
the matrix's minimal body), `login` (pages: redirect to /login/; API: 401), `forbidden` (403),
`notfound` (404), `method` (405: the route does not take that method).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from dealcraft.api.app import api
from dealcraft.processes.services import default_process_source

from .conftest import PERSONAS, World, api_client, web_client

pytestmark = pytest.mark.django_db

OK, LOGIN, FORBIDDEN, NOTFOUND, METHOD = "ok", "login", "forbidden", "notfound", "method"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


DEFAULT_PROCESS = default_process_source()


def expect(default: str = OK, **exceptions: str) -> dict[str, str]:
    """One outcome per persona: `default` for everyone not named."""
    unknown = set(exceptions) - set(PERSONAS)
    assert not unknown, unknown
    return {persona: exceptions.get(persona, default) for persona in PERSONAS}

D = "deals/<int:deal_id>/"

#: Everyone, signed in or not (the sign-in page, the health check, the API's description).
PUBLIC = expect()
#: Any signed-in user; visitors are sent to sign in.
SIGNED_IN = expect(anonymous=LOGIN)
#: Those who may read North's deal: all but Charlie, who sells for South.
READ_DEAL = expect(anonymous=LOGIN, charlie=FORBIDDEN)
#: Those who may change North's deal: its owner, its team's manager and admins.
EDIT_DEAL = expect(anonymous=LOGIN, olivia=FORBIDDEN, bob=FORBIDDEN, charlie=FORBIDDEN,
                   vera=FORBIDDEN)
#: Managers, ops and admins; not reps or viewers.
LEADS = expect(FORBIDDEN, anonymous=LOGIN, ada=OK, olivia=OK, mona=OK)
ADMINS = expect(FORBIDDEN, anonymous=LOGIN, ada=OK)
#: Revenue operations and admins (imports); with OPS_NONE, the object they ask for is missing.
OPS = expect(FORBIDDEN, anonymous=LOGIN, ada=OK, olivia=OK)
OPS_NONE = expect(FORBIDDEN, anonymous=LOGIN, ada=NOTFOUND, olivia=NOTFOUND)
#: Users and teams: admins and revenue operations.
PEOPLE = expect(FORBIDDEN, anonymous=LOGIN, ada=OK, olivia=OK)
#: The route answers another method only.
NO = expect(METHOD)


def page(get: dict[str, str] = NO, post: dict[str, str] = NO) -> dict[str, dict[str, str]]:
    return {"GET": get, "POST": post}


WEB: dict[str, dict[str, dict[str, str]]] = {
    "": page(PUBLIC, PUBLIC),  # redirects to the deal list, which asks for sign-in
    "login/": page(PUBLIC, PUBLIC),
    # Signing out answers with the sign-in page, signed in or not; only POST signs out.
    "logout/": page(NO, expect(LOGIN)),
    "healthz": page(PUBLIC),
    "password/": page(SIGNED_IN, SIGNED_IN),
    "deals/": page(SIGNED_IN),
    "today/": page(SIGNED_IN),
    "team/": page(LEADS),
    # Forecasting: everyone signed in sees the figures of the deals they may read; reps make
    # their own call; the rep's manager (or an admin) adjusts it.
    "forecast/": page(SIGNED_IN),
    "forecast/submit/": page(post=expect(FORBIDDEN, anonymous=LOGIN, alice=OK, bob=OK,
                                         charlie=OK)),
    "forecast/adjust/": page(post=expect(FORBIDDEN, anonymous=LOGIN, mona=OK, ada=OK)),
    "forecast/deals/<int:deal_id>/category/": page(post=EDIT_DEAL),
    "forecast/accuracy/": page(SIGNED_IN),
    "forecast/calibration/": page(SIGNED_IN),
    "forecast/criteria/": page(SIGNED_IN),
    "process/": page(SIGNED_IN),
    "process/versions/": page(SIGNED_IN),
    "process/diff/": page(SIGNED_IN),
    "pipeline/": page(SIGNED_IN),
    "pipeline/columns/<str:stage>/": page(SIGNED_IN),
    "pipeline/views/": page(post=SIGNED_IN),
    # A saved view is its owner's alone.
    "pipeline/views/<int:view_id>/delete/": page(post=expect(
        FORBIDDEN, anonymous=LOGIN, alice=OK)),
    "pipeline/deals/<int:deal_id>/move/": page(READ_DEAL, EDIT_DEAL),
    "pipeline/deals/<int:deal_id>/evidence/": page(post=EDIT_DEAL),
    "pipeline/deals/<int:deal_id>/next-step/": page(post=EDIT_DEAL),
    D: page(READ_DEAL),
    D + "history/": page(READ_DEAL),
    D + "audit/": page(READ_DEAL),
    D + "activities/": page(READ_DEAL, EDIT_DEAL),
    D + "activities/<int:activity_id>/done/": page(post=EDIT_DEAL),
    D + "evidence/": page(READ_DEAL, EDIT_DEAL),
    D + "evidence/<int:evidence_id>/download/": page(READ_DEAL),
    D + "qualification/": page(post=EDIT_DEAL),
    D + "stakeholders/": page(post=EDIT_DEAL),
    D + "next-step/": page(post=EDIT_DEAL),
    D + "fields/": page(post=EDIT_DEAL),
    D + "account/": page(post=EDIT_DEAL),
    D + "accounts/": page(EDIT_DEAL),  # the account picker serves only those who may edit
    D + "advance/": page(post=EDIT_DEAL),
    D + "close-lost/": page(post=EDIT_DEAL),
    D + "reopen/": page(post=EDIT_DEAL),
    D + "discovery/": page(READ_DEAL),
    D + "discovery/research/": page(post=EDIT_DEAL),
    D + "discovery/agenda/": page(post=EDIT_DEAL),
    D + "discovery/agenda/agreement/": page(post=EDIT_DEAL),
    D + "discovery/questions/<slug:question>/answer/": page(post=EDIT_DEAL),
    D + "discovery/questions/<slug:question>/notes/": page(post=EDIT_DEAL),
    D + "discovery/impact/": page(post=EDIT_DEAL),
    D + "discovery/summary/": page(post=EDIT_DEAL),
    D + "solution/": page(READ_DEAL),
    D + "solution/capabilities/": page(post=EDIT_DEAL),
    # Nothing is recommended on the deal: an editor gets past the check and finds nothing.
    D + "solution/capabilities/<slug:capability>/withdraw/": page(post=expect(
        FORBIDDEN, anonymous=LOGIN, ada=NOTFOUND, mona=NOTFOUND, alice=NOTFOUND)),
    D + "solution/demo/": page(post=EDIT_DEAL),
    D + "solution/value/": page(post=EDIT_DEAL),
    # Everyone manages their own tokens; Alice's token is hers and admins' to revoke, and
    # nobody else even finds it.
    "settings/tokens/": page(SIGNED_IN, expect(METHOD, anonymous=LOGIN)),
    "settings/tokens/new/": page(SIGNED_IN, SIGNED_IN),
    "settings/tokens/<int:token_id>/revoke/": page(
        expect(NOTFOUND, anonymous=LOGIN, alice=OK, ada=OK),
        expect(NOTFOUND, anonymous=LOGIN, alice=OK, ada=OK)),
    "settings/webhooks/": page(ADMINS, ADMINS),
    # Anyone signed in exports what they may see (tests/transfer checks it is no more).
    "exports/<str:kind>/": page(SIGNED_IN),
    # Imports are for ops and admins; no import exists, so they find none.
    "imports/": page(OPS, OPS),
    "imports/<int:run_id>/": page(OPS_NONE),
    "imports/<int:run_id>/mapping/": page(post=OPS_NONE),
    "imports/<int:run_id>/run/": page(post=OPS_NONE),
    "imports/<int:run_id>/progress/": page(OPS_NONE),
    "imports/<int:run_id>/errors.csv": page(OPS_NONE),
    # Reports cover the deals the reader may see (tests/analytics checks it is no more).
    "reports/": page(SIGNED_IN),
    "reports/<slug:name>/": page(SIGNED_IN),
    # No endpoint exists: an admin gets past the check and finds nothing.
    "settings/webhooks/<int:endpoint_id>/delete/": page(post=expect(
        FORBIDDEN, anonymous=LOGIN, ada=NOTFOUND)),
    # The API's own pages: its description is public, unknown paths are problems (404).
    "api/v1/": page(expect(NOTFOUND), expect(NOTFOUND)),
    "api/v1/<path:rest>": page(expect(NOTFOUND), expect(NOTFOUND)),
    "api/v1/openapi.json": page(PUBLIC, PUBLIC),
    "api/v1/docs": page(PUBLIC, PUBLIC),
}

API: dict[tuple[str, str], dict[str, str]] = {
    ("/api/v1/deals", "GET"): SIGNED_IN,
    ("/api/v1/deals", "POST"): expect(anonymous=LOGIN, vera=FORBIDDEN),
    ("/api/v1/deals/{deal_id}", "GET"): READ_DEAL,
    ("/api/v1/deals/{deal_id}", "PATCH"): EDIT_DEAL,
    ("/api/v1/deals/{deal_id}/gate", "GET"): READ_DEAL,
    ("/api/v1/deals/{deal_id}/history", "GET"): READ_DEAL,
    ("/api/v1/deals/{deal_id}/activities", "POST"): EDIT_DEAL,
    ("/api/v1/deals/{deal_id}/advance", "POST"): EDIT_DEAL,
    ("/api/v1/deals/{deal_id}/close", "POST"): EDIT_DEAL,
    ("/api/v1/deals/{deal_id}/evidence", "POST"): EDIT_DEAL,
    ("/api/v1/deals/{deal_id}/next-step", "POST"): EDIT_DEAL,
    ("/api/v1/deals/{deal_id}/qualification", "POST"): EDIT_DEAL,
    ("/api/v1/deals/{deal_id}/reopen", "POST"): EDIT_DEAL,
    ("/api/v1/deals/{deal_id}/stakeholders", "POST"): EDIT_DEAL,
    ("/api/v1/accounts", "GET"): SIGNED_IN,
    ("/api/v1/accounts", "POST"): expect(anonymous=LOGIN, vera=FORBIDDEN),
    ("/api/v1/contacts", "GET"): SIGNED_IN,
    ("/api/v1/contacts", "POST"): expect(anonymous=LOGIN, vera=FORBIDDEN),
    ("/api/v1/process", "GET"): SIGNED_IN,
    ("/api/v1/process", "POST"): expect(FORBIDDEN, anonymous=LOGIN, ada=OK, olivia=OK),
    # Every report covers the deals the caller may see (tests/analytics checks it is no more).
    ("/api/v1/reports/pipeline", "GET"): SIGNED_IN,
    ("/api/v1/reports/stuck", "GET"): SIGNED_IN,
    ("/api/v1/reports/velocity", "GET"): SIGNED_IN,
    ("/api/v1/reports/cohorts", "GET"): SIGNED_IN,
    ("/api/v1/reports/losses", "GET"): SIGNED_IN,
    ("/api/v1/reports/adherence", "GET"): SIGNED_IN,
    ("/api/v1/reports/changes", "GET"): SIGNED_IN,
    ("/api/v1/reports/forecast", "GET"): SIGNED_IN,
    ("/api/v1/reports/accuracy", "GET"): SIGNED_IN,
    ("/api/v1/reports/calibration", "GET"): SIGNED_IN,
    ("/api/v1/reports/criteria", "GET"): SIGNED_IN,
    ("/api/v1/exports/{kind}", "GET"): SIGNED_IN,
    ("/api/v1/deals/{deal_id}/stakeholders", "GET"): READ_DEAL,
    ("/api/v1/deals/{deal_id}/activities", "GET"): READ_DEAL,
    ("/api/v1/deals/{deal_id}/activities/{activity_id}/complete", "POST"): EDIT_DEAL,
    ("/api/v1/deals/{deal_id}/evidence", "GET"): READ_DEAL,
    ("/api/v1/deals/{deal_id}/evidence/{evidence_id}/file", "GET"): READ_DEAL,
    ("/api/v1/deals/{deal_id}/next-steps", "GET"): READ_DEAL,
    ("/api/v1/users", "GET"): PEOPLE,
    ("/api/v1/users", "POST"): PEOPLE,
    ("/api/v1/users/{user_id}", "GET"): PEOPLE,
    ("/api/v1/users/{user_id}", "PATCH"): PEOPLE,
    ("/api/v1/directory", "GET"): SIGNED_IN,
    ("/api/v1/teams", "GET"): PEOPLE,
    ("/api/v1/teams", "POST"): PEOPLE,
    ("/api/v1/teams/{team_id}", "GET"): PEOPLE,
    ("/api/v1/teams/{team_id}", "PATCH"): PEOPLE,
    ("/api/v1/teams/{team_id}/managers", "POST"): PEOPLE,
    # The user is Alice, a rep who manages nothing: admins and ops get past the check and
    # find no such manager.
    ("/api/v1/teams/{team_id}/managers/{user_id}", "DELETE"): expect(
        FORBIDDEN, anonymous=LOGIN, ada=NOTFOUND, olivia=NOTFOUND),
    ("/api/v1/teams/{team_id}/members", "POST"): PEOPLE,
    ("/api/v1/teams/{team_id}/members/{user_id}", "DELETE"): PEOPLE,
    ("/api/v1/webhooks", "GET"): ADMINS,
    ("/api/v1/webhooks", "POST"): ADMINS,
    ("/api/v1/webhooks/{webhook_id}", "DELETE"): expect(FORBIDDEN, anonymous=LOGIN,
                                                         ada=NOTFOUND),
    ("/api/v1/webhooks/{webhook_id}/deliveries", "GET"): expect(FORBIDDEN, anonymous=LOGIN,
                                                                ada=NOTFOUND),
    # Forecast calls as on /forecast/: viewers see no calls; reps call, managers adjust.
    ("/api/v1/forecast/rollup", "GET"): expect(anonymous=LOGIN, vera=FORBIDDEN),
    ("/api/v1/forecast/calls", "GET"): expect(anonymous=LOGIN, vera=FORBIDDEN),
    ("/api/v1/forecast/calls", "POST"): expect(FORBIDDEN, anonymous=LOGIN, alice=OK, bob=OK,
                                               charlie=OK),
    ("/api/v1/forecast/adjustments", "POST"): expect(FORBIDDEN, anonymous=LOGIN, mona=OK,
                                                     ada=OK),
}

# ------------------------------------------------------------------------------ request bodies
# Valid, minimal bodies: a refused persona must be refused for who they are, not for what they
# sent. Deal routes act on North's deal, owned by Alice.

WEB_BODIES: dict[str, dict[str, Any]] = {
    "login/": {"username": "nobody", "password": "wrong"},
    "password/": {"old_password": "wrong", "new_password": "x", "repeat": "x"},
    D + "evidence/": {"criterion": "handoff_goals", "text": "Goals"},
    D + "qualification/": {"framework": "meddicc", "criterion": "metrics", "level": "1"},
    D + "stakeholders/": {"role": "champion", "influence": "2", "support": "1",
                          "last_name": "Champion"},
    D + "next-step/": {"text": "Call", "due": "2031-01-01"},
    D + "activities/": {"kind": "note", "subject": "Peeking"},
    D + "fields/": {"version": "1", "name": "Renamed", "amount": "1", "currency": "EUR",
                    "expected_close": "2031-01-01"},
    D + "account/": {"version": "1", "account": ""},
    D + "advance/": {"to": "qualification"},
    D + "close-lost/": {"reason": "Budget cut"},
    D + "reopen/": {"reason": "Budget back"},
    D + "discovery/research/": {"research-company": "Acme", "research-seen": ""},
    D + "discovery/agenda/": {"agenda-agenda": "1. Today", "agenda-seen": ""},
    D + "discovery/agenda/agreement/": {"agreement-agreed": "yes"},
    D + "discovery/questions/<slug:question>/answer/": {
        "answer-pain_example-text": "Spreadsheets", "answer-pain_example-seen": ""},
    D + "discovery/questions/<slug:question>/notes/": {"note-pain_example-text": "Noted"},
    D + "discovery/impact/": {"impact-business_impact": "Two days", "impact-urgency": "high",
                              "impact-version": "1"},
    D + "discovery/summary/": {"summary-confirmed_pains": "Slow", "summary-summary": "Slow",
                               "summary-next_steps": "Workshop", "summary-seen": ""},
    D + "solution/capabilities/": {"recommend-capability": "audit_trail",
                                   "recommend-pain": "Audits take weeks"},
    D + "solution/demo/": {"demo-plan": "1. Routing", "demo-demo_date": "2030-03-14",
                           "demo-seen": ""},
    D + "solution/value/": {"value-answer": "partly", "value-buyer_words": "A gap"},
    "pipeline/deals/<int:deal_id>/move/": {"to": "qualification"},
    "pipeline/deals/<int:deal_id>/evidence/": {"criterion": "handoff_goals", "text": "Goals"},
    "pipeline/deals/<int:deal_id>/next-step/": {"text": "Call", "due": "2031-01-01"},
    "pipeline/views/": {"name": "Mine too", "filters": ""},
    "settings/webhooks/": {"url": "https://example.com/hook", "events": ["deal.created"]},
    "forecast/submit/": {"amount": "1"},
    "forecast/adjust/": {"rep": "alice", "amount": "1", "reason": "Matrix"},
    "forecast/deals/<int:deal_id>/category/": {"category": "commit"},
}
WEB_QUERIES: dict[str, dict[str, str]] = {
    "pipeline/deals/<int:deal_id>/move/": {"to": "qualification"},
}

DEAL = "/api/v1/deals/{deal_id}"
API_BODIES: dict[tuple[str, str], Any] = {
    ("/api/v1/deals", "POST"): {"name": "New", "amount": "1", "currency": "EUR",
                                "expected_close": "2031-01-01"},
    (DEAL, "PATCH"): {"version": 1, "name": "Renamed"},
    (DEAL + "/activities", "POST"): {"kind": "note", "subject": "Peeking"},
    (DEAL + "/advance", "POST"): {"to": "qualification"},
    (DEAL + "/close", "POST"): {"outcome": "lost", "reason": "Budget cut"},
    (DEAL + "/evidence", "POST"): {"criterion": "problem_confirmed", "text": "Seen"},
    (DEAL + "/next-step", "POST"): {"text": "Call", "due": "2031-01-01"},
    (DEAL + "/qualification", "POST"): {"framework": "meddicc", "criterion": "metrics",
                                        "level": 1},
    (DEAL + "/reopen", "POST"): {"reason": "Budget back"},
    (DEAL + "/stakeholders", "POST"): {"contact": {"first_name": "X"}, "role": "champion"},
    ("/api/v1/process", "POST"): {"source": DEFAULT_PROCESS, "note": "matrix"},
    ("/api/v1/accounts", "POST"): {"name": "Initech"},
    ("/api/v1/contacts", "POST"): {"first_name": "Peter"},
    ("/api/v1/users", "POST"): {"username": "newcomer", "role": "rep"},
    ("/api/v1/users/{user_id}", "PATCH"): {"first_name": "Alicia"},
    ("/api/v1/teams", "POST"): {"name": "East"},
    ("/api/v1/teams/{team_id}", "PATCH"): {"name": "North"},
    ("/api/v1/teams/{team_id}/managers", "POST"): {"user_id": 1},
    ("/api/v1/teams/{team_id}/members", "POST"): {"user_id": 1},
    ("/api/v1/webhooks", "POST"): {"url": "https://example.com/hook",
                                   "events": ["deal.created"]},
    ("/api/v1/forecast/calls", "POST"): {"amount": "1"},
    ("/api/v1/forecast/adjustments", "POST"): {"rep": "alice", "amount": "1",
                                               "reason": "Matrix"},
}
API_QUERIES: dict[tuple[str, str], dict[str, str]] = {
    (DEAL + "/gate", "GET"): {"to": "qualification"},
}


# ------------------------------------------------------------------------------ the machinery

_PARAM = re.compile(r"<(?:\w+:)?(\w+)>|\{(\w+)\}")


def web_routes() -> list[str]:
    """Every URL pattern of the site that is not an API operation, as its route string."""
    operations = {re.sub(r"\{(\w+)\}", r"<\1>", path).lstrip("/")
                  for path in api_operations_paths()}
    found: list[str] = []

    def walk(resolver: URLResolver, prefix: str) -> None:
        for pattern in resolver.url_patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern, route)
            elif isinstance(pattern, URLPattern) and route not in operations:
                found.append(route)

    walk(get_resolver(), "")
    return sorted(set(found))


def api_operations_paths() -> set[str]:
    return set(api.get_openapi_schema()["paths"])


def api_operations() -> list[tuple[str, str]]:
    """Every operation of the API's OpenAPI document as (path, METHOD)."""
    return sorted((path, method.upper())
                  for path, operations in api.get_openapi_schema()["paths"].items()
                  for method in operations)


def fill(route: str, world: World) -> str:
    values = {"deal_id": world.north.pk, "evidence_id": world.evidence.pk,
              "activity_id": world.task.pk, "view_id": world.view.pk, "stage": "qualification",
              "question": "pain_example", "capability": "audit_trail", "rest": "nothing-here",
              "token_id": world.token.pk,
              # Alice (who owns North's deal) and her team.
              "user_id": world.north.owner_id, "team_id": world.north.team_id,
              "kind": "deals",
              "run_id": 999_999,
              "name": "pipeline",
              # No webhook endpoint exists, so an id that matches none.
              "endpoint_id": 999_999, "webhook_id": 999_999}
    return _PARAM.sub(lambda m: str(values[m.group(1) or m.group(2)]), route)


def outcome(response: Any, method: str) -> str:
    status = response.status_code
    assert status < 500, (status, response.content[:500])
    if status == 401 or (status in (301, 302, 303)
                         and response["Location"].startswith("/login/")):
        return LOGIN
    if status in (403, 404, 405):
        return {403: FORBIDDEN, 404: NOTFOUND, 405: METHOD}[status]
    if status < 400 or method in WRITES:
        return OK
    return f"status {status}"


def web_outcome(org: Any, world: World, route: str, method: str, persona: str) -> str:
    client = web_client(org, persona)
    path = "/" + fill(route, world)
    data = WEB_BODIES.get(route, {}) if method == "POST" else {}
    if method == "GET":
        response = client.get(path, WEB_QUERIES.get(route, {}))
    else:
        response = client.post(path, data)
    return outcome(response, method)


def api_outcome(org: Any, world: World, path: str, method: str, persona: str) -> str:
    query = API_QUERIES.get((path, method))
    target = fill(path, world) + ("?" + urlencode(query) if query else "")
    response = api_client(org, persona).call(method, target, API_BODIES.get((path, method)))
    return outcome(response, method)


# ------------------------------------------------------------------------------ the tests


def test_every_route_has_an_expectation() -> None:
    """A URL or API operation without a row here fails: add its row when adding the route."""
    assert sorted(set(web_routes()) - set(WEB)) == []
    assert sorted(set(api_operations()) - set(API)) == []
    # …and a row whose route is gone is stale.
    assert sorted(set(WEB) - set(web_routes())) == []
    assert sorted(set(API) - set(api_operations())) == []


def _web_cases() -> Iterator[Any]:
    for route, methods in WEB.items():
        for method, outcomes in methods.items():
            for persona in PERSONAS:
                yield pytest.param(route, method, persona, outcomes[persona],
                                   id=f"{method} /{route} {persona}")


def _api_cases() -> Iterator[Any]:
    for (path, method), outcomes in API.items():
        for persona in PERSONAS:
            yield pytest.param(path, method, persona, outcomes[persona],
                               id=f"{method} {path} {persona}")


@pytest.mark.parametrize(("route", "method", "persona", "expected"), list(_web_cases()))
def test_web_route(org: Any, world: World, route: str, method: str, persona: str,
                   expected: str) -> None:
    assert web_outcome(org, world, route, method, persona) == expected


@pytest.mark.parametrize(("path", "method", "persona", "expected"), list(_api_cases()))
def test_api_operation(org: Any, world: World, path: str, method: str, persona: str,
                       expected: str) -> None:
    assert api_outcome(org, world, path, method, persona) == expected
