"""The `--summary` section for raw task-definition JSON files: per rewritten file, the secret to
create (its `file://` input with the keys and placeholder values, never a value), the statement the
execution role needs, and the `register-task-definition` step. Markdown lines, for `summary_markdown`.
"""

from __future__ import annotations

import json
import re

from .taskdef_json import SecretPlan


def _input_file(plan: SecretPlan) -> str:
    name = plan.name if plan.name and "<" not in plan.name else (plan.family or "ecs-task") + "-secret"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") + ".json"


def _role_name(role: str | None) -> str | None:
    m = re.match(r"^arn:aws[a-z-]*:iam::\d{12}:role/(?:.*/)?([^/]+)$", role or "")
    return m.group(1) if m else None


def _resource(plan: SecretPlan) -> str:
    if plan.ssm:
        return plan.base.rstrip("/") + "/*"
    if plan.complete:
        return plan.base
    return plan.base + "-??????"  # the random suffix Secrets Manager adds to the name


def _fence(lang: str, body: str) -> list[str]:
    return ["", f"```{lang}", *body.splitlines(), "```", ""]


def taskdef_summary(plans: list[SecretPlan]) -> list[str]:
    """Markdown lines (each section starts with a blank line); [] when no such file was rewritten."""
    lines: list[str] = []
    for plan in plans:
        lines += ["", f"Task-definition JSON `{plan.file}`"
                  + (f" (family `{plan.family}`)" if plan.family else "") + ":", ""]
        keys = ", ".join(f"`{k}`" for k in plan.keys)
        where = "SSM Parameter Store, one SecureString parameter per entry" if plan.ssm else \
            "AWS Secrets Manager, one secret holding a JSON object, one key per entry"
        lines.append(f"* The entries now come from `{plan.base}` ({where}): {keys}.")
        lines.append("* Their values were committed in this file and stay in git history: **rotate** each of "
                     "them, and put the new values in the secret, never in git.")
        if plan.missing:
            lines.append(f"* The `valueFrom` ARNs still hold the placeholders {', '.join(f'`{p}`' for p in plan.missing)} "
                         "(the file does not say them; EF103 reports them until they are set): run `ecsfix rewrite` "
                         "again with `--secret-arn ARN` (or `--secret-name NAME` once the file names its account and "
                         "Region), or replace them by hand.")
        elif not plan.ssm and not plan.complete:
            lines.append("* The ARN is built from the secret's name, without the `-AbCdEf` suffix Secrets Manager adds: "
                         "such a partial ARN works as `valueFrom` as long as it matches exactly one secret (do not end "
                         "the name with a hyphen and six characters). For the exact ARN, run `ecsfix rewrite` with "
                         "`--secret-arn` and the ARN `create-secret` prints.")
        lines += [""] + _store(plan)
        role = _role_name(plan.role)
        action = "ssm:GetParameters" if plan.ssm else "secretsmanager:GetSecretValue"
        lines.append(f"Allow the execution role{f' `{role}`' if role else ' (executionRoleArn)'} to read it: add this "
                     "statement to a policy attached to it (plus `kms:Decrypt` on the key, if the "
                     f"{'parameters use' if plan.ssm else 'secret uses'} a customer managed KMS key):")
        statement = {"Effect": "Allow", "Action": action, "Resource": _resource(plan)}
        lines += _fence("json", json.dumps(statement, indent=2))
        lines.append("Then register the new revision:")
        lines += _fence("sh", f"aws ecs register-task-definition --cli-input-json file://{plan.file}")
    if lines:
        lines[:0] = ["", "### Raw task definitions", "",
                     "Registered with `aws ecs register-task-definition` or a deploy action, not Terraform: "
                     "the secrets and the grant are yours to create."]
        if lines[-1] == "":
            lines.pop()
    return lines


def _store(plan: SecretPlan) -> list[str]:
    """The commands that put the new values where the `valueFrom`s point, with their input's shape."""
    if plan.ssm:
        out = ["Create one SecureString parameter per entry (each `file://` input holds the new value alone, "
               "outside the repository; delete it afterwards):"]
        path = plan.base.split(":parameter", 1)[1].rstrip("/")
        cmds = [f"aws ssm put-parameter --type SecureString --name {path}/{k} --value file://{k}.txt" for k in plan.keys]
        return out + _fence("sh", "\n".join(cmds))
    name = _input_file(plan)
    shape = json.dumps({k: f"<new value of {k}>" for k in plan.keys}, indent=2)
    out = [f"Write `{name}` outside the repository (never commit it; delete it afterwards), with the new values:"]
    out += _fence("json", shape)
    if plan.name is None:  # --secret-arn: the secret exists
        out.append("Store them in the existing secret (`put-secret-value` replaces its whole value: copy the keys it "
                   "holds already into the file too):")
        out += _fence("sh", f"aws secretsmanager put-secret-value --secret-id {plan.base} --secret-string file://{name}")
    else:
        out.append("Create the secret:")
        out += _fence("sh", f"aws secretsmanager create-secret --name {plan.name} --secret-string file://{name}")
    return out
