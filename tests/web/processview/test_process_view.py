"""The process view: the team's playbook rendered for people, its versions, and a readable
difference between two versions. Every signed-in role may read it."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dealcraft.processes.services import active_process, apply_process, default_process_source

pytestmark = pytest.mark.django_db

XSS = "<img src=x onerror=alert(1)>"


def text(html: str) -> str:
    """The page's words, tags removed and whitespace collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def edited(*replacements: tuple[str, str]) -> str:
    source = default_process_source()
    for old, new in replacements:
        assert source.count(old) >= 1, old
        source = source.replace(old, new, 1)
    return source


NEW_STAGE = """  - key: security_review
    name: "Security review"
    purpose: "The buyer's security team signs off."
    probability: 70
    forecast_category: commit
    rotting_days: 20
    exit_criteria:
      - key: security_signed_off
        kind: checklist
        label: "Security questionnaire signed off"
"""


@pytest.fixture
def second_version(org: Any) -> Any:
    """Ops applies version 2: qualification rots sooner, MEDDICC needs 70, a security
    review stage is added before negotiation, reps read every deal."""
    active_process()
    source = edited(
        ("    rotting_days: 14\n    gate: enforce", "    rotting_days: 10\n    gate: enforce"),
        ("        min: 60", "        min: 70"),
        ("  visibility: team", "  visibility: all"),
        ("  # Step 7: Objection handling, negotiation, and commitment.\n",
         NEW_STAGE + "\n  # Step 7: Objection handling, negotiation, and commitment.\n"),
    )
    return apply_process(source, acting_user=org.olivia, note="Tighter qualification")


@pytest.mark.parametrize("url", ["/process/", "/process/versions/", "/process/diff/"])
def test_signing_in_is_required(client: Client, url: str) -> None:
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={url}"


def test_every_role_may_read_the_process(org: Any, signed_in: Any) -> None:
    for person in (org.alice, org.charlie, org.vera, org.mona, org.olivia, org.ada):
        client = signed_in(person)
        for url in ("/process/", "/process/versions/", "/process/diff/"):
            assert client.get(url).status_code == 200, (person.username, url)


def test_stages_are_shown_in_order_with_their_settings_and_criteria(org: Any,
                                                                    signed_in: Any) -> None:
    _, process = active_process()
    html = signed_in(org.alice).get("/process/").content.decode()
    words = text(html)

    headings = re.findall(r'<li class="card process-stage" id="stage-([a-z_]+)">', html)
    assert headings == list(process.stage_keys)
    qualification = text(html[html.index('id="stage-qualification"'):
                              html.index('id="stage-discovery"')])
    assert "Gate enforced Probability 10% Forecast category Pipeline Rotting days 14" in (
        qualification)
    assert "Determine whether the prospect is worth pursuing now" in qualification
    assert "Pain: is there a real problem or just curiosity?" in qualification
    for criterion in process.stage("qualification").exit_criteria:
        assert f"{criterion.label} {criterion.describe()}" in qualification
        if criterion.prompt:
            assert criterion.prompt in qualification
    assert "meddicc score at least 60" in qualification
    assert "Gate warn only" in text(html[html.index('id="stage-prospecting"'):
                                         html.index('id="stage-qualification"')])
    assert "Skipping ahead needs the gate of every skipped stage to pass." in words


def test_frameworks_outcomes_library_questions_and_capabilities_are_shown(
        org: Any, signed_in: Any) -> None:
    words = text(signed_in(org.vera).get("/process/").content.decode())

    for expected in (
        # qualification
        "Deals are qualified with MEDDICC",
        "the qualification threshold is a score of 60 out of 100",
        "Identify pain 20 of 100",
        "Who owns the budget, and have we met them or confirmed their priorities?",
        "BANT",
        # won and lost
        "Handoff notes: customer goals confirmed with evidence",
        "What outcomes were promised to the customer during the sale?",
        "Post-sale check-ins 14, 30, 90, 180 days after closing",
        "No decision / status quo",
        # readiness library
        "Mid-market and enterprise B2B organisations",
        "Size: 200 to 10,000 employees. 20",
        "Executive sponsor (VP / C-level)",
        "Configurable workflows without code",
        "Case study: financial services firm cut onboarding cycle time",
        "Lead with the buyer's business problem",
        "Price It's too expensive. Diagnose first",
        "Price: reps may discount up to 10% off list",
        "Legacy suite vendor Broad, already installed",
        "Curiosity, not a real problem",
        # discovery questions by layer, and capabilities
        "Current state How are you handling this today?",
        "Buying process",
        "How does budget get approved for something like this?",
        "Workflow automation Configurable, no-code workflows",
        "Manual hand-offs and copy-paste between teams",
        # stakeholder roles
        "Economic buyer",
    ):
        assert expected in words, expected


