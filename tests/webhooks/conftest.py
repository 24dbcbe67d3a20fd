"""A real HTTP receiver on 127.0.0.1 that records what webhooks send it, and clients for the
API (a bearer token) and the web app (a session) as one persona."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client

from dealcraft.people.services import create_token

PASSWORD = "correct horse battery"


class Api:
    """Calls `/api/v1/…` with a bearer token (none: anonymous)."""

    def __init__(self, key: str | None) -> None:
        self.client = Client()
        self.key = key

    def _auth(self) -> dict[str, Any]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.key}"} if self.key else {}

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.get("/api/v1" + path, params or {}, **self._auth())

    def post(self, path: str, body: Any) -> Any:
        return self.client.post("/api/v1" + path, json.dumps(body),
                                content_type="application/json", **self._auth())

    def delete(self, path: str) -> Any:
        return self.client.delete("/api/v1" + path, **self._auth())


@pytest.fixture
def api_as(org: Any) -> Callable[..., Api]:
    def make(user: Any, **token_options: Any) -> Api:
        _, key = create_token(acting_user=None, user=user, **token_options)
        return Api(key)

    return make


@pytest.fixture
def signed_in(org: Any) -> Callable[[Any], Client]:
    def sign_in(user: Any) -> Client:
        client = Client()
        assert client.login(username=user.username, password=PASSWORD)
        return client

    return sign_in


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """The response is a problem-details document with `status`; returns its body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body: dict[str, Any] = json.loads(response.content)
    assert body["status"] == status and body["title"] and body["detail"]
    return body


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers each request with the next status in `statuses` (then 200) and keeps it."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_status(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else 200


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with state.lock:
                state.requests.append(Received(self.path, dict(self.headers.items()), body))
            status = state.next_status()
            reply = b"ok" if status < 300 else b"receiver trouble"
            self.send_response(status)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
