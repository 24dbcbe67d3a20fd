"""The domain layer (``dealcraft.domain``) must stay free of Django and of the rest of dealcraft.

Checked two ways:

* statically, by parsing every ``.py`` file under ``src/dealcraft/domain/`` with ``ast``
  (``import`` / ``from ... import`` including relative imports, and literal
  ``importlib.import_module("...")`` / ``__import__("...")`` calls);
* dynamically, by importing every domain module in a fresh interpreter and checking that
  no Django module got loaded (catches imports through third-party libraries).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
DOMAIN = SRC / "dealcraft" / "domain"

#: Top-level module-name prefixes the domain may not import. ``ninja`` imports Django itself.
FORBIDDEN_PREFIXES = ("django", "ninja")


def _domain_files() -> list[Path]:
    return sorted(p for p in DOMAIN.rglob("*.py") if "__pycache__" not in p.parts)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve_relative(path: Path, level: int, module: str | None) -> str:
    """Absolute module name of ``from <level dots><module> import ...`` inside ``path``."""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()  # a plain module's package is its parent
    if level - 1 > 0:
        package = package[: len(package) - (level - 1)]
    return ".".join([*package, module] if module else package)


def _imported_names(path: Path, tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _resolve_relative(path, node.level, node.module)
            else:
                base = node.module or ""
            yield node.lineno, base
            # ``from dealcraft import deals`` imports the module dealcraft.deals.
            for alias in node.names:
                if alias.name != "*":
                    yield node.lineno, f"{base}.{alias.name}"
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = (
                func.attr
                if isinstance(func, ast.Attribute)
                else func.id
                if isinstance(func, ast.Name)
                else ""
            )
            first = node.args[0]
            if (
                name in ("import_module", "__import__")
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                yield node.lineno, first.value


def _violation(name: str) -> str | None:
    top = name.split(".", 1)[0]
    if any(top.startswith(prefix) for prefix in FORBIDDEN_PREFIXES):
        return f"imports {name!r} (framework code is not allowed in the domain layer)"
    if top == "dealcraft":
        if name in ("dealcraft", "dealcraft.domain") or name.startswith("dealcraft.domain."):
            return None
        return f"imports {name!r} (the domain may only import from dealcraft.domain)"
    return None


def test_domain_package_has_files() -> None:
    files = _domain_files()
    assert DOMAIN.is_dir(), f"{DOMAIN} does not exist"
    assert files, f"no .py files found under {DOMAIN}; the purity check would be vacuous"


def test_domain_imports_no_django_nor_other_dealcraft_layers() -> None:
    problems: list[str] = []
    files = _domain_files()
    assert files, f"no .py files found under {DOMAIN}"
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        flagged_lines: set[int] = set()
        for lineno, name in sorted(_imported_names(path, tree)):
            why = _violation(name)
            if why and lineno not in flagged_lines:  # one report per line is enough
                flagged_lines.add(lineno)
                problems.append(f"{path.relative_to(SRC.parent)}:{lineno}: {why}")
    assert not problems, "domain layer is not pure:\n" + "\n".join(problems)


def test_importing_the_domain_loads_no_django() -> None:
    modules = [_module_name(p) for p in _domain_files()]
    assert modules, f"no .py files found under {DOMAIN}"
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"prefixes = {FORBIDDEN_PREFIXES!r}\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0].startswith(prefixes))\n"
        "print('\\n'.join(bad))\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert result.returncode == 0, (
        "importing dealcraft.domain loaded framework modules or failed:\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
