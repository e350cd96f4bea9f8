"""SARIF 2.1.0 for GitHub code scanning (and any other SARIF consumer).

What code scanning relies on:
* every rule is described in `tool.driver.rules` (help text, `security-severity` for the
  severity shown on alerts, the `security` tag);
* results point at a repository-relative `artifactLocation.uri` under `%SRCROOT%`;
* `partialFingerprints` identify an alert across commits. Ours hash the rule, file, resource,
  container and variable name, not the line, so an alert survives lines moving above it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ecsfix.model import Finding, InputError, ScanResult
from ecsfix.report import repo_path, sorted_errors, sorted_findings
from ecsfix.rules import DOCS, RULES, Rule

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = DOCS.split("#", 1)[0]
FINGERPRINT_KEY = "ecsfix/v1"
SRCROOT = "%SRCROOT%"

LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub shows >= 9.0 as critical, 7.0-8.9 high, 4.0-6.9 medium, below that low. Info findings
# get no score, so that they show as notes rather than as security alerts.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}


def render(result: ScanResult, *, tool_version: str, root: str | None = None) -> str:
    return json.dumps(document(result, tool_version=tool_version, root=root), indent=2) + "\n"


def document(result: ScanResult, *, tool_version: str, root: str | None = None) -> dict[str, Any]:
    findings = sorted_findings(result.findings)
    rules = list(RULES.values())
    unknown = sorted({f.rule for f in findings} - set(RULES))
    descriptors = [rule_descriptor(r) for r in rules] + [{"id": rid} for rid in unknown]
    index = {d["id"]: i for i, d in enumerate(descriptors)}
    srcroot: dict[str, Any] = {
        "description": {"text": "The repository root: result paths are relative to it."}
    }
    if root is not None:
        srcroot["uri"] = Path(root).resolve().as_uri().rstrip("/") + "/"
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "ecsfix",
                        "version": tool_version,
                        "informationUri": INFORMATION_URI,
                        "rules": descriptors,
                    }
                },
                "originalUriBaseIds": {SRCROOT: srcroot},
                "invocations": [
                    {
                        "executionSuccessful": not result.errors,
                        "exitCode": result.exit_code,
                        "toolExecutionNotifications": [
                            notification(e, root) for e in sorted_errors(result.errors)
                        ],
                    }
                ],
                "columnKind": "unicodeCodePoints",
                "results": [
                    sarif_result(f, index[f.rule], fp, root)
                    for f, fp in zip(findings, fingerprints(findings, root), strict=True)
                ],
            }
        ],
    }


def rule_descriptor(rule: Rule) -> dict[str, Any]:
    properties: dict[str, Any] = {"tags": ["security"]}
    if rule.severity in SECURITY_SEVERITY:
        properties["security-severity"] = SECURITY_SEVERITY[rule.severity]
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": first_paragraph(rule.explain)},
        "help": {"text": rule.explain, "markdown": help_markdown(rule)},
        "helpUri": rule.help_uri,
        "defaultConfiguration": {"level": level(rule.severity)},
        "properties": properties,
    }


def sarif_result(finding: Finding, rule_index: int, fingerprint: str, root: str | None) -> dict[str, Any]:
    span = finding.span
    properties: dict[str, Any] = {
        "severity": finding.severity,
        "resource": finding.resource,
        "container": finding.container,
        "fixable": finding.fixable,
    }
    if finding.name is not None:
        properties["name"] = finding.name
    return {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": level(finding.severity),
        "message": {"text": finding.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": artifact_location(finding.file, span.file.path, root),
                    "region": {
                        "startLine": span.line,
                        "startColumn": span.column,
                        "endLine": span.end_line,
                        "endColumn": span.end_column,
                    },
                },
                "logicalLocations": [{"fullyQualifiedName": finding.resource, "kind": "resource"}],
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
        "properties": properties,
    }


def fingerprints(findings: list[Finding], root: str | None) -> list[str]:
    """sha256 of `rule|file|resource|container|name` (`|n` appended for the n-th repeat, n >= 1,
    counted in line order) for each finding, in order."""
    seen: dict[str, int] = {}
    out = []
    for f in findings:
        key = "|".join(
            [f.rule, repo_path(f.file, f.span.file.path, root), f.resource, f.container, f.name or ""]
        )
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        if occurrence:
            key = f"{key}|{occurrence}"
        out.append(hashlib.sha256(key.encode("utf-8")).hexdigest())
    return out


def notification(error: InputError, root: str | None) -> dict[str, Any]:
    location: dict[str, Any] = {"artifactLocation": artifact_location(error.file, None, root)}
    if error.line:
        location["region"] = {"startLine": error.line}
    return {
        "level": "error",
        "message": {"text": error.message},
        "locations": [{"physicalLocation": location}],
    }


def artifact_location(display: str, path: str | None, root: str | None) -> dict[str, Any]:
    where = repo_path(display, path, root)
    if Path(where).is_absolute():
        return {"uri": Path(where).as_uri()}
    return {"uri": quote(where, safe="/"), "uriBaseId": SRCROOT}


def level(severity: str) -> str:
    return LEVELS.get(severity, "warning")


def first_paragraph(text: str) -> str:
    return " ".join(text.split("\n\n", 1)[0].split())


def help_markdown(rule: Rule) -> str:
    """The explain text as Markdown: its indented examples become fenced code blocks (an
    indented block cannot follow a paragraph line directly in Markdown)."""
    out: list[str] = []
    code: list[str] = []

    def flush() -> None:
        while code and not code[-1].strip():
            code.pop()
        if code:
            if out and out[-1]:
                out.append("")
            out.extend(["```", *code, "```", ""])
            code.clear()

    for line in rule.explain.splitlines():
        if line.startswith("    ") or (code and not line.strip()):
            code.append(line[4:])
        else:
            flush()
            out.append(line)
    flush()
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + f"\n\n[{rule.id} {rule.name}]({rule.help_uri})"
