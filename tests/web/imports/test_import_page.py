"""The import page: ops upload an export, map its stages, see a dry run, import, and get the
row-level error report; nobody else gets in, and wrong files are refused with a reason."""

from __future__ import annotations

import io
import re
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from dealcraft.audit.models import AuditEvent
from dealcraft.deals.models import Deal, StageHistory
from dealcraft.transfer import jobs
from dealcraft.transfer.models import ImportRun

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[2] / "imports" / "fixtures" / "salesforce"

#: A hand-written CSV export of a legacy tool, as a Windows spreadsheet saves it (cp1252,
#: semicolons, decimal commas), with its history file and mapping.
DEALS = (
    "Réf;Affaire;Étape;Montant;Devise;Clôture prévue\r\n"
    "D-1;Crème & Co — CRM;Qualifié;12 500,50;EUR;30/06/2024\r\n"
    "D-2;Zoë GmbH Rollout;Gagné;48.000,00;CHF;30/09/2024\r\n"
)
HISTORY = (
    "Réf;Date;Étape\r\n"
    "D-1;2024-03-02T09:00:00Z;Qualifié\r\n"
    "D-1;2024-04-02T10:30:00Z;Qualifié\r\n"
    "D-2;2024-04-10T08:00:00Z;Qualifié\r\n"
    "D-2;2024-05-10T08:00:00Z;Gagné\r\n"
)
MAPPING = """\
source: legacy
columns:
  id: Réf
  name: Affaire
  stage: Étape
  amount: Montant
  currency: Devise
  close_date: Clôture prévue
stages:
  - Qualifié
  - {name: Gagné, won: true}
history:
  file: history.csv
  columns: {deal: Réf, at: Date, stage: Étape}
"""


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    # The test database is visible to this thread only: jobs run here instead of in a
    # thread of their own (the same code, called directly).
    monkeypatch.setattr(jobs, "RUN_IN_BACKGROUND", False)
    return tmp_path / "media"


def zipped(folder: Path, prefix: str = "export/") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, prefix + path.name)
    return SimpleUploadedFile("salesforce-export.zip", buffer.getvalue(),
                              content_type="application/zip")


def signed_in(org: Any, persona: str) -> Client:
    client = Client()
    client.force_login(getattr(org, persona))
    return client


def upload(client: Client, source: str, *files: SimpleUploadedFile) -> Any:
    return client.post("/imports/", {"source": source, "files": list(files)})


def run_id(response: Any) -> int:
    match = re.fullmatch(r"/imports/(\d+)/", response["Location"])
    assert match, response["Location"]
    return int(match.group(1))


def test_ops_imports_a_salesforce_export_step_by_step(
        org: Any, django_capture_on_commit_callbacks: Any) -> None:
    client = signed_in(org, "olivia")
    response = upload(client, "salesforce", zipped(FIXTURES / "acme"))
    assert response.status_code == 302
    run = run_id(response)
    page = client.get(f"/imports/{run}/").content.decode()
    assert "Négociation  / Revue" in page and "Closed Won" in page
    assert "Keep them as a process of their own" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/imports/{run}/mapping/", {"mode": "keep"})
    assert response.status_code == 302
    assert ImportRun.objects.get(pk=run).status == "previewed"
    assert Deal.objects.count() == 0  # a dry run writes nothing
    page = client.get(f"/imports/{run}/").content.decode()
    assert "Dry run: what the import would do" in page
    assert re.search(r'<th scope="row">deals</th><td class="num">4</td>', page)
    assert "Import now" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/imports/{run}/run/")
    assert response.status_code == 302
    finished = ImportRun.objects.get(pk=run)
    assert finished.status == "done" and finished.result["committed"]
    assert Deal.objects.filter(external_source="salesforce").count() == 4
    assert StageHistory.objects.filter(deal__external_source="salesforce").exists()
    page = client.get(f"/imports/{run}/").content.decode()
    assert "Imported" in page and "Import now" not in page
    actions = set(AuditEvent.objects.filter(object_type="importrun")
                  .values_list("action", flat=True))
    assert {"import_run.create", "import_run.preview", "import_run.start",
            "import_run.finish"} <= actions


def test_stages_map_onto_the_active_process(org: Any,
                                            django_capture_on_commit_callbacks: Any) -> None:
    client = signed_in(org, "ada")
    run = run_id(upload(client, "salesforce", zipped(FIXTURES / "acme")))
    stages = ImportRun.objects.get(pk=run).stages
    incomplete = {"mode": "map", "stage-0": "qualification"}
    response = client.post(f"/imports/{run}/mapping/", incomplete)
    assert response.status_code == 422
    assert "choose a stage for" in response.content.decode()
    choice = {"mode": "map"}
    for i, name in enumerate(stages):
        choice[f"stage-{i}"] = ("won" if name == "Closed Won" else
                                "lost" if name == "Closed Lost" else "qualification")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/imports/{run}/mapping/", choice).status_code == 302
    preview = ImportRun.objects.get(pk=run).preview
    assert preview["stage_map"]["Closed Won"] == "won"
    assert set(preview["stage_map"].values()) <= {"won", "lost", "qualification"}


def test_an_import_cannot_run_before_its_dry_run(org: Any) -> None:
    client = signed_in(org, "olivia")
    run = run_id(upload(client, "salesforce", zipped(FIXTURES / "acme")))
    response = client.post(f"/imports/{run}/run/")
    assert response.status_code == 422
    assert "check the import (dry run) before running it" in response.content.decode()
    assert Deal.objects.count() == 0


