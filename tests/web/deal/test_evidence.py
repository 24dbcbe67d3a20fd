"""Evidence on the deal page: notes, links and files against a checklist criterion, and file
downloads for those who may read the deal."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dealcraft.deals.models import Evidence
from dealcraft.deals.services import advance_stage, record_evidence

from .conftest import parse

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def deal(org: Any, make_deal: Any) -> Any:
    """Alice's deal in qualification, whose checklist asks for evidence of the problem."""
    deal = make_deal()
    advance_stage(acting_user=org.alice, deal=deal, to="qualification")
    return deal


def test_a_note_meets_a_checklist_criterion(org: Any, deal: Any, signed_in: Any,
                                            page: Any) -> None:
    response = signed_in(org.alice).post(f"/deals/{deal.pk}/evidence/", {
        "criterion": "problem_confirmed", "text": "Month-end close takes 9 days"})

    assert response.status_code == 302
    assert response["Location"] == f"/deals/{deal.pk}/#criterion-problem_confirmed"
    item = page(org.alice, deal).testid("criterion-problem_confirmed")
    assert item.attrs["data-met"] == "true"
    assert "Month-end close takes 9 days" in item.text()
    assert "Alice" in item.text()
    (evidence,) = Evidence.objects.filter(deal=deal)
    assert (evidence.kind, evidence.recorded_by) == ("text", org.alice)


def test_a_link_is_recorded_as_a_link(org: Any, deal: Any, signed_in: Any, page: Any) -> None:
    signed_in(org.alice).post(f"/deals/{deal.pk}/evidence/", {
        "criterion": "problem_confirmed", "url": "https://docs.example.com/call-notes",
        "text": "Call notes"})

    item = page(org.alice, deal).testid("criterion-problem_confirmed")

    link = item.find("a", href="https://docs.example.com/call-notes")
    assert link is not None and "noopener" in link.attrs["rel"]
    assert Evidence.objects.get(deal=deal).kind == "link"


def test_a_javascript_link_is_refused_inline(org: Any, deal: Any, signed_in: Any) -> None:
    response = signed_in(org.alice).post(f"/deals/{deal.pk}/evidence/", {
        "criterion": "problem_confirmed", "url": "javascript:alert(1)"})

    assert response.status_code == 422
    html = parse(response.content)
    error = html.testid("evidence-error-problem_confirmed").text()
    assert "is not an http(s) link" in error
    assert html.find(id="ev-url-problem_confirmed").attrs["value"] == "javascript:alert(1)"  # type: ignore[union-attr]
    assert html.find(id="ev-url-problem_confirmed").attrs["aria-invalid"] == "true"  # type: ignore[union-attr]
    assert html.testid("form-error").find("a", href="#criterion-problem_confirmed") is not None
    assert not Evidence.objects.exists()


def test_an_empty_note_is_refused(org: Any, deal: Any, signed_in: Any) -> None:
    response = signed_in(org.alice).post(f"/deals/{deal.pk}/evidence/", {
        "criterion": "problem_confirmed", "text": "   "})

    assert response.status_code == 422
    assert "text must not be empty" in parse(response.content).testid(
        "evidence-error-problem_confirmed").text()


def test_a_file_is_uploaded_and_listed_with_its_download_link(org: Any, deal: Any,
                                                              signed_in: Any,
                                                              page: Any) -> None:
    upload = SimpleUploadedFile("call-notes.pdf", PDF, content_type="application/pdf")

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/evidence/", {
        "criterion": "problem_confirmed", "file": upload, "text": "Signed call notes"})

    assert response.status_code == 302
    evidence = Evidence.objects.get(deal=deal)
    assert (evidence.kind, evidence.file_name, evidence.size) == ("file", "call-notes.pdf",
                                                                  len(PDF))
    item = page(org.alice, deal).testid("criterion-problem_confirmed")
    assert item.find("a", href=f"/deals/{deal.pk}/evidence/{evidence.pk}/download/") is not None
    assert "Signed call notes" in item.text()


def test_a_file_of_a_refused_type_shows_the_error_and_stores_nothing(
        org: Any, deal: Any, signed_in: Any) -> None:
    upload = SimpleUploadedFile("payload.html", b"<script>alert(1)</script>",
                                content_type="text/html")

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/evidence/", {
        "criterion": "problem_confirmed", "file": upload})

    assert response.status_code == 422
    error = parse(response.content).testid("evidence-error-problem_confirmed").text()
    assert "files of type text/html are not accepted" in error
    assert not Evidence.objects.exists()


