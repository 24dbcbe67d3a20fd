"""`/settings/webhooks/`: admins see endpoints and the delivery log, add and delete endpoints;
others are refused and anonymous visitors sent to sign in."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from dealcraft.webhooks.delivery import deliver_due
from dealcraft.webhooks.models import WebhookEndpoint
from dealcraft.webhooks.services import create_endpoint, delete_endpoint

pytestmark = pytest.mark.django_db

URL = "/settings/webhooks/"


def test_the_log_shows_status_attempts_response_next_attempt_and_error(
        org: Any, signed_in: Any, make_deal: Any, receiver: Any) -> None:
    create_endpoint(acting_user=org.ada, url=receiver.url, events=["deal.created"],
                    description="Finance sync")
    receiver.statuses = [503]
    deal = make_deal()
    (delivery,) = deliver_due()

    page = signed_in(org.ada).get(URL)

    assert page.status_code == 200
    html = page.content.decode()
    endpoints = html.split('data-testid="webhook-endpoints"')[1].split("</section>")[0]
    assert receiver.url in endpoints and "Finance sync" in endpoints
    log = html.split('data-testid="webhook-log"')[1].split("</section>")[0]
    (row,) = re.findall(r'<tr data-testid="webhook-delivery">(.*?)</tr>', log, re.S)
    assert "deal.created" in row and f"/deals/{deal.pk}/" in row
    assert "Pending" in row and ">1<" in row and ">503<" in row
    assert delivery.next_attempt_at.strftime("%Y-%m-%d %H:%M:%S") in row
    assert "HTTP 503" in row
    assert "whsec_" not in html


def test_the_page_runs_the_same_queries_for_few_and_many_deliveries(
        org: Any, signed_in: Any, make_deal: Any, django_assert_max_num_queries: Any) -> None:
    create_endpoint(acting_user=org.ada, url="https://a.example/h", events=["deal.created"])
    client = signed_in(org.ada)
    make_deal()
    with django_assert_max_num_queries(20) as few:
        client.get(URL)
    create_endpoint(acting_user=org.ada, url="https://b.example/h", events=["deal.created"])
    for i in range(8):
        make_deal(name=f"Deal {i}")
    with django_assert_max_num_queries(20) as many:
        assert client.get(URL).content.decode().count('data-testid="webhook-delivery"') == 17
    assert len(many.captured_queries) == len(few.captured_queries)


def test_an_admin_adds_an_endpoint_and_sees_the_secret_only_once(org: Any,
                                                                 signed_in: Any) -> None:
    client = signed_in(org.ada)

    created = client.post(URL, {"url": "https://hooks.example.com/x", "description": "CRM",
                                "events": ["deal.won", "deal.lost"]})

    assert created.status_code == 201
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["deal.won", "deal.lost"] and endpoint.created_by == org.ada
    assert endpoint.secret in created.content.decode()
    assert endpoint.secret not in client.get(URL).content.decode()


def test_a_bad_address_is_refused_with_the_form_kept(org: Any, signed_in: Any) -> None:
    response = signed_in(org.ada).post(URL, {"url": "ftp://files.example.com/",
                                             "events": ["deal.won"]})

    assert response.status_code == 422
    html = response.content.decode()
    assert "http:// or https://" in html and 'value="ftp://files.example.com/"' in html
    assert 'aria-invalid="true"' in html
    assert WebhookEndpoint.objects.count() == 0


def test_an_admin_deletes_an_endpoint(org: Any, signed_in: Any) -> None:
    endpoint, _ = create_endpoint(acting_user=org.ada, url="https://a.example/h",
                                  events=["deal.won"])
    client = signed_in(org.ada)

    response = client.post(f"/settings/webhooks/{endpoint.pk}/delete/")

    assert response.status_code == 302 and response["Location"] == URL
    assert WebhookEndpoint.objects.count() == 0
    assert client.post(f"/settings/webhooks/{endpoint.pk}/delete/").status_code == 404


@pytest.mark.parametrize("persona", ["mona", "olivia", "alice", "charlie", "vera"])
def test_everyone_but_an_admin_is_refused(org: Any, signed_in: Any, persona: str) -> None:
    endpoint, _ = create_endpoint(acting_user=org.ada, url="https://a.example/h",
                                  events=["deal.won"])
    client = signed_in(getattr(org, persona))

    assert client.get(URL).status_code == 403
    assert client.post(URL, {"url": "https://evil.example/h",
                             "events": ["deal.won"]}).status_code == 403
    assert client.post(f"/settings/webhooks/{endpoint.pk}/delete/").status_code == 403
    assert list(WebhookEndpoint.objects.values_list("url", flat=True)) == ["https://a.example/h"]


def test_anonymous_visitors_are_sent_to_sign_in(org: Any) -> None:
    endpoint, _ = create_endpoint(acting_user=org.ada, url="https://a.example/h",
                                  events=["deal.won"])
    client = Client()
    for response in (client.get(URL), client.post(URL, {"url": "https://e.example/h"}),
                     client.post(f"/settings/webhooks/{endpoint.pk}/delete/")):
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")
    assert WebhookEndpoint.objects.count() == 1
    delete_endpoint(acting_user=org.ada, endpoint=endpoint)
