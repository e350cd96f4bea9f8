"""`ecsfix rewrite`: the driver. Scans each module, collects the planners' plans, applies them.

Per module: load and scan it, run every planner (`PLANNERS`: EF001 for task definition
resources, EF101-EF104 deploy-readiness fixes, EF001 for ECS module calls) on the same
`ModuleRewrite`, merge their `Plan`s, splice each file's edits into its original text
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
    engine       this file; changes (FileChange, redacted diff) and safewrite sit beside it
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..discover import discover
from ..model import EcsfixError, SourceFile
from ..rules.base import RuleContext
from ..scan import load_module, run_rules, scan_module
from . import deploy
from .changes import FileChange
from .edits import Edit, apply_and_realign, apply_edits
from .forms import module_inputs, task_definition
from .plan import ModuleRewrite, Moved, Names, Options, Plan, Unit
from .safewrite import write_change

__all__ = ["Edit", "FileChange", "Moved", "Options", "RewriteResult", "apply_edits", "rewrite", "write_change"]

# Notes and generated blocks come in this order; a role created for a task definition (EF101) is
# created once, by the first planner that asks for it (`roles.created_role`).
PLANNERS: tuple[tuple[str, Callable[[ModuleRewrite], list[Unit]]], ...] = (
    ("EF001", task_definition.plan), ("deploy", deploy.plan), ("EF001 module", module_inputs.plan),
)


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
    options: Options | None = None,
) -> RewriteResult:
    """Plan the rewrite of every fixable finding under `paths`; nothing is written here."""
    options = options or Options()
    if templates is not None:
        options.templates = templates
    result = RewriteResult()
    found = discover(list(paths), (), root)
    for directory, files in found.modules.items():
        errors: list = []
        module = load_module(directory, files, root, errors)
        result.errors.extend(e.render() for e in errors)
        if module is None:
            continue
        ms = scan_module(module, root, found.focus.get(directory))
        ctx = RuleContext(module=module, resolver=ms.resolver)
        findings = list(run_rules(ms.task_definitions, ctx))
        plan = _plan_module(ModuleRewrite(module, ms, findings, Names(module.files), options), result.errors)
        result.notes.extend(plan.notes)
        result.warnings.extend(plan.warnings)
        result.fixed.extend(plan.fixed)
        changes, broken = _apply(plan, result.errors)
        if broken:
            continue  # a module is rewritten whole or not at all
        result.changes.extend(changes)
        result.moved.extend(plan.moved)
    return result


def _plan_module(mr: ModuleRewrite, errors: list[str]) -> Plan:
    """Every planner's units, each run under a guard, and their plans checked against each other
    before any edit is made. A unit that raises is dropped (one error line); units whose edits
    overlap (two task definitions moving entries out of one shared local) are all dropped, with a
    note naming the others: each planned as if it were alone. The module is then planned again
    without them, so that what they took from the shared state (a created role, a generated name)
    goes to the units that remain."""
    dropped: dict[str, tuple[str, str]] = {}  # unit (or planner) key -> ("error" | "note", the line)
    while True:
        ran, failed = _run_planners(mr, dropped)
        failed.update(_conflicts(ran))
        if not failed:
            break
        dropped.update(failed)
        mr = ModuleRewrite(mr.module, mr.scan, mr.findings, Names(mr.module.files), mr.options)
    plan = Plan()
    for _, unit_plan in ran:
        plan.extend(unit_plan)
    errors.extend(line for kind, line in dropped.values() if kind == "error")
    plan.notes.extend(line for kind, line in dropped.values() if kind == "note")
    return plan


def _run_planners(mr: ModuleRewrite, dropped: dict[str, tuple[str, str]]) -> tuple[
        list[tuple[Unit, Plan]], dict[str, tuple[str, str]]]:
    ran: list[tuple[Unit, Plan]] = []
    failed: dict[str, tuple[str, str]] = {}
    for name, planner in PLANNERS:
        if name in dropped:
            continue
        try:
            units = planner(mr)
        except Exception as exc:  # noqa: BLE001 -- the last-resort guard: a bug must not cost the other modules
            shown = os.path.dirname(mr.module.files[0].display) or "." if mr.module.files else mr.module.dir
            failed[name] = ("error", f"{shown}: error: ecsfix could not plan a rewrite for the {name} findings of "
                                     f"this module ({_why(exc)}); nothing written for it")
            continue
        for unit in units:
            if unit.key in dropped:
                continue
            try:
                ran.append((unit, unit.run()))
            except Exception as exc:  # noqa: BLE001 -- as above: one task definition, not the whole run
                failed[unit.key] = ("error", _could_not_plan(unit, _why(exc)))
    return ran, failed


def _conflicts(ran: list[tuple[Unit, Plan]]) -> dict[str, tuple[str, str]]:
    """Units whose edits overlap (as `edits.apply_edits` would refuse them), each with its line."""
    partners: dict[int, dict[int, str]] = {}  # unit index -> overlapping unit index -> where
    by_file: dict[str, list[tuple[Edit, int, SourceFile]]] = {}
    for i, (_, unit_plan) in enumerate(ran):
        for src, unit_edits in unit_plan.files.values():
            by_file.setdefault(src.path, []).extend((e, i, src) for e in unit_edits)
    for owned in by_file.values():
        owned.sort(key=lambda t: (t[0].start, t[0].end))
        active: list[tuple[Edit, int]] = []  # earlier edits that reach past the current start
        for edit, i, src in owned:
            active = [(e, j) for e, j in active if edit.start < e.end]
            for _, j in active:
                at = f"{src.display}:{src.line_col(edit.start)[0]}"
                partners.setdefault(i, {}).setdefault(j, at)
                partners.setdefault(j, {}).setdefault(i, at)
            active.append((edit, i))
    out: dict[str, tuple[str, str]] = {}
    for i, others in sorted(partners.items()):
        unit = ran[i][0]
        if i in others:
            out[unit.key] = ("error", _could_not_plan(unit, f"overlapping edits in its own plan at {others[i]}"))
            continue
        names = ", ".join(sorted({ran[j][0].resource for j in others}))
        first = others[min(others)]
        out[unit.key] = ("note", f"{unit.at}: not rewritten: its edits overlap those planned for {names} at {first} "
                                 "(text they share, such as a local); move the entries by hand")
    return out


def _could_not_plan(unit: Unit, why: str) -> str:
    return f"{unit.file}: error: ecsfix could not plan a rewrite for {unit.resource} ({why}); nothing written for it"


def _why(exc: BaseException) -> str:
    """The exception's class and where in ecsfix it was raised: never its message, which may hold a value."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f"{os.sep}ecsfix{os.sep}" in f.filename]
    at = f" at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{at}"


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
