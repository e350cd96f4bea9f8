"""Fixes for the deploy-readiness rules EF101-EF104 (execution role, policy, valueFrom, KMS).

* EF101: no execution role -> one is created (`roles.created_role`, shared with the EF001 planner so
  a task definition never gets two) and granted every secret its containers pull.
* EF102 / EF104: one generated `aws_iam_role_policy` per task definition on its execution role with
  exactly the missing `secretsmanager:GetSecretValue` / `ssm:GetParameters` / `kms:Decrypt` grants,
  on the ARN expressions the `valueFrom`s use (never the `:json-key::` form). A role that manages its
  inline policies exclusively gets an `inline_policy` block, or its `aws_iam_role_policies_exclusive`
  learns the new policy's name (`grants.emit_policy`, shared with the EF001 planners).
* EF103: the mechanical cases: a JSON key without both trailing colons gets them; a policy Resource
  written with the `:json-key::` suffix becomes the secret ARN. The rest is left as a note.

Findings the rules mark "cannot verify" (info: a role defined outside the module) are left alone,
and so is an explicit Deny: overriding it is the user's call.
"""

from __future__ import annotations

import functools
import re

from ..iam import (
    IamModel,
    Sym,
    Text,
    distinct,
    parse_value_from,
    secret_uses,
    show_ref,
)
from ..iam import (
    SecretUse as Use,
)
from ..model import Call, Finding, Lst, Obj, Span, Str, TaskDefinition
from . import roles
from .edits import Edit
from .grants import DECRYPT, PARAMETER_READ, SECRET_READ, Grants, emit_policy
from .plan import ModuleRewrite, Plan, Unit, unit, where

RULES = ("EF101", "EF102", "EF103", "EF104")
_WRITE = re.compile(r"write `([^`]+)`$")


def plan(mr: ModuleRewrite) -> list[Unit]:
    """Edits that fix EF101-EF104 findings in one module: one unit per policy resource, then one
    per task definition (they share `covered`, so the engine runs them in this order)."""
    by_resource: dict[str, list[Finding]] = {}
    for f in mr.findings:
        if f.rule in RULES and f.severity != "info":  # info: "cannot verify", nothing to fix
            by_resource.setdefault(f.resource, []).append(f)
    if not by_resource:
        return []
    model = IamModel.of(mr.module, mr.scan.resolver)
    addresses = {td.address for td in mr.scan.task_definitions}
    covered: dict[str, set[str]] = {}  # policy address -> secret ARN expressions its fixed Resources now grant
    units: list[Unit] = []
    for address, policy_findings in by_resource.items():
        if address not in addresses:
            first = policy_findings[0].span
            units.append(Unit(f"deploy {address}", address, first.file.display, f"{first.file.display}:{first.line}: {address}",
                              functools.partial(_fix_policy_resources, mr, policy_findings, covered)))
    for td in mr.scan.task_definitions:
        found = by_resource.get(td.address)
        if found:
            units.append(unit("deploy", td, functools.partial(_plan_task_definition, mr, model, td, found, covered)))
    return units


# --------------------------------------------------------------------------- per task definition


