"""The world every security test attacks: North's deal (Alice's) with evidence, a task and a
saved board view; South's deal (Charlie's); and a signed-in web client or API token per persona.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from dealcraft.deals.models import Activity, Deal, Evidence
from dealcraft.deals.services import log_activity, record_evidence
from dealcraft.people.models import ApiToken
from dealcraft.people.services import create_token
from dealcraft.web.models import SavedView
from dealcraft.web.services import save_view

#: Everyone the matrix asks about, in a fixed order.
PERSONAS = ("anonymous", "ada", "olivia", "mona", "alice", "bob", "charlie", "vera")


@dataclass
class World:
    north: Deal
    south: Deal
    evidence: Evidence
    task: Activity
    view: SavedView
    token: ApiToken


@pytest.fixture
def world(org: Any, make_deal: Any, settings: Any, tmp_path: Any) -> World:
    settings.MEDIA_ROOT = tmp_path / "media"
    north = make_deal(name="North rollout")
    south = make_deal(owner=org.charlie, name="South rollout")
    evidence = record_evidence(acting_user=org.alice, deal=north, criterion="problem_confirmed",
                               kind="file", file=SimpleUploadedFile(
                                   "notes.txt", b"secret notes", content_type="text/plain"))
    task = log_activity(acting_user=org.alice, deal=north, kind="task", subject="Send deck")
    view = save_view(acting_user=org.alice, name="Mine", query="owner=me")
    token, _ = create_token(acting_user=org.alice, user=org.alice, name="Alice's script")
    return World(north=north, south=south, evidence=evidence, task=task, view=view,
                 token=token)


def web_client(org: Any, persona: str) -> Client:
    client = Client()
    if persona != "anonymous":
        client.force_login(getattr(org, persona))
    return client


class ApiClient:
    """`/api/v1` as one persona: a bearer token, or none for the anonymous caller."""

    def __init__(self, key: str | None) -> None:
        self.client = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}

    def call(self, method: str, path: str, body: Any = None) -> Any:
        if method == "GET":
            return self.client.get(path, **self.headers)
        return self.client.generic(method, path, json.dumps(body if body is not None else {}),
                                   content_type="application/json", **self.headers)


def api_client(org: Any, persona: str) -> ApiClient:
    if persona == "anonymous":
        return ApiClient(None)
    _, key = create_token(acting_user=None, user=getattr(org, persona))
    return ApiClient(key)
