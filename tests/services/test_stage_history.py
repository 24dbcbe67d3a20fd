"""Stage history and the audit log are append-only: rows, once written, never change."""

from __future__ import annotations

from typing import Any

import pytest

from dealcraft.audit.models import AuditEvent
from dealcraft.deals.models import Deal, StageHistory


@pytest.fixture
def history(make_deal: Any) -> StageHistory:
    deal: Deal = make_deal()
    return StageHistory.objects.get(deal=deal)


def test_saving_a_changed_history_row_is_refused(history: StageHistory) -> None:
    history.to_stage = "negotiation"

    with pytest.raises(TypeError, match="immutable"):
        history.save()

    assert StageHistory.objects.get(pk=history.pk).to_stage == "prospecting"


def test_deleting_a_history_row_is_refused(history: StageHistory) -> None:
    with pytest.raises(TypeError, match="immutable"):
        history.delete()

    assert StageHistory.objects.filter(pk=history.pk).exists()


def test_bulk_update_of_history_is_refused(history: StageHistory) -> None:
    with pytest.raises(TypeError, match="immutable"):
        StageHistory.objects.filter(pk=history.pk).update(override_reason="rewritten")

    assert StageHistory.objects.get(pk=history.pk).override_reason == ""


def test_bulk_delete_of_history_is_refused(history: StageHistory) -> None:
    with pytest.raises(TypeError, match="immutable"):
        StageHistory.objects.all().delete()

    assert StageHistory.objects.count() == 1


def test_audit_rows_are_immutable_too(history: StageHistory) -> None:
    event = AuditEvent.objects.filter(action="deal.create").get()
    event.action = "deal.nothing"

    with pytest.raises(TypeError, match="immutable"):
        event.save()
    with pytest.raises(TypeError, match="immutable"):
        event.delete()
    with pytest.raises(TypeError, match="immutable"):
        AuditEvent.objects.update(action="deal.nothing")
    with pytest.raises(TypeError, match="immutable"):
        AuditEvent.objects.all().delete()

    assert AuditEvent.objects.filter(action="deal.create").exists()
