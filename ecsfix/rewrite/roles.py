"""Which role a generated policy attaches to: the task definition's execution role, however it is given.

SPEC §5: `aws_iam_role.X.arn` -> `aws_iam_role.X.id`; `data.aws_iam_role.X.arn` ->
`data.aws_iam_role.X.name`; a literal ARN (which may carry a path), a variable or a module output ->
the role name derived from the ARN. No `execution_role_arn` -> a role is created (trust for
`ecs-tasks.amazonaws.com`, AmazonECSTaskExecutionRolePolicy attached) and set, once per task
definition however many planners ask. Roles that manage their inline policies exclusively
(`inline_policy` blocks, `aws_iam_role_policies_exclusive`) are reported, so that the statement goes
there instead of into an `aws_iam_role_policy` the role would fight with.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field

from ..model import Block, Null, Ref, Str, TaskDefinition
from .edits import Edit, indent_of, line_end
from .generate import place_generated, render
from .hclgen import meta_of
from .plan import ModuleRewrite, Names, Plan, where

_ROLE_RESOURCE = re.compile(r"^aws_iam_role\.([A-Za-z_][A-Za-z0-9_-]*)(\[[^\]]*\])?\.arn$")
_ROLE_DATA = re.compile(r"^data\.aws_iam_role\.([A-Za-z_][A-Za-z0-9_-]*)(\[[^\]]*\])?\.arn$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/(?:[^/]+/)*([^/]+)$")
ROLE_TYPES = ("aws_iam_role", "aws_iam_role_policy_attachment")


@dataclass
class RoleTarget:
    """`role` for a generated `aws_iam_role_policy`, or why there is none."""

    role: str | None  # an HCL expression
    note: str | None = None  # why the policy cannot be generated (left for a manual fix)
    plan: Plan = field(default_factory=Plan)  # extra edits (e.g. a created role and `execution_role_arn`)
    resource: Block | None = None  # the role resource in this module, when there is one
    created: str | None = None  # the address of the role this rewrite creates
    exclusive: str | None = None  # how the role manages its inline policies exclusively, if it does
    exclusive_block: Block | None = None  # the `aws_iam_role_policies_exclusive`, when that is how

    def resource_address(self) -> str:
        if self.resource is not None:
            return f"aws_iam_role.{self.resource.labels[1]}"
        return self.created or "the execution role"


# Roles created in one rewrite, per module (keyed by the module's `Names`, which lives exactly as
# long as the `ModuleRewrite`): task definition address -> the role and its edits.
_CREATED: weakref.WeakKeyDictionary[Names, dict[str, RoleTarget]] = weakref.WeakKeyDictionary()


def missing_role(td: TaskDefinition) -> bool:
    """No execution role at all: the attribute is absent, `null` or `""`."""
    role = td.execution_role
    return role is None or isinstance(role, Null) or isinstance(role, Str) and role.value == ""


def execution_role_target(mr: ModuleRewrite, td: TaskDefinition) -> RoleTarget:
    """The role a generated `aws_iam_role_policy` names (EF001 secrets, EF102/EF104 grants).

    A missing role is created once: every caller gets the same role and the edits in `.plan` (which
    it adds to its plan when it grants the role anything)."""
    target = role_of(mr, td)
    if target.exclusive and target.role is not None:
        target.note = (f"{where(td)}: {target.resource_address()} manages its inline policies exclusively "
                       f"({target.exclusive}): add the generated statement there")
        target.role = None
    return target


def role_of(mr: ModuleRewrite, td: TaskDefinition) -> RoleTarget:
    """Like `execution_role_target`, but a role with exclusive policy management is returned as
    such (`.exclusive` set, `.role` kept) for a planner that can add its statement there."""
    if missing_role(td):
        return created_role(mr, td)
    role = td.execution_role
    here = where(td)
    interp = role.sole_interp() if isinstance(role, Str) else None
    if interp is not None and isinstance(interp.expr, Ref):  # Terraform 0.11: "${aws_iam_role.x.arn}"
        role = interp.expr
    if isinstance(role, Ref):
        m = _ROLE_RESOURCE.match(role.source)
        if m:
            block = mr.module.resource("aws_iam_role", m.group(1))
            target = RoleTarget(f"aws_iam_role.{m.group(1)}{m.group(2) or ''}.id", resource=block)
            target.exclusive, target.exclusive_block = exclusive_management(mr, m.group(1), block)
            return target
        m = _ROLE_DATA.match(role.source)
        if m:
            return RoleTarget(f"data.aws_iam_role.{m.group(1)}{m.group(2) or ''}.name")
        return _through_reference(mr, role)
    if isinstance(role, Str) and role.value is not None and not role.is_template:
        m2 = _ROLE_ARN.match(role.value)
        if m2:
            return RoleTarget(f'"{m2.group(1)}"')
        return RoleTarget(None, f"{here}: execution_role_arn is not a role ARN: fix it before moving secrets")
    assert role is not None
    return RoleTarget(f'regex("[^/]+$", {role.span.text})')


def _through_reference(mr: ModuleRewrite, role: Ref) -> RoleTarget:
    """A role ARN given as a local (or another reference): the policy names the role by the ARN's
    last segment, and a role of this module it resolves to is found, so that its exclusive policy
    management (`inline_policy` blocks) is respected."""
    from ..iam import IamModel  # lazily: the IAM model loads only when a task pulls secrets

    target = RoleTarget(f'regex("[^/]+$", {role.span.text})')
    found = IamModel.of(mr.module, mr.scan.resolver).role_of(role).block
    if found is not None and found.type == "resource" and len(found.labels) == 2:
        target.resource = found
        target.exclusive, target.exclusive_block = exclusive_management(mr, found.labels[1], found)
    return target


def exclusive_management(mr: ModuleRewrite, name: str, block: Block | None) -> tuple[str | None, Block | None]:
    """How the role manages its *inline* policies exclusively (`managed_policy_arns` governs
    attachments only, so an `aws_iam_role_policy` does not fight it)."""
    if block is not None and any(b.type == "inline_policy" for b in block.blocks):
        return "inline_policy blocks", None
    pattern = re.compile(r"aws_iam_role\." + re.escape(name) + r"\b")
    for b in mr.module.blocks("resource", "aws_iam_role_policies_exclusive"):
        if pattern.search(b.span.text):
            return f"aws_iam_role_policies_exclusive.{b.labels[1] if len(b.labels) > 1 else '?'}", b
    return None, None


# --------------------------------------------------------------------------- a created role


def created_role(mr: ModuleRewrite, td: TaskDefinition) -> RoleTarget:
    """The role created for `td`, once per rewrite: every caller gets the same target and edits
    (a planner that grants it adds them to its plan; `Plan.add` keeps one copy of an edit that
    several planners add, so it does not matter which of them, or how many, keep their plan)."""
    memo = _CREATED.setdefault(mr.names, {})
    target = memo.get(td.address)
    if target is None:
        target = memo[td.address] = _create(mr, td)
    return target


def _create(mr: ModuleRewrite, td: TaskDefinition) -> RoleTarget:
    block = td.block
    here = where(td)
    if block is None or td.kind != "resource" or "execution_role_arn" in block.attributes and not isinstance(
            block.attributes["execution_role_arn"].value, (Null, Str)):
        return RoleTarget(None, f"{here}: no execution role, and the task definition is not a resource block "
                                "ecsfix can edit: add an execution role (EF101) by hand")
    if "\n" not in block.span.text.strip():
        return RoleTarget(None, f"{here}: no execution role, and the task definition is written on one line: "
                                "add an execution role (EF101) by hand")
    label = block.labels[1]
    meta, index = meta_of(block)
    name = mr.names.free(f"{label}_execution", ROLE_TYPES)
    text = block.file.text
    plan = Plan()
    arn = f"aws_iam_role.{name}{index}.arn"
    attr = block.attributes.get("execution_role_arn")
    if attr is not None:  # `execution_role_arn = null` / `""`
        plan.add(block.file, Edit(attr.value.span.start, attr.value.span.end, arn))
    else:
        after = next((block.attributes[a] for a in ("task_role_arn", "family") if a in block.attributes), None)
        if after is not None and "\n" not in after.span.text:
            at = line_end(text, after.span.end)
            indent = indent_of(text, after.span.start)
        else:
            at = line_end(text, block.body_span.start)
            first = min((a.span.start for a in block.attributes.values()), default=None)
            indent = indent_of(text, first) if first is not None else "  "
        plan.add(block.file, Edit(at, at, f"{indent}execution_role_arn = {arn}\n"))
    rendered = render(mr.options.templates, "execution_role.tf.j2", name=name, index=index, meta=meta,
                      td_address=td.address, name_prefix=_name_prefix(label))
    place_generated(mr, plan, block, rendered)
    plan.fixed.append(f"{td.span.file.display}:{td.span.line}: EF101 {td.address}: created the execution role "
                      f"aws_iam_role.{name} (trusts ecs-tasks.amazonaws.com, AmazonECSTaskExecutionRolePolicy "
                      "attached) and set execution_role_arn")
    return RoleTarget(f"aws_iam_role.{name}{index}.id", plan=plan, created=f"aws_iam_role.{name}")


def _name_prefix(label: str) -> str:
    """IAM role `name_prefix`: at most 38 characters of [\\w+=,.@-]."""
    base = re.sub(r"[^A-Za-z0-9_+=,.@-]", "-", label)[:27]
    return f"{base}-execution-"
