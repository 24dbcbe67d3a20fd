"""`dealcraft webhooks deliver` sends what is due; `dealcraft webhooks list` shows endpoints."""

from __future__ import annotations

from typing import Any

import pytest

from dealcraft.cli import main
from dealcraft.webhooks.models import WebhookDelivery
from dealcraft.webhooks.services import create_endpoint

pytestmark = pytest.mark.django_db


def test_deliver_once_sends_every_due_delivery_and_exits(org: Any, make_deal: Any,
                                                         receiver: Any, capsys: Any) -> None:
    create_endpoint(acting_user=org.ada, url=receiver.url, events=["deal.created"])
    for i in range(3):
        make_deal(name=f"Deal {i}")

    assert main(["webhooks", "deliver", "--once", "--interval", "0.1"]) == 0

    assert "3 delivery attempts made" in capsys.readouterr().out
    assert len(receiver.requests) == 3
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_the_interval_must_be_a_sensible_number_of_seconds(capsys: Any) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["webhooks", "deliver", "--interval", "0"])
    assert exited.value.code == 2
    assert "--interval" in capsys.readouterr().err


def test_list_shows_endpoints_with_delivery_counts_and_no_secret(
        org: Any, make_deal: Any, capsys: Any) -> None:
    assert main(["webhooks", "list"]) == 0
    assert "no webhook endpoints" in capsys.readouterr().out
    _, secret = create_endpoint(acting_user=org.ada, url="https://hooks.example.com/a",
                                events=["deal.created", "deal.won"])
    make_deal()
    make_deal()

    assert main(["webhooks", "list"]) == 0

    out = capsys.readouterr().out
    header, rule, row = out.splitlines()
    assert header.split() == ["ID", "URL", "EVENTS", "ACTIVE", "PENDING", "DELIVERED", "FAILED"]
    assert row.split()[1:] == ["https://hooks.example.com/a", "deal.created,deal.won", "yes",
                               "2", "0", "0"]
    assert secret not in out
