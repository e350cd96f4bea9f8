"""EF003: container definitions that cannot be analysed statically (info, never counted)."""

from __future__ import annotations

from collections.abc import Iterator

from ..model import Finding, TaskDefinition
from .base import RuleContext

HINT = "scan a plan to see the resolved values: terraform show -json plan.out > plan.json && ecsfix scan plan.json"


def check(td: TaskDefinition, ctx: RuleContext) -> Iterator[Finding]:
    if td.unanalysable:
        span = td.span
        if td.block is not None and "container_definitions" in td.block.attributes:
            span = td.block.attributes["container_definitions"].span
        yield ctx.finding("EF003", span, td, "*", message=f"container definitions not statically analysable: {td.unanalysable}; {HINT}")
    for container in td.containers:
        for reason in container.unresolved:
            yield ctx.finding("EF003", container.span, td, container.display_name,
                              message=f"not statically analysable: {reason}; {HINT}")
