"""Inline suppressions: `# ecsfix:ignore EF001 reason` on the entry (any of its lines) or on the comment
line above it.

For compatibility the tfsec, Trivy and Checkov forms for the same check are honoured too."""

from __future__ import annotations

import re

from .model import Finding

_ECSFIX = re.compile(r"(?:#|//)\s*ecsfix:ignore(?P<ids>(?:[\s,]+EF\d{3})*)", re.I)
_COMPAT = re.compile(
    r"(?:#|//)\s*(?:tfsec:ignore:aws-ecs-no-plaintext-secrets|trivy:ignore:AVD-AWS-0036|checkov:skip=\S+)", re.I
)
_COMMENT_ONLY = re.compile(r"^\s*(?:#|//)")
# Rules whose findings are one environment entry or one field item (small spans).
_ENTRY_RULES = ("EF001", "EF002")


def _matches(line: str, rule: str) -> bool:
    m = _ECSFIX.search(line)
    if m:
        ids = re.findall(r"EF\d{3}", m.group("ids") or "", re.I)
        if not ids or rule.upper() in (i.upper() for i in ids):
            return True
    return rule in _ENTRY_RULES and bool(_COMPAT.search(line))


def is_suppressed(finding: Finding) -> bool:
    src = finding.span.file
    if not src.display.endswith((".tf", ".hcl")) and "#" not in src.text and "//" not in src.text:
        return False
    line = finding.span.line
    if _matches(src.line_text(line), finding.rule):
        return True
    if finding.rule in _ENTRY_RULES:  # a multi-line entry: a comment on any of its lines counts
        for other in range(line + 1, finding.span.end_line + 1):
            if _matches(src.line_text(other), finding.rule):
                return True
    above = src.line_text(line - 1)
    return bool(_COMMENT_ONLY.match(above)) and _matches(above, finding.rule)
