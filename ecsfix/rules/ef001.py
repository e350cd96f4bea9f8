"""EF001: a secret-like value in a container `environment` entry."""

from __future__ import annotations

from collections.abc import Iterator

from ..model import Finding, TaskDefinition
from ..secrets import classify
from .base import RuleContext
from .values import view

REWRITABLE_FORMS = frozenset(
    {"jsonencode", "heredoc", "file", "templatefile", "local", "variable", "taskdef-json", "module"}
)


def check(td: TaskDefinition, ctx: RuleContext) -> Iterator[Finding]:
    for container in td.containers:
        for entry in container.environment:
            seen = view(entry.value)
            verdict = classify(entry.name, seen.text, config=ctx.detect)
            if verdict is None:
                continue
            fixable = td.form in REWRITABLE_FORMS and entry.name is not None
            hint = (
                "move it to `secrets` (run `ecsfix rewrite` to preview the fix)"
                if fixable
                else "move it to `secrets` by hand (this form is not rewritten automatically)"
            )
            if seen.literal and seen.text and "interpolated from" not in verdict.why:
                hint += "; the value is committed: rotate it"
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
                fixable=fixable,
                message=f"{verdict.why}{via}: plaintext in the task definition; {hint}",
                why=verdict.why,
            )
