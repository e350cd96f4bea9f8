"""ecsfix: find secrets in ECS container `environment` lists and move them to Secrets Manager."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "scan", "rewrite"]


def __getattr__(name: str) -> Any:  # lazy: `ecsfix --version` must not import the parser
    if name == "scan":
        from .scan import scan

        return scan
    if name == "rewrite":
        from .rewrite.engine import rewrite

        return rewrite
    raise AttributeError(name)
