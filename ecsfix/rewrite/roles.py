"""Which role a generated policy attaches to: the task definition's execution role, however it is given.

SPEC §5: `aws_iam_role.X.arn` -> `aws_iam_role.X.id`; `data.aws_iam_role.X.arn` ->
`data.aws_iam_role.X.name`; a literal ARN (which may carry a path), a variable or a module output ->
the role name derived from the ARN. Roles that manage their policies exclusively are reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..model import Block, Ref, Str, TaskDefinition
from .common import ModuleRewrite, Plan

_ROLE_RESOURCE = re.compile(r"^aws_iam_role\.([A-Za-z_][A-Za-z0-9_-]*)(\[[^\]]*\])?\.arn$")
_ROLE_DATA = re.compile(r"^data\.aws_iam_role\.([A-Za-z_][A-Za-z0-9_-]*)(\[[^\]]*\])?\.arn$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/(?:[^/]+/)*([^/]+)$")


@dataclass
class RoleTarget:
    """`role` for a generated `aws_iam_role_policy`, or why there is none."""

    role: str | None  # an HCL expression
    note: str | None = None  # why the policy cannot be generated (left for a manual fix)
    plan: Plan = field(default_factory=Plan)  # extra edits (e.g. a created role and `execution_role_arn`)
    resource: Block | None = None  # the role resource in this module, when there is one


def execution_role_target(mr: ModuleRewrite, td: TaskDefinition) -> RoleTarget:
    role = td.execution_role
    where = f"{td.span.file.display}:{td.span.line}: {td.address}"
    if role is None:
        return RoleTarget(None, f"{where}: no execution_role_arn: add an execution role (EF101) before moving secrets")
    if isinstance(role, Ref):
        m = _ROLE_RESOURCE.match(role.source)
        if m:
            block = mr.module.resource("aws_iam_role", m.group(1))
            target = RoleTarget(f"aws_iam_role.{m.group(1)}{m.group(2) or ''}.id", resource=block)
            why = exclusive_management(mr, m.group(1), block)
            if why:
                target.role = None
                target.note = (f"{where}: aws_iam_role.{m.group(1)} manages its policies exclusively ({why}): "
                               "add the generated statement there")
            return target
        m = _ROLE_DATA.match(role.source)
        if m:
            return RoleTarget(f"data.aws_iam_role.{m.group(1)}{m.group(2) or ''}.name")
        return RoleTarget(f'regex("[^/]+$", {role.span.text})')
    if isinstance(role, Str) and role.value is not None and not role.is_template:
        m2 = _ROLE_ARN.match(role.value)
        if m2:
            return RoleTarget(f'"{m2.group(1)}"')
        return RoleTarget(None, f"{where}: execution_role_arn is not a role ARN: fix it before moving secrets")
    return RoleTarget(f'regex("[^/]+$", {role.span.text})')


def exclusive_management(mr: ModuleRewrite, name: str, block: Block | None) -> str | None:
    if block is not None:
        if any(b.type == "inline_policy" for b in block.blocks):
            return "inline_policy blocks"
        if "managed_policy_arns" in block.attributes:
            return "managed_policy_arns"
    pattern = re.compile(r"aws_iam_role\." + re.escape(name) + r"\b")
    for b in mr.module.blocks("resource", "aws_iam_role_policies_exclusive"):
        if pattern.search(b.span.text):
            return f"aws_iam_role_policies_exclusive.{b.labels[1] if len(b.labels) > 1 else '?'}"
    return None
