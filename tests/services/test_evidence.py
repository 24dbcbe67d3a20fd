"""Recording evidence against exit criteria: notes, http(s) links and safe files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dealcraft.audit.models import AuditEvent
from dealcraft.deals.models import Deal, Evidence
from dealcraft.deals.services import record_evidence
from dealcraft.errors import InvalidInput, NotAllowed

from .conftest import reload

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def deal(make_deal: Any) -> Deal:
    return make_deal()


def test_text_evidence_records_who_when_and_for_which_stage(org: Any, deal: Deal) -> None:
    evidence = record_evidence(acting_user=org.alice, deal=deal, criterion="problem_confirmed",
                               text="  Ops lead: 'month-end close takes 9 days'  ")

    stored = Evidence.objects.get(pk=evidence.pk)
    assert stored.kind == "text"
    assert stored.text == "Ops lead: 'month-end close takes 9 days'"
    assert stored.stage == "qualification"
    assert stored.recorded_by == org.alice
    assert stored.recorded_at is not None
    event = AuditEvent.objects.get(action="evidence.record")
    assert event.changes == {"criterion": "problem_confirmed", "kind": "text"}
    assert event.deal_id == deal.pk


def test_evidence_for_the_handoff_belongs_to_won(org: Any, deal: Deal) -> None:
    evidence = record_evidence(acting_user=org.alice, deal=deal, criterion="handoff_risks",
                               text="IT capacity in Q3")

    assert evidence.stage == "won"


def test_empty_text_evidence_is_refused(org: Any, deal: Deal) -> None:
    with pytest.raises(InvalidInput) as refused:
        record_evidence(acting_user=org.alice, deal=deal, criterion="problem_confirmed",
                        text="   ")

    assert refused.value.field == "text"


@pytest.mark.parametrize("url", ["https://docs.buyer.example/minutes/2024-05-02",
                                 "http://intranet.example.com/notes?id=7"])
def test_http_and_https_links_are_accepted(org: Any, deal: Deal, url: str) -> None:
    evidence = record_evidence(acting_user=org.alice, deal=deal, criterion="problem_confirmed",
                               kind="link", url=url, text="Meeting minutes")

    stored = Evidence.objects.get(pk=evidence.pk)
    assert (stored.kind, stored.url, stored.text) == ("link", url, "Meeting minutes")


@pytest.mark.parametrize("url", ["javascript:alert(document.cookie)",
                                 "JavaScript:alert(1)",
                                 "data:text/html,<script>alert(1)</script>",
                                 "ftp://files.example.com/notes.txt",
                                 "file:///etc/passwd",
                                 "https://",
                                 "not a link",
                                 ""])
def test_links_other_than_http_are_refused_and_nothing_is_written(
        org: Any, deal: Deal, url: str) -> None:
    audited = AuditEvent.objects.count()

    with pytest.raises(InvalidInput) as refused:
        record_evidence(acting_user=org.alice, deal=deal, criterion="problem_confirmed",
                        kind="link", url=url)

    assert refused.value.field == "url"
    assert not Evidence.objects.exists()
    assert AuditEvent.objects.count() == audited
    assert reload(deal).updated_at == deal.updated_at


def test_pdf_file_is_stored_with_its_name_type_and_size(org: Any, deal: Deal,
                                                        media: Path) -> None:
    upload = SimpleUploadedFile("business-case.pdf", PDF, content_type="application/pdf")

    evidence = record_evidence(acting_user=org.alice, deal=deal, criterion="problem_confirmed",
                               kind="file", file=upload, text="Signed-off business case")

    stored = Evidence.objects.get(pk=evidence.pk)
    assert (stored.kind, stored.file_name, stored.content_type, stored.size) == (
        "file", "business-case.pdf", "application/pdf", len(PDF))
    assert Path(stored.file.path).is_relative_to(media)
    with stored.file.open("rb") as fh:
        assert fh.read() == PDF


def test_file_larger_than_the_limit_is_refused(org: Any, deal: Deal, media: Path,
                                               settings: Any) -> None:
    settings.DEALCRAFT_EVIDENCE_MAX_BYTES = len(PDF) - 1
    upload = SimpleUploadedFile("big.pdf", PDF, content_type="application/pdf")

    with pytest.raises(InvalidInput) as refused:
        record_evidence(acting_user=org.alice, deal=deal, criterion="problem_confirmed",
                        kind="file", file=upload)

    assert refused.value.field == "file"
    assert not Evidence.objects.exists()
    assert not any(media.rglob("*"))


def test_file_exactly_at_the_limit_is_accepted(org: Any, deal: Deal, media: Path,
                                               settings: Any) -> None:
    settings.DEALCRAFT_EVIDENCE_MAX_BYTES = len(PDF)
    upload = SimpleUploadedFile("exact.pdf", PDF, content_type="application/pdf")

    record_evidence(acting_user=org.alice, deal=deal, criterion="problem_confirmed",
                    kind="file", file=upload)

    assert Evidence.objects.count() == 1


@pytest.mark.parametrize("content_type", ["application/x-msdownload",
                                          "application/x-dosexec",
                                          "text/html",
                                          "application/octet-stream",
                                          ""])
def test_executable_and_unknown_file_types_are_refused(org: Any, deal: Deal, media: Path,
                                                       content_type: str) -> None:
    upload = SimpleUploadedFile("setup.exe", b"MZ\x90\x00" + b"\x00" * 60,
                                content_type=content_type)

    with pytest.raises(InvalidInput) as refused:
        record_evidence(acting_user=org.alice, deal=deal, criterion="problem_confirmed",
                        kind="file", file=upload)

    assert refused.value.field == "file"
    assert not Evidence.objects.exists()


def test_file_kind_without_a_file_is_refused(org: Any, deal: Deal) -> None:
    with pytest.raises(InvalidInput) as refused:
        record_evidence(acting_user=org.alice, deal=deal, criterion="problem_confirmed",
                        kind="file")

    assert refused.value.field == "file"


def test_unknown_criterion_is_refused(org: Any, deal: Deal) -> None:
    with pytest.raises(InvalidInput) as refused:
        record_evidence(acting_user=org.alice, deal=deal, criterion="vibes_are_good",
                        text="Trust me")

    assert refused.value.field == "criterion"
    assert not Evidence.objects.exists()


def test_unknown_evidence_kind_is_refused(org: Any, deal: Deal) -> None:
    with pytest.raises(InvalidInput) as refused:
        record_evidence(acting_user=org.alice, deal=deal, criterion="problem_confirmed",
                        kind="video", text="Recording")

    assert refused.value.field == "kind"


@pytest.mark.parametrize("persona", ["charlie", "vera", "bob"])
def test_only_people_who_may_edit_the_deal_record_evidence(org: Any, deal: Deal,
                                                           persona: str) -> None:
    with pytest.raises(NotAllowed):
        record_evidence(acting_user=getattr(org, persona), deal=deal,
                        criterion="problem_confirmed", text="Not my deal")

    assert not Evidence.objects.exists()


def test_manager_records_evidence_on_a_team_deal(org: Any, deal: Deal) -> None:
    evidence = record_evidence(acting_user=org.mona, deal=deal, criterion="problem_confirmed",
                               text="Heard it from the CFO myself")

    assert evidence.recorded_by == org.mona
