"""EF001: a secret-like value in a container `environment` entry."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace

from ..model import Container, EnvEntry, Expr, Finding, Interp, Ref, Str, TaskDefinition, Value
from ..secrets import Verdict, classify, key_pair, pointer_word
from .base import RuleContext
from .values import ValueView, view
from .variables import access_key_half, evidence, scalar_typed, unknown_variable

# Whether `ecsfix rewrite` moves an entry is decided by the rewrite's own planners, after the rules
# ran (`settle`, called by the scan with `rewrite.planning.decisions`): until then every finding
# says BY_HAND and is not fixable.
BY_HAND = "move it to `secrets` by hand"
REWRITE = "move it to `secrets` (run `ecsfix rewrite` to preview the fix)"


@dataclass(frozen=True)
class _Judged:
    verdict: Verdict
    severity: str | None = None  # None: the rule's own
    hint: str | None = None
    committed: bool = True  # False: the secret is what a reference brings, not the literal text around it


def _judge(entry: EnvEntry, ctx: RuleContext) -> _Judged | None:
    if scalar_typed(entry.value, ctx.resolver):
        return None  # a bool or number variable: never a secret, whatever the name
    text = view(entry.value).text
    if text == "" and unknown_variable(entry.value) is not None:
        text = None  # a null or "" default: the value is set elsewhere, not empty
    verdict = classify(entry.name, text, config=ctx.detect)
    if verdict is not None and verdict.reason == "name" and "ECS.8" not in verdict.why \
            and _pointer(entry.name, entry.value):
        verdict = None  # DB_PASSWORD = aws_secretsmanager_secret.db.arn: an ARN, not the password
    if verdict is not None:
        return _Judged(verdict)
    resolved = entry.value.resolved if entry.value is not None else None
    if entry.value is None or (not entry.value.via and isinstance(resolved, Str) and not resolved.is_template):
        return None  # a literal written at the entry: classify said all there is
    found = evidence(entry.name, entry.value, text, ctx.resolver, ctx.detect)
    if found is None:
        return None
    literal = isinstance(resolved, Str) and not resolved.is_template  # a literal reached through a local
    return _Judged(Verdict(found.reason, found.why), found.severity, found.hint, committed=literal)


def _verdicts(container: Container, ctx: RuleContext) -> list[_Judged | None]:
    """One judgement per environment entry of the container, pairs of access keys included."""
    judged = [_judge(entry, ctx) for entry in container.environment]
    # An access key id whose secret access key is flagged in the same container is one credential
    # with it: it moves too (S3_ACCESS_KEY_ID next to S3_SECRET_ACCESS_KEY, or the id and the
    # secret of one aws_iam_access_key).
    secrets_by_stem: dict[str, str] = {}
    for entry, j in zip(container.environment, judged, strict=True):
        if j is None:
            continue
        pair = key_pair(entry.name) if entry.name else None
        if pair is not None and pair[0] == "secret":
            secrets_by_stem[pair[1]] = entry.name  # type: ignore[assignment]
        half = access_key_half(entry.value)
        if half is not None and half[0] == "secret":
            secrets_by_stem[f"aws_iam_access_key.{half[1]}"] = entry.name or half[1]
    if not secrets_by_stem:
        return judged
    for i, entry in enumerate(container.environment):
        if judged[i] is not None:
            continue
        half = access_key_half(entry.value)
        stem = f"aws_iam_access_key.{half[1]}" if half is not None and half[0] == "id" else None
        if stem is None:
            pair = key_pair(entry.name) if entry.name else None
            stem = pair[1] if pair is not None and pair[0] == "id" else None
            text = view(entry.value).text
            if text is not None and classify("ACCESS_KEY", text, config=ctx.detect) is None:
                continue  # empty, a boolean, a number, an ARN: not a key id
            if stem is not None and _pointer(entry.name, entry.value):
                continue
        if stem in secrets_by_stem:
            judged[i] = _Judged(Verdict("name", f"{'name ' + entry.name if entry.name else 'the value'} is the access "
                                        f"key id of {secrets_by_stem[stem]} in the same container (AWS Security Hub "
                                        "control ECS.8 flags access key ids)"))
    return judged


def check(td: TaskDefinition, ctx: RuleContext) -> Iterator[Finding]:
    for container in td.containers:
        for entry, judged in zip(container.environment, _verdicts(container, ctx), strict=True):
            if judged is None:
                continue
            verdict = judged.verdict
            seen = view(entry.value)
            unknown = unknown_variable(entry.value)
            if unknown is not None and seen.text == "":  # a null or "" default: show where it is set
                seen = ValueView(None, unknown, False)
            named = bool(entry.name and entry.name.strip())  # a secret needs a name to be moved under
            invalid = ctx.resolver is not None and ctx.resolver.read_leniently(container.span)
            # `manual`: why the rule itself leaves the entry to a person, whatever the rewrite could do
            manual: str | None = None
            if td.kind == "plan":
                hint = "move it to `secrets` in the configuration that produces this plan (`ecsfix rewrite` on it)"
                manual = "a plan is fixed in the configuration that produces it"
            elif entry.maybe:  # moving it would make the secret unconditional: a person decides
                manual = ("it is in a conditional branch (`cond ? [...] : []`), present when the condition "
                          "holds; moving it would make it unconditional")
                hint = f"move it to `secrets` by hand ({manual})"
            elif invalid:
                manual = "the JSON around it is invalid (a line break inside a string)"
                hint = "fix the JSON first (a line break inside a string, reported as an error), then move it to `secrets`"
            elif not named:
                manual = "an entry without a name is not moved automatically"
                hint = f"give it the name the application reads and move it to `secrets` ({manual})"
            elif td.by_hand and not _written_in_call(td, entry):
                manual = td.by_hand
                hint = td.by_hand
            else:
                hint = BY_HAND  # `settle` turns it into the rewrite's decision
            if judged.hint:
                hint += f"; {judged.hint}"
            if seen.literal and seen.text and judged.committed and "interpolated from" not in verdict.why:
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
                fixable=False,
                message=f"{verdict.why}{via}: plaintext in the task definition; {hint}",
                why=verdict.why,
                severity=judged.severity,
                manual=manual,
            )


def _written_in_call(td: TaskDefinition, entry: EnvEntry) -> bool:
    """An entry the caller wrote itself, in HCL (in the arguments of a local module call, `environment =
    [{...}]`, or a local it passes): whether `ecsfix rewrite` moves it is its planner's decision
    (rewrite/forms/wrapper_calls.py). Entries in a template, or in the child, keep `td.by_hand`."""
    block = td.block
    return (td.through_call and block is not None and entry.span.file.path.endswith(".tf")
            and os.path.dirname(entry.span.file.path) == os.path.dirname(block.span.file.path))


def settle(findings: list[Finding], decisions: dict[tuple[str, str, str | None], str | None]) -> list[Finding]:
    """EF001 findings with the rewrite's decision: fixable when it moves the entry, else the
    message says why it does not (`decisions`: None = moved, or the reason)."""
    out: list[Finding] = []
    for f in findings:
        key = (f.resource, f.container, f.name)
        if f.rule == "EF001" and f.manual is None and key in decisions and BY_HAND in f.message:
            why = decisions[key]
            if why is None:
                f = replace(f, fixable=True, message=f.message.replace(BY_HAND, REWRITE, 1))
            else:
                f = replace(f, message=f.message.replace(BY_HAND, f"{BY_HAND} (ecsfix rewrite leaves it: {why})", 1))
        out.append(f)
    return out


def _pointer(name: str | None, value: Value | None) -> bool:
    """The value is a reference whose name says it points to the secret (an ARN, a name, a path),
    and the entry's own name does not say the same (S3_ACCESS_KEY_ID = var.s3_access_key_id
    passes an id because an id is what the entry holds)."""
    if value is None:
        return False
    expr: Expr | None = value.resolved
    if isinstance(expr, Str):
        interp = expr.sole_interp()
        expr = interp.expr if isinstance(interp, Interp) else expr
    if not isinstance(expr, Ref):
        return False
    word = pointer_word(expr.source)
    return word is not None and not (name and pointer_word(name) == word)
