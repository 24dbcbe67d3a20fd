"""`dealcraft migrate`, and how the command reports errors: one line, never a traceback."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import run_program


@pytest.mark.django_db
def test_migrate_on_an_up_to_date_database_applies_nothing(run: Any) -> None:
    result = run("migrate")

    assert result.code == 0
    assert result.lines[-1] == "no migrations to apply; the database is up to date"


def test_migrate_on_a_new_database_lists_what_it_applied(program_env: dict[str, str]) -> None:
    first = run_program("migrate", env=program_env)
    again = run_program("migrate", env=program_env)

    assert first.code == 0, first.err
    assert first.lines[0].startswith("database: SQLite ")
    assert "applied migration people.0001_initial" in first.lines
    assert "applied migration deals.0001_initial" in first.lines
    assert again.lines[-1] == "no migrations to apply; the database is up to date"


def test_a_command_on_an_unmigrated_database_says_to_migrate(
        program_env: dict[str, str]) -> None:
    result = run_program("token", "list", env=program_env)

    assert result.code == 1
    assert "Traceback" not in result.err
    assert result.err.strip().startswith("dealcraft: database error: ")
    assert result.err.strip().endswith("(run `dealcraft migrate` first)")


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("DEALCRAFT_PORT", "eighty", "DEALCRAFT_PORT: expected an integer, got 'eighty'"),
    ("DEALCRAFT_DEBUG", "ture", "DEALCRAFT_DEBUG: expected one of"),
    ("DEALCRAFT_DATABASE_URL", "mysql://db/crm", "unsupported database URL scheme 'mysql'"),
])
def test_a_bad_setting_is_one_line_on_stderr(program_env: dict[str, str], variable: str,
                                             value: str, message: str) -> None:
    program_env[variable] = value

    result = run_program("migrate", env=program_env)

    assert result.code == 1
    assert result.out == ""
    assert len(result.err.strip().splitlines()) == 1
    assert result.err.startswith("dealcraft: configuration error: ")
    assert message in result.err


def test_no_command_is_a_usage_error(run: Any) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run()

    assert exit_info.value.code == 2
