"""`ecsfix rewrite` over raw task-definition JSON files: read, scan, plan (`taskdef_json`), apply, check.

Called by the engine with the JSON files discovery found and the Terraform files of the run (a JSON
file one of them reads through `file()`/`templatefile()` is that configuration's: `terraform_reads`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..model import EcsfixError, Finding, Obj, SourceFile, TaskDefinition
from .changes import FileChange
from .edits import apply_edits
from .plan import Moved, Options
from .taskdef_json import SecretPlan, plan_file, read_by, terraform_reads

if TYPE_CHECKING:
    from ..rules.base import RuleContext



@dataclass
class TaskdefOutcome:
    changes: list[FileChange] = field(default_factory=list)
    moved: list[Moved] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    secrets: list[SecretPlan] = field(default_factory=list)


def rewrite_files(json_files: Sequence[tuple[str, bool]], terraform: Iterable[SourceFile], root: str | None,
                  options: Options) -> TaskdefOutcome:
    """Plan the rewrite of every raw task-definition JSON file among `json_files`."""
    from ..jsonscan import scan_json_leniently
    from ..rules.base import RuleContext
    from ..scan import classify_json
    from ..sources import display_path, read_source

    out = TaskdefOutcome()
    reads: dict[str, str] | None = None
    for path, _explicit in json_files:
        try:
            src = read_source(path, display_path(path, root))
        except EcsfixError:
            continue  # `scan` reports it; a rewrite has nothing to do with an unreadable file
        if classify_json(src.text) != "taskdef":
            continue
        try:
            doc, broken = scan_json_leniently(src, templates=False)
        except EcsfixError as exc:
            out.errors.append(f"{src.display}:{exc.line or 1}: error: {exc.message}; not rewritten")
            continue
        if broken is not None or not isinstance(doc, Obj):
            continue  # scan reports it; the EF001 findings of such a file are fixed by hand
        td, findings = task_definition_findings(src, doc, root, RuleContext())
        filling = bool(options.secret_arn or options.secret_name) and "<" in src.text
        if not filling and not any(f.rule == "EF001" for f in findings):
            continue
        if reads is None:
            reads = terraform_reads(terraform)
        plan = plan_file(src, doc, td, findings, options, read_by(src.path, reads))
        out.notes.extend(plan.notes)
        if not plan.edits:
            continue
        new = apply_edits(src.text, plan.edits)
        why = _check(src.text, new)
        if why:
            out.errors.append(f"{src.display}: error: rewrite result does not parse ({why}); nothing written")
            continue
        out.changes.append(FileChange(src.path, src.display, src.text, new))
        out.moved.extend(plan.moved)
        if plan.secret is not None:
            out.secrets.append(plan.secret)
    return out


def task_definition_findings(src: SourceFile, doc: Obj, root: str | None,
                             ctx: RuleContext) -> tuple[TaskDefinition, list[Finding]]:
    """The task definition of a raw task-definition JSON document and every rule's findings on it."""
    from ..extract import task_definition_from_json
    from ..module import Module
    from ..resolve import Resolver
    from ..scan import run_rules

    resolver = Resolver(Module(os.path.dirname(src.path), []), root)
    td = task_definition_from_json(src, doc, resolver)
    return td, list(run_rules([td], ctx))


def _check(old: str, new: str) -> str | None:
    """The new text is JSON wherever the old one was (a BOM kept)."""
    try:
        json.loads(old.lstrip("\ufeff"))
    except ValueError:
        return None  # not strict JSON before either (e.g. a template the render step fills)
    try:
        json.loads(new.lstrip("\ufeff"))
    except ValueError as exc:
        return f"invalid JSON at line {getattr(exc, 'lineno', '?')}"
    return None
