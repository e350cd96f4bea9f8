"""EF003: container definitions that cannot be analysed statically (info, never counted)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..model import Finding, TaskDefinition
from .base import RuleContext

HINT = "scan a plan to see the resolved values: terraform show -json plan.out > plan.json && ecsfix scan plan.json"


_MODULE_OUTPUT = re.compile(r"\bmodule\.([A-Za-z_][A-Za-z0-9_-]*)")


def _from_scanned_modules(reason: str, ctx: RuleContext) -> bool:
    """Built only from outputs of ECS module calls that were scanned themselves (their own findings
    cover the containers): saying "not analysable" again would be noise."""
    if "module output" not in reason and "container built by module." not in reason:
        return False
    called = set(_MODULE_OUTPUT.findall(reason))
    scanned = {t.address for t in ctx.task_definitions if t.kind == "module"}
    return bool(called) and all(f"module.{name}" in scanned for name in called)


def check(td: TaskDefinition, ctx: RuleContext) -> Iterator[Finding]:
    if td.unanalysable and not _from_scanned_modules(td.unanalysable, ctx):
        span = td.span
        if td.block is not None and "container_definitions" in td.block.attributes:
            span = td.block.attributes["container_definitions"].span
        yield ctx.finding("EF003", span, td, "*", message=f"container definitions not statically analysable: {td.unanalysable}; {HINT}")
    for container in td.containers:
        for reason in container.unresolved:
            if _from_scanned_modules(reason, ctx):
                continue
            yield ctx.finding("EF003", container.span, td, container.display_name,
                              message=f"not statically analysable: {reason}; {HINT}")
