"""A process file comes from users: hostile or broken YAML yields problems, never a hang,
a crash or code execution."""

from __future__ import annotations

import gc
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from dealcraft.domain.process import parse_process
from dealcraft.domain.yamlsource import MAX_DEPTH, MAX_NODES, load

from .builders import VALID, edit, line_of, problems


class TookTooLong(Exception):
    pass


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Fail instead of hanging the suite when a guard is missing."""

    def expire(signum: int, frame: object) -> None:
        raise TookTooLong(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def billion_laughs(levels: int = 9) -> str:
    lines = ['lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels + 1):
        lines.append(f"lol{i}: &lol{i} [" + ", ".join([f"*lol{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def test_a_billion_laughs_alias_bomb_is_refused_without_expanding_it() -> None:
    with deadline(10):
        found = problems(billion_laughs())
    assert len(found) == 1
    [(line, message)] = found
    assert line >= 1
    assert f"more than {MAX_NODES:,} values" in message
    assert "aliases" in message


def test_an_alias_bomb_inside_a_real_process_file_is_refused() -> None:
    bomb = billion_laughs().replace("\n", "\n  ").rstrip() + "\n"
    text = edit("currency: EUR\n", "currency: EUR\ndescription:\n  " + bomb)
    with deadline(10):
        [(_, message)] = problems(text)
    assert "aliases" in message


def test_modest_reuse_of_anchors_is_fine() -> None:
    text = edit("roles: [champion]", "roles: &buyers [champion, economic_buyer]")
    text = edit("      - key: seats_known\n",
                "      - key: buyers_named\n"
                "        kind: stakeholder\n"
                "        roles: *buyers\n"
                "        count: 2\n"
                "        label: Both buyers named\n"
                "      - key: seats_known\n", text)
    process, found = parse_process(text)
    assert found == []
    assert process is not None
    assert process.criterion("buyers_named").roles == (  # type: ignore[union-attr]
        "champion", "economic_buyer")


def test_an_alias_to_its_own_container_is_refused() -> None:
    assert load("a: &loop [1, *loop]\n")[1][0].message == (
        "an alias refers to a value that contains it")
    text = edit("  skip: gates\n", "  skip: &me {again: *me}\n")
    assert (line_of(text, "&me"), "an alias refers to a value that contains it") in \
        problems(text)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 10_000, 100_000])
def test_deeply_nested_flow_lists_are_refused(depth: int) -> None:
    text = "name: " + "[" * depth + "]" * depth + "\n"
    with deadline(10):
        found = problems(text)
    assert found == [(1, f"values are nested more than {MAX_DEPTH} levels deep")]


def test_deeply_nested_block_mappings_are_refused_at_the_line_going_too_deep() -> None:
    text = "".join("  " * i + "a:\n" for i in range(MAX_DEPTH + 20)) + "  " * 200 + "b\n"
    assert problems(text) == [(MAX_DEPTH, f"values are nested more than {MAX_DEPTH} levels deep")]


def test_nesting_within_the_limit_is_read() -> None:
    value, found = load("a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n")
    assert found == []
    for _ in range(MAX_DEPTH - 1):
        value = value["a"] if isinstance(value, dict) else value[0] if value else None
    assert value == []


@pytest.mark.parametrize(("written", "says"), [
    ("1: one", "key 1 must be text (quote it)"),
    ("true: yes", "key true must be text (quote it)"),
    ("~: nothing", "key ~ must be text (quote it)"),
    ("2024-01-31: a date", "key 2024-01-31 must be text (quote it)"),
    ("? [a, b]\n: list", "a list cannot be a key"),
    ("? {a: 1}\n: mapping", "a mapping cannot be a key"),
])
def test_keys_that_are_not_text_are_reported(written: str, says: str) -> None:
    text = edit("currency: EUR\n", f"currency: EUR\n{written}\n")
    assert (3, says) in problems(text)


def test_a_stage_key_that_is_a_number_is_reported() -> None:
    text = edit("  - key: third\n", "  - key: 3\n")
    assert (line_of(text, "- key: 3"), "stage key must be a key (text), not a number") in \
        problems(text)


@pytest.mark.parametrize("tagged", [
    "!!python/object/apply:os.makedirs [{path}]",
    "!!python/object/new:os.makedirs [{path}]",
    "!!python/object:os.makedirs {{name: {path}}}",
    "!!python/name:os.makedirs ''",
    "!!python/module:os ''",
])
def test_python_tags_are_refused_and_never_run(tagged: str, tmp_path: Path) -> None:
    target = tmp_path / "created-by-yaml"
    text = edit("name: Test process", "name: " + tagged.format(path=str(target)))
    found = problems(text)
    assert (1, f"tag '{tagged.split()[0].replace('!!', 'tag:yaml.org,2002:')}' is not allowed") \
        in found
    assert not target.exists()


def test_local_tags_are_refused() -> None:
    text = edit("name: Test process", "name: !vault secret/name")
    assert (1, "tag '!vault' is not allowed") in problems(text)


def test_standard_tags_are_understood() -> None:
    process, found = parse_process(edit("name: Test process", "name: !!str 2024"))
    assert found == []
    assert process is not None and process.name == "2024"


@pytest.mark.parametrize(("value", "says"), [
    ("2024-13-45", "cannot read '2024-13-45' as a date: month must be in 1..12"),
    ("2024-02-30", "cannot read '2024-02-30' as a date: day is out of range for month"),
    ("!!int forty", "cannot read 'forty' as a whole number: invalid literal for int()"),
    ("!!float many", "cannot read 'many' as a number: could not convert"),
    ("!!timestamp yesterday", "cannot read 'yesterday' as a date"),
    ("!!bool maybe", "cannot read 'maybe' as true/false"),
])
def test_a_value_yaml_cannot_build_is_a_problem_at_its_line(value: str, says: str) -> None:
    text = edit("threshold: 50", f"threshold: {value}")
    line = line_of(text, "threshold:")
    assert any(n == line and says in m for n, m in problems(text)), problems(text)


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\ufffe"])
def test_control_characters_are_reported_at_their_line(char: str) -> None:
    text = edit("threshold: 50", f"threshold: 5{char}")
    assert problems(text) == [
        (line_of(VALID, "threshold: 50"),
         f"YAML syntax error: character U+{ord(char):04X} is not allowed")]


def test_very_long_text_values_are_accepted() -> None:
    long = "x" * 2_000_000
    process, found = parse_process(edit("purpose: Qualify", f"purpose: {long}"))
    assert found == []
    assert process is not None and process.stage("second").purpose == long


def test_a_very_long_key_is_refused_by_yaml_itself() -> None:
    text = edit("currency: EUR\n", "currency: EUR\n" + "k" * 2000 + ": x\n")
    assert problems(text) == [(3, "YAML syntax error: could not find expected ':'")]


def test_a_long_unknown_key_is_reported_once() -> None:
    key = "k" * 1000
    text = edit("currency: EUR\n", f"currency: EUR\n{key}: x\n")
    [(line, message)] = problems(text)
    assert line == 3 and message.startswith(f"unknown key '{key}' in the process file")


def test_thousands_of_problems_are_all_reported() -> None:
    extra = "".join(f"unknown_{i}: {i}\n" for i in range(5000))
    found = problems(edit("currency: EUR\n", "currency: EUR\n" + extra))
    assert len(found) == 5000
    assert [line for line, _ in found] == list(range(3, 5003))


def test_unicode_text_is_welcome_where_text_belongs() -> None:
    name = "Vertriebsprozess — 販売プロセス 🚀"
    process, found = parse_process(edit("name: Test process", f"name: {name}"))
    assert found == []
    assert process is not None and process.name == name


@pytest.mark.parametrize("key", ["étape", "стадия", "stage\u200b", "ｓｔａｇｅ", "stage🚀"])
def test_unicode_is_refused_in_keys(key: str) -> None:
    text = edit("  - key: third\n", f"  - key: {key}\n")
    assert any(n == line_of(text, f"- key: {key}") and f"stage key '{key}' is not a valid key"
               in m for n, m in problems(text))


def test_an_unknown_unicode_top_level_key_is_named() -> None:
    text = edit("currency: EUR\n", "currency: EUR\nnóm: x\n")
    [(line, message)] = problems(text)
    assert line == 3 and message.startswith("unknown key 'nóm' in the process file")


def test_byte_order_mark_and_windows_line_endings_are_read() -> None:
    assert problems("\ufeff" + VALID) == []
    text = edit("threshold: 50", "threshold: 500").replace("\n", "\r\n")
    assert problems(text) == [
        (line_of(VALID, "threshold: 50"), "qualification.threshold 500 is out of range (0 to 100)")]


def test_loading_keeps_no_parse_tree_alive() -> None:
    def live_nodes() -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if isinstance(o, yaml.Node))

    parse_process(VALID)
    before = live_nodes()
    for _ in range(5):
        parse_process(VALID)
    assert live_nodes() == before