def test_problems_stop_the_import_and_the_error_report_downloads(
        org: Any, django_capture_on_commit_callbacks: Any) -> None:
    client = signed_in(org, "olivia")
    run = run_id(upload(client, "salesforce", zipped(FIXTURES / "bad-values")))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/imports/{run}/mapping/", {"mode": "keep"})
    page = client.get(f"/imports/{run}/").content.decode()
    assert "stop the import" in page or "stops the import" in page
    assert "31/13/2024" in page and "Import now" not in page
    assert client.post(f"/imports/{run}/run/").status_code == 422
    report = client.get(f"/imports/{run}/errors.csv")
    assert report.status_code == 200
    assert "attachment" in report["Content-Disposition"]
    assert b"31/13/2024" in b"".join(report.streaming_content)


@pytest.mark.parametrize(("source", "name", "content", "message"), [
    ("salesforce", "Opportunity.csv", b"Id,Name\n1,A\n", "is not a zip file"),
    ("salesforce", "export.zip", b"Id,Name\n1,A\n", "its content is not a zip archive"),
    ("hubspot", "deals.pdf", b"%PDF-1.4", "is not a CSV or XLSX export"),
    ("pipedrive", "deals.csv", b"\x00\x01binary", "is not a text file"),
    ("hubspot", "deals.csv", b"", "is empty"),
    ("csv", "deals.csv", b"a,b\n", "with its mapping file (.yaml)"),
])
def test_wrong_files_are_refused_with_the_reason(org: Any, source: str, name: str,
                                                 content: bytes, message: str) -> None:
    client = signed_in(org, "olivia")
    response = upload(client, source, SimpleUploadedFile(name, content))
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not ImportRun.objects.exists()


def test_a_zip_without_an_export_or_with_unsafe_paths_is_refused(org: Any,
                                                                 media: Path) -> None:
    client = signed_in(org, "olivia")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("notes/readme.csv", "a,b\n")
    response = upload(client, "salesforce", SimpleUploadedFile("x.zip", buffer.getvalue()))
    assert "the zip has no Opportunity.csv" in response.content.decode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("../../evil/Opportunity.csv", "a,b\n")
    response = upload(client, "salesforce", SimpleUploadedFile("x.zip", buffer.getvalue()))
    assert "the zip holds an unsafe path" in response.content.decode()
    assert not (media.parent / "evil").exists()
    assert not ImportRun.objects.exists()
    # Nothing of a refused upload is left on the disk.
    assert list((media / "imports").iterdir()) == []


@pytest.mark.parametrize("persona", ["alice", "mona", "vera", "charlie"])
def test_reps_managers_and_viewers_cannot_import(org: Any, persona: str) -> None:
    client = signed_in(org, persona)
    assert client.get("/imports/").status_code == 403
    assert upload(client, "salesforce", zipped(FIXTURES / "acme")).status_code == 403
    assert not ImportRun.objects.exists()
    assert "/imports/" not in client.get("/deals/").content.decode()


def test_the_progress_panel_follows_a_running_import(org: Any) -> None:
    client = signed_in(org, "olivia")
    run = ImportRun.objects.get(pk=run_id(upload(client, "salesforce",
                                                 zipped(FIXTURES / "acme"))))
    run.status = "running"
    run.save()
    jobs.Progress(Path(run.folder)).write({"phase": "history", "rows": 1234,
                                           "at": time.time(), "rate": 617})
    page = client.get(f"/imports/{run.pk}/").content.decode()
    assert "Importing…" in page and "1234 rows so far" in page and "617 rows a second" in page
    assert 'hx-trigger="every 2s"' in page
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page
    panel = client.get(f"/imports/{run.pk}/progress/", HTTP_HX_REQUEST="true")
    assert "HX-Refresh" not in panel
    run.status = "done"
    run.save()
    panel = client.get(f"/imports/{run.pk}/progress/", HTTP_HX_REQUEST="true")
    assert panel["HX-Refresh"] == "true"


def test_an_import_whose_server_stopped_is_reported_interrupted(org: Any) -> None:
    client = signed_in(org, "olivia")
    run = ImportRun.objects.get(pk=run_id(upload(client, "salesforce",
                                                 zipped(FIXTURES / "acme"))))
    run.status = "running"
    run.save()
    jobs.Progress(Path(run.folder)).write({"phase": "deals", "rows": 10,
                                           "at": time.time() - jobs.STALE_AFTER - 1})
    page = client.get(f"/imports/{run.pk}/").content.decode()
    assert "stopped without finishing" in page
    assert ImportRun.objects.get(pk=run.pk).status == "failed"


def test_a_csv_with_its_history_and_mapping_file_imports(
        org: Any, django_capture_on_commit_callbacks: Any) -> None:
    client = signed_in(org, "olivia")
    response = upload(client, "csv",
                      SimpleUploadedFile("affaires.csv", DEALS.encode("cp1252")),
                      SimpleUploadedFile("history.csv", HISTORY.encode("cp1252")),
                      SimpleUploadedFile("affaires.map.yaml", MAPPING.encode()))
    assert response.status_code == 302, response.content.decode()
    run = run_id(response)
    assert ImportRun.objects.get(pk=run).stages == ["Qualifié", "Gagné"]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/imports/{run}/mapping/", {"mode": "keep"})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/imports/{run}/run/")
    assert ImportRun.objects.get(pk=run).status == "done"
    deal = Deal.objects.get(external_source="legacy", external_id="D-1")
    assert deal.name == "Crème & Co — CRM"
    assert StageHistory.objects.filter(deal=deal).count() >= 2
    assert Deal.objects.get(external_id="D-2").status == "won"
