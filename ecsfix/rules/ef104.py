"""EF104: a secret encrypted with a customer managed KMS key the execution role may not use.

Reading a secret (or a SecureString parameter) encrypted with a customer managed key needs
`kms:Decrypt` on that key as well; the AWS managed keys (`aws/secretsmanager`, `aws/ssm`) need
nothing. A key policy statement or an `aws_kms_grant` naming the role counts as a grant too.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..iam import IamModel, distinct, literal, secret_uses, show_ref
from ..model import Finding, Null, TaskDefinition
from .base import RuleContext, pulls_nothing
from .ef102 import cannot_verify

DECRYPT = "kms:Decrypt"


def check(td: TaskDefinition, ctx: RuleContext) -> Iterator[Finding]:
    if td.kind == "module" or td.execution_role is None or ctx.module is None or pulls_nothing(td):
        return
    model = IamModel.of(ctx.module, ctx.resolver)
    if isinstance(model.resolve(td.execution_role)[0], Null):
        return
    uses = secret_uses(td, model)
    if not uses:
        return
    role = model.role_of(td.execution_role)
    if role.outside:
        return  # EF102 already says the role cannot be verified
    policies = model.role_policies(role)
    for use in distinct(uses):
        secret = model.secret_block(use.value_from)
        key = model.kms_key(secret) if secret is not None else None
        if secret is None or key is None:
            continue
        decision = model.decide(policies, DECRYPT, key.text)
        if decision.verdict == "allow" or model.key_grants(key, role, DECRYPT) is not None:
            continue
        address = f"{secret.labels[0]}.{secret.labels[1]}"
        if decision.verdict == "unknown":
            yield cannot_verify(ctx, "EF104", td, use.span, f"whether {role.address} may use {key.shown} to decrypt "
                                                       f"{address}: {'; '.join(decision.reasons)}",
                                name=use.name, container=use.container.display_name)
            continue
        if decision.verdict == "deny" and decision.statement is not None:
            why = f"{decision.statement.where()} denies `{DECRYPT}` on it (an explicit Deny overrides every Allow)"
        else:
            why = f"the execution role {role.address} has no `{DECRYPT}` on it"
            if td.task_role is not None:
                task_role = model.role_of(td.task_role)
                if task_role.block is not None and task_role.address != role.address \
                        and model.decide(model.role_policies(task_role), DECRYPT, key.text).verdict == "allow":
                    why += f" (the task role {task_role.address} has it, but ECS decrypts with the execution role)"
        lit = literal(key.text)
        resource = (show_ref(key.text) if key.identity is not None else f'"{lit}"' if lit is not None
                    else '"arn:aws:kms:<region>:<account-id>:key/<key-id>"')
        yield ctx.finding(
            "EF104", use.span, td, use.container.display_name, name=use.name,
            message=(f"{address} is encrypted with the customer managed key {key.shown} and {why}: add "
                     f'{{ Effect = "Allow", Action = ["{DECRYPT}"], Resource = [{resource}] }} to the execution '
                     "role's policy, or tasks fail with ResourceInitializationError ... AccessDeniedException"),
        )
