"""Seed the API fuzz's company through the services; prints the tokens it issued as JSON.

Run by tests/fuzz/conftest.py as a separate program with the server's environment, so that the
data lands in the database the production server under test reads:

    DEALCRAFT_DATABASE_URL=... python tests/fuzz/seed.py

The fuzzer starts from a small but real company: people in every role, accounts with contacts,
open deals in several stages, a won and a lost deal (so that reopening has something to
reopen), each with its records. Generated requests then find existing ids as well as missing
ones, and the stateful phase follows the OpenAPI links from what it creates itself.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta

PASSWORD = "fuzz-company-pass"


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealcraft.settings")
    import django

    django.setup()

    from django.utils import timezone

    from dealcraft.crm.services import create_account, create_contact
    from dealcraft.deals import services as deals
    from dealcraft.people.models import User
    from dealcraft.people.services import create_token, create_user

    def person(username: str, role: str, team: str | None) -> User:
        return create_user(acting_user=None, username=username, role=role, team=team,
                           password=PASSWORD, first_name=username.title())

    alice = person("alice", "rep", "North")
    person("bob", "rep", "North")
    mona = person("mona", "manager", "North")
    charlie = person("charlie", "rep", "South")
    person("olivia", "ops", None)
    ada = person("ada", "admin", None)
    person("vera", "viewer", "North")

    today = timezone.localdate()
    north = create_account(acting_user=alice, name="Northwind Logistics",
                           domain="northwind.example", industry="logistics", employees=1200,
                           country="DE")
    south = create_account(acting_user=charlie, name="Southwind Foods", country="ES")
    nadia = create_contact(acting_user=alice, account=north, first_name="Nadia", last_name="Hart",
                           email="nadia@northwind.example", title="Head of Operations")
    create_contact(acting_user=charlie, account=south, first_name="Sergio", last_name="Ruiz")

    def deal(name: str, owner: User, account: object, amount: str) -> object:
        return deals.create_deal(acting_user=owner, owner=owner, name=name, amount=amount,
                                 currency="EUR", account=account,
                                 expected_close=today + timedelta(days=45))

    fleet = deal("Northwind fleet rollout", alice, north, "48000.00")
    deals.name_stakeholder(acting_user=alice, deal=fleet, contact=nadia, role="champion",
                           influence=3, support=1)
    deals.set_next_step(acting_user=alice, deal=fleet, text="Discovery call with the CFO",
                        due=today + timedelta(days=5), buyer_confirmed=True)
    deals.log_activity(acting_user=alice, deal=fleet, kind="call", subject="Intro call")
    fleet = deals.advance_stage(acting_user=alice, deal=fleet, to="qualification")
    deal("Southwind cold chain", charlie, south, "54000.00")
    won = deal("Northwind spare parts", alice, north, "12500.00")
    deals.close_won(acting_user=mona, deal=won, override_reason="Signed before the process")
    lost = deal("Northwind telematics", alice, north, "9000.00")
    deals.close_lost(acting_user=alice, deal=lost, reason="Chose to build in-house",
                     category="competitor")

    # The main run writes as an admin, who may call every operation; the second reads with a
    # manager's read-only token, whose every write must be refused.
    _, admin_token = create_token(acting_user=None, user=ada, name="fuzz")
    _, read_only_token = create_token(acting_user=None, user=mona, read_only=True,
                                      name="fuzz read-only")
    json.dump({"admin_token": admin_token, "read_only_token": read_only_token}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
