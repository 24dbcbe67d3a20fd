"""Seed the browser tests' company through the services; prints the deals it made as JSON.

Run by tests/browser/conftest.py as a separate program with the server's environment, so the
data lands in the database the production server under test reads:

    DEALCRAFT_DATABASE_URL=... python tests/browser/seed.py

Every journey gets a deal of its own, so that journeys can run in any order, on any
pytest-xdist worker, without one changing what another sees.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from typing import Any

#: Every persona signs in with this password (the server hashes it with Argon2, as in production).
PASSWORD = "browser-journey-pass"

#: The hostile name the XSS journey gives a deal and a note.
XSS = "<img src=x onerror=alert(1)>"


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealcraft.settings")
    import django

    django.setup()

    from django.utils import timezone

    from dealcraft.crm.services import create_account, create_contact
    from dealcraft.deals import services as deals
    from dealcraft.people.models import User
    from dealcraft.people.services import create_token, create_user
    from dealcraft.processes.services import active_process, apply_process, default_process_source

    def person(username: str, role: str, team: str) -> User:
        return create_user(acting_user=None, username=username, role=role, team=team,
                           password=PASSWORD, first_name=username.title())

    alice = person("alice", "rep", "North")
    bob = person("bob", "rep", "North")
    mona = person("mona", "manager", "North")
    charlie = person("charlie", "rep", "South")
    person("vera", "viewer", "North")
    create_user(acting_user=None, username="olivia", role="ops", password=PASSWORD,
                first_name="Olivia")

    # A second process version, so the process view has a difference to show; it only adds
    # guidance, which no gate reads.
    active_process()  # the default process is applied on first use: it is version 1
    source = default_process_source()
    guidance = '      - "Fit: industry, size, use case, technical environment."\n'
    assert guidance in source
    apply_process(source.replace(guidance, guidance + '      - "Note who introduced us."\n'),
                  acting_user=None, note="qualification guidance: who introduced us")

    today = timezone.localdate()
    _, process = active_process()
    framework = process.framework(process.qualification_framework)

    north_account = create_account(acting_user=alice, name="Northwind Logistics",
                                   industry="manufacturing", employees=1200)
    champion = create_contact(acting_user=alice, account=north_account, first_name="Nadia",
                              last_name="Hart", title="Head of Operations")

    def deal(name: str, owner: User = alice, *, amount: str = "48000.00",
             account: Any = north_account, stage: str = "") -> Any:
        made = deals.create_deal(acting_user=owner, owner=owner, name=name, amount=amount,
                                 currency="EUR", account=account,
                                 expected_close=today + timedelta(days=60))
        if stage:
            # Prospecting's gate only warns, so the deal reaches qualification unready.
            made = deals.advance_stage(acting_user=owner, deal=made, to=stage)
        return made

    def qualify(made: Any, owner: User = alice) -> None:
        """Meet qualification's stakeholder and scorecard criteria, leaving evidence and the
        next step for the journey to do in the browser."""
        deals.name_stakeholder(acting_user=owner, deal=made, contact=champion, role="champion",
                               influence=3, support=1)
        for criterion in framework.criteria:
            deals.answer_qualification(acting_user=owner, deal=made, framework=framework.key,
                                       criterion=criterion.key, level=3,
                                       evidence=f"Confirmed with Nadia: {criterion.name}")

    rep_deal = deal("Northwind fleet rollout", stage="qualification")
    qualify(rep_deal)

    refused_gate_deal = deal("Northwind warehouse pilot", amount="23000.00",
                             stage="qualification")
    board_move_deal = deal("Northwind route planning", amount="31000.00",
                           stage="qualification")
    secret_deal = deal("Northwind confidential renewal", amount="987654.00")
    deals.set_next_step(acting_user=alice, deal=secret_deal, text="Send the renewal terms",
                        due=today + timedelta(days=3))

    xss_account = create_account(acting_user=alice, name=XSS)
    xss_deal = deal(XSS, account=xss_account)
    deals.log_activity(acting_user=alice, deal=xss_deal, kind="note", subject=XSS, body=XSS)
    # Overdue, so that the deal heads alice's day.
    deals.set_next_step(acting_user=alice, deal=xss_deal, text=XSS,
                        due=today - timedelta(days=2))

    # Some ordinary pipeline, so the board and my day are not empty columns.
    stuck = deal("Northwind spare parts portal", stage="qualification")
    deals.log_activity(acting_user=alice, deal=stuck, kind="call", subject="Intro call")
    deal("Northwind telematics", owner=bob, amount="12500.00")
    drag_deal = deal("Northwind driver app")
    deals.log_activity(acting_user=alice, deal=drag_deal, kind="task",
                       subject="Send the security questionnaire", done=False,
                       due_at=timezone.now() + timedelta(hours=4))
    south_account = create_account(acting_user=charlie, name="Southwind Foods")
    south_deal = deal("Southwind cold chain", owner=charlie, amount="54000.00",
                      account=south_account)

    # The journeys check what the server stored through the API, with the manager's eyes.
    _, api_token = create_token(acting_user=mona, user=mona, read_only=True, name="browser")

    json.dump({
        "password": PASSWORD,
        "api_token": api_token,
        "xss": XSS,
        "deals": {
            "rep_journey": rep_deal.pk,
            "refused_gate": refused_gate_deal.pk,
            "board_move": board_move_deal.pk,
            "secret": secret_deal.pk,
            "xss": xss_deal.pk,
            "stuck": stuck.pk,
            "drag": drag_deal.pk,
            "south": south_deal.pk,
        },
    }, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
