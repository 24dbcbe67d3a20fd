"""`dealcraft demo --no-serve`: builds the demo company, prints its address and its logins."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import authenticate

from dealcraft.deals.models import Deal

# The build tunes SQLite's PRAGMAs and --reset truncates tables, which neither database allows
# inside the transaction an ordinary test runs in.
pytestmark = pytest.mark.django_db(transaction=True)


def logins(out: str) -> list[list[str]]:
    """The rows of the printed login table: username, password, role, team."""
    lines = out.split("USERNAME  PASSWORD")[1].splitlines()[2:]
    return [line.split(None, 3) for line in lines if line.strip()]


def test_demo_prints_the_address_and_logins_that_sign_in(run: Any) -> None:
    result = run("demo", "--no-serve", "--deals", "30", "--seed", "5", "--port", "8123")

    assert result.code == 0, result.err
    assert "dealcraft demo: http://127.0.0.1:8123/" in result.lines
    assert Deal.objects.count() == 30
    rows = logins(result.out)
    assert {row[2] for row in rows} == {"admin", "ops", "manager", "rep"}
    for username, password, role, _team in rows:
        user = authenticate(username=username, password=password)
        assert user is not None, f"{username} cannot sign in with the printed password"
        assert user.role == role


def test_the_address_uses_dealcraft_port_without_port(run: Any, settings: Any) -> None:
    settings.DEALCRAFT_PORT = 8555

    result = run("demo", "--no-serve", "--deals", "10")

    assert "dealcraft demo: http://127.0.0.1:8555/" in result.lines


def test_running_the_demo_again_reuses_the_company_and_reset_rebuilds_it(run: Any) -> None:
    first = run("demo", "--no-serve", "--deals", "20", "--seed", "1")

    again = run("demo", "--no-serve", "--deals", "20", "--seed", "1")

    assert again.code == 0, again.err
    assert "is already here (20 deals)" in again.out
    assert Deal.objects.count() == 20
    assert logins(again.out) == logins(first.out)
    for username, password, _role, _team in logins(again.out):
        assert authenticate(username=username, password=password) is not None

    reset = run("demo", "--no-serve", "--deals", "12", "--seed", "2", "--reset")

    assert reset.code == 0, reset.err
    assert "emptied the database" in reset.lines
    assert Deal.objects.count() == 12


def test_a_database_holding_other_deals_is_not_turned_into_the_demo(run: Any,
                                                                   make_deal: Any) -> None:
    make_deal()

    refused = run("demo", "--no-serve", "--deals", "20")

    assert refused.code == 1
    assert refused.err.startswith("dealcraft: the database already holds 1 deals")
    assert "Traceback" not in refused.err
    assert Deal.objects.count() == 1
