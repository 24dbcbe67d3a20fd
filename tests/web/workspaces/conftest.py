"""Helpers for the workspace pages: htmx requests and reading a section out of a page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from dealcraft.processes.services import apply_process, default_process_source

HTMX = {"HTTP_HX_REQUEST": "true"}

WORKSPACE_CRITERIA = """\
      - key: research_written
        kind: workspace
        item: research_done
        label: "Pre-call research written"
      - key: pains_heard
        kind: workspace
        item: questions_answered
        layer: pain
        label: "Every pain question answered"
      - key: map_tied_to_pains
        kind: workspace
        item: capabilities_mapped
        label: "Every recommendation tied to a pain"
"""


def element(html: str, dom_id: str) -> str:
    """The outer HTML of the element with this id (balanced on its own tag name)."""
    opening = re.search(rf'<(\w+)[^>]*\sid="{re.escape(dom_id)}"', html)
    assert opening, f"no element with id {dom_id!r}"
    tag, depth = opening.group(1), 0
    for match in re.finditer(rf"<(/?){tag}\b", html[opening.start():]):
        depth += -1 if match.group(1) else 1
        if depth == 0:
            return html[opening.start():opening.start() + match.end() + 1]
    raise AssertionError(f"element {dom_id!r} is not closed")


def text_of(html: str) -> str:
    """Visible text, tags dropped and whitespace folded, for asserting what a reader sees."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


@pytest.fixture
def alice_client(org: Any, signed_in: Any) -> Client:
    return signed_in(org.alice)  # type: ignore[no-any-return]


@pytest.fixture
def workspace_criteria(db: Any) -> None:
    """The default process, with workspace criteria on its discovery stage's gate."""
    anchor = "      - key: pain_points_identified\n"
    source = default_process_source()
    assert source.count(anchor) == 1
    apply_process(source.replace(anchor, WORKSPACE_CRITERIA + anchor), acting_user=None)
