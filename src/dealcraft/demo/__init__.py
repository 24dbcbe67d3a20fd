"""The demo company: a deterministic, realistic sales organisation to explore dealcraft with.

`build_demo` lives in `builder` (it needs Django); it is imported lazily so that the generator
can run in a worker process that never sets Django up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .builder import DemoResult, build_demo

__all__ = ["DemoResult", "build_demo"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import builder

        return getattr(builder, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
