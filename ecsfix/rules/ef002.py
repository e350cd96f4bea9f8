"""EF002: a secret-like literal in `command`, `entryPoint`, `dockerLabels` or `healthCheck.command`."""

from __future__ import annotations

from collections.abc import Iterator

from ..model import Finding, Lst, Obj, Str, TaskDefinition
from ..secrets import classify, classify_value, redact, secret_flag_name
from .base import RuleContext

HINT = "pass it through `secrets` and read it from the environment instead"


def check(td: TaskDefinition, ctx: RuleContext) -> Iterator[Finding]:
    for container in td.containers:
        for field_name, value in container.plaintext_fields:
            if isinstance(value, Lst):
                previous: str | None = None
                for arg in value.items:
                    text = arg.value if isinstance(arg, Str) else None
                    if text is None:
                        previous = None
                        continue
                    why = classify_value(text, config=ctx.detect)
                    if why is None and previous is not None and secret_flag_name(previous) and not text.startswith("$"):
                        why = f"argument of the flag {previous.split('=')[0]}"
                    if why is not None:
                        yield ctx.finding(
                            "EF002", arg.span, td, container.display_name, name=field_name, reason="value",
                            preview=redact(text), message=f"{why} in `{field_name}`: {HINT}", why=why,
                        )
                    previous = text
            elif isinstance(value, Obj):  # dockerLabels
                for item in value.items:
                    text = item.value.value if isinstance(item.value, Str) else None
                    if text is None:
                        continue
                    verdict = classify(item.key, text, config=ctx.detect)
                    if verdict is not None:
                        yield ctx.finding(
                            "EF002", item.span, td, container.display_name, name=item.key, reason=verdict.reason,
                            preview=redact(text), message=f"{verdict.why} in `{field_name}`: {HINT}", why=verdict.why,
                        )
