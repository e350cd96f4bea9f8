"""Rewrites of ECS module calls (cloudposse ecs-container-definition, terraform-aws-modules ecs)."""

from __future__ import annotations

from .common import ModuleRewrite, Plan


def plan(mr: ModuleRewrite) -> Plan:
    """Edits that move EF001 module-input entries into the module's own `secrets` inputs."""
    plan = Plan()
    flagged = {f.resource for f in mr.findings if f.rule == "EF001" and f.fixable}
    for td in mr.scan.task_definitions:
        if td.kind == "module" and td.address in flagged:
            plan.notes.append(f"{td.span.file.display}:{td.span.line}: {td.address}: not rewritten: "
                              "module inputs; move the entries to the module's secrets inputs by hand")
    return plan
