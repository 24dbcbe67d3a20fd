"""YAML loading that remembers where every value came from.

PyYAML's composer gives nodes with their line; we turn the node tree into plain dicts and lists
that also carry the line of each key and item, so that validation can point at the exact line
of a problem. Duplicate mapping keys, which PyYAML would silently overwrite, are reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a process file, at a line (1-based; 0 when the file is empty)."""

    line: int
    message: str

    def format(self, filename: str) -> str:
        return f"{filename}:{self.line}: {self.message}"


class LDict(dict[str, Any]):
    """A mapping that knows the line it starts on and the line of each key."""

    line: int
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LList(list[Any]):
    """A sequence that knows the line it starts on and the line of each item."""

    line: int
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


def _convert(node: yaml.Node, problems: list[Problem]) -> Any:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = LDict()
        out.line = line
        out.key_lines = {}
        for key_node, value_node in node.value:
            key = _convert(key_node, problems)
            key_line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                problems.append(Problem(key_line, f"key {key!r} must be text"))
                key = str(key)
            if key == "<<":
                problems.append(Problem(key_line, "YAML merge keys ('<<') are not supported"))
                continue
            if key in out:
                problems.append(
                    Problem(
                        key_line,
                        f"duplicate key '{key}' (first on line {out.key_lines[key]})",
                    )
                )
                continue
            out[key] = _convert(value_node, problems)
            out.key_lines[key] = key_line
        return out
    if isinstance(node, yaml.SequenceNode):
        seq = LList()
        seq.line = line
        seq.item_lines = []
        for item in node.value:
            seq.append(_convert(item, problems))
            seq.item_lines.append(item.start_mark.line + 1)
        return seq
    return yaml.SafeLoader.construct_object(_SCALAR_LOADER, node, deep=True)


class _ScalarLoader(yaml.SafeLoader):
    def __init__(self) -> None:
        super().__init__("")


_SCALAR_LOADER = _ScalarLoader()


def load(text: str) -> tuple[Any, list[Problem]]:
    """Parse YAML text into line-aware values; syntax errors become problems, not exceptions."""
    problems: list[Problem] = []
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        reason = exc.problem or exc.context or "invalid YAML"
        return None, [Problem(line, f"YAML syntax error: {reason}")]
    except yaml.YAMLError as exc:
        return None, [Problem(1, f"YAML error: {exc}")]
    if node is None:
        return None, [Problem(0, "the file is empty")]
    try:
        value = _convert(node, problems)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        return None, [Problem(mark.line + 1 if mark else 1, f"YAML error: {exc.problem}")]
    return value, problems
