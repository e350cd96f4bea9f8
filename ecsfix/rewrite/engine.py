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
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..discover import discover
from ..model import EcsfixError, Finding, SourceFile, Str, TaskDefinition
from ..rules.base import RuleContext
from ..scan import Progress, entry_key, load_module, run_rules, scan_module
from .changes import FileChange
from .edits import Edit, apply_and_realign, apply_edits
from .plan import ModuleRewrite, Moved, Names, Options, Plan
from .planning import plan_module
from .safewrite import write_change
from .taskdef_json import SecretPlan
from .taskdef_summary import taskdef_summary

__all__ = ["Edit", "FileChange", "Moved", "Options", "RewriteResult", "apply_edits", "rewrite", "write_change"]

@dataclass
class RewriteResult:
    changes: list[FileChange] = field(default_factory=list)
    moved: list[Moved] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # left in place, with why
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)  # EF101-EF104 fixes, one line each
    taskdef_secrets: list[SecretPlan] = field(default_factory=list)  # raw task-definition JSON files' secrets


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
        plan.hidden.update(_flagged_literals(ms.task_definitions, findings))
        # errors found while scanning or planning are reported as `scan` reports them (exit 2). A
        # .tf file that does not parse can hold what the plan must know (a role, a taken name): its
        # module is not rewritten. An attribute ecsfix cannot read (invalid JSON in a heredoc) only
        # keeps its own entries from moving.
        own_files = {f.display for f in module.files}
        broken_here = any(err.file in own_files for err in module.errors)
        for err in module.errors + ms.resolver.errors:
            line = err.render()
            if line not in result.errors:
                result.errors.append(line)
        if broken_here:
            if plan.moved or plan.fixed:
                result.notes.append(f"{os.path.dirname(module.files[0].display) or '.'}: not rewritten: a file of this module could not be "
                                    "read (error above); fix it and run ecsfix rewrite again")
            continue
        result.notes.extend(plan.notes)
        result.warnings.extend(plan.warnings)
        result.fixed.extend(plan.fixed)
        changes, broken = _apply(plan, result.errors)
        if broken:
            continue  # a module is rewritten whole or not at all
        result.changes.extend(changes)
        result.moved.extend(plan.moved)
    if found.json_files:  # raw task-definition JSON (files Terraform reads are the modules' above)
        from .taskdef_files import rewrite_files

        td = rewrite_files(found.json_files, [f for m, _, _ in scanned for f in m.files], root, options)
        result.changes += td.changes
        result.moved += td.moved
        result.notes += td.notes
        result.errors += td.errors
        result.taskdef_secrets += td.secrets
    return result


def _flagged_literals(tds: list[TaskDefinition], findings: list[Finding]) -> set[str]:
    """The literal values of the EF001 entries, whatever the plan does with them: the printed diff
    redacts them wherever they appear (a context line can show one left in place)."""
    flagged = {(f.span.file.path, f.span.start) for f in findings if f.rule == "EF001"}
    out: set[str] = set()
    for td in tds:
        for c in td.containers:
            for e in c.environment:
                if e.value is None or (e.span.file.path, e.span.start) not in flagged:
                    continue
                for expr in (e.value.at_entry, e.value.resolved):
                    if isinstance(expr, Str) and expr.value:
                        out.add(expr.value)
    return out


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

            # `.tf.json` strings are read as plain JSON strings, as the scan reads them (a
            # `${jsonencode({A = \"x\"})}` holds escaped quotes the template reader stops at)
            scan_json(check, templates=not src.path.endswith(".tf.json"))
    except EcsfixError as exc:
        return exc.message
    return None


