"""Planning one module: every planner's units, run under a guard, their plans checked against each
other before any edit is made (`plan_module`); and what that planning says about each EF001
finding (`decisions`), which is how `scan` knows whether `ecsfix rewrite` would move an entry.

Sits between the planners (forms/*, deploy) and the engine, which applies and writes the plan.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..model import Finding, SourceFile, TaskDefinition
from .edits import Edit
from .generate import DRY_RUN
from .plan import ModuleRewrite, Names, Options, Plan, Unit

if TYPE_CHECKING:
    from ..module import Module
    from ..resolve import Resolver

def _resources(mr: ModuleRewrite) -> list[Unit]:
    from .forms import task_definition

    return task_definition.plan(mr)


def _deploy(mr: ModuleRewrite) -> list[Unit]:
    if all(f.rule == "EF001" for f in mr.findings):
        return []  # (imported only when there is something to fix: `scan` asks these planners too)
    from . import deploy

    return deploy.plan(mr)


def _module_calls(mr: ModuleRewrite) -> list[Unit]:
    if all(td.kind != "module" for td in mr.scan.task_definitions):
        return []
    from .forms import module_inputs

    return module_inputs.plan(mr)


def _tf_json(mr: ModuleRewrite) -> list[Unit]:
    if not any(td.form == "tf.json" for td in mr.scan.task_definitions):
        return []
    from .forms import tf_json

    return tf_json.plan(mr)


def _wrapper_calls(mr: ModuleRewrite) -> list[Unit]:
    if not any(td.form == "wrapper" for td in mr.scan.task_definitions):
        return []
    from .forms import wrapper_calls

    return wrapper_calls.plan(mr)


# Notes and generated blocks come in this order; a role created for a task definition (EF101) is
# created once, by the first planner that asks for it (`roles.created_role`).
PLANNERS: tuple[tuple[str, Callable[[ModuleRewrite], list[Unit]]], ...] = (
    ("EF001", _resources), ("deploy", _deploy), ("EF001 module", _module_calls),
    ("EF001 wrapper", _wrapper_calls), ("EF001 tf.json", _tf_json),
)


def plan_module(mr: ModuleRewrite, errors: list[str]) -> Plan:
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




# --------------------------------------------------------------------------- what scan reports


@dataclass
class _Scanned:
    resolver: Resolver
    task_definitions: list[TaskDefinition]


def decisions(module: Module, resolver: Resolver, tds: list[TaskDefinition], findings: list[Finding]
              ) -> dict[tuple[str, str, str | None], str | None]:
    """Per EF001 finding (resource, container, name): None when `ecsfix rewrite` (default options)
    moves it, else why not (the reason of its note, or of the error that left it)."""
    ef001 = [f for f in findings if f.rule == "EF001"]
    if not ef001:
        return {}
    mr = ModuleRewrite(module, _Scanned(resolver, tds), findings, Names(module.files), Options())
    errors: list[str] = []
    token = DRY_RUN.set(True)
    try:
        plan = plan_module(mr, errors)
    finally:
        DRY_RUN.reset(token)
    moved = {(m.task_definition, m.container, m.name) for m in plan.moved}
    out: dict[tuple[str, str, str | None], str | None] = {}
    for f in ef001:
        key = (f.resource, f.container, f.name)
        out[key] = None if key in moved else _reason(f, plan.notes, errors)
    return out


def _reason(f: Finding, notes: list[str], errors: list[str]) -> str:
    """The most specific note about this entry (its name, then its container, then its resource)."""
    best: tuple[int, str] | None = None
    for note in notes:
        head, sep, why = note.partition(": not rewritten: ")
        if not sep:
            continue
        if head.endswith(f" {f.resource} container {f.container}"):
            rank = 0 if f.name and f.name in why else 1
        elif head.endswith(f" {f.resource}"):
            rank = 0 if f.name and f.name in why else 2
        else:
            continue
        if best is None or rank < best[0]:
            best = (rank, why)
    if best is not None:
        return best[1].split("; move ", 1)[0]
    for error in errors:
        if f" for {f.resource} (" in error or " findings of this module (" in error:
            return "ecsfix could not plan a rewrite for it" + error[error.rindex(" ("):].split(";", 1)[0]
    return "ecsfix rewrite leaves it in place"