def _plan_task_definition(mr: ModuleRewrite, model: IamModel, td: TaskDefinition, found: list[Finding],
                          covered: dict[str, set[str]]) -> Plan:
    out = Plan()
    at = where(td)
    if td.kind != "resource" or td.block is None:
        out.notes.append(f"{at}: not rewritten: {', '.join(sorted({f.rule for f in found}))} in a {td.kind} "
                         "task definition; fix it in the Terraform that produces it")
        return out
    uses = secret_uses(td, model)
    by_span = {(u.span.file.path, u.span.start): u for u in uses}

    for f in found:
        if f.rule == "EF103":
            _fix_value_from(out, td, f, by_span.get((f.span.file.path, f.span.start)))

    grants = Grants()
    rules = {f.rule for f in found}
    if "EF101" in rules:
        if not roles.missing_role(td):
            out.notes.append(f"{at}: EF101 not rewritten: execution_role_arn is set but evaluates to null; "
                             "give it a role")
            return out
        target = roles.role_of(mr, td)
        if target.role is None:
            out.notes.append(target.note or f"{at}: EF101 not rewritten")
            return out
        out.extend(target.plan)
        for pulled in distinct(uses):  # a new role may read nothing yet: grant everything the task pulls
            _grant_use(out, model, td, pulled, grants, covered=set())
            _grant_key(out, model, td, pulled, grants)
    else:
        target = roles.role_of(mr, td)
        if target.role is None:
            out.notes.append(target.note or f"{at}: not rewritten: no execution role to grant to")
            return out
        role_ref = model.role_of(td.execution_role)
        policies = model.role_policies(role_ref)
        done: set[str] = set()  # secrets a policy of this role grants once its Resources are corrected
        for address, exprs in covered.items():
            if any(st.origin == address or st.origin.startswith(address + " ") for st in policies.statements):
                done |= exprs
        for f in found:
            if f.rule not in ("EF102", "EF104"):
                continue
            use = by_span.get((f.span.file.path, f.span.start))
            if use is None:
                out.notes.append(f"{f.file}:{f.line}: {f.rule} {td.address}: not rewritten: the entry is not a "
                                 "literal secrets item")
                continue
            if " denies `" in f.message:
                out.notes.append(f"{f.file}:{f.line}: {f.rule} {td.address} {use.name}: not rewritten: an explicit "
                                 "Deny overrides any grant ecsfix could add; narrow or remove that statement")
                continue
            if f.rule == "EF102":
                _grant_use(out, model, td, use, grants, covered=done)
            else:
                _grant_key(out, model, td, use, grants)
    if grants.by_action:
        emit_policy(mr, out, td, target, grants)
    return out


def _grant_use(out: Plan, model: IamModel, td: TaskDefinition, use: Use, grants: Grants, covered: set[str]) -> None:
    expr = grant_expression(model, use)
    name = use.name or "?"
    if expr is None:
        out.notes.append(f"{use.span.file.display}:{use.span.line}: EF102 {td.address} {name}: not rewritten: "
                         f"the secret {use.value_from.shown} cannot be written as an IAM resource")
        return
    if expr in covered:
        return  # the policy whose `:json-key::` Resource is corrected in this rewrite grants it now
    action = PARAMETER_READ if use.value_from.service == "ssm" else SECRET_READ
    if grants.add(action, expr):
        grants.fixed.append(f"{use.span.file.display}:{use.span.line}: EF102 {td.address}: granted {action} on {expr}")


def _grant_key(out: Plan, model: IamModel, td: TaskDefinition, use: Use, grants: Grants) -> None:
    secret = model.secret_block(use.value_from)
    key = model.kms_key(secret) if secret is not None else None
    if key is None:
        return
    expr = show_ref(key.text) if key.identity is not None else iam_expression(key.text)
    if expr is None:
        out.notes.append(f"{use.span.file.display}:{use.span.line}: EF104 {td.address} {use.name or '?'}: not "
                         f"rewritten: the key {key.shown} is not known as an ARN; grant kms:Decrypt on it by hand")
        return
    if grants.add(DECRYPT, expr):
        grants.fixed.append(f"{use.span.file.display}:{use.span.line}: EF104 {td.address}: granted {DECRYPT} on {expr}")


def grant_expression(model: IamModel, use: Use) -> str | None:
    """The secret as a policy Resource: the reference the `valueFrom` is written with when it is
    one (a variable default stays a variable), else what it resolves to; never the `:key::` form."""
    vf = use.value_from
    chosen = vf
    entry = next((s for s in use.container.secrets if s.span.start == use.span.start
                  and s.span.file is use.span.file), None)
    if entry is not None and entry.value_from is not None and not use.registry:
        written = parse_value_from(model.written(entry.value_from))
        res = written.resource
        if written.problem is None and len(res) == 1 and isinstance(res[0], Sym) \
                and (written.fields or not vf.fields) and (written.service == vf.service or written.service is None) \
                and not (vf.service == "ssm" and written.service is None):
            written.service = vf.service
            chosen = written
    return iam_expression(chosen.iam_resource())