def test_a_file_over_the_size_limit_shows_the_error(org: Any, deal: Any, signed_in: Any,
                                                    settings: Any) -> None:
    settings.DEALCRAFT_EVIDENCE_MAX_BYTES = 1024 * 1024
    upload = SimpleUploadedFile("big.pdf", b"%PDF" + b"0" * (1024 * 1024),
                                content_type="application/pdf")

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/evidence/", {
        "criterion": "problem_confirmed", "file": upload})

    assert response.status_code == 422
    assert "larger than 1 MiB" in parse(response.content).testid(
        "evidence-error-problem_confirmed").text()
    assert not Evidence.objects.exists()


def test_the_download_is_an_attachment_that_is_never_sniffed(org: Any, deal: Any,
                                                             signed_in: Any) -> None:
    evidence = record_evidence(acting_user=org.alice, deal=deal, criterion="problem_confirmed",
                               kind="file", file=SimpleUploadedFile(
                                   "notes.pdf", PDF, content_type="application/pdf"))

    response = signed_in(org.bob).get(f"/deals/{deal.pk}/evidence/{evidence.pk}/download/")

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="notes.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/pdf"
    assert "sandbox" in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content) == PDF  # type: ignore[attr-defined]


def test_charlie_cannot_download_norths_evidence(org: Any, deal: Any, signed_in: Any) -> None:
    evidence = record_evidence(acting_user=org.alice, deal=deal, criterion="problem_confirmed",
                               kind="file", file=SimpleUploadedFile(
                                   "notes.pdf", PDF, content_type="application/pdf"))

    response = signed_in(org.charlie).get(f"/deals/{deal.pk}/evidence/{evidence.pk}/download/")

    assert response.status_code == 403
    assert PDF not in response.content


def test_anonymous_download_goes_to_sign_in(org: Any, deal: Any, client: Any) -> None:
    evidence = record_evidence(acting_user=org.alice, deal=deal, criterion="problem_confirmed",
                               kind="file", file=SimpleUploadedFile(
                                   "notes.pdf", PDF, content_type="application/pdf"))

    response = client.get(f"/deals/{deal.pk}/evidence/{evidence.pk}/download/")

    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_file_is_only_reachable_through_its_own_deal(org: Any, deal: Any, make_deal: Any,
                                                       signed_in: Any) -> None:
    evidence = record_evidence(acting_user=org.alice, deal=deal, criterion="problem_confirmed",
                               kind="file", file=SimpleUploadedFile(
                                   "notes.pdf", PDF, content_type="application/pdf"))
    other = make_deal(owner=org.charlie, name="South deal")

    response = signed_in(org.charlie).get(f"/deals/{other.pk}/evidence/{evidence.pk}/download/")

    assert response.status_code == 404


def test_a_note_has_no_download(org: Any, deal: Any, signed_in: Any) -> None:
    note = record_evidence(acting_user=org.alice, deal=deal, criterion="problem_confirmed",
                           text="Just words")

    response = signed_in(org.alice).get(f"/deals/{deal.pk}/evidence/{note.pk}/download/")

    assert response.status_code == 404


def test_the_page_shows_the_latest_evidence_and_links_to_the_rest(org: Any, deal: Any,
                                                                  signed_in: Any,
                                                                  page: Any) -> None:
    for n in range(7):
        record_evidence(acting_user=org.alice, deal=deal, criterion="problem_confirmed",
                        text=f"Note {n}")

    item = page(org.alice, deal).testid("criterion-problem_confirmed")
    everything = parse(signed_in(org.alice).get(
        f"/deals/{deal.pk}/evidence/?criterion=problem_confirmed").content)

    shown = [li.text() for li in item.find_all("li") if "evidence" in li.attrs.get("class", "")]
    assert len(shown) == 5 and shown[0].startswith("Note 6")
    assert "Show all 7 pieces of evidence" in item.text()
    assert len(everything.testid("evidence-list").find_all("li")) == 7


def test_only_checklist_criteria_take_evidence_others_link_to_their_form(
        org: Any, deal: Any, page: Any) -> None:
    html = page(org.alice, deal)

    assert html.has("evidence-form-problem_confirmed")
    assert not html.has("evidence-form-relevant_stakeholder")
    stakeholder = html.testid("criterion-relevant_stakeholder")
    assert stakeholder.find("a", href="#stakeholders") is not None