def test_versions_are_listed_with_who_applied_them_and_why(org: Any, second_version: Any,
                                                           signed_in: Any) -> None:
    html = signed_in(org.alice).get("/process/versions/").content.decode()
    words = text(html)

    assert re.findall(r'\?version=(\d+)">', html) == ["2", "1"]
    assert "2 active B2B sales process (8 steps)" in words
    assert "Olivia Tighter qualification" in words
    assert "default process" in words
    assert '<a href="/process/diff/?a=1&amp;b=2">changes from 1</a>' in html
    assert '<label for="compare-a">From version</label>' in html


def test_an_older_version_can_be_read_with_a_pointer_to_the_active_one(
        org: Any, second_version: Any, signed_in: Any) -> None:
    client = signed_in(org.alice)

    old = text(client.get("/process/?version=1").content.decode())
    current = text(client.get("/process/").content.decode())

    assert "This is an older version of the process" in old and "Security review" not in old
    assert "Security review" in current and "older version" not in current


def test_the_difference_summarises_what_changed_and_shows_the_file_lines(
        org: Any, second_version: Any, signed_in: Any) -> None:
    html = signed_in(org.mona).get("/process/diff/?a=1&b=2").content.decode()
    words = text(html)

    assert "What changed from version 1 to version 2" in words
    assert "added stage Security review (security_review)" in words
    assert "order:" not in words
    assert "Qualification rotting days: 14 → 10" in words
    assert ("criterion “Qualified with evidence: MEDDICC score of 60 or more”: "
            "rule: meddicc score at least 60 → meddicc score at least 70") in words
    assert "settings.visibility: team → all" in words
    assert '<span class="diff-add">+    rotting_days: 10\n</span>' in html
    assert '<span class="diff-del">-    rotting_days: 14\n</span>' in html
    assert '<span class="diff-add">+  - key: security_review\n</span>' in html


def test_without_versions_named_it_compares_the_active_one_with_the_one_before(
        org: Any, second_version: Any, signed_in: Any) -> None:
    client = signed_in(org.alice)

    words = text(client.get("/process/diff/").content.decode())
    reverse = text(client.get("/process/diff/?a=2&b=1").content.decode())

    assert "What changed from version 1 to version 2" in words
    assert "removed stage Security review" in reverse
    assert "Qualification rotting days: 10 → 14" in reverse


def test_the_same_version_twice_has_no_differences(org: Any, signed_in: Any) -> None:
    words = text(signed_in(org.alice).get("/process/diff/?a=1&b=1").content.decode())

    assert "The two versions describe the same process" in words
    assert "The two files are identical" in words


def test_bad_or_unknown_version_numbers_are_refused(org: Any, signed_in: Any) -> None:
    client = signed_in(org.alice)
    active_process()

    assert client.get("/process/diff/?a=one&b=1").status_code == 400
    assert client.get("/process/diff/?a=0").status_code == 400
    assert client.get("/process/?version=x").status_code == 400
    assert client.get("/process/diff/?a=1&b=99").status_code == 404
    assert client.get("/process/?version=99").status_code == 404


def test_process_text_is_escaped(org: Any, signed_in: Any) -> None:
    active_process()
    apply_process(edited(('name: "B2B sales process (8 steps)"', f'name: "{XSS}"'),
                         ('    name: "Prospecting"', f'    name: "{XSS}"')),
                  acting_user=org.olivia, note=XSS)
    client = signed_in(org.alice)

    for url in ("/process/", "/process/versions/", "/process/diff/"):
        html = client.get(url).content.decode()
        assert XSS not in html, url
        assert "&lt;img src=x onerror=alert(1)&gt;" in html, url


def test_the_pages_run_the_same_queries_however_many_versions(org: Any,
                                                              signed_in: Any) -> None:
    client = signed_in(org.alice)
    active_process()

    def queries() -> list[int]:
        counts = []
        for url in ("/process/", "/process/versions/", "/process/diff/"):
            with CaptureQueriesContext(connection) as captured:
                assert client.get(url).status_code == 200
            counts.append(len(captured))
        return counts

    apply_process(edited(("rotting_days: 21", "rotting_days: 22")), acting_user=org.olivia)
    few = queries()
    for days in range(30, 50):
        apply_process(edited(("rotting_days: 21", f"rotting_days: {days}")),
                      acting_user=org.olivia)
    many = queries()

    assert few == many
