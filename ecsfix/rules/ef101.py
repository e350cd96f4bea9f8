"""EF101: a container pulls secrets (or registry credentials) but the task has no execution role.

The ECS agent fetches `secrets` and `repositoryCredentials` with the task *execution* role before
the container starts; a task role belongs to the application and does not help.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..iam import IamModel, uses_secrets
from ..model import Finding, Null, Str, TaskDefinition
from .base import RuleContext, pulls_nothing


def check(td: TaskDefinition, ctx: RuleContext) -> Iterator[Finding]:
    if td.kind == "module" or pulls_nothing(td):
        return  # ECS modules create and wire their own execution role
    model = IamModel.of(ctx.module, ctx.resolver)
    if td.execution_role is not None:  # plans: a role known only after apply is an `Other`, not absent
        role, _ = model.resolve(td.execution_role)
        if not (isinstance(role, Null) or isinstance(role, Str) and role.value == ""):
            return
    json_names = td.kind in ("taskdef-json",)
    exec_attr = "executionRoleArn" if json_names else "execution_role_arn"
    task_attr = "taskRoleArn" if json_names else "task_role_arn"
    for container in td.containers:
        if not uses_secrets(container, model):
            continue
        pulled = []
        span = container.span
        if container.obj is not None:
            for key in ("secrets", "repositoryCredentials"):
                item = container.obj.item(key)
                if item is not None:
                    pulled.append(f"`{key}`")
                    span = item.span if span is container.span else span
        names = [e.name for e in container.secrets if e.name]
        listed = f" ({', '.join(names[:4])}{', ...' if len(names) > 4 else ''})" if names else ""
        task_role = (f"; `{task_attr}` is set, but ECS pulls secrets with the execution role, not the task role"
                     if td.task_role is not None else "")
        yield ctx.finding(
            "EF101", span, td, container.display_name,
            message=(f"container uses {' and '.join(pulled) or '`secrets`'}{listed} but the task definition has no "
                     f"`{exec_attr}`{task_role}: set `{exec_attr}` to a role that trusts ecs-tasks.amazonaws.com, "
                     "has AmazonECSTaskExecutionRolePolicy attached and may read these secrets, or tasks fail with "
                     "ResourceInitializationError"),
        )
