"""Fixes for the deploy-readiness rules EF101-EF104 (execution role, policy, valueFrom, KMS).

* EF101: no execution role -> one is created (`roles.created_role`, shared with the EF001 planner so
  a task definition never gets two) and granted every secret its containers pull.
* EF102 / EF104: one generated `aws_iam_role_policy` per task definition on its execution role with
  exactly the missing `secretsmanager:GetSecretValue` / `ssm:GetParameters` / `kms:Decrypt` grants,
  on the ARN expressions the `valueFrom`s use (never the `:json-key::` form). A role that manages its
  inline policies exclusively gets an `inline_policy` block, or its `aws_iam_role_policies_exclusive`
  learns the new policy's name.
* EF103: the mechanical cases: a JSON key without both trailing colons gets them; a policy Resource
  written with the `:json-key::` suffix becomes the secret ARN. The rest is left as a note.

Findings the rules mark "cannot verify" (info: a role defined outside the module) are left alone,
and so is an explicit Deny: overriding it is the user's call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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
from ..model import Block, Call, Finding, Lst, Obj, Span, Str, TaskDefinition
from . import roles
from .common import (
    MARKER,
    Edit,
    ModuleRewrite,
    Plan,
    indent_of,
    line_start,
    render,
)

RULES = ("EF101", "EF102", "EF103", "EF104")
SECRET_READ = "secretsmanager:GetSecretValue"
PARAMETER_READ = "ssm:GetParameters"
DECRYPT = "kms:Decrypt"
_WRITE = re.compile(r"write `([^`]+)`$")


@dataclass
class _Grants:
    """The statements of one generated policy: action -> resources (HCL expressions), in order."""

    by_action: dict[str, list[str]] = field(default_factory=dict)
    fixed: list[str] = field(default_factory=list)  # (rule, what) for the summary lines

    def add(self, action: str, resource: str) -> bool:
        resources = self.by_action.setdefault(action, [])
        if resource in resources:
            return False
        resources.append(resource)
        return True

    def ordered(self) -> list[tuple[str, list[str]]]:
        return [(a, self.by_action[a]) for a in (SECRET_READ, PARAMETER_READ, DECRYPT) if self.by_action.get(a)]

    def statements(self) -> list[dict[str, object]]:
        """For the template: `action` and `resources` of each statement."""
        return [{"action": a, "resources": r} for a, r in self.ordered()]


def plan(mr: ModuleRewrite) -> Plan:
    """Edits that fix EF101-EF104 findings in one module."""
    out = Plan()
    by_resource: dict[str, list[Finding]] = {}
    for f in mr.findings:
        if f.rule in RULES and f.severity != "info":  # info: "cannot verify", nothing to fix
            by_resource.setdefault(f.resource, []).append(f)
    if not by_resource:
        return out
    model = IamModel.of(mr.module, mr.scan.resolver)
    addresses = {td.address for td in mr.scan.task_definitions}
    covered: dict[str, set[str]] = {}  # policy address -> secret ARN expressions its fixed Resources now grant
    for address, policy_findings in by_resource.items():
        if address not in addresses:
            out.extend(_fix_policy_resources(mr, policy_findings, covered))
    for td in mr.scan.task_definitions:
        found = by_resource.get(td.address)
        if found:
            out.extend(_plan_task_definition(mr, model, td, found, covered))
    return out


# --------------------------------------------------------------------------- per task definition


def _plan_task_definition(mr: ModuleRewrite, model: IamModel, td: TaskDefinition, found: list[Finding],
                          covered: dict[str, set[str]]) -> Plan:
    out = Plan()
    where = f"{td.span.file.display}:{td.span.line}: {td.address}"
    if td.kind != "resource" or td.block is None:
        out.notes.append(f"{where}: not rewritten: {', '.join(sorted({f.rule for f in found}))} in a {td.kind} "
                         "task definition; fix it in the Terraform that produces it")
        return out
    uses = secret_uses(td, model)
    by_span = {(u.span.file.path, u.span.start): u for u in uses}

    for f in found:
        if f.rule == "EF103":
            _fix_value_from(out, td, f, by_span.get((f.span.file.path, f.span.start)))

    grants = _Grants()
    rules = {f.rule for f in found}
    if "EF101" in rules:
        if not roles.missing_role(td):
            out.notes.append(f"{where}: EF101 not rewritten: execution_role_arn is set but evaluates to null; "
                             "give it a role")
            return out
        target = roles.role_of(mr, td)
        if target.role is None:
            out.notes.append(target.note or f"{where}: EF101 not rewritten")
            return out
        out.extend(target.plan)
        for pulled in distinct(uses):  # a new role may read nothing yet: grant everything the task pulls
            _grant_use(out, model, td, pulled, grants, covered=set())
            _grant_key(out, model, td, pulled, grants)
    else:
        target = roles.role_of(mr, td)
        if target.role is None:
            out.notes.append(target.note or f"{where}: not rewritten: no execution role to grant to")
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
        _emit_policy(mr, out, td, target, grants)
    return out


def _grant_use(out: Plan, model: IamModel, td: TaskDefinition, use: Use, grants: _Grants, covered: set[str]) -> None:
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


def _grant_key(out: Plan, model: IamModel, td: TaskDefinition, use: Use, grants: _Grants) -> None:
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


def _emit_policy(mr: ModuleRewrite, out: Plan, td: TaskDefinition, target: roles.RoleTarget, grants: _Grants,
                 base: str | None = None) -> None:
    block = td.block
    assert block is not None and target.role is not None
    label = block.labels[1]
    meta, index = roles.meta_of(block)
    role_address = target.resource_address()
    where = f"{td.span.file.display}:{td.span.line}: {td.address}"
    if target.exclusive == "inline_policy blocks":
        role_block = target.resource
        assert role_block is not None
        text = role_block.file.text
        close = role_block.span.end - 1
        if meta or text[line_start(text, close) : close].strip():
            out.notes.append(f"{where}: not rewritten: {role_address} manages its inline policies exclusively "
                             "(inline_policy blocks): add the missing statements to it by hand")
            return
        policy_name = _inline_name(role_block, (base or f"{label}-execution-secrets").replace("_", "-"))
        rendered = render(mr.options.templates, "policy.tf.j2", form="inline", td_address=td.address,
                          policy_name=policy_name, statements=grants.statements())
        at = line_start(text, close)
        out.add(role_block.file, Edit(at, at, "\n" + rendered.strip("\n") + "\n"))
        how = "a new inline_policy block: the role manages its inline policies exclusively"
    elif (earlier := _extend_earlier(mr, out, td, target, grants)) is not None:
        how = f"{earlier}, generated by an earlier run, extended"
    else:
        name = mr.names.free((base or f"{label}_execution_secrets").replace("-", "_"), ("aws_iam_role_policy",))
        policy_name = name.replace("_", "-") + {"[each.key]": "-${each.key}", "[count.index]": "-${count.index}"}.get(
            index, "")
        exclusive = target.exclusive_block
        if exclusive is not None and not _add_policy_name(out, exclusive, f"aws_iam_role_policy.{name}{index}.name",
                                                          meta):
            out.notes.append(f"{where}: not rewritten: {target.exclusive} manages the inline policies of "
                             f"{role_address} and its policy_names is not a literal list")
            return
        rendered = render(mr.options.templates, "policy.tf.j2", form="resource", name=name, meta=meta,
                          td_address=td.address, policy_name=policy_name, role=target.role,
                          statements=grants.statements())
        from .engine import _place_generated  # right after the task definition, or in --output-file

        _place_generated(mr, out, block, rendered)
        how = f"aws_iam_role_policy.{name}"
        if exclusive is not None:
            how += f", listed in {target.exclusive}.policy_names"
    for line in grants.fixed:
        out.fixed.append(f"{line} to {role_address} ({how})")


def _extend_earlier(mr: ModuleRewrite, out: Plan, td: TaskDefinition, target: roles.RoleTarget,
                    grants: _Grants) -> str | None:
    """A later run: the policy an earlier run generated for this task definition (found by its
    marker comment) gets the new resources instead of a second policy. None if there is none, or
    it was edited beyond recognition."""
    pattern = re.compile(
        re.escape(MARKER) + r": the execution role of " + re.escape(td.address) + r" reads the secrets[^\n]*\n"
        r'(?:[ \t]*#[^\n]*\n)*[ \t]*resource[ \t]+"aws_iam_role_policy"[ \t]+"([^"]+)"'
    )
    block = None
    for src in mr.module.hcl_files():
        m = pattern.search(src.text) if MARKER in src.text else None
        if m:
            block = mr.module.resource("aws_iam_role_policy", m.group(1))
            break
    role = block.attributes.get("role") if block is not None else None
    if block is None or role is None or role.value.span.text != target.role:
        return None
    doc = block.attr("policy")
    if not (isinstance(doc, Call) and doc.name == "jsonencode" and doc.args and isinstance(doc.args[0], Obj)):
        return None
    statements = doc.args[0].get("Statement")
    if not isinstance(statements, Lst) or not statements.items:
        return None
    src = block.file
    text = src.text
    close = statements.span.end - 1
    last = statements.items[-1].span.end
    edits: list[Edit] = []
    added: list[tuple[str, list[str]]] = []
    for action, resources in grants.ordered():
        found = next((it for it in statements.items if isinstance(it, Obj) and _action_of(it) == action), None)
        if found is None:
            added.append((action, resources))
            continue
        listed = found.get("Resource")
        if not isinstance(listed, Lst) or not listed.items:
            return None
        have = {item.span.text for item in listed.items}
        new = [r for r in resources if r not in have]
        if new:
            edits.append(Edit(listed.items[-1].span.end, listed.items[-1].span.end, "".join(", " + r for r in new)))
    if added:
        if text[line_start(text, close) : close].strip() or not text[last:close].strip().startswith(","):
            return None
        indent = indent_of(text, statements.items[0].span.start)
        at = line_start(text, close)
        body = render(mr.options.templates, "policy.tf.j2", form="statements", pad=indent,
                      statements=[{"action": a, "resources": r} for a, r in added]).lstrip("\n")
        edits.append(Edit(at, at, body))
    for e in edits:
        out.add(src, e)
    return f"aws_iam_role_policy.{block.labels[1]}"


def _action_of(statement: Obj) -> str | None:
    action = statement.get("Action")
    if isinstance(action, Lst) and len(action.items) == 1:
        action = action.items[0]
    return action.value if isinstance(action, Str) else None


def _inline_name(role: Block, base: str) -> str:
    """An `inline_policy` name not yet used in the role (names are unique per role)."""
    taken = {b.attributes["name"].value.span.text.strip('"') for b in role.blocks
             if b.type == "inline_policy" and "name" in b.attributes}
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


def _add_policy_name(out: Plan, exclusive: Block, expr: str, meta: str) -> bool:
    names = exclusive.attr("policy_names")
    if meta or not isinstance(names, Lst):
        return False
    src = names.span.file
    text = src.text
    close = names.span.end - 1
    if names.items and not text[line_start(text, close) : close].strip():
        indent = indent_of(text, names.items[0].span.start)
        last = names.items[-1].span.end
        if not text[last:close].strip().startswith(","):
            out.add(src, Edit(last, last, ","))
        at = line_start(text, close)
        out.add(src, Edit(at, at, f"{indent}{expr},\n"))
    elif names.items:
        last = names.items[-1].span.end
        out.add(src, Edit(last, last, f", {expr}"))
    else:
        out.add(src, Edit(names.span.start, names.span.end, f"[{expr}]"))
    return True


# --------------------------------------------------------------------------- EF103


def _fix_value_from(out: Plan, td: TaskDefinition, f: Finding, use: Use | None) -> None:
    """`<secret-arn>:<json-key>` -> `<secret-arn>:<json-key>::` (the only unambiguous case)."""
    where = f"{f.file}:{f.line}: EF103 {td.address} {f.name or ''}".rstrip()
    entry = None
    if use is not None:
        entry = next((s for s in use.container.secrets if s.span.start == use.span.start
                      and s.span.file is use.span.file), None)
    value = entry.value_from if entry is not None else None
    vf = use.value_from if use is not None else None
    if vf is None or not isinstance(value, Str) or vf.service != "secretsmanager" or len(vf.fields) not in (1, 2):
        out.notes.append(f"{where}: not rewritten: {_why(f)}")
        return
    written = parse_value_from(_written(value))
    text = value.span.text
    if len(written.fields) != len(vf.fields) or not text.endswith('"') or "\n" in text:
        out.notes.append(f"{where}: not rewritten: {_why(f)}")
        return
    colons = "::" if len(vf.fields) == 1 else ":"
    out.add(value.span.file, Edit(value.span.end - 1, value.span.end - 1, colons))
    out.fixed.append(f"{where}: added the trailing `{colons}` to the valueFrom's JSON key")


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
