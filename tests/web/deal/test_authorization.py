"""Who may see the deal page and who may change the deal from it."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from dealcraft.audit.models import AuditEvent
from dealcraft.deals.services import log_activity

from .conftest import parse

pytestmark = pytest.mark.django_db

EDIT_FORMS = ("next-step-form", "fields-form", "stakeholder-form", "activity-form",
              "close-lost-form", "advance", "move-form", "close-won-form",
              "qualification-form-meddicc-metrics", "evidence-form-handoff_goals")


def posts(deal_id: int, task_id: int) -> list[tuple[str, dict[str, Any]]]:
    """One valid submission of every form on the page."""
    base = f"/deals/{deal_id}"
    return [
        (f"{base}/evidence/", {"criterion": "handoff_goals", "text": "Goals"}),
        (f"{base}/evidence/", {"criterion": "handoff_goals", "file": SimpleUploadedFile(
            "a.txt", b"notes", content_type="text/plain")}),
        (f"{base}/qualification/", {"framework": "meddicc", "criterion": "metrics",
                                    "level": "1"}),
        (f"{base}/stakeholders/", {"role": "champion", "influence": "2", "support": "1",
                                   "last_name": "Champion"}),
        (f"{base}/next-step/", {"text": "Call", "due": "2031-01-01"}),
        (f"{base}/activities/", {"kind": "note", "subject": "Peeking"}),
        (f"{base}/activities/{task_id}/done/", {}),
        (f"{base}/fields/", {"version": "1", "name": "Hijacked", "amount": "1",
                             "currency": "EUR", "expected_close": "2031-01-01"}),
        (f"{base}/advance/", {"to": "qualification"}),
        (f"{base}/close-lost/", {"reason": "Sabotage"}),
        (f"{base}/reopen/", {"reason": "Sabotage"}),
    ]


def test_anonymous_visitors_are_sent_to_sign_in(org: Any, make_deal: Any) -> None:
    deal = make_deal()

    response = Client().get(f"/deals/{deal.pk}/")

    assert response.status_code == 302
    assert response["Location"] == f"/login/?next=/deals/{deal.pk}/"


def test_anonymous_posts_change_nothing(org: Any, make_deal: Any, settings: Any) -> None:
    deal = make_deal()
    task = log_activity(acting_user=org.alice, deal=deal, kind="task", subject="Send deck")
    before = AuditEvent.objects.exclude(action="permission.refused").count()

    for url, data in posts(deal.pk, task.pk):
        response = Client().post(url, data)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/")

    assert AuditEvent.objects.exclude(action="permission.refused").count() == before


def test_charlie_is_refused_norths_deal(org: Any, make_deal: Any, signed_in: Any) -> None:
    deal = make_deal(name="North secret")

    response = signed_in(org.charlie).get(f"/deals/{deal.pk}/")

    assert response.status_code == 403
    assert "North secret" not in response.content.decode()


@pytest.mark.parametrize("persona", ["charlie", "bob", "vera"])
def test_only_those_who_may_edit_can_post_any_form(org: Any, make_deal: Any, signed_in: Any,
                                                   persona: str) -> None:
    deal = make_deal()
    task = log_activity(acting_user=org.alice, deal=deal, kind="task", subject="Send deck")
    before = AuditEvent.objects.exclude(action="permission.refused").count()
    client = signed_in(getattr(org, persona))

    for url, data in posts(deal.pk, task.pk):
        assert client.post(url, data).status_code == 403, url

    assert AuditEvent.objects.exclude(action="permission.refused").count() == before


@pytest.mark.parametrize("persona", ["bob", "vera", "olivia"])
def test_readers_see_the_page_without_edit_forms(org: Any, make_deal: Any, signed_in: Any,
                                                 persona: str) -> None:
    deal = make_deal()

    response = signed_in(getattr(org, persona)).get(f"/deals/{deal.pk}/")

    assert response.status_code == 200
    html = parse(response.content)
    assert html.has("read-only")
    assert [name for name in EDIT_FORMS if html.has(name)] == []
    assert html.find("form", method="post", action=f"/deals/{deal.pk}/evidence/") is None
    assert html.has("stage-path") and html.has("checklist") and html.has("history")


@pytest.mark.parametrize("persona", ["alice", "mona", "ada"])
def test_those_who_may_edit_see_every_form(org: Any, make_deal: Any, signed_in: Any,
                                           persona: str) -> None:
    deal = make_deal()

    html = parse(signed_in(getattr(org, persona)).get(f"/deals/{deal.pk}/").content)

    assert [name for name in EDIT_FORMS if not html.has(name)] == []
    assert not html.has("read-only")


@pytest.mark.parametrize("path", ["activities/", "history/", "audit/", "evidence/"])
def test_the_show_all_pages_refuse_charlie_and_serve_readers(org: Any, make_deal: Any,
                                                             signed_in: Any, path: str) -> None:
    deal = make_deal()

    assert signed_in(org.charlie).get(f"/deals/{deal.pk}/{path}").status_code == 403
    assert signed_in(org.vera).get(f"/deals/{deal.pk}/{path}").status_code == 200
    assert Client().get(f"/deals/{deal.pk}/{path}").status_code == 302


def test_every_form_carries_a_csrf_token(org: Any, make_deal: Any, signed_in: Any) -> None:
    deal = make_deal()
    log_activity(acting_user=org.alice, deal=deal, kind="task", subject="Send deck")

    html = parse(signed_in(org.alice).get(f"/deals/{deal.pk}/").content)

    forms = html.find_all("form", method="post")
    assert len(forms) > 20
    assert all(f.find("input", name="csrfmiddlewaretoken") is not None for f in forms)


def test_a_post_without_the_csrf_token_is_refused(org: Any, make_deal: Any) -> None:
    deal = make_deal()
    client = Client(enforce_csrf_checks=True)
    client.login(username="alice", password="correct horse battery")

    response = client.post(f"/deals/{deal.pk}/next-step/", {"text": "Call",
                                                            "due": "2031-01-01"})

    assert response.status_code == 403
