"""Reading exports back: CSV as a spreadsheet would (after the byte-order mark), XLSX cells
with their types."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from dealcraft.cli import main
from dealcraft.people.services import create_token


def read_csv(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "a CSV export starts with a UTF-8 byte-order mark"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def read_xlsx(data: bytes | Path) -> list[dict[str, Any]]:
    """Each row as {header: cell}, the cell an openpyxl Cell (value and data_type)."""
    from openpyxl import load_workbook

    source = io.BytesIO(data) if isinstance(data, bytes) else data
    sheet = load_workbook(source).worksheets[0]
    rows = list(sheet.iter_rows())
    headers = [c.value for c in rows[0]]
    return [dict(zip(headers, row, strict=True)) for row in rows[1:]]


def body(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


@pytest.fixture
def web(org: Any) -> Any:
    def client(persona: str) -> Client:
        c = Client()
        c.force_login(getattr(org, persona))
        return c

    return client


@pytest.fixture
def api(org: Any) -> Any:
    def client(persona: str) -> Any:
        _, key = create_token(acting_user=None, user=getattr(org, persona))
        c = Client()

        def get(path: str, params: dict[str, str] | None = None) -> Any:
            return c.get("/api/v1" + path, params or {}, HTTP_AUTHORIZATION=f"Bearer {key}")

        return get

    return client


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Any:
    def call(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return call


def problem(response: Any) -> dict[str, Any]:
    return dict(json.loads(response.content))
