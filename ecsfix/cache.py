"""The content-hash cache: an unchanged module skips parsing entirely.

One JSON file per module directory (and per ecsfix build, working directory and rule settings)
under `.ecsfix_cache/` at the scan root (or `$ECSFIX_CACHE_DIR`). It records the hash of every
file the module's scan read — its own `.tf`/`.tf.json` files and the files reached through
`file()`/`templatefile()` — and what the scan reported, in redacted form only: rule, severity,
resource, container, name, the already-redacted preview, the message and positions. Never a file's
text, never a value. A stale, unreadable or corrupt entry is a cache miss; a cache directory that
cannot be written is reported once on stderr and the scan goes on without it.

Findings restored from the cache carry positions but no text (`span.text` is empty): reporters
never read span text. Only the CLI uses the cache; `ecsfix.scan()` does not unless asked.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from . import __version__
from .model import Finding, InputError, SourceFile, Span, TaskDefinition

FORMAT = 1
DIR_NAME = ".ecsfix_cache"
ENV_VAR = "ECSFIX_CACHE_DIR"


def digest(data: bytes) -> str:
    try:
        from _blake2 import blake2b  # what hashlib.blake2b is, without loading OpenSSL (~12 ms)
    except ImportError:  # pragma: no cover - an interpreter built without it
        from hashlib import blake2b

    return blake2b(data, digest_size=16).hexdigest()


def file_state(path: str) -> str:
    """What a dependency looks like on disk now: a hash of its bytes, or why it cannot be read. A
    path ending in a separator is a directory: the names of its Terraform files (variable files
    included: a new `*.auto.tfvars` changes what a variable is set to)."""
    if path.endswith(os.sep):
        try:
            names = sorted(n for n in os.listdir(path) if n.endswith((".tf", ".tf.json", ".tfvars", ".tfvars.json")))
        except OSError as exc:
            return f"unreadable:{exc.errno}"
        return digest("\n".join(names).encode("utf-8"))
    try:
        with open(path, "rb") as fh:
            return digest(fh.read())
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"unreadable:{exc.errno}"


_CODE: str | None = None


def code_fingerprint() -> str:
    """ecsfix's own code as installed: the names, sizes and modification times of its modules.
    A development install keeps its version number while its code changes; entries written by
    other code must never answer (a few dozen `stat` calls, once per process)."""
    global _CODE
    if _CODE is None:
        package = os.path.dirname(os.path.abspath(__file__))
        parts: list[str] = []
        # rewrite/: EF001's `fixable` is the rewrite planners' decision (scan asks them)
        for sub in ("", "rules", "report", "rewrite", os.path.join("rewrite", "forms")):
            try:
                with os.scandir(os.path.join(package, sub)) as entries:
                    for e in entries:
                        if e.name.endswith(".py"):
                            st = e.stat()
                            parts.append(f"{sub}/{e.name}:{st.st_size}:{st.st_mtime_ns}")
            except OSError:
                parts.append(f"{sub}/?")
        _CODE = digest("\n".join(sorted(parts)).encode("utf-8"))
    return _CODE


# --------------------------------------------------------------------------- redacted records


@dataclass(eq=False)
class RecordedFile(SourceFile):
    """A file known only by its name and the positions of recorded spans (no text)."""

    positions: dict[int, tuple[int, int]] = field(default_factory=dict, repr=False)

    def line_col(self, offset: int) -> tuple[int, int]:
        return self.positions.get(offset, (1, 1))


@dataclass
class Outcome:
    """What scanning one module produced, as the report needs it (picklable, value-free)."""

    findings: list[dict[str, Any]] = field(default_factory=list)
    task_definitions: list[dict[str, Any]] = field(default_factory=list)
    errors: list[list[Any]] = field(default_factory=list)
    deps: dict[str, str] = field(default_factory=dict)  # files read beyond the module's own: path -> state

    def to_json(self) -> dict[str, Any]:
        return {"findings": self.findings, "task_definitions": self.task_definitions, "errors": self.errors,
                "deps": self.deps}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outcome:
        return cls(list(data["findings"]), list(data["task_definitions"]), list(data["errors"]), dict(data["deps"]))


def _span_record(span: Span) -> dict[str, Any]:
    line, col = span.file.line_col(span.start)
    end_line, end_col = span.file.line_col(span.end)
    return {"path": span.file.path, "display": span.file.display, "start": span.start, "end": span.end,
            "pos": [line, col, end_line, end_col]}


def record(findings: list[Finding], tds: list[TaskDefinition], errors: list[InputError]) -> Outcome:
    out = Outcome()
    for f in findings:
        out.findings.append({
            "span": _span_record(f.span), "rule": f.rule, "severity": f.severity, "resource": f.resource,
            "container": f.container, "name": f.name, "reason": f.reason, "preview": f.preview,
            "fixable": f.fixable, "message": f.message, "why": f.why, "through_call": f.through_call,
            "manual": f.manual,
        })
    for td in tds:
        out.task_definitions.append({"span": _span_record(td.span), "address": td.address, "kind": td.kind,
                                     "form": td.form, "module_dir": td.module_dir, "defined_in": td.defined_in})
    out.errors = [[e.file, e.line, e.message] for e in errors]
    return out


class _Files:
    def __init__(self) -> None:
        self.by_path: dict[str, RecordedFile] = {}

    def span(self, rec: dict[str, Any]) -> Span:
        f = self.by_path.get(rec["path"])
        if f is None:
            f = self.by_path[rec["path"]] = RecordedFile(rec["path"], rec["display"], "")
        line, col, end_line, end_col = rec["pos"]
        f.positions[rec["start"]] = (line, col)
        f.positions[rec["end"]] = (end_line, end_col)
        return Span(f, rec["start"], rec["end"])


def restore(outcome: Outcome) -> tuple[list[Finding], list[TaskDefinition], list[InputError]]:
    files = _Files()
    findings = [
        Finding(rule=d["rule"], severity=d["severity"], span=files.span(d["span"]), resource=d["resource"],
                container=d["container"], name=d["name"], reason=d["reason"], preview=d["preview"],
                fixable=d["fixable"], message=d["message"], why=d["why"], through_call=d.get("through_call", False),
                manual=d.get("manual"))
        for d in outcome.findings
    ]
    tds = [
        TaskDefinition(address=d["address"], kind=d["kind"], form=d["form"], span=files.span(d["span"]),
                       module_dir=d["module_dir"], defined_in=d["defined_in"])
        for d in outcome.task_definitions
    ]
    errors = [InputError(e[0], e[1], e[2]) for e in outcome.errors]
    return findings, tds, errors


# --------------------------------------------------------------------------- the store


def cache_root(paths: list[str]) -> str:
    """Where `.ecsfix_cache/` goes: `$ECSFIX_CACHE_DIR` itself when set; else inside the scanned
    directory when exactly one directory is scanned; else (files, several paths) the working
    directory."""
    env = os.environ.get(ENV_VAR)
    if env:
        return os.path.abspath(env)
    if len(paths) == 1 and os.path.isdir(paths[0]):
        return os.path.join(os.path.abspath(paths[0]), DIR_NAME)
    return os.path.join(os.getcwd(), DIR_NAME)


class ScanCache:
    def __init__(self, directory: str, settings: str):
        self.dir = directory
        self.settings = settings  # everything besides file contents that changes results
        self._writable: bool | None = None

    def slot(self, module_dir: str, focus: set[str] | None) -> str:
        ident = json.dumps([FORMAT, __version__, code_fingerprint(), self.settings, os.getcwd(), module_dir,
                            sorted(focus or ())])
        return os.path.join(self.dir, digest(ident.encode("utf-8")) + ".json")

    def get(self, slot: str, files_key: list[list[str]]) -> Outcome | None:
        try:
            with open(slot, encoding="utf-8") as fh:
                data = json.load(fh)
            if data.get("files") != files_key:
                return None
            outcome = Outcome.from_json(data["outcome"])
            if any(file_state(path) != state for path, state in outcome.deps.items()):
                return None
            return outcome
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # missing, stale or corrupt: a miss

    def put(self, slot: str, files_key: list[list[str]], outcome: Outcome) -> None:
        if self._writable is False or not self._prepare():
            return
        tmp = f"{slot}.{os.getpid()}.tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump({"files": files_key, "outcome": outcome.to_json()}, fh)
            os.replace(tmp, slot)
        except OSError as exc:
            self._fail(exc)
            try:
                os.unlink(tmp)
            except OSError:
                pass

    def _prepare(self) -> bool:
        if self._writable:
            return True
        try:
            os.makedirs(self.dir, exist_ok=True)
            ignore = os.path.join(self.dir, ".gitignore")
            if not os.path.exists(ignore):
                with open(ignore, "w", encoding="utf-8") as fh:
                    fh.write("# Created by ecsfix: a cache of scan results (no secret values). Safe to delete.\n*\n")
            self._writable = True
        except OSError as exc:
            self._fail(exc)
        return bool(self._writable)

    def _fail(self, exc: OSError) -> None:
        if self._writable is not False:
            reason = exc.strerror or type(exc).__name__
            print(f"ecsfix: warning: cannot write the cache in {self.dir} ({reason}); "
                  "scanning without it (--no-cache silences this)", file=sys.stderr)
        self._writable = False
