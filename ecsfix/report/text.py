"""Human-readable report: one line per finding, grouped by file, then errors and a summary.

    infra/main.tf:12:9 EF001 [high] aws_ecs_task_definition.app/api DB_PASSWORD=hu****** — ...

Lines start with `path:line:col` so that editors and terminals can jump to them.
"""

from __future__ import annotations

import re
from itertools import groupby

from ecsfix.model import Finding, ScanResult
from ecsfix.report import sorted_errors, sorted_findings, summary_lines

RESET = "\x1b[0m"
BOLD = "\x1b[1m"
RED = "\x1b[31m"
SEVERITY_COLORS = {
    "critical": "\x1b[1;31m",
    "high": RED,
    "medium": "\x1b[33m",
    "low": "\x1b[36m",
    "info": "\x1b[34m",
}

# Names and messages come from the scanned files: never let them move the cursor or recolour
# the terminal.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def render(result: ScanResult, *, color: bool = False) -> str:
    paint = _paint if color else _plain
    blocks: list[list[str]] = []
    for _, group in groupby(sorted_findings(result.findings), key=lambda f: f.file):
        blocks.append([finding_line(f, color=color) for f in group])
    errors = sorted_errors(result.errors)
    if errors:
        blocks.append([paint(_printable(e.render()), RED) for e in errors])
    blocks.append([paint(line, BOLD) for line in summary_lines(result)])
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"


def finding_line(finding: Finding, *, color: bool = False) -> str:
    """`path:line:col RULE [severity] resource/container NAME=preview — message`."""
    paint = _paint if color else _plain
    subject = finding.name or ""
    if finding.preview is not None:
        subject = f"{subject}={finding.preview}" if subject else finding.preview
    parts = [
        _printable(f"{finding.file}:{finding.line}:{finding.column}"),
        paint(_printable(finding.rule), BOLD),
        paint(_printable(f"[{finding.severity}]"), SEVERITY_COLORS.get(finding.severity, "")),
        _printable(f"{finding.resource}/{finding.container}"),
    ]
    if subject:
        parts.append(_printable(subject))
    parts += ["—", _printable(finding.message)]
    return " ".join(parts)


def _paint(text: str, style: str) -> str:
    return f"{style}{text}{RESET}" if style else text


def _plain(text: str, style: str) -> str:
    return text


def _printable(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
