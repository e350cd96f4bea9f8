"""One template file shared by several task definitions: the same file in several
`templatefile("app.json.tpl", { ... })` calls, each with its own variables (a literal map, or
`merge(local.vars, { ... })`), or in several `file("app.json")` calls (which become
`templatefile("app.json", { <secret>_arn = ... })`, unless the file holds `${` or `%{`).

The template is edited once: its flagged entries move to `secrets` with
`"valueFrom": "${<secret>_arn}:KEY::"`, and every call's variables get `<secret>_arn`. The values
go into ONE generated secret (every call passes the same expression for each moved value: they
read one template, so one secret is the smallest diff and one place to rotate), and every distinct
execution role of those task definitions gets one policy on it (`shared_env.grantees`).

Refused with a note, entries left in place, when the uses disagree: a call is not a direct
`templatefile()`, its variables are not a literal map / `merge()` ending in one, a value is passed
differently by two calls, a task definition repeats (`count`/`for_each`), or an execution role
cannot be named.
"""

from __future__ import annotations

import functools
import os
import re

from ...model import Call, Container, EnvEntry, Expr, Lst, Obj, ObjItem, Ref, TaskDefinition
from ..containers import container_edits, container_refusal, entry_refusal, environment_list, flagged_entries
from ..edits import Edit
from ..generate import SECRET_TYPES, SecretKeys
from ..hclgen import IDENT, add_map_item, meta_of
from ..plan import ModuleRewrite, Moved, Plan, where
from .base import Refuse, entry_at, moved_value, template_expression
from .shared_env import generate_shared, grantees

Spans = set[tuple[str, int, int]]


def handled(mr: ModuleRewrite, flagged: Spans, users: dict[str, set[str]]) -> dict[str, list[TaskDefinition]]:
    """The shared templates with flagged entries (path -> its task definitions): this planner
    answers for those task definitions (moved or refused with a note), not the per-task-definition
    one. `users`: template (or JSON) file path -> the task definitions whose containers it holds."""
    by_address = {td.address: td for td in mr.scan.task_definitions}
    return {path: sorted((by_address[a] for a in addresses), key=lambda td: (td.span.file.path, td.span.start))
            for path, addresses in sorted(users.items()) if len(addresses) > 1 and any(s[0] == path for s in flagged)}


def plan(mr: ModuleRewrite, flagged: Spans, path: str, tds: list[TaskDefinition]) -> Plan:
    """The template at `path`, read by `tds`: moved once, or one note per task definition."""
    result = _plan_template(mr, path, tds, {s for s in flagged if s[0] == path})
    if isinstance(result, str):
        return Plan(notes=[f"{where(td)}: not rewritten: {os.path.basename(path)} is shared by {len(tds)} task "
                           f"definitions and {result}; move the entries by hand" for td in tds])
    return result


def _variables(mr: ModuleRewrite, td: TaskDefinition, path: str) -> tuple[Obj | None, Obj | Call] | str:
    """The call's variables as one lookup (later `merge()` arguments win; None for `file()`) and
    the literal map to add the ARN to (a `file()` call becomes `templatefile()`), or why not."""
    block = td.block
    if td.kind != "resource" or block is None or td.form not in ("templatefile", "file"):
        return f"{td.address} writes its containers as {td.form}"
    if meta_of(block)[0]:
        return f"{td.address} repeats (count/for_each)"
    attr = block.attributes.get("container_definitions")
    cd = attr.value if attr is not None else None
    if isinstance(cd, Call) and cd.name == "file" and len(cd.args) == 1:
        text = next((c.obj.span.file.text for c in td.containers if c.obj is not None), "")
        if "${" in text or "%{" in text:
            return f"{os.path.basename(path)} contains `${{` or `%{{`, which templatefile() would evaluate"
        return None, cd
    if not (isinstance(cd, Call) and cd.name == "templatefile" and len(cd.args) == 2):
        return f"the container definitions of {td.address} are not a templatefile() call"
    given = cd.args[1]
    if isinstance(given, Obj):
        return given, given
    if not (isinstance(given, Call) and given.name == "merge" and given.args and isinstance(given.args[-1], Obj)):
        return f"the variables of {td.address} are not a literal map or merge(..., {{ ... }})"
    items: list[ObjItem] = []
    for arg in reversed(given.args):  # Obj.item finds the first: the last argument first
        if isinstance(arg, Ref) and arg.root == "local" and arg.source.count(".") == 1:
            local = mr.module.local(arg.source.split(".", 1)[1])
            arg = local.value if local is not None else arg
        if not isinstance(arg, Obj):
            return f"the variables of {td.address} merge {arg.span.text}, which is not a literal map"
        items += arg.items
    return Obj(given.span, items), given.args[-1]


