"""Reporters: turn a `ScanResult` into text, JSON, SARIF or GitHub workflow annotations.

One module per format; `render` imports the one it needs so that start-up stays cheap. The
helpers below are what several formats share: the order findings are shown in, the summary
line, and the repository-relative path that SARIF and GitHub annotations need.

No reporter ever reads a span's text or a file's content: a finding carries what may be shown
(`preview`, already redacted, and `message`), and positions are computed from offsets.
"""

from __future__ import annotations

import os
import posixpath

from ecsfix.model import SEVERITIES, Finding, InputError, ScanResult

FORMATS = ("text", "json", "sarif", "github")

FIX_HINT = "Run 'ecsfix rewrite PATH' to preview the fix."


def render(
    result: ScanResult,
    fmt: str,
    *,
    tool_version: str,
    color: bool = False,
    root: str | None = None,
) -> str:
    """Render `result` in format `fmt` (one of FORMATS) as a string ending with a newline.

    `color` adds ANSI colours to the text format only. `root` is the repository root that
    SARIF and GitHub annotation paths are made relative to (code scanning resolves them against
    the checkout); without it they are the display paths, relative to where ecsfix ran.
    """
    if fmt == "text":
        from ecsfix.report import text

        return text.render(result, color=color)
    if fmt == "json":
        from ecsfix.report import json_report

        return json_report.render(result, tool_version=tool_version)
    if fmt == "sarif":
        from ecsfix.report import sarif

        return sarif.render(result, tool_version=tool_version, root=root)
    if fmt == "github":
        from ecsfix.report import github

        return github.render(result, root=root)
    raise ValueError(f"unknown output format {fmt!r}: choose one of {', '.join(FORMATS)}")


# --------------------------------------------------------------------------- shared helpers


def sorted_findings(findings: list[Finding]) -> list[Finding]:
    """Stable report order: file, line, column, rule."""
    return sorted(findings, key=lambda f: (f.file, f.line, f.column, f.rule))


def sorted_errors(errors: list[InputError]) -> list[InputError]:
    return sorted(errors, key=lambda e: (e.file, e.line or 0))


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def affected_task_definitions(result: ScanResult) -> int:
    """How many distinct task definitions (or other resources) the findings are about.

    An address such as `aws_ecs_task_definition.this` is only unique within one module
    directory, and a finding may sit in a template file below that directory, so each finding
    is attributed to the nearest task definition with its address whose file's directory
    contains the finding's file.
    """
    dirs_by_address: dict[str, list[str]] = {}
    for td in result.task_definitions:
        dirs_by_address.setdefault(td.address, []).append(_dirname(td.span.file.display))
    keys: set[tuple[str, str]] = set()
    for finding in result.findings:
        where = _dirname(finding.file)
        candidates = [d for d in dirs_by_address.get(finding.resource, []) if _contains(d, where)]
        keys.add((max(candidates, key=len) if candidates else where, finding.resource))
    return len(keys)


def summary_lines(result: ScanResult) -> list[str]:
    """The closing summary (and, when something can be fixed, how to fix it)."""
    files = plural(result.files, "file")
    errors = f"; {plural(len(result.errors), 'error')}" if result.errors else ""
    if not result.findings:
        tds = plural(len(result.task_definitions), "task definition")
        return [f"No plaintext secrets found in {files} ({tds}){errors}."]
    counts = [f"{n} {sev}" for sev in SEVERITIES if (n := sum(f.severity == sev for f in result.findings))]
    others = sorted({f.severity for f in result.findings} - set(SEVERITIES))
    counts += [f"{sum(f.severity == sev for f in result.findings)} {sev}" for sev in others]
    tds = plural(affected_task_definitions(result), "task definition")
    lines = [
        f"{plural(len(result.findings), 'finding')} ({', '.join(counts)}) in {tds}, {files} scanned{errors}"
    ]
    if any(f.fixable for f in result.findings):
        lines.append(FIX_HINT)
    return lines


def repo_path(display: str, path: str | None, root: str | None) -> str:
    """A file's path for tools that resolve it against the repository: forward slashes,
    relative to `root` when given and the file lies below it, else the display path (an
    absolute path when the file lies outside `root`)."""
    if root is None:
        return _posix(display)
    absolute = os.path.abspath(path if path is not None else display)
    try:
        relative: str | None = os.path.relpath(absolute, os.path.abspath(root))
    except ValueError:  # another drive on Windows
        relative = None
    if relative is None or relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return _posix(absolute)
    if relative == os.curdir:  # `root` is the file itself
        return os.path.basename(absolute)
    return _posix(relative)


def _posix(path: str) -> str:
    return path.replace(os.sep, "/") if os.sep != "/" else path


def _dirname(path: str) -> str:
    return posixpath.normpath(posixpath.dirname(_posix(path)) or ".")


def _contains(directory: str, other: str) -> bool:
    """Whether directory `other` is `directory` or lies below it (both normalised)."""
    if directory == ".":
        return not other.startswith("/") and other != ".." and not other.startswith("../")
    return other == directory or other.startswith(directory.rstrip("/") + "/")
