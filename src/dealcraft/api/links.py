"""OpenAPI links: how what one operation returns feeds the next call.

A client (or a fuzzer) that creates a deal can follow `links` on the 201 to read it, change it
with the version it got, record its evidence, next step, activities and stakeholders, preview
and make stage moves, close it and read its history; a created account feeds a new deal or
contact; a logged activity can be completed; recorded evidence leads to the criterion's
evidence, a webhook to its deliveries; a created user or team can be read and changed, and a
team given members and managers; a forecast call or adjustment leads to the rep's calls of
that quarter (and an adjustment to the quarter's roll-up). Links are declared by method and
path and resolved to operation ids when the description is built; one whose operation does not
exist is left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEAL = "/api/v1/deals/{deal_id}"
DEAL_ID = "$response.body#/id"
DEAL_VERSION = "$response.body#/version"


@dataclass(frozen=True)
class Link:
    name: str
    method: str
    path: str
    parameters: dict[str, str]
    body: dict[str, str] = field(default_factory=dict)
    description: str = ""


def _deal_links(deal_id: str = DEAL_ID) -> list[Link]:
    """Everything a returned deal (`id`, `version`) lets a client do next."""
    by_id = {"path.deal_id": deal_id}
    return [
        Link("GetDeal", "get", DEAL, by_id, description="Read the deal."),
        Link("ChangeDeal", "patch", DEAL, by_id, {"version": DEAL_VERSION},
             "Change the deal, sending the version just read."),
        Link("RecordEvidence", "post", DEAL + "/evidence", by_id),
        Link("ListEvidence", "get", DEAL + "/evidence", by_id),
        Link("SetNextStep", "post", DEAL + "/next-step", by_id),
        Link("ListNextSteps", "get", DEAL + "/next-steps", by_id),
        Link("LogActivity", "post", DEAL + "/activities", by_id),
        Link("ListActivities", "get", DEAL + "/activities", by_id),
        Link("NameStakeholder", "post", DEAL + "/stakeholders", by_id),
        Link("ListStakeholders", "get", DEAL + "/stakeholders", by_id),
        Link("AnswerQualification", "post", DEAL + "/qualification", by_id),
        Link("PreviewMove", "get", DEAL + "/gate", by_id),
        Link("Advance", "post", DEAL + "/advance", by_id, {"version": DEAL_VERSION}),
        Link("Close", "post", DEAL + "/close", by_id, {"version": DEAL_VERSION}),
        Link("Reopen", "post", DEAL + "/reopen", by_id, {"version": DEAL_VERSION}),
        Link("History", "get", DEAL + "/history", by_id),
    ]


#: (source method, source path, status) → the links on that response.
LINKS: dict[tuple[str, str, int], list[Link]] = {
    ("post", "/api/v1/deals", 201): _deal_links(),
    ("get", DEAL, 200): _deal_links(),
    ("patch", DEAL, 200): _deal_links(),
    ("post", DEAL + "/next-step", 200): _deal_links(),
    ("post", DEAL + "/advance", 200): _deal_links(),
    ("post", DEAL + "/close", 200): _deal_links(),
    ("post", DEAL + "/reopen", 200): _deal_links(),
    ("get", "/api/v1/deals", 200): [
        Link("GetFirstDeal", "get", DEAL, {"path.deal_id": "$response.body#/items/0/id"},
             description="Read the first deal of the page."),
    ],
    ("post", "/api/v1/accounts", 201): [
        Link("CreateDealForAccount", "post", "/api/v1/deals", {},
             {"account_id": "$response.body#/id"}),
        Link("CreateContactAtAccount", "post", "/api/v1/contacts", {},
             {"account_id": "$response.body#/id"}),
        Link("ListContactsOfAccount", "get", "/api/v1/contacts",
             {"query.account_id": "$response.body#/id"}),
        Link("ListDealsOfAccount", "get", "/api/v1/deals",
             {"query.account_id": "$response.body#/id"}),
    ],
    ("post", DEAL + "/activities", 201): [
        Link("CompleteActivity", "post", DEAL + "/activities/{activity_id}/complete",
             {"path.deal_id": "$response.body#/deal_id",
              "path.activity_id": "$response.body#/id"}),
    ],
    ("post", DEAL + "/evidence", 201): [
        # Not to its file: only evidence recorded as a file has one.
        Link("ListEvidenceForCriterion", "get", DEAL + "/evidence",
             {"path.deal_id": "$response.body#/deal_id",
              "query.criterion": "$response.body#/criterion"}),
    ],
    ("post", "/api/v1/users", 201): [
        Link("GetUser", "get", "/api/v1/users/{user_id}", {"path.user_id": "$response.body#/id"}),
        Link("ChangeUser", "patch", "/api/v1/users/{user_id}",
             {"path.user_id": "$response.body#/id"}),
    ],
    ("post", "/api/v1/teams", 201): [
        Link("GetTeam", "get", "/api/v1/teams/{team_id}", {"path.team_id": "$response.body#/id"}),
        Link("RenameTeam", "patch", "/api/v1/teams/{team_id}",
             {"path.team_id": "$response.body#/id"}),
        Link("AddTeamMember", "post", "/api/v1/teams/{team_id}/members",
             {"path.team_id": "$response.body#/id"}),
        Link("AddTeamManager", "post", "/api/v1/teams/{team_id}/managers",
             {"path.team_id": "$response.body#/id"}),
        Link("ListTeamDirectory", "get", "/api/v1/directory",
             {"query.team_id": "$response.body#/id"}),
    ],
    ("post", "/api/v1/webhooks", 201): [
        Link("ListDeliveries", "get", "/api/v1/webhooks/{webhook_id}/deliveries",
             {"path.webhook_id": "$response.body#/id"}),
        Link("DeleteWebhook", "delete", "/api/v1/webhooks/{webhook_id}",
             {"path.webhook_id": "$response.body#/id"}),
    ],
    ("post", "/api/v1/forecast/calls", 201): [
        Link("ListRepForecastCalls", "get", "/api/v1/forecast/calls",
             {"query.rep": "$response.body#/rep/username",
              "query.period": "$response.body#/period"}),
    ],
    ("post", "/api/v1/forecast/adjustments", 201): [
        Link("ListAdjustedForecastCalls", "get", "/api/v1/forecast/calls",
             {"query.rep": "$response.body#/rep/username",
              "query.period": "$response.body#/period"}),
        Link("ForecastRollupOfPeriod", "get", "/api/v1/forecast/rollup",
             {"query.period": "$response.body#/period",
              "query.currency": "$response.body#/currency"}),
    ],
}


def _response(operation: dict[str, Any], status: int) -> dict[str, Any] | None:
    responses = operation.get("responses", {})
    found = responses.get(status, responses.get(str(status)))
    return found if isinstance(found, dict) else None


def add_links(schema: dict[str, Any]) -> None:
    """Add `LINKS` to the responses of an OpenAPI description, in place."""
    paths = schema.get("paths", {})
    for (method, path, status), links in LINKS.items():
        response = _response(paths.get(path, {}).get(method, {}), status)
        if response is None:
            continue
        for link in links:
            target = paths.get(link.path, {}).get(link.method)
            if target is None or "operationId" not in target:
                continue
            definition: dict[str, Any] = {"operationId": target["operationId"]}
            if link.parameters:
                definition["parameters"] = dict(link.parameters)
            if link.body:
                definition["requestBody"] = dict(link.body)
            if link.description:
                definition["description"] = link.description
            response.setdefault("links", {})[link.name] = definition
