"""What every rule check receives and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..detectconfig import DetectConfig
from ..model import SEVERITIES, Finding, Span, TaskDefinition
from . import RULES

if TYPE_CHECKING:
    from ..module import Module
    from ..resolve import Resolver


@dataclass
class RuleContext:
    detect: DetectConfig = field(default_factory=DetectConfig)
    severity: dict[str, str] = field(default_factory=dict)  # per-rule overrides from config
    disabled: frozenset[str] = frozenset()
    # The module being checked (None for plan and task-definition JSON): rules that look beyond the
    # task definition (execution role policies, VPC endpoints) read it through these.
    module: Module | None = None
    resolver: Resolver | None = None
    task_definitions: list[TaskDefinition] = field(default_factory=list)  # all of the module's

    def finding(self, rule_id: str, span: Span, td: TaskDefinition, container: str, *, name: str | None = None,
                reason: str | None = None, preview: str | None = None, fixable: bool | None = None,
                message: str, why: str = "", severity: str | None = None, manual: str | None = None) -> Finding:
        """`severity` overrides the rule's own for this finding (a configured severity wins)."""
        rule = RULES[rule_id]
        if td.defined_in:
            message = f"{message} (defined in {td.defined_in})"
        if td.note:
            message = f"{message} ({td.note})"
        severity = self.severity.get(rule_id, severity or rule.severity)
        if td.severity_cap and SEVERITIES.index(severity) < SEVERITIES.index(td.severity_cap):
            severity = td.severity_cap
        return Finding(
            rule=rule_id,
            severity=severity,
            span=span,
            resource=td.address,
            container=container,
            name=name,
            reason=reason,
            preview=preview,
            fixable=rule.fixable if fixable is None else fixable,
            message=message,
            why=why,
            through_call=td.through_call,
            manual=manual,
        )


def pulls_nothing(td: TaskDefinition) -> bool:
    """No container has `secrets` (written in any form) or `repositoryCredentials`: the
    deploy-readiness rules have nothing to check, so they skip building the IAM model."""
    return not any(c.secrets or c.repository_credentials or c.secrets_expr is not None for c in td.containers)
