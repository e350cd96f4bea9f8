"""EF001: a secret-like value in a container `environment` entry."""

from __future__ import annotations

from collections.abc import Iterator

from ..model import Expr, Finding, Interp, Ref, Str, TaskDefinition, Value
from ..secrets import classify, points_elsewhere
from .base import RuleContext
from .values import view

# The forms `ecsfix rewrite` edits (rewrite/engine.py, rewrite/modules.py); the rest get a "by hand" hint.
REWRITABLE_FORMS = frozenset({"jsonencode", "heredoc", "file", "templatefile", "local", "module"})


def check(td: TaskDefinition, ctx: RuleContext) -> Iterator[Finding]:
    for container in td.containers:
        for entry in container.environment:
            seen = view(entry.value)
            verdict = classify(entry.name, seen.text, config=ctx.detect)
            if verdict is None:
                continue
            if verdict.reason == "name" and "ECS.8" not in verdict.why and _pointer(entry.value):
                continue  # DB_PASSWORD = aws_secretsmanager_secret.db.arn: an ARN, not the password
            fixable = td.form in REWRITABLE_FORMS and entry.name is not None and td.kind != "plan"
            if td.kind == "plan":
                hint = "move it to `secrets` in the configuration that produces this plan (`ecsfix rewrite` on it)"
            elif fixable:
                hint = "move it to `secrets` (run `ecsfix rewrite` to preview the fix)"
            elif td.by_hand:
                hint = td.by_hand
            else:
                hint = "move it to `secrets` by hand (this form is not rewritten automatically)"
            if seen.literal and seen.text and "interpolated from" not in verdict.why:
                hint += ("; the value is in the plan and in state: rotate it if it was ever committed"
                         if td.kind == "plan" else "; the value is committed: rotate it")
            steps = list(entry.value.via) if entry.value is not None else []
            if entry.crossed and entry.crossed not in steps:
                steps.insert(0, entry.crossed)  # the entry itself came in through a module argument
            via = f" (via {' -> '.join(steps)})" if steps else ""
            yield ctx.finding(
                "EF001",
                entry.span,
                td,
                container.display_name,
                name=entry.name,
                reason=verdict.reason,
                preview=seen.preview,
                fixable=fixable,
                message=f"{verdict.why}{via}: plaintext in the task definition; {hint}",
                why=verdict.why,
            )


def _pointer(value: Value | None) -> bool:
    """The value is a reference whose name says it points to the secret (an ARN, a name, a path)."""
    if value is None:
        return False
    expr: Expr | None = value.resolved
    if isinstance(expr, Str):
        interp = expr.sole_interp()
        expr = interp.expr if isinstance(interp, Interp) else expr
    return isinstance(expr, Ref) and points_elsewhere(expr.source)
