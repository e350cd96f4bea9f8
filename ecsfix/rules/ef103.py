"""EF103: a malformed `valueFrom`, or a policy that grants the `valueFrom` form instead of the secret.

Secrets Manager: `<secret-arn>[:<json-key>:<version-stage>:<version-id>]`, every colon kept
(`...:password::`), stage and id mutually exclusive. SSM: the parameter's full ARN or, in the same
Region, its name (`/app/db`). IAM authorizes the secret ARN itself: a Resource ending in
`:password::` never matches it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..iam import (
    IamModel,
    Statement,
    Sym,
    Text,
    action_level,
    identity,
    literal,
    parse_value_from,
    secret_uses,
    show,
)
from ..model import Finding, TaskDefinition
from .base import RuleContext, pulls_nothing

SECRET_READ = "secretsmanager:GetSecretValue"


def check(td: TaskDefinition, ctx: RuleContext) -> Iterator[Finding]:
    if pulls_nothing(td):
        return
    model = IamModel.of(ctx.module, ctx.resolver)
    for use in secret_uses(td, model):
        vf = use.value_from
        if use.registry or vf.problem is None:
            continue
        fix = f": write {vf.fix}" if vf.fix else ""
        yield ctx.finding("EF103", use.span, td, use.container.display_name, name=use.name,
                          fixable=vf.fix is not None and "<" not in vf.fix,
                          message=f"malformed valueFrom: {vf.problem}{fix}")


def check_policies(ctx: RuleContext) -> Iterator[Finding]:
    """Module check: IAM Resources written with a valueFrom's `:json-key::` suffix."""
    model = IamModel.of(ctx.module, ctx.resolver)
    if not any(secret_uses(td, model) for td in ctx.task_definitions):
        return  # policies are read only in modules whose tasks pull secrets (keeps scans lazy)
    seen: set[int] = set()
    # A policy that grants the `:json-key::` form names the secret, so its block mentions
    # `secretsmanager`; blocks that do not are not even parsed.
    for address, statements in model.all_documents(hint="secretsmanager"):
        for st in statements:
            if not reads_secrets(st):
                continue
            for text, span in st.resources:
                if span is None or span.start in seen:
                    continue
                base = secret_arn_of_suffixed(text)
                if base is None:
                    continue
                seen.add(span.start)
                subject = TaskDefinition(address=address, kind="resource", form="policy", span=span)
                yield ctx.finding(
                    "EF103", span, subject, "*", fixable=False,
                    message=(f"IAM Resource `{show(text)}` carries the `:json-key:stage:version` suffix of a valueFrom, "
                             f"but IAM authorizes the secret's ARN, so this statement matches no secret: write `{base}`"),
                )


def reads_secrets(st: Statement) -> bool:
    return st.effect == "Allow" and any(action_level(a, SECRET_READ) >= 2 for a in st.actions) != st.not_action


def secret_arn_of_suffixed(text: Text) -> str | None:
    """`${aws_secretsmanager_secret.x.arn}:password::` -> `${aws_secretsmanager_secret.x.arn}`; a
    literal secret ARN with fields after the name -> the ARN up to the name (None if well formed)."""
    if text and isinstance(text[0], Sym):
        ident = identity(text[0].source)
        rest = literal(text[1:])
        if ident is not None and ident.type == "aws_secretsmanager_secret" and ident.path == ".arn" \
                and rest is not None and rest.startswith(":"):
            return show(text[:1])
        return None
    vf = parse_value_from(text)
    if vf.service == "secretsmanager" and vf.fields:
        base = show(vf.resource)
        name = base.rsplit(":", 1)[-1]
        return base if name.endswith("*") or re.search(r"-[A-Za-z0-9]{6}$", name) else base + "-*"
    return None
