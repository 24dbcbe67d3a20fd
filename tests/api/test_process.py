"""GET and POST /process: the active process as JSON, and applying a new version."""

from __future__ import annotations

from typing import Any

from dealcraft.processes.models import ProcessVersion
from dealcraft.processes.services import default_process_source

from .conftest import TWO_STEP_PROCESS, assert_problem


def test_the_active_process_is_described_in_full(org: Any, api_as: Any) -> None:
    response = api_as(org.alice).get("/process")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["version"] == 1
    assert body["name"] == "B2B sales process (8 steps)"
    assert body["applied_at"]
    process = body["process"]
    assert [s["key"] for s in process["stages"]] == [
        "prospecting", "qualification", "discovery", "solution", "proposal", "negotiation"]
    qualification = process["stages"][1]
    assert qualification["gate"] == "enforce"
    meddicc = next(c for c in qualification["exit_criteria"] if c["key"] == "meddicc_score")
    assert meddicc["kind"] == "qualification_score" and meddicc["min"] == 60
    assert meddicc["description"] == "meddicc score at least 60"
    assert {f["key"] for f in process["frameworks"]} == {"bant", "meddicc"}
    assert process["qualification"] == {"framework": "meddicc", "threshold": 60}
    assert process["settings"]["override"] == "managers"
    assert {"key": "champion", "name": "Champion"} in process["stakeholder_roles"]
    assert process["outcomes"]["won"]["checkins_days"] == [14, 30, 90, 180]
    assert {r["key"] for r in process["outcomes"]["lost"]["reasons"]} >= {"price", "competitor"}
    assert "icp" in process["library"]
    assert {q["layer"] for q in process["discovery_questions"]} == {
        "current_state", "pain", "impact_urgency", "buying_process"}
    assert process["capabilities"]
    assert {f["key"] for f in process["fields"]} >= {"success_criteria", "signature_date"}


def test_ops_applies_a_new_version(org: Any, api_as: Any) -> None:
    api = api_as(org.olivia)
    api.get("/process")

    response = api.post("/process", {"source": TWO_STEP_PROCESS, "note": "simpler"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["version"] == 2 and body["name"] == "Two-step process"
    assert body["applied_by"] == "olivia" and body["note"] == "simpler"
    assert [s["key"] for s in body["process"]["stages"]] == ["talk", "sign"]
    assert api.get("/process").json()["version"] == 2


def test_applying_the_active_source_again_changes_nothing(org: Any, api_as: Any) -> None:
    api = api_as(org.olivia)

    response = api.post("/process", {"source": default_process_source()})

    assert response.status_code == 200, response.content
    assert response.json()["version"] == 1
    assert ProcessVersion.objects.count() == 1


def test_an_invalid_file_lists_every_problem_with_its_line(org: Any, api_as: Any) -> None:
    source = TWO_STEP_PROCESS.replace("probability: 80", "probability: eighty").replace(
        'name: "Two-step process"', 'name: "Two-step process"\ncolour: blue')

    response = api_as(org.ada).post("/process", {"source": source})

    body = assert_problem(response, 422, "invalid-process")
    lines = {p["line"] for p in body["problems"]}
    assert len(body["problems"]) >= 2
    assert 2 in lines  # colour: blue
    assert any("colour" in p["message"] for p in body["problems"])
    assert ProcessVersion.objects.filter(is_active=True).get().number == 1


def test_only_ops_and_admins_apply_processes(org: Any, api_as: Any) -> None:
    for user in (org.alice, org.mona, org.vera):
        assert_problem(api_as(user).post("/process", {"source": TWO_STEP_PROCESS}), 403)
    assert ProcessVersion.objects.count() == 1


def test_a_missing_source_is_a_422(org: Any, api_as: Any) -> None:
    body = assert_problem(api_as(org.olivia).post("/process", {}), 422)
    assert body["field"] == "source"
