"""Every command, option and setting is documented; a test fails when one is not."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from dealcraft.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
CLI_DOC = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
SETTINGS_DOC = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
SETTING_RE = re.compile(r"\bDEALCRAFT_[A-Z0-9_]+\b")


def commands(parser: argparse.ArgumentParser,
             path: tuple[str, ...] = ()) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Each command that does something (`process validate`, not `process`), with its parser."""
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        yield " ".join(path), parser
    for group in groups:
        for name, sub in group.choices.items():
            yield from commands(sub, (*path, name))


def arguments(parser: argparse.ArgumentParser) -> Iterator[str]:
    """How each option and positional argument is written on the command line."""
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        if action.option_strings:
            yield from action.option_strings
        else:
            yield str(action.metavar or action.dest.upper())


def sections() -> dict[str, str]:
    """The text of each `## dealcraft …` section of docs/cli.md, by command."""
    parts = re.split(r"^## dealcraft (.+)$", CLI_DOC, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


COMMANDS = dict(commands(build_parser()))


def test_the_cli_has_the_commands_operators_rely_on() -> None:
    assert set(COMMANDS) == {
        "migrate", "createuser", "token create", "token list", "token revoke",
        "process validate", "process apply", "process show", "report pipeline", "serve", "demo",
        "report stuck", "report velocity", "report cohorts", "report losses", "report adherence",
        "report changes", "report forecast", "report accuracy", "report calibration",
        "report criteria", "report refresh",
        "webhooks deliver", "webhooks list",
        "export", "backup", "restore",
        "import salesforce", "import hubspot", "import pipedrive", "import csv",
        "forecast snapshot",
    }


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_and_its_options_are_documented(command: str) -> None:
    section = sections().get(command)
    assert section is not None, f"docs/cli.md has no '## dealcraft {command}' section"
    missing = [arg for arg in arguments(COMMANDS[command])
               if not re.search(rf"(?<![\w-]){re.escape(arg)}(?![\w-])", section)]
    assert not missing, f"docs/cli.md '## dealcraft {command}' does not mention {missing}"


def test_the_top_level_options_are_documented() -> None:
    intro = CLI_DOC.split("\n## ", 1)[0]
    for arg in arguments(build_parser()):
        assert arg in intro, f"the introduction of docs/cli.md does not mention {arg}"


def test_docs_describe_no_command_that_does_not_exist() -> None:
    assert set(sections()) <= set(COMMANDS)


def settings_used_in_src() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "src" / "dealcraft").rglob("*.py"):
        found |= set(SETTING_RE.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_setting_read_in_src_is_documented() -> None:
    documented = set(re.findall(r"^## `(DEALCRAFT_[A-Z0-9_]+)`$", SETTINGS_DOC, re.MULTILINE))
    used = settings_used_in_src()

    assert used, "no DEALCRAFT_* variable found under src/: the search is broken"
    assert not used - documented, f"docs/settings.md has no section for {used - documented}"
    assert not documented - used, f"docs/settings.md documents unknown {documented - used}"
