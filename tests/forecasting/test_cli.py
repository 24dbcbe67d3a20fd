"""`dealcraft forecast snapshot`: once per week, safe to run from cron."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from dealcraft.cli import main
from dealcraft.forecasting.models import ForecastSnapshot

pytestmark = pytest.mark.django_db


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_snapshot_command_takes_the_week_once(org: Any, make_deal: Any,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    make_deal(amount="1000", expected_close=date(2026, 11, 20))
    code, out, _ = run(capsys, "forecast", "snapshot", "--date", "2026-11-18")
    assert code == 0
    assert out.strip() == ("took the forecast snapshot for the week of 2026-11-16 (2026-Q4): "
                           "1 line")
    code, out, _ = run(capsys, "forecast", "snapshot", "--date", "2026-11-22")
    assert code == 0 and "already taken; nothing changed" in out
    assert ForecastSnapshot.objects.count() == 1


def test_snapshot_command_refuses_a_bad_date(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["forecast", "snapshot", "--date", "18/11/2026"])
    assert exit_info.value.code == 2
    assert "is not a date (YYYY-MM-DD)" in capsys.readouterr().err