def _plan_template(mr: ModuleRewrite, path: str, tds: list[TaskDefinition], spans: Spans) -> Plan | str:
    if mr.options.backend == "ssm":
        return "--backend ssm does not rewrite shared templates yet"
    lookups: list[Obj | None] = []
    targets: list[Obj | Call] = []
    for td in tds:
        found = _variables(mr, td, path)
        if isinstance(found, str):
            return found
        lookups.append(found[0])
        targets.append(found[1])
    # the containers come from the one template: the first task definition's are the file's
    first = tds[0]
    if any({_span(e) for c in td.containers for e in c.environment} != {_span(e) for c in first.containers
                                                                          for e in c.environment} for td in tds):
        return "the task definitions read different containers from it"
    roles = grantees(mr, tds)
    if isinstance(roles, str):
        return roles
    plan = Plan()
    stem = re.sub(r"[^a-z0-9_]", "_", os.path.basename(path).split(".", 1)[0].lower()).strip("_") or "template"
    secret = mr.names.free(f"{stem}_secrets", SECRET_TYPES)
    var = f"{secret}_arn"
    if any(lookup is not None and lookup.item(var) is not None for lookup in lookups):
        return f"its variables already have {var}"
    arn = f"aws_secretsmanager_secret.{secret}.arn"
    keys = SecretKeys()
    variables: list[dict[str, str]] = []
    left: list[tuple[Container, str]] = []  # (container, why) for what stays, with a note per task definition
    moving = 0
    for container in first.containers:
        entries = flagged_entries(container, spans)
        if not entries:
            continue
        env_list, why = environment_list(mr, first, container, entries, False)
        why = why or container_refusal(container)
        if why:
            left.append((container, why))
            continue
        assert isinstance(env_list, Lst)
        value_from: dict[str, str] = {}
        movable: list[EnvEntry] = []
        for e in entries:
            value = entry_refusal(e) or _value(mr, first, e, stem, lookups, variables, plan)
            if isinstance(value, str):
                left.append((container, value))
                continue
            assert e.name is not None
            movable.append(e)
            value_from[e.name] = "${" + var + "}:" + keys.key(e.name, value[0]) + "::"
            plan.moved += [Moved(td.address, c.display_name, e.name, value[1], entry_at(e)) for td in tds
                           for c in td.containers if c.obj is not None and _same(c.obj, container.obj)]
        if movable:
            container_edits(plan, container, env_list, movable, True, value_from)
            moving += len(movable)
    for container, why in left:  # one odd entry stays; the others still move
        plan.notes += [f"{where(td)} container {c.display_name}: not rewritten: {why} ({os.path.basename(path)}, "
                       f"shared by {len(tds)} task definitions); move it by hand" for td in tds
                       for c in td.containers if c.obj is not None and _same(c.obj, container.obj)]
    if not moving:
        return Plan(notes=plan.notes) if plan.notes else "none of its flagged entries can move"
    for target in targets:
        if isinstance(target, Call):  # file() -> templatefile() with the ARN as its one variable
            plan.add(target.span.file, Edit(target.span.start, target.span.end,
                                            f"templatefile({target.args[0].span.text}, {{ {var} = {arn} }})"))
        elif target.item(var) is None and IDENT.match(var):
            add_map_item(plan, target, var, arn)
    assert first.block is not None
    generate_shared(mr, plan, first.block, os.path.basename(path), stem.replace("_", "-"), secret, keys, variables,
                    roles)
    return plan


def _value(mr: ModuleRewrite, td: TaskDefinition, e: EnvEntry, stem: str, lookups: list[Obj | None],
           variables: list[dict[str, str]], plan: Plan) -> tuple[str, str | None] | str:
    """The value every call passes and the new variable holding a literal (if any), or why the
    entry stays."""
    assert e.name is not None and e.value is not None
    exprs = {template_expression(e.value.at_entry, heredoc=False, template_vars=lookup, resolve_vars=lookup is not None)
             for lookup in lookups}
    if len(exprs) != 1:
        return f"the value of {e.name} is passed differently by the calls"
    try:
        expr, var_name = moved_value(mr, td, e, stem, variables, plan, functools.partial(_agreed, exprs.pop()))
    except Refuse as exc:
        return str(exc)
    if expr is None:
        return f"the value of {e.name} cannot be expressed outside the template"
    if re.search(r"\b(each|count|self)\.", expr):
        return f"the value of {e.name} differs per instance"
    return expr, var_name


def _agreed(expr: str | None, _at: Expr) -> str | None:
    """The value every call passes (the same in each: checked before)."""
    return expr


def _same(a: Obj, b: Obj | None) -> bool:
    return b is not None and (a.span.file.path, a.span.start) == (b.span.file.path, b.span.start)


def _span(e: EnvEntry) -> tuple[str, int, int]:
    return (e.span.file.path, e.span.start, e.span.end)
