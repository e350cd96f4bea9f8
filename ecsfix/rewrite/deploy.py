"""Fixes for the deploy-readiness rules EF101-EF104 (execution role, policy, valueFrom, KMS)."""

from __future__ import annotations

from .common import ModuleRewrite, Plan


def plan(mr: ModuleRewrite) -> Plan:
    """Edits that fix EF101-EF104 findings in one module."""
    return Plan()
