"""EF102: the execution role may not read a secret or parameter the containers reference.

ECS fetches each `valueFrom` with the task execution role: `secretsmanager:GetSecretValue` on the
secret's ARN (without the `:json-key::` suffix), `ssm:GetParameters` on the parameter's ARN.
The policies attached to the role inside this module are evaluated like IAM does: wildcards,
Deny over Allow. A role defined elsewhere cannot be verified: that is said, at info level.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..iam import (
    Decision,
    IamModel,
    RolePolicies,
    RoleRef,
    SecretUse,
    Text,
    distinct,
    secret_uses,
    show,
    show_ref,
)
from ..model import Finding, Null, Span, TaskDefinition
from .base import RuleContext, pulls_nothing

MANAGED_HINT = "AmazonECSTaskExecutionRolePolicy grants ECR and CloudWatch Logs access only, not secrets"


def check(td: TaskDefinition, ctx: RuleContext) -> Iterator[Finding]:
    if td.kind == "module" or td.execution_role is None or pulls_nothing(td):
        return
    model = IamModel.of(ctx.module, ctx.resolver)
    if isinstance(model.resolve(td.execution_role)[0], Null):
        return  # EF101
    uses = secret_uses(td, model)
    if not uses:
        return
    span = role_span(td)
    if ctx.module is None:
        yield cannot_verify(ctx, "EF102", td, span, "the execution role's policies are not part of this input; "
                                           "scan the Terraform module that defines the role")
        return
    role = model.role_of(td.execution_role)
    policies = model.role_policies(role)
    outside_said = False
    for use in distinct(uses):
        decision, action = decide(model, policies, use)
        if decision.verdict == "allow":
            continue
        if decision.verdict == "unknown":
            if role.outside:
                if not outside_said:
                    outside_said = True
                    yield cannot_verify(ctx, "EF102", td, span, f"execution role defined outside this module ({role.outside}); "
                                                       "make sure it allows reading the secrets")
                continue
            yield cannot_verify(ctx, "EF102", td, use.span, f"whether {role.address} may read {use.value_from.shown}: "
                                                   f"{'; '.join(decision.reasons)}", name=use.name, container=use.container.display_name)
            continue
        yield ctx.finding("EF102", use.span, td, use.container.display_name, name=use.name,
                          message=message(model, td, role, policies, use, decision, action))


def decide(model: IamModel, policies: RolePolicies, use: SecretUse) -> tuple[Decision, str]:
    vf = use.value_from
    actions = [vf.action] if vf.service else ["secretsmanager:GetSecretValue", "ssm:GetParameters"]
    decisions = [(model.decide(policies, a, vf.iam_resource()), a) for a in actions]
    for verdict in ("allow", "deny", "unknown", "none"):
        for d, a in decisions:
            if d.verdict == verdict:
                return d, a
    return decisions[0]


def role_span(td: TaskDefinition) -> Span:
    if td.block is not None and "execution_role_arn" in td.block.attributes:
        return td.block.attributes["execution_role_arn"].span
    return td.execution_role.span if td.execution_role is not None else td.span


def cannot_verify(ctx: RuleContext, rule: str, td: TaskDefinition, span: Span, what: str, *,
                  name: str | None = None, container: str = "*") -> Finding:
    finding = ctx.finding(rule, span, td, container, name=name, fixable=False, message=f"cannot verify: {what}")
    finding.severity = "info"  # a limit of static analysis, not a defect: shown, never counted
    return finding


def grant_resource(text: Text) -> str:
    """How to write the secret in a policy's Resource list."""
    if len(text) == 1:
        return show_ref(text)
    rendered = show(text)
    return f'"{rendered.replace("<suffix>", "*")}"' if "<" in rendered else f'"{rendered}"'


def message(model: IamModel, td: TaskDefinition, role: RoleRef, policies: RolePolicies, use: SecretUse,
            decision: Decision, action: str) -> str:
    vf = use.value_from
    target = vf.shown
    if decision.verdict == "deny" and decision.statement is not None:
        return (f"{decision.statement.where()} denies `{action}` on {target} to the execution role {role.address} "
                "(an explicit Deny overrides every Allow): narrow or remove that statement, or tasks fail with "
                "ResourceInitializationError ... AccessDeniedException")
    hints: list[str] = []
    if td.task_role is not None:
        task_role = model.role_of(td.task_role)
        if task_role.block is not None and task_role.address != role.address:
            if model.decide(model.role_policies(task_role), action, vf.iam_resource()).verdict == "allow":
                hints.append(f"the task role {task_role.address} allows it, but ECS pulls secrets with the "
                             "execution role: move the statement there")
    for st in decision.elsewhere[:2]:
        written = ", ".join(show_ref(t) for t, _ in st.resources[:3]) or "no resource"
        hints.append(f"{st.where()} allows it only on {written}")
    if "AmazonECSTaskExecutionRolePolicy" in policies.managed and not hints:
        hints.append(MANAGED_HINT)
    where = ("its `inline_policy` (the role manages its policies exclusively)" if policies.exclusive
             else f'an aws_iam_role_policy with role = {role.address}.id')
    resource = grant_resource(vf.iam_resource())
    hint = f" ({'; '.join(hints)})" if hints else ""
    return (f"execution role {role.address} has no statement allowing `{action}` on {target}{hint}: add "
            f'{{ Effect = "Allow", Action = ["{action}"], Resource = [{resource}] }} to {where}, '
            "or tasks fail with ResourceInitializationError ... AccessDeniedException")
