"""POST /deals/{id}/evidence: notes and links as JSON, files as multipart, with limits."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dealcraft.deals.models import Evidence

from .conftest import assert_problem


@pytest.fixture(autouse=True)
def media_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


def test_a_text_note_is_recorded(org: Any, api_as: Any, make_deal: Any) -> None:
    deal = make_deal()

    response = api_as(org.alice).post(f"/deals/{deal.pk}/evidence", {
        "criterion": "problem_confirmed", "text": "Month-end close takes 9 days"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "text" and body["criterion"] == "problem_confirmed"
    assert body["stage"] == "qualification"
    assert body["text"] == "Month-end close takes 9 days"
    assert body["recorded_by"] == "alice"


def test_a_link_is_recorded(org: Any, api_as: Any, make_deal: Any) -> None:
    deal = make_deal()

    response = api_as(org.alice).post(f"/deals/{deal.pk}/evidence", {
        "criterion": "problem_confirmed", "kind": "link",
        "url": "https://docs.example.com/call-notes", "text": "Call notes"})

    assert response.status_code == 201, response.content
    assert response.json()["url"] == "https://docs.example.com/call-notes"


def test_a_link_must_be_http(org: Any, api_as: Any, make_deal: Any) -> None:
    deal = make_deal()

    body = assert_problem(api_as(org.alice).post(f"/deals/{deal.pk}/evidence", {
        "criterion": "problem_confirmed", "kind": "link", "url": "javascript:alert(1)"}), 422)

    assert body["field"] == "url"


def test_an_unknown_criterion_is_a_422(org: Any, api_as: Any, make_deal: Any) -> None:
    deal = make_deal()

    body = assert_problem(api_as(org.alice).post(f"/deals/{deal.pk}/evidence", {
        "criterion": "vibes", "text": "Good vibes"}), 422)

    assert body["field"] == "criterion"


def test_a_file_is_uploaded_as_multipart(org: Any, api_as: Any, make_deal: Any) -> None:
    deal = make_deal()
    pdf = SimpleUploadedFile("order form.pdf", b"%PDF-1.4 signed", content_type="application/pdf")

    response = api_as(org.alice).upload(f"/deals/{deal.pk}/evidence", {
        "criterion": "problem_confirmed", "text": "Signed order", "file": pdf})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "file"
    assert body["file_name"] == "order form.pdf"
    assert body["content_type"] == "application/pdf" and body["size"] == 15
    stored = Evidence.objects.get(pk=body["id"])
    with stored.file.open("rb") as fh:
        assert fh.read() == b"%PDF-1.4 signed"


def test_a_file_over_the_limit_gets_413(org: Any, api_as: Any, make_deal: Any,
                                        settings: Any) -> None:
    settings.DEALCRAFT_EVIDENCE_MAX_BYTES = 1024
    deal = make_deal()
    big = SimpleUploadedFile("big.pdf", b"x" * 2048, content_type="application/pdf")

    response = api_as(org.alice).upload(f"/deals/{deal.pk}/evidence", {
        "criterion": "problem_confirmed", "file": big})

    body = assert_problem(response, 413, "payload-too-large")
    assert body["max_bytes"] == 1024
    assert not Evidence.objects.exists()


def test_a_body_far_over_the_limit_is_refused_before_it_is_read(
        org: Any, api_as: Any, make_deal: Any, settings: Any) -> None:
    settings.DEALCRAFT_EVIDENCE_MAX_BYTES = 1024
    deal = make_deal()
    huge = SimpleUploadedFile("huge.pdf", b"x" * (400 * 1024), content_type="application/pdf")

    response = api_as(org.alice).upload(f"/deals/{deal.pk}/evidence", {
        "criterion": "problem_confirmed", "file": huge})

    assert_problem(response, 413, "payload-too-large")


def test_a_json_body_over_djangos_limit_gets_413(org: Any, api_as: Any, make_deal: Any,
                                                 settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    deal = make_deal()

    response = api_as(org.alice).post(f"/deals/{deal.pk}/evidence", {
        "criterion": "problem_confirmed", "text": "x" * 5000})

    assert_problem(response, 413, "payload-too-large")


def test_a_file_of_the_wrong_type_is_a_422(org: Any, api_as: Any, make_deal: Any) -> None:
    deal = make_deal()
    exe = SimpleUploadedFile("setup.exe", b"MZ\x90\x00", content_type="application/x-msdownload")

    body = assert_problem(api_as(org.alice).upload(f"/deals/{deal.pk}/evidence", {
        "criterion": "problem_confirmed", "file": exe}), 422)

    assert body["field"] == "file"
    assert not Evidence.objects.exists()


def test_a_multipart_body_without_a_file_records_a_note(org: Any, api_as: Any,
                                                        make_deal: Any) -> None:
    deal = make_deal()

    response = api_as(org.alice).upload(f"/deals/{deal.pk}/evidence", {
        "criterion": "problem_confirmed", "text": "Typed into a form"})

    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "text"


def test_a_teammate_cannot_add_evidence_to_alices_deal(org: Any, api_as: Any,
                                                       make_deal: Any) -> None:
    deal = make_deal()

    assert_problem(api_as(org.bob).post(f"/deals/{deal.pk}/evidence", {
        "criterion": "problem_confirmed", "text": "Not my deal"}), 403)
