"""`ecsfix rewrite` command registration (filled in by the rewrite engine)."""

from __future__ import annotations

from typing import Any


def register(app: Any) -> None:
    return None
