"""Regular expressions compiled on first use.

Compiling the detector's ~40 patterns costs ~15 ms, a tenth of a one-file scan (pre-commit runs one
per commit), and a scan uses only the patterns its values reach. A `LazyPattern` compiles on its
first attribute access and then puts the compiled pattern in its place in the module's namespace,
so every later use is a plain global lookup.
"""

from __future__ import annotations

import re
from typing import Any


class LazyPattern:
    __slots__ = ("_namespace", "_name", "pattern", "flags")

    def __init__(self, namespace: dict[str, Any], name: str, pattern: str, flags: int = 0):
        self._namespace = namespace
        self._name = name
        self.pattern = pattern  # readable without compiling (patterns built from patterns)
        self.flags = flags

    def __getattr__(self, attr: str) -> Any:
        compiled = re.compile(self.pattern, self.flags)
        self._namespace[self._name] = compiled
        return getattr(compiled, attr)
