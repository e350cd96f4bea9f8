"""`ecsfix rewrite`: the driver. Scans each module, collects the planners' plans, applies them.

Per module: load and scan it, plan it (`planning.plan_module`: every planner, EF001 for task
definition resources, EF101-EF104 deploy-readiness fixes, EF001 for ECS module calls, on the same
`ModuleRewrite`, each unit guarded and the plans checked against each other), merge their `Plan`s, splice each file's edits into its original text
(`edits.apply_and_realign`), and re-parse the result. A module is rewritten whole or not at all;
nothing is written here (`safewrite.write_change` does that, for the CLI). `summary_markdown`
renders the pull request description.

Layers (each imports only those below it; tests/test_imports.py checks):

    edits        text splices, item removal, `terraform fmt` re-alignment (knows nothing of ECS)
    plan         Plan, Moved, Options, ModuleRewrite, Names: what planners get and return
    hclgen       HCL/JSON text: keys, strings, `secrets` items, new map items and attributes
    generate     templates: secret, version, SSM, variables; place_generated; later-run lookups
    roles        the execution role a grant goes to (created once when missing)
    grants       the policy that lets that role read the secrets
    containers   edits inside one container: environment entries out, secrets items in
    forms/*      EF001 planners (task_definition + one ResourceForm per form; module_inputs)
    deploy       EF101-EF104 planner
    planning     the planners' units, run guarded, conflicts resolved; `decisions` for scan's `fixable`
    engine       this file; changes (FileChange, redacted diff) and safewrite sit beside it
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..discover import discover
from ..model import EcsfixError, SourceFile
from ..rules.base import RuleContext
from ..scan import Progress, entry_key, load_module, run_rules, scan_module
from .changes import FileChange
from .edits import Edit, apply_and_realign, apply_edits
from .plan import ModuleRewrite, Moved, Names, Options, Plan
from .planning import plan_module
from .safewrite import write_change

__all__ = ["Edit", "FileChange", "Moved", "Options", "RewriteResult", "apply_edits", "rewrite", "write_change"]

@dataclass
class RewriteResult:
    changes: list[FileChange] = field(default_factory=list)
    moved: list[Moved] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # left in place, with why
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)  # EF101-EF104 fixes, one line each


def rewrite(
    paths: Sequence[str] = (".",), *, templates: str | None = None, root: str | None = None,
    options: Options | None = None, progress: Progress | None = None,
) -> RewriteResult:
    """Plan the rewrite of every fixable finding under `paths`; nothing is written here.
    `progress` hears how far the run is (as `scan`'s)."""
    options = options or Options()
    if templates is not None:
        options.templates = templates
    result = RewriteResult()
    found = discover(list(paths), (), root)
    scanned = []
    nfiles = nfindings = 0
    for n, (directory, files) in enumerate(found.modules.items(), 1):
        nfiles += len(files)
        if progress is not None:
            progress("scanning directories", n - 1, len(found.modules), nfiles, nfindings)
        errors: list = []
        module = load_module(directory, files, root, errors)
        result.errors.extend(e.render() for e in errors)
        if module is None:
            continue
        ms = scan_module(module, root, found.focus.get(directory))
        ctx = RuleContext(module=module, resolver=ms.resolver)
        scanned.append((module, ms, list(run_rules(ms.task_definitions, ctx))))
        nfindings += len(scanned[-1][2])
    # an entry a caller sees through a local module call that the child module's own findings in
    # this run cover is the child's to move (as in `scan`): no stale "move it by hand" note for it
    own = {entry_key(f) for _, _, findings in scanned for f in findings if not f.through_call}
    for n, (module, ms, findings) in enumerate(scanned):
        if progress is not None:
            progress("planning modules", n, len(scanned), nfiles, nfindings)
        findings = [f for f in findings if not (f.through_call and entry_key(f) in own)]
        plan = plan_module(ModuleRewrite(module, ms, findings, Names(module.files), options), result.errors)
        result.notes.extend(plan.notes)
        result.warnings.extend(plan.warnings)
        result.fixed.extend(plan.fixed)
        changes, broken = _apply(plan, result.errors)
        if broken:
            continue  # a module is rewritten whole or not at all
        result.changes.extend(changes)
        result.moved.extend(plan.moved)
    return result


def _apply(plan: Plan, errors: list[str]) -> tuple[list[FileChange], bool]:
    """Each file's new text, checked to parse; errors go to `errors` (and the module is broken)."""
    changes: list[FileChange] = []
    broken = False
    for src, edits in plan.files.values():
        if not edits:
            continue
        try:
            new = apply_and_realign(src, edits)
            if not src.text:
                new = new.lstrip("\r\n")  # a new file (--output-file) starts with its first block
        except EcsfixError as exc:
            errors.append(f"{src.display}: error: {exc.message}; nothing written")
            broken = True
            continue
        why = _check_parses(src, new)
        if why:
            errors.append(f"{src.display}: error: rewrite result does not parse ({why}); nothing written")
            broken = True
            continue
        if new != src.text:
            created = not src.text and not os.path.exists(src.path)
            changes.append(FileChange(src.path, src.display, src.text, new, created, frozenset(plan.hidden)))
    return changes, broken


def _check_parses(src: SourceFile, new: str) -> str | None:
    check = SourceFile(path=src.path, display=src.display, text=new)
    try:
        if src.path.endswith(".tf"):
            from ..hclparse import parse_file

            parse_file(check)
        else:
            from ..jsonscan import scan_json

            scan_json(check, templates=True)
    except EcsfixError as exc:
        return exc.message
    return None


def summary_markdown(result: RewriteResult, backend: str = "secretsmanager") -> str:
    """The pull request description: what moved (never a value), what to set, what to rotate."""
    lines = ["## ecsfix rewrite", ""]
    if not result.moved and not result.fixed:
        lines.append("Nothing to move.")
    if result.moved:
        where = "SSM Parameter Store" if backend == "ssm" else "AWS Secrets Manager"
        lines += [f"Moved from `environment` to `secrets` ({where}):", ""]
        lines += [f"* `{m.task_definition}` container `{m.container}`: `{m.name}`" for m in result.moved]
    if result.fixed:
        lines += ["", "Deploy-readiness fixes (tasks would otherwise fail with `ResourceInitializationError`):", ""]
        lines += [f"* {line}" for line in result.fixed]
    new_vars = [m for m in result.moved if m.variable]
    if new_vars:
        lines += ["", "Set these new sensitive variables (outside git, e.g. `TF_VAR_<name>` in CI), then **rotate** "
                  "the old values: they were committed and stay in git history:", ""]
        lines += [f"* `var.{m.variable}` (was the literal value of `{m.name}`)" for m in new_vars]
    if result.warnings:
        lines += ["", "Warnings:", ""] + [f"* {w}" for w in result.warnings]
    if result.notes:
        lines += ["", "Left for a manual change:", ""] + [f"* {n}" for n in result.notes]
    if result.moved or result.fixed:
        lines += ["", "Deploy effect: `container_definitions` changes force a new task-definition revision; "
                  "services roll their tasks onto it."]
    lines.append("")
    return "\n".join(lines)
