"""GitHub Actions workflow commands: one annotation per finding and per input error, then the
plain summary line(s).

    ::error file=infra/main.tf,line=12,col=9,endLine=12,endColumn=40,title=ecsfix EF001::...

Escaping follows the runner's rules: in the message `%`, CR and LF are percent-encoded; in
property values `:` and `,` as well, since they delimit properties.
"""

from __future__ import annotations

from ecsfix.model import Finding, InputError, ScanResult
from ecsfix.report import repo_path, sorted_errors, sorted_findings, summary_lines

COMMANDS = {"critical": "error", "high": "error", "medium": "warning", "low": "notice", "info": "notice"}


def render(result: ScanResult, *, root: str | None = None) -> str:
    lines = [annotation(f, root) for f in sorted_findings(result.findings)]
    lines += [error_annotation(e, root) for e in sorted_errors(result.errors)]
    lines += summary_lines(result)
    return "\n".join(lines) + "\n"


def annotation(finding: Finding, root: str | None = None) -> str:
    span = finding.span
    properties = {
        "file": repo_path(finding.file, span.file.path, root),
        "line": str(span.line),
        "col": str(span.column),
        "endLine": str(span.end_line),
        "endColumn": str(span.end_column),
        "title": f"ecsfix {finding.rule}",
    }
    return command(COMMANDS.get(finding.severity, "warning"), properties, finding.message)


def error_annotation(error: InputError, root: str | None = None) -> str:
    properties = {"file": repo_path(error.file, None, root)}
    if error.line:
        properties["line"] = str(error.line)
    return command("error", properties, error.message)


def command(name: str, properties: dict[str, str], message: str) -> str:
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::{name} {props}::{escape_data(message)}"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")
