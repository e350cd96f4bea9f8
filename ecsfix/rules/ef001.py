"""EF001: a secret-like value in a container `environment` entry."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from ..model import Expr, Finding, Interp, Ref, Str, TaskDefinition, Value
from ..secrets import classify, points_elsewhere
from .base import RuleContext
from .values import view

# Whether `ecsfix rewrite` moves an entry is decided by the rewrite's own planners, after the rules
# ran (`settle`, called by the scan with `rewrite.planning.decisions`): until then every finding
# says BY_HAND and is not fixable.
BY_HAND = "move it to `secrets` by hand"
REWRITE = "move it to `secrets` (run `ecsfix rewrite` to preview the fix)"


def check(td: TaskDefinition, ctx: RuleContext) -> Iterator[Finding]:
    for container in td.containers:
        for entry in container.environment:
            seen = view(entry.value)
            verdict = classify(entry.name, seen.text, config=ctx.detect)
            if verdict is None:
                continue
            if verdict.reason == "name" and "ECS.8" not in verdict.why and _pointer(entry.value):
                continue  # DB_PASSWORD = aws_secretsmanager_secret.db.arn: an ARN, not the password
            if td.kind == "plan":
                hint = "move it to `secrets` in the configuration that produces this plan (`ecsfix rewrite` on it)"
            else:
                hint = BY_HAND
            if seen.literal and seen.text and "interpolated from" not in verdict.why:
                hint += ("; the value is in the plan and in state: rotate it if it was ever committed"
                         if td.kind == "plan" else "; the value is committed: rotate it")
            via = ""
            if entry.value is not None and entry.value.via:
                via = f" (via {' -> '.join(entry.value.via)})"
            yield ctx.finding(
                "EF001",
                entry.span,
                td,
                container.display_name,
                name=entry.name,
                reason=verdict.reason,
                preview=seen.preview,
                fixable=False,
                message=f"{verdict.why}{via}: plaintext in the task definition; {hint}",
                why=verdict.why,
            )


def settle(findings: list[Finding], decisions: dict[tuple[str, str, str | None], str | None]) -> list[Finding]:
    """EF001 findings with the rewrite's decision: fixable when it moves the entry, else the
    message says why it does not (`decisions`: None = moved, or the reason)."""
    out: list[Finding] = []
    for f in findings:
        key = (f.resource, f.container, f.name)
        if f.rule == "EF001" and key in decisions and BY_HAND in f.message:
            why = decisions[key]
            if why is None:
                f = replace(f, fixable=True, message=f.message.replace(BY_HAND, REWRITE, 1))
            else:
                f = replace(f, message=f.message.replace(BY_HAND, f"{BY_HAND} (ecsfix rewrite leaves it: {why})", 1))
        out.append(f)
    return out


def _pointer(value: Value | None) -> bool:
    """The value is a reference whose name says it points to the secret (an ARN, a name, a path)."""
    if value is None:
        return False
    expr: Expr | None = value.resolved
    if isinstance(expr, Str):
        interp = expr.sole_interp()
        expr = interp.expr if isinstance(interp, Interp) else expr
    return isinstance(expr, Ref) and points_elsewhere(expr.source)