def iam_expression(text: Text) -> str | None:
    """An IAM string as HCL: a lone reference bare, else a quoted template; unknown ARN parts
    become wildcards (Region, account id, the secret's random suffix). None when too unknown."""
    if len(text) == 1 and isinstance(text[0], Sym):
        return text[0].source
    out = []
    for p in text:
        if isinstance(p, str):
            out.append(p.replace("\\", "\\\\").replace('"', '\\"').replace("${", "$${").replace("%{", "%%{"))
        elif isinstance(p, Sym):
            out.append("${" + p.source + "}")
        elif p.what == "suffix":
            out.append("??????")
        elif p.what in ("region", "account"):
            out.append("*")
        elif p.what == "partition":
            out.append("aws")
        else:
            return None
    return '"' + "".join(out) + '"'


# --------------------------------------------------------------------------- EF103


def _fix_value_from(out: Plan, td: TaskDefinition, f: Finding, use: Use | None) -> None:
    """`<secret-arn>:<json-key>` -> `<secret-arn>:<json-key>::` (the only unambiguous case)."""
    at = f"{f.file}:{f.line}: EF103 {td.address} {f.name or ''}".rstrip()
    entry = None
    if use is not None:
        entry = next((s for s in use.container.secrets if s.span.start == use.span.start
                      and s.span.file is use.span.file), None)
    value = entry.value_from if entry is not None else None
    vf = use.value_from if use is not None else None
    if vf is None or not isinstance(value, Str) or vf.service != "secretsmanager" or len(vf.fields) not in (1, 2):
        out.notes.append(f"{at}: not rewritten: {_why(f)}")
        return
    written = parse_value_from(_written(value))
    text = value.span.text
    if len(written.fields) != len(vf.fields) or not text.endswith('"') or "\n" in text:
        out.notes.append(f"{at}: not rewritten: {_why(f)}")
        return
    colons = "::" if len(vf.fields) == 1 else ":"
    out.add(value.span.file, Edit(value.span.end - 1, value.span.end - 1, colons))
    out.fixed.append(f"{at}: added the trailing `{colons}` to the valueFrom's JSON key")


def _written(value: Str) -> Text:
    return tuple(p if isinstance(p, str) else Sym(re.sub(r"\s+", "", p.source)) for p in value.parts)


def _why(f: Finding) -> str:
    msg = f.message.removeprefix("malformed valueFrom: ")
    return f"ambiguous, fix by hand: {msg}"


def _fix_policy_resources(mr: ModuleRewrite, found: list[Finding], covered: dict[str, set[str]]) -> Plan:
    """A policy Resource written as a valueFrom (`${aws_secretsmanager_secret.db.arn}:password::`)
    becomes the secret ARN itself."""
    out = Plan()
    for f in found:
        if f.rule != "EF103":
            continue
        m = _WRITE.search(f.message)
        if m is None:
            continue
        base = m.group(1)
        ref = re.fullmatch(r"\$\{([^{}]+)\}", base)
        json_syntax = _in_json(mr, f.span)
        if ref and not json_syntax:
            new = ref.group(1)
        else:
            new = '"' + base.replace('"', '\\"') + '"'
        out.add(f.span.file, Edit(f.span.start, f.span.end, new))
        covered.setdefault(f.resource, set()).add(ref.group(1) if ref else new)
        out.fixed.append(f"{f.file}:{f.line}: EF103 {f.resource}: the Resource now names the secret ({new}), "
                         "not the valueFrom's `:json-key::` form")
    return out


def _in_json(mr: ModuleRewrite, span: Span) -> bool:
    """Is the span JSON text (a heredoc, a `.json` file) rather than an HCL expression?"""
    if not span.file.path.endswith(".tf"):
        return True
    for block in mr.module.blocks_of(span.file):
        if not (block.span.start <= span.start < block.span.end):
            continue
        stack = [block]
        while stack:
            b = stack.pop()
            stack.extend(b.blocks)
            for attr in b.attributes.values():
                v = attr.value
                if v.span.start <= span.start and span.end <= v.span.end:
                    return not isinstance(v, (Call, Obj, Lst))
    return False
