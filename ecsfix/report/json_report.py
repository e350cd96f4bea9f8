"""Machine-readable report, version 1 (SPEC §6).

Keys appear in the documented order; `end_line`/`end_column` follow the documented finding keys
(additions only ever come after them, so consumers that read the spec keys keep working).
ASCII-only output, so the report survives any stream encoding.
"""

from __future__ import annotations

import json
from typing import Any

from ecsfix.model import Finding, InputError, ScanResult
from ecsfix.report import sorted_errors, sorted_findings

SCHEMA_VERSION = 1


def render(result: ScanResult, *, tool_version: str) -> str:
    return json.dumps(document(result, tool_version=tool_version), indent=2) + "\n"


def document(result: ScanResult, *, tool_version: str) -> dict[str, Any]:
    return {
        "version": SCHEMA_VERSION,
        "tool": {"name": "ecsfix", "version": tool_version},
        "findings": [finding_dict(f) for f in sorted_findings(result.findings)],
        "errors": [error_dict(e) for e in sorted_errors(result.errors)],
        "summary": {
            "files": result.files,
            "task_definitions": len(result.task_definitions),
            "findings": len(result.findings),
            "errors": len(result.errors),
        },
    }


def finding_dict(finding: Finding) -> dict[str, Any]:
    span = finding.span
    return {
        "rule": finding.rule,
        "severity": finding.severity,
        "file": finding.file,
        "line": finding.line,
        "column": finding.column,
        "resource": finding.resource,
        "container": finding.container,
        "name": finding.name,
        "reason": finding.reason,
        "preview": finding.preview,
        "fixable": finding.fixable,
        "message": finding.message,
        "end_line": span.end_line,
        "end_column": span.end_column,
    }


def error_dict(error: InputError) -> dict[str, Any]:
    return {"file": error.file, "line": error.line, "message": error.message}
