"""Users and teams over the API: admins and ops manage them, everyone else is refused; any
signed-in user reads the directory."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dealcraft.audit.models import AuditEvent
from dealcraft.people.models import Team, User
from dealcraft.people.services import create_user

from .conftest import assert_problem


def test_an_admin_lists_users_with_role_team_and_managed_teams(org: Any, api_as: Any) -> None:
    body = api_as(org.ada).get("/users", {"limit": 200}).json()

    by_name = {u["username"]: u for u in body["items"]}
    assert set(by_name) == {"alice", "bob", "mona", "charlie", "olivia", "ada", "vera"}
    assert by_name["alice"]["role"] == "rep" and by_name["alice"]["team"] == "North"
    assert by_name["mona"]["manages"] == [{"id": org.alice.team_id, "name": "North"}]
    assert by_name["vera"]["is_active"] is True
    assert "password" not in by_name["alice"]


def test_users_filter_by_role_team_activity_and_text(org: Any, api_as: Any) -> None:
    api = api_as(org.olivia)

    def usernames(params: dict[str, Any]) -> list[str]:
        response = api.get("/users", params)
        assert response.status_code == 200, response.content
        return sorted(u["username"] for u in response.json()["items"])

    assert usernames({"role": "rep"}) == ["alice", "bob", "charlie"]
    assert usernames({"team_id": org.charlie.team_id}) == ["charlie"]
    assert usernames({"q": "ALI"}) == ["alice"]
    assert usernames({"is_active": "false"}) == []
    assert_problem(api.get("/users", {"role": "overlord"}), 422)


@pytest.mark.parametrize("persona", ["mona", "alice", "charlie", "vera"])
def test_managers_reps_and_viewers_cannot_read_or_manage_users(org: Any, api_as: Any,
                                                               persona: str) -> None:
    api = api_as(getattr(org, persona))
    team = org.alice.team

    assert_problem(api.get("/users"), 403, "not-allowed")
    assert_problem(api.get(f"/users/{org.alice.pk}"), 403, "not-allowed")
    assert_problem(api.post("/users", {"username": "mole", "role": "admin"}), 403)
    assert_problem(api.patch(f"/users/{org.alice.pk}", {"role": "admin"}), 403)
    assert_problem(api.get("/teams"), 403)
    assert_problem(api.post("/teams", {"name": "Skunkworks"}), 403)
    assert_problem(api.patch(f"/teams/{team.pk}", {"name": "Mine"}), 403)
    assert_problem(api.post(f"/teams/{team.pk}/members", {"user_id": org.charlie.pk}), 403)
    assert_problem(api.delete(f"/teams/{team.pk}/members/{org.alice.pk}"), 403)
    assert_problem(api.post(f"/teams/{team.pk}/managers", {"user_id": org.mona.pk}), 403)
    assert_problem(api.delete(f"/teams/{team.pk}/managers/{org.mona.pk}"), 403)
    assert not User.objects.filter(username="mole").exists()
    assert User.objects.get(pk=org.alice.pk).role == "rep"
    assert not Team.objects.filter(name__in=["Skunkworks", "Mine"]).exists()
    assert User.objects.get(pk=org.alice.pk).team_id == team.pk
    assert list(team.managers.all()) == [org.mona]
    assert AuditEvent.objects.filter(action="permission.refused",
                                     actor=getattr(org, persona)).count() == 11


def test_an_admin_creates_a_manager_who_manages_teams(org: Any, api_as: Any) -> None:
    north, south = org.alice.team, org.charlie.team

    response = api_as(org.ada).post("/users", {
        "username": "sam", "role": "manager", "first_name": "Sam", "last_name": "Stone",
        "email": "sam@example.com", "manages": [north.pk, south.pk]})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Sam Stone" and body["team_id"] is None
    assert [t["name"] for t in body["manages"]] == ["North", "South"]
    sam = User.objects.get(username="sam")
    assert not sam.has_usable_password()
    event = AuditEvent.objects.get(action="user.create", object_id=str(sam.pk))
    assert event.actor == org.ada and event.changes["manages"] == ["North", "South"]


def test_a_new_users_password_must_pass_the_rules(org: Any, api_as: Any) -> None:
    api = api_as(org.ada)
    weak = api.post("/users", {"username": "nina", "role": "rep", "password": "nina"})
    ok = api.post("/users", {"username": "nina", "role": "rep", "team_id": org.alice.team_id,
                             "password": "a long and unusual phrase"})

    assert assert_problem(weak, 422)["field"] == "password"
    assert ok.status_code == 201, ok.content
    assert User.objects.get(username="nina").check_password("a long and unusual phrase")
    assert "a long and unusual phrase" not in str(AuditEvent.objects.values_list("changes"))


@pytest.mark.parametrize(("body", "field"), [
    ({"username": "alice", "role": "rep"}, "username"),
    ({"username": "zed", "role": "overlord"}, "role"),
    ({"username": "zed/../x", "role": "rep"}, "username"),
    ({"username": "zed", "role": "rep", "team_id": 999999}, "team_id"),
    ({"username": "zed", "role": "rep", "manages": [1]}, "manages"),
    ({"username": "zed", "role": "rep", "email": "nope"}, "email"),
    ({"username": "zed", "role": "rep", "is_superuser": True}, "is_superuser"),
])
def test_bad_user_input_is_a_422_naming_the_field(org: Any, api_as: Any, body: dict[str, Any],
                                                  field: str) -> None:
    assert assert_problem(api_as(org.ada).post("/users", body), 422)["field"] == field
    assert not User.objects.filter(username="zed").exists()


def test_ops_manage_users_but_cannot_make_or_change_admins(org: Any, api_as: Any) -> None:
    api = api_as(org.olivia)

    created = api.post("/users", {"username": "nina", "role": "rep"})
    make_admin = api.post("/users", {"username": "boss", "role": "admin"})
    promote_self = api.patch(f"/users/{org.olivia.pk}", {"role": "admin"})
    demote_admin = api.patch(f"/users/{org.ada.pk}", {"role": "viewer"})

    assert created.status_code == 201
    assert_problem(make_admin, 403, "not-allowed")
    assert_problem(promote_self, 403, "not-allowed")
    assert_problem(demote_admin, 403, "not-allowed")
    assert User.objects.get(pk=org.olivia.pk).role == "ops"
    assert User.objects.get(pk=org.ada.pk).role == "admin"


def test_a_manager_demoted_to_rep_stops_managing_and_moves_team(org: Any, api_as: Any) -> None:
    response = api_as(org.ada).patch(f"/users/{org.mona.pk}", {
        "role": "rep", "team_id": org.charlie.team_id})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["role"], body["team"], body["manages"]) == ("rep", "South", [])
    event = AuditEvent.objects.get(action="user.update", object_id=str(org.mona.pk))
    assert event.changes["role"] == {"from": "manager", "to": "rep"}
    assert event.changes["team"] == {"from": None, "to": "South"}
    assert event.changes["managed_teams_ended"] == {"from": None, "to": ["North"]}


def test_a_deactivated_user_can_no_longer_use_their_token(org: Any, api_as: Any) -> None:
    alices = api_as(org.alice)
    assert alices.get("/deals").status_code == 200

    response = api_as(org.ada).patch(f"/users/{org.alice.pk}", {"is_active": False})

    assert response.status_code == 200 and response.json()["is_active"] is False
    assert_problem(alices.get("/deals"), 401, "unauthenticated")
    client = Client()
    assert not client.login(username="alice", password="correct horse battery")
    back = api_as(org.ada).patch(f"/users/{org.alice.pk}", {"is_active": True})
    assert back.json()["is_active"] is True and alices.get("/deals").status_code == 200


def test_nobody_deactivates_themselves_or_the_last_admin(org: Any, api_as: Any) -> None:
    api = api_as(org.ada)

    myself = api.patch(f"/users/{org.ada.pk}", {"is_active": False})
    demote = api.patch(f"/users/{org.ada.pk}", {"role": "ops"})

    assert assert_problem(myself, 422)["field"] == "is_active"
    assert assert_problem(demote, 422)["field"] == "role"
    second = create_user(acting_user=org.ada, username="root", role="admin")
    assert api.patch(f"/users/{org.ada.pk}", {"role": "ops"}).status_code == 200
    assert User.objects.get(pk=second.pk).is_superuser
    assert not User.objects.get(pk=org.ada.pk).is_superuser


def test_patch_refuses_null_for_required_fields_and_unknown_users(org: Any,
                                                                  api_as: Any) -> None:
    api = api_as(org.ada)
    assert assert_problem(api.patch(f"/users/{org.alice.pk}", {"role": None}),
                          422)["field"] == "role"
    assert_problem(api.patch("/users/999999", {"first_name": "X"}), 404, "not-found")
    assert_problem(api.get("/users/999999"), 404, "not-found")


def test_a_read_only_token_cannot_change_users_or_teams(org: Any, api_as: Any) -> None:
    api = api_as(org.ada, read_only=True)

    assert api.get("/users").status_code == 200
    assert_problem(api.post("/users", {"username": "nina", "role": "rep"}), 403,
                   "read-only-token")
    assert_problem(api.patch(f"/users/{org.alice.pk}", {"role": "viewer"}), 403,
                   "read-only-token")
    assert_problem(api.post("/teams", {"name": "East"}), 403, "read-only-token")
    assert not User.objects.filter(username="nina").exists()


def test_a_read_only_token_cannot_change_teams_or_their_people(org: Any, api_as: Any) -> None:
    api = api_as(org.ada, read_only=True)
    north = org.alice.team

    refused = [
        api.patch(f"/teams/{north.pk}", {"name": "Renamed"}),
        api.post(f"/teams/{north.pk}/managers", {"user_id": org.mona.pk}),
        api.delete(f"/teams/{north.pk}/managers/{org.mona.pk}"),
        api.post(f"/teams/{north.pk}/members", {"user_id": org.charlie.pk}),
        api.delete(f"/teams/{north.pk}/members/{org.alice.pk}"),
    ]

    for response in refused:
        assert_problem(response, 403, "read-only-token")
    assert api.get(f"/teams/{north.pk}").json()["name"] == "North"
    assert User.objects.get(pk=org.alice.pk).team_id == north.pk
    assert list(north.managers.all()) == [org.mona]


def test_teams_are_created_renamed_and_staffed(org: Any, api_as: Any) -> None:
    api = api_as(org.ada)

    created = api.post("/teams", {"name": "East"})
    assert created.status_code == 201, created.content
    east = created.json()
    assert (east["name"], east["managers"], east["member_count"]) == ("East", [], 0)
    duplicate = api.post("/teams", {"name": "North"})
    renamed = api.patch(f"/teams/{east['id']}", {"name": "East & Central"})
    managed = api.post(f"/teams/{east['id']}/managers", {"user_id": org.mona.pk})
    joined = api.post(f"/teams/{east['id']}/members", {"user_id": org.bob.pk})

    assert assert_problem(duplicate, 422)["field"] == "name"
    assert renamed.json()["name"] == "East & Central"
    assert [m["username"] for m in managed.json()["managers"]] == ["mona"]
    assert joined.json()["member_count"] == 1
    assert User.objects.get(pk=org.bob.pk).team_id == east["id"]
    listed = api.get("/teams").json()["items"]
    assert {t["name"]: t["member_count"] for t in listed} == {
        "East & Central": 1, "North": 2, "South": 1}
    actions = set(AuditEvent.objects.filter(actor=org.ada).values_list("action", flat=True))
    assert {"team.create", "team.rename", "team.add_manager", "user.update"} <= actions


def test_managers_and_members_are_removed(org: Any, api_as: Any) -> None:
    api = api_as(org.olivia)
    north = org.alice.team

    unmanaged = api.delete(f"/teams/{north.pk}/managers/{org.mona.pk}")
    left = api.delete(f"/teams/{north.pk}/members/{org.bob.pk}")
    not_member = api.delete(f"/teams/{north.pk}/members/{org.charlie.pk}")
    not_manager = api.delete(f"/teams/{north.pk}/managers/{org.mona.pk}")

    assert unmanaged.status_code == 200 and unmanaged.json()["managers"] == []
    assert left.status_code == 200 and left.json()["member_count"] == 2  # alice and vera
    assert User.objects.get(pk=org.bob.pk).team_id is None
    assert_problem(not_member, 404, "not-found")
    assert_problem(not_manager, 404, "not-found")


def test_only_an_active_manager_can_manage_a_team(org: Any, api_as: Any) -> None:
    api = api_as(org.ada)
    north = org.alice.team

    rep = api.post(f"/teams/{north.pk}/managers", {"user_id": org.alice.pk})
    nobody = api.post(f"/teams/{north.pk}/managers", {"user_id": 999999})
    no_team = api.post("/teams/999999/managers", {"user_id": org.mona.pk})

    assert assert_problem(rep, 422)["field"] == "manager"
    assert assert_problem(nobody, 422)["field"] == "user_id"
    assert_problem(no_team, 404)


def test_any_signed_in_user_reads_the_directory_of_active_users(org: Any, api_as: Any) -> None:
    org.bob.is_active = False
    org.bob.save()

    body = api_as(org.vera).get("/directory", {"limit": 200}).json()
    south = api_as(org.charlie).get("/directory", {"team_id": org.charlie.team_id}).json()

    entries = {e["username"]: e for e in body["items"]}
    assert "bob" not in entries
    assert entries["alice"] == {"id": org.alice.pk, "username": "alice", "name": "Alice",
                                "team_id": org.alice.team_id, "team": "North"}
    assert [e["username"] for e in south["items"]] == ["charlie"]
    assert_problem(Client().get("/api/v1/directory"), 401)


def _count(api: Any, path: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(path, {"limit": 200})
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries), len(response.json()["items"])


def test_user_team_and_directory_lists_run_a_constant_number_of_queries(
        org: Any, api_as: Any) -> None:
    api = api_as(org.ada)
    api.get("/users")  # the token's first use is written once

    def add(n: int, start: int) -> None:
        for i in range(start, start + n):
            team = f"Team {i}"
            create_user(acting_user=org.ada, username=f"m{i}", role="manager", team=team)
            create_user(acting_user=org.ada, username=f"r{i}", role="rep", team=team)

    add(2, 0)
    small = [_count(api, p) for p in ("/users", "/teams", "/directory")]
    add(15, 2)
    large = [_count(api, p) for p in ("/users", "/teams", "/directory")]

    added = (30, 15, 30)  # users, teams, active users
    assert [n for _, n in large] == [n + more for (_, n), more in zip(small, added, strict=True)]
    assert [q for q, _ in small] == [q for q, _ in large]