def summary_markdown(result: RewriteResult, backend: str = "secretsmanager") -> str:
    """The pull request description: what moved (never a value), what to do before merging (the
    variables to set, the values to rotate), the readiness fixes, what was left and why."""
    store = "SSM Parameter Store" if backend == "ssm" else "AWS Secrets Manager"
    moved, fixed, notes = result.moved, result.fixed, result.notes
    lines = ["## ecsfix: secrets out of container environments", ""]
    if not moved and not fixed:
        lines.append("Nothing to move: no plaintext secret that ecsfix can rewrite"
                     + (f"; {_count(len(notes), 'entry')} left for a manual change (below)." if notes else "."))
    else:
        tds = {m.task_definition for m in moved}
        head = []
        if moved:
            head.append(f"moves {_count(len(moved), 'entry')} of {_count(len(tds), 'task definition')} from "
                        f"`environment` to `secrets`, so the values come from {store} instead of plaintext "
                        "in the task definition")
        if fixed:
            head.append(f"fixes {_count(len(fixed), 'deploy-readiness problem')} that would stop tasks from "
                        "starting (`ResourceInitializationError`)")
        lines.append(f"This change {'; it also '.join(head)}.")
        if notes:
            lines.append(f"{_count(len(notes), 'place')} left for a manual change, listed below.")
    new_vars = [m for m in moved if m.variable]
    rotate = [m for m in moved if m.committed]
    if moved:
        lines += ["", "### Before merging", ""]
        step = 1
        if new_vars:
            lines.append(f"{step}. Set the new sensitive variables outside git (e.g. `TF_VAR_<name>` in CI, or "
                         "your secret store), or `terraform plan` will ask for them:")
            lines += [""] + [f"   * `var.{m.variable}`: the value of `{m.name}` ({_at(m)})" for m in new_vars] + [""]
            step += 1
        if rotate:
            lines.append(f"{step}. **Rotate** these values: they were committed and stay in git history "
                         "after this change:")
            lines += [""] + [f"   * `{m.name}` in `{m.task_definition}` ({_at(m)})" for m in rotate] + [""]
            step += 1
        if any(not _raw(m) for m in moved):
            lines.append(f"{step}. After `terraform apply`, each changed task definition gets a new revision; "
                         "services roll their tasks onto it. Tasks read the secrets at start through their "
                         "execution role, which this change grants read access (except where a note below says "
                         "otherwise).")
        else:
            lines.append(f"{step}. Create the secrets, grant the execution roles and register the new revisions "
                         "as the raw task definitions section below shows; services roll onto a new revision "
                         "when they are updated to it.")
        if len(rotate) < len(moved):
            lines.append("   Values that came from variables were readable by anyone allowed to describe "
                         "the task definition; rotate them too if that matters.")
    if moved:
        lines += ["", f"### Moved to `secrets` ({store})", "",
                  "| Entry | Task definition | Container | Written at |", "|---|---|---|---|"]
        lines += [f"| `{m.name}` | `{m.task_definition}` | `{m.container}` | {_at(m)} |" for m in moved]
    if fixed:
        lines += ["", "### Deploy-readiness fixes", ""] + [f"* {_located(line)}" for line in fixed]
    if notes:
        lines += ["", "### Left for a manual change", "",
                  "ecsfix does not rewrite these; `ecsfix scan` still reports them:", ""]
        lines += [f"* {_located(n)}" for n in notes]
    lines += taskdef_summary(result.taskdef_secrets)
    if result.warnings:
        lines += ["", "### Warnings", ""] + [f"* {_located(w)}" for w in result.warnings]
    if result.errors:
        lines += ["", "### Files ecsfix could not read", "",
                  "Nothing in these was changed; fix them and run `ecsfix rewrite` again:", ""]
        lines += [f"* {_located(e)}" for e in result.errors]
    lines += ["", "<sub>Generated by `ecsfix rewrite --summary`. No secret value appears in this text.</sub>", ""]
    return "\n".join(lines)


def _raw(m: Moved) -> bool:
    """An entry of a raw task-definition JSON file (registered with the AWS CLI or a deploy action)."""
    return m.task_definition.startswith("task-definition ")


def _count(n: int, noun: str) -> str:
    if n == 1:
        return f"1 {noun}"
    return f"{n} {noun[:-1] + 'ies' if noun.endswith('y') else noun + 's'}"


def _at(m: Moved) -> str:
    return f"`{m.where}`" if m.where else "–"


_LOCATION = re.compile(r"^(\S+?:\d+(?::\d+)?): (.*)$", re.S)


def _located(line: str) -> str:
    """`FILE:LINE: rest` as Markdown, the location in code font."""
    m = _LOCATION.match(line)
    return f"`{m.group(1)}`: {m.group(2)}" if m else line
