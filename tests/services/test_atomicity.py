"""A service that fails part-way leaves nothing behind: no row, no audit entry, no version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError

from dealcraft.audit.models import AuditEvent
from dealcraft.crm.models import Contact
from dealcraft.crm.services import create_contact
from dealcraft.deals.models import Deal, Evidence, Stakeholder
from dealcraft.deals.services import (
    advance_stage,
    name_stakeholder,
    record_evidence,
    update_deal,
)
from dealcraft.errors import GateRefused, InvalidInput

from .conftest import counts, reload


def test_advance_refused_by_a_gate_writes_no_history_no_audit_and_keeps_the_version(
        org: Any, qualifying_deal: Deal) -> None:
    before = counts()

    with pytest.raises(GateRefused):
        advance_stage(acting_user=org.alice, deal=qualifying_deal, to="discovery")

    assert counts() == before
    stored = reload(qualifying_deal)
    assert (stored.stage, stored.version) == ("qualification", qualifying_deal.version)


def test_evidence_with_an_invalid_link_writes_nothing(org: Any, make_deal: Any) -> None:
    deal = make_deal()
    before = counts()

    with pytest.raises(InvalidInput):
        record_evidence(acting_user=org.alice, deal=deal, criterion="problem_confirmed",
                        kind="link", url="javascript:alert(1)")

    assert counts() == before
    assert not Evidence.objects.exists()


def test_refused_file_leaves_no_file_in_storage(org: Any, make_deal: Any, settings: Any,
                                                tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path
    deal = make_deal()

    with pytest.raises(InvalidInput):
        record_evidence(acting_user=org.alice, deal=deal, criterion="problem_confirmed",
                        kind="file", file=SimpleUploadedFile("x.exe", b"MZ",
                                                             "application/x-msdownload"))

    assert list(tmp_path.rglob("*")) == []


def test_update_failing_on_a_later_field_keeps_the_earlier_ones_unchanged(
        org: Any, make_deal: Any) -> None:
    deal = make_deal()
    before = counts()

    with pytest.raises(InvalidInput) as refused:
        update_deal(acting_user=org.mona, deal=deal, version=1,
                    changes={"name": "Renamed", "amount": "1.00", "owner": org.bob,
                             "fields": {"segment": "galactic"}})

    assert refused.value.field == "fields.segment"
    assert counts() == before
    stored = reload(deal)
    assert (stored.name, stored.owner, stored.version) == (deal.name, org.alice, 1)
    assert deal.name == "Acme platform rollout"  # the caller's copy is not touched either


@pytest.mark.django_db(transaction=True)
def test_failure_at_commit_rolls_back_every_write_of_the_service(org: Any,
                                                                 make_deal: Any) -> None:
    # The contact disappears between the rep picking it and the service running; the
    # foreign key is only checked when the transaction commits, after the stakeholder row
    # and its audit row were written, so both must roll back together.
    deal = make_deal()
    contact = create_contact(acting_user=org.alice, account=None, first_name="Gone")
    Contact.objects.filter(pk=contact.pk).delete()
    before = counts()

    with pytest.raises(IntegrityError):
        name_stakeholder(acting_user=org.alice, deal=deal, contact=contact, role="champion")

    assert counts() == before
    assert not Stakeholder.objects.exists()
    assert not AuditEvent.objects.filter(action="stakeholder.name").exists()
