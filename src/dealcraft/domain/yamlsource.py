"""YAML loading that remembers where every value came from.

PyYAML's composer gives nodes with their line; we turn the node tree into plain dicts and lists
that also carry the line of each key and item, so that validation can point at the exact line
of a problem. Duplicate mapping keys, which PyYAML would silently overwrite, are reported.

A process file arrives from users, so loading is bounded: only the standard YAML tags are
accepted, nesting is limited, and aliases cannot expand the file into more than `MAX_NODES`
values (the "billion laughs" attack costs a few bytes of YAML and gigabytes of memory).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

MAX_NODES = 200_000
MAX_DEPTH = 100
# The tags SafeLoader can build; anything else (`!!python/object`, local `!tags`) is refused.
SAFE_TAGS = frozenset(tag for tag in yaml.SafeLoader.yaml_constructors if tag is not None)
_MERGE_TAG = "tag:yaml.org,2002:merge"
_TAG_NAMES = {"timestamp": "a date", "int": "a whole number", "float": "a number",
              "bool": "true/false", "binary": "base64 data"}


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


class _Loader(yaml.SafeLoader):
    """SafeLoader whose composer stops at `MAX_DEPTH` instead of exhausting the stack."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _Refused(self.peek_event().start_mark.line + 1,
                               f"values are nested more than {MAX_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _Refused(Exception):
    """The file is too large or too deep to read safely; carries the one problem to report."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.problem = Problem(line, message)


class _Converter:
    def __init__(self, loader: _Loader, problems: list[Problem]) -> None:
        self.loader = loader
        self.problems = problems
        self.count = 0
        # Nodes being converted on the current path: an alias to one of them is a cycle.
        self.open: set[int] = set()

    def convert(self, node: yaml.Node) -> Any:
        line = node.start_mark.line + 1
        self.count += 1
        if self.count > MAX_NODES:
            raise _Refused(line, f"the file expands to more than {MAX_NODES:,} values; "
                                 "aliases (*name) may be repeating a large value")
        if node.tag not in SAFE_TAGS:
            self.problems.append(Problem(line, f"tag '{node.tag}' is not allowed"))
            return None
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, line)
        if id(node) in self.open:
            self.problems.append(Problem(line, "an alias refers to a value that contains it"))
            return None
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self.mapping(node, line)
            assert isinstance(node, yaml.SequenceNode)  # the composer builds no other kind
            return self.sequence(node, line)
        finally:
            self.open.discard(id(node))

    def scalar(self, node: yaml.ScalarNode, line: int) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except Exception as exc:  # PyYAML's constructors fail in many ways on explicit tags
            kind = node.tag.rsplit(":", 1)[-1]
            kind = _TAG_NAMES.get(kind, kind)
            reason = getattr(exc, "problem", None) or (
                str(exc) if isinstance(exc, ValueError) else "")
            self.problems.append(Problem(
                line, f"cannot read {node.value!r} as {kind}" + (f": {reason}" if reason else "")))
            return node.value

    def mapping(self, node: yaml.MappingNode, line: int) -> LDict:
        out = LDict()
        out.line = line
        out.key_lines = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if key_node.tag == _MERGE_TAG:
                self.problems.append(
                    Problem(key_line, "YAML merge keys ('<<') are not supported"))
                continue
            key = self.convert(key_node)
            if not isinstance(key, str):
                if isinstance(key_node, yaml.ScalarNode):
                    message = f"key {key_node.value or '~'} must be text (quote it)"
                else:
                    message = f"{_type_of(key_node)} cannot be a key"
                self.problems.append(Problem(key_line, message))
                key = str(key)
            if key in out:
                self.problems.append(
                    Problem(
                        key_line,
                        f"duplicate key '{key}' (first on line {out.key_lines[key]})",
                    )
                )
                continue
            out[key] = self.convert(value_node)
            out.key_lines[key] = key_line
        return out

    def sequence(self, node: yaml.SequenceNode, line: int) -> LList:
        seq = LList()
        seq.line = line
        seq.item_lines = []
        for item in node.value:
            seq.append(self.convert(item))
            seq.item_lines.append(item.start_mark.line + 1)
        return seq


def _type_of(node: yaml.Node) -> str:
    return "a mapping" if isinstance(node, yaml.MappingNode) else "a list"


def load(text: str) -> tuple[Any, list[Problem]]:
    """Parse YAML text into line-aware values; syntax errors become problems, not exceptions."""
    problems: list[Problem] = []
    # A loader per call: PyYAML caches every constructed node on the loader, so a shared one
    # would keep each file ever loaded alive.
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:
        # Raised before any token is read: its mark is a character position, not a line.
        line = text.count("\n", 0, exc.position) + 1
        char = exc.character
        shown = f"U+{char:04X}" if isinstance(char, int) else repr(char)
        return None, [Problem(line, f"YAML syntax error: character {shown} is not allowed")]
    try:
        node = loader.get_single_node()
        if node is None:
            return None, [Problem(0, "the file is empty")]
        return _Converter(loader, problems).convert(node), problems
    except _Refused as exc:
        return None, [exc.problem]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        reason = exc.problem or exc.context or "invalid YAML"
        # The error often surfaces lines after its cause (an unclosed quote is noticed at the
        # end of the file), so say where the construct being read began.
        if exc.problem and exc.context and exc.context_mark \
                and exc.context_mark.line + 1 != line:
            reason += f" ({exc.context} on line {exc.context_mark.line + 1})"
        return None, [Problem(line, f"YAML syntax error: {reason}")]
    except yaml.YAMLError as exc:
        return None, [Problem(1, f"YAML error: {exc}")]
    finally:
        loader.dispose()
