"""Rewrites of calls of your own local ECS wrapper modules (`module "api" { source = "../modules/svc" }`).

The case: the caller writes the entries in the call's arguments (`environment = [{ name, value }]`,
or a map `env_vars = { NAME = value }`, or a local only that argument reads), and the child module puts that input into a container's
`environment` (the scan follows it: `module_calls.py`). The entries move into the secrets input the
child takes, written in the same call, and the values into one generated secret per call in the
caller's module (as `module_inputs.py` does for catalogue modules).

The secrets input is read from the child's code, not guessed from its name: a variable that flows
into a container's `secrets` (directly, through `concat()`/`merge()`/a conditional/a local, or
through a catalogued ECS module's secrets input, in that input's shape) is the list shape (`{ name,
valueFrom }` items); one that a `for k, v in var.x : { name = k, valueFrom = v }` turns into
`secrets` is the map shape (name -> ARN).

The execution role that must read the secret, from the child's `execution_role_arn`:

* `var.R`: the role is the call's `R` argument, in the caller: a policy on it (`roles.py`); for
  `var.cluster.execution_role.arn` with `cluster = module.cluster` in the call, on that output's ARN.
* `aws_iam_role.X.arn` created in the child: nothing more when the child's own policy grants read on
  what its secrets input gets and covers a whole secret (a `*` after the ARN, or the ARN cut out of
  the `valueFrom` with `split`/`regex`/...); else a policy on the child's output that returns the
  role (`module.api.<output>`); else the entries move and a note names the grant to add by hand.
* a literal role ARN in the child: a policy on that role; no role at all: nothing moves (EF101 first);
  anything else: the entries move and a note names the grant.

Left with a note (scan's hint says the same): a wrapper without a secrets input (the note names the
variable to add), a local several places read, an entry inside a larger expression, a name the call's
secrets already has, a wrapper that passes the entries on to its own wrapper. Entries in a template
the call renders keep the scan's "by hand" hint naming the child (`rules/ef001.py`).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...catalogue import MAP, lookup
from ...model import (
    Attribute,
    Block,
    Call,
    Container,
    EnvEntry,
    Expr,
    Heredoc,
    Lst,
    Null,
    Obj,
    Other,
    Ref,
    Str,
    TaskDefinition,
)
from ..containers import local_uses, within
from ..edits import Edit, indent_of, line_end, newline_of, remove_line_item
from ..generate import (
    SECRET_TYPES,
    Secret,
    existing_secret,
    extend_existing,
    place_generated,
    render,
    secret_keys,
    write_only,
)
from ..hclgen import hcl_key, hcl_string, instance_suffix, meta_of
from ..plan import ModuleRewrite, Moved, Plan, Unit, unit, where
from ..roles import execution_role_target
from .base import Refuse, entry_at, hcl_expression, is_literal, moved_value
from .module_inputs import extend_collection, multi_line

if TYPE_CHECKING:
    from ...module import Module

_MAX_LOCALS = 4  # locals followed from a sink to the variable
_ROLE_RESOURCE = re.compile(r"^aws_iam_role\.([A-Za-z_][\w-]*)\.arn$")
_HEREDOC_SECRETS = re.compile(r'"secrets"\s*:\s*\$\{\s*jsonencode\(\s*((?:var|local)\.[A-Za-z_][\w-]*)\s*\)\s*\}')
_PASS_THROUGH = frozenset({"concat", "merge", "flatten", "compact", "tolist", "tomap", "coalesce", "coalescelist",
                           "try", "distinct", "nonsensitive"})
# the child's policy turns `valueFrom` (which ends in `:KEY::`) into something that covers the whole secret
_COVERS_SECRET = re.compile(r'\}\*"|\b(?:split|regex|regexall|replace|trimsuffix|substr)\(')


@dataclass
class _Grant:
    mode: str  # "policy" (generated on `role`), "none" (the child grants it), "note" (for a human)
    role: str | None = None
    note: str | None = None  # says `{arn}` where the secret's ARN goes
    extra: Plan | None = None


@dataclass
class _Entry:
    container: Container
    entry: EnvEntry
    arg: Attribute  # the call's argument that carries the entry
    holder: Lst | Obj  # the literal the entry is an item of: the argument's, or a local's it names


@dataclass
class _Call:
    tds: list[TaskDefinition]
    block: Block
    source: str
    at: str
    entries: list[_Entry] = field(default_factory=list)

    @property
    def td(self) -> TaskDefinition:
        return self.tds[0]


def plan(mr: ModuleRewrite) -> list[Unit]:
    """One unit per local module call whose arguments hold flagged entries."""
    flagged = {(f.span.file.path, f.span.start, f.span.end, f.resource)
               for f in mr.findings if f.rule == "EF001" and f.manual is None}
    by_call: dict[str, list[TaskDefinition]] = {}
    for td in mr.scan.task_definitions:
        if td.kind == "module" and td.form == "wrapper" and td.block is not None:
            if any((e.span.file.path, e.span.start, e.span.end, td.address) in flagged
                   for c in td.containers for e in c.environment):
                by_call.setdefault(td.address, []).append(td)
    return [unit("EF001 wrapper", tds[0], functools.partial(_plan_call, mr, tds, flagged))
            for tds in by_call.values()]


def _plan_call(mr: ModuleRewrite, tds: list[TaskDefinition], flagged: set[tuple[str, int, int, str]]) -> Plan:
    plan = Plan()
    td = tds[0]
    block = td.block
    assert block is not None
    at = where(td)
    source = block.attr("source")
    assert isinstance(source, Str) and source.value
    call = _Call(tds, block, source.value, at)
    if td.address != f"module.{block.labels[0]}":
        plan.notes.append(f"{at}: not rewritten: the entries reach a task definition through {td.address} "
                          "(a module the wrapper calls in turn); move them by hand")
        return plan
    if mr.options.backend != "secretsmanager":
        plan.notes.append(f"{at}: not rewritten: --backend {mr.options.backend} is not supported for wrapper "
                          "module calls yet; move the entries by hand")
        return plan
    for t in tds:
        for c in t.containers:
            for e in c.environment:
                if (e.span.file.path, e.span.start, e.span.end, t.address) not in flagged:
                    continue
                why = _odd(e)
                found = None if why else _argument(mr, block, e)
                if isinstance(found, str) or found is None:
                    why = why or found or "it is not an item of a literal list or map argument of the call"
                    plan.notes.append(f"{at} container {c.display_name}: not rewritten: {e.name or '?'}: {why}; "
                                      "move it by hand")
                    continue
                call.entries.append(_Entry(c, e, *found))
    if not call.entries:
        return plan

    from ...module import read_directory

    child = read_directory(os.path.normpath(os.path.join(mr.module.dir, call.source)), mr.scan.resolver.root)
    if child is None:
        plan.notes.append(f"{at}: not rewritten: {call.source} cannot be read; move the entries by hand")
        return plan
    inputs = secrets_inputs(child)
    if not inputs:
        shape = ("map of name => secret ARN" if all(isinstance(x.arg.value, Obj) for x in call.entries)
                 else "list of {name, valueFrom}")
        plan.notes.append(f"{at}: not rewritten: {td.address} ({call.source}) has no secrets input: add a variable "
                          f'"secrets" ({shape}) that feeds the container\'s secrets, then re-run; move the '
                          "entries by hand")
        return plan
    name = next((n for n in inputs if n in block.attributes), None) or (
        "secrets" if "secrets" in inputs else sorted(inputs)[0])
    shape = inputs[name]
    dest = block.attributes.get(name)
    if dest is not None and not isinstance(dest.value, Null):
        wrong = Obj if shape == "list" else Lst
        if isinstance(dest.value, wrong) or isinstance(dest.value, (Str, Heredoc)):
            plan.notes.append(f"{at}: not rewritten: the call's {name} is not the {shape} {call.source} reads; "
                              "move the entries by hand")
            return plan
    taken = _taken_names(dest)

    existing = existing_secret(mr, td)
    _, index = meta_of(block)
    secret = Secret(existing or "", index, existing is not None)
    grant = _grant(mr, call, child, name, secret)
    if isinstance(grant, str):
        plan.notes.append(grant)
        return plan
    label = block.labels[0]
    if not secret.existing:
        secret.name = mr.names.free(f"{label}_secrets", SECRET_TYPES)
    arn = "${" + secret.arn + "}"
    keys = secret_keys(mr, secret)
    variables: list[dict[str, str]] = []
    moving: list[tuple[_Entry, str]] = []
    for x in call.entries:
        e = x.entry
        assert e.name is not None
        if e.name in taken:
            plan.notes.append(f"{at} container {x.container.display_name}: not rewritten: {e.name}: the call's "
                              f"{name} already has an entry of that name; move it by hand")
            continue
        try:
            expr, var_name = moved_value(mr, td, e, label, variables, plan, hcl_expression)
        except Refuse as exc:
            plan.notes.append(f"{at} container {x.container.display_name}: not rewritten: {exc}")
            continue
        assert expr is not None
        at_entry = e.value.at_entry if e.value is not None else None
        if var_name is not None and isinstance(at_entry, Str) and at_entry.value:
            plan.hidden.add(at_entry.value)  # an emptied one-line map shows no `value =` to redact by
        taken.add(e.name)
        moving.append((x, keys.key(e.name, expr)))
        plan.moved.append(Moved(td.address, x.container.display_name, e.name, var_name, entry_at(e), is_literal(e)))
    if not moving:
        return Plan(notes=plan.notes)

    _call_edits(plan, call, moving, name, shape, arn)
    if grant.mode == "note" and grant.note:
        plan.notes.append(grant.note.replace("{arn}", f"aws_secretsmanager_secret.{secret.name}{secret.index}.arn"))
    if secret.existing:
        extend_existing(mr, plan, td, secret, keys.values, variables)
        return plan
    meta, _ = meta_of(block)
    context = {
        "name": secret.name, "index": secret.index, "meta": meta, "td_address": td.address,
        "name_prefix": hcl_string(f"{label.replace('_', '-')}-"), "values": keys.values, "variables": variables,
        "write_only": write_only(mr), "kms_key_id": mr.options.kms_key_id,
    }
    if grant.mode == "policy":
        if grant.extra is not None:
            plan.extend(grant.extra)
        policy_name = secret.name.replace("_", "-") + instance_suffix(secret.index)
        rendered = render(mr.options.templates, "secret.tf.j2", role=grant.role, policy_name=policy_name, **context)
    else:
        how = ("the wrapper module's own policy grants its execution role what it gets in its secrets input."
               if grant.mode == "none" else
               "the wrapper module's execution role must be granted read access (see the rewrite notes).")
        rendered = render(mr.options.templates, "module_secret.tf.j2", grant=how, **context)
    place_generated(mr, plan, block, rendered)
    return plan


# --------------------------------------------------------------------------- the caller's side


def _odd(e: EnvEntry) -> str:
    if e.name is None:
        return "an entry name is not a literal"
    if e.value is None:
        return "it has no value"
    if "\n" in e.value.at_entry.span.text:
        return "it has a multi-line value"
    return ""


def _argument(mr: ModuleRewrite, block: Block, e: EnvEntry) -> tuple[Attribute, Lst | Obj] | str | None:
    """The call's argument that carries this entry and the literal list (or map) it is an item of:
    the argument's own value, or a caller's local used by this argument alone (`environment =
    local.api_env`). A string: why not (None: no reason more precise than the default)."""
    for attr in block.attributes.values():
        value = attr.value
        if isinstance(value, Ref) and value.source.startswith("local.") and value.source.count(".") == 1:
            name = value.source.split(".")[1]
            local = mr.module.local(name)
            held = local.value if local is not None else None
            if not (isinstance(held, (Lst, Obj)) and _is_item(held, e)):
                continue
            uses = local_uses(mr, name)
            if uses != 1:
                return f"it is written in local.{name}, which {uses} places read (moving it there would move it for all)"
            return attr, held
        if isinstance(value, (Lst, Obj)) and within(e.span, value.span):
            return (attr, value) if _is_item(value, e) else None
    return None


def _is_item(value: Lst | Obj, e: EnvEntry) -> bool:
    spans = {(it.span.start, it.span.end) for it in value.items}
    return e.span.file is value.span.file and (e.span.start, e.span.end) in spans and (
        isinstance(value, Lst) or all(it.key is not None for it in value.items))


def _taken_names(dest: Attribute | None) -> set[str]:
    """Names the call's secrets argument already has (a second item of a name would clash)."""
    if dest is None:
        return set()
    value = dest.value
    if isinstance(value, Obj):
        return {it.key for it in value.items if it.key}
    out: set[str] = set()
    if isinstance(value, Lst):
        for it in value.items:
            n = it.get("name") if isinstance(it, Obj) else None
            if isinstance(n, Str) and n.value:
                out.add(n.value)
    return out


def _call_edits(plan: Plan, call: _Call, moving: list[tuple[_Entry, str]], name: str, shape: str, arn: str) -> None:
    block = call.block
    src = block.file
    text = src.text
    nl = newline_of(text)
    by_holder: dict[int, list[_Entry]] = {}
    for x, _ in moving:
        by_holder.setdefault(id(x.holder), []).append(x)
    for xs in by_holder.values():
        value = xs[0].holder
        held_in = value.span.file
        if len(xs) == len(value.items):  # emptied: kept, so that the child's default does not come back
            plan.add(held_in, Edit(value.span.start, value.span.end, "[]" if isinstance(value, Lst) else "{}"))
        else:
            for x in xs:
                plan.add(held_in, remove_line_item(held_in.text, x.entry.span))
    as_map = shape == "map"
    if as_map:
        items = [f'{hcl_key(x.entry.name or "")} = "{arn}:{k}::"' for x, k in moving]
    else:
        items = [f'{{ name = {hcl_string(x.entry.name or "")}, valueFrom = "{arn}:{k}::" }}' for x, k in moving]
    dest = block.attributes.get(name)
    if dest is not None and isinstance(dest.value, Null):
        indent = indent_of(text, dest.span.start)
        plan.add(src, Edit(dest.value.span.start, dest.value.span.end, multi_line("", items, as_map, indent, nl)))
    elif dest is not None:
        extend_collection(plan, dest, items, as_map, nl)
    else:
        last = max((x.arg for x, _ in moving), key=lambda a: a.span.end)
        indent = indent_of(text, last.span.start)
        where_ = line_end(text, last.span.end)
        plan.add(src, Edit(where_, where_, indent + multi_line(f"{name} = ", items, as_map, indent, nl) + nl))


# --------------------------------------------------------------------------- the child's side


def secrets_inputs(child: Module) -> dict[str, str]:
    """The child's variables that flow into a container's `secrets`: name -> "list" | "map"."""
    found: dict[str, str] = {}
    for expr, shape in _sinks(child):
        _flows(child, expr, shape, found, 0)
    return {n: s for n, s in found.items() if child.variable(n) is not None}


def _sinks(child: Module) -> Iterator[tuple[Expr, str]]:
    for b in child.blocks("resource", "aws_ecs_task_definition", hint="aws_ecs_task_definition"):
        cd = b.attr("container_definitions")
        if cd is not None:
            yield from _secrets_items(child, cd, 0)
    for b in child.blocks("module"):  # a catalogued ECS module the wrapper calls: its own secrets inputs
        source = b.attr("source")
        row = lookup(source.value) if isinstance(source, Str) and source.value else None
        if row is None:
            continue
        inputs = {i.name: i.shape for i in row.secrets}
        for name, attr in b.attributes.items():
            if name in inputs:
                yield attr.value, "map" if inputs[name] == MAP else "list"
            else:
                yield from _secrets_items(child, attr.value, 0)


def _secrets_items(child: Module, expr: Expr, depth: int) -> Iterator[tuple[Expr, str]]:
    """`secrets = ...` values inside container definitions (following locals)."""
    if isinstance(expr, Obj):
        for it in expr.items:
            if it.key == "secrets":
                yield it.value, "list"
            else:
                yield from _secrets_items(child, it.value, depth)
    elif isinstance(expr, Lst):
        for item in expr.items:
            yield from _secrets_items(child, item, depth)
    elif isinstance(expr, Call):
        for arg in expr.args:
            yield from _secrets_items(child, arg, depth)
    elif isinstance(expr, Other):
        for branch in expr.branches:
            yield from _secrets_items(child, branch, depth)
        if expr.detail is not None:
            yield from _secrets_items(child, expr.detail.result, depth)
    elif isinstance(expr, Ref) and expr.source.startswith("local.") and depth < _MAX_LOCALS:
        attr = child.local(expr.source.split(".")[1])
        if attr is not None:
            yield from _secrets_items(child, attr.value, depth + 1)
    elif isinstance(expr, (Heredoc, Str)):
        for m in _HEREDOC_SECRETS.finditer(expr.span.text):
            yield Ref(expr.span, m.group(1)), "list"


def _flows(child: Module, expr: Expr, shape: str, found: dict[str, str], depth: int) -> None:
    """Variables whose value `expr` (a `secrets` value of this shape) is made of."""
    if isinstance(expr, Ref):
        m = re.fullmatch(r"var\.([A-Za-z_][\w-]*)", expr.source)
        if m:
            found.setdefault(m.group(1), shape)
        elif expr.source.startswith("local.") and depth < _MAX_LOCALS:
            attr = child.local(expr.source.split(".")[1])
            if attr is not None:
                _flows(child, attr.value, shape, found, depth + 1)
    elif isinstance(expr, Call) and expr.name in _PASS_THROUGH:
        for arg in expr.args:
            _flows(child, arg, shape, found, depth)
    elif isinstance(expr, Other) and expr.detail is None:
        for branch in expr.branches:
            _flows(child, branch, shape, found, depth)
    elif isinstance(expr, Other) and expr.detail is not None and isinstance(expr.detail.result, Obj):
        f = expr.detail
        assert isinstance(f.result, Obj)
        name, value_from = f.result.get("name"), f.result.get("valueFrom")
        if not (isinstance(name, Ref) and isinstance(value_from, Ref)):
            return
        if f.key is not None and (name.source, value_from.source) == (f.key, f.value):
            _flows(child, f.collection, "map", found, depth)
        elif f.key is None and (name.source, value_from.source) == (f"{f.value}.name", f"{f.value}.valueFrom"):
            _flows(child, f.collection, "list", found, depth)


def _child_role(child: Module) -> tuple[Expr | None, str]:
    """The `execution_role_arn` of the child's task definitions (one for all), or why not."""
    roles: list[tuple[Expr | None, Block]] = []
    for b in child.blocks("resource", "aws_ecs_task_definition", hint="aws_ecs_task_definition"):
        attr = b.attributes.get("execution_role_arn")
        roles.append((attr.value if attr is not None else None, b))
    if not roles:
        return None, "no aws_ecs_task_definition resource"
    texts = {r.span.text if r is not None else "" for r, _ in roles}
    if len(texts) > 1:
        return None, "task definitions with different execution roles"
    role, b = roles[0]
    depth = 0
    while isinstance(role, Ref) and role.source.startswith("local.") and depth < _MAX_LOCALS:
        attr = child.local(role.source.split(".")[1])
        role = attr.value if attr is not None else role
        depth += 1
    if role is None or isinstance(role, Null):
        return None, f"its task definition ({b.file.display}:{b.span.line}) has no execution_role_arn"
    return role, ""


def _grant(mr: ModuleRewrite, call: _Call, child: Module, name: str, secret: Secret) -> _Grant | str:
    """How the execution role reads the secret (or the note saying why nothing moves).

    Notes of mode "note" say `{arn}` where the secret's ARN goes (its name is not chosen yet)."""
    td, at, block = call.td, call.at, call.block
    role, why = _child_role(child)
    if secret.existing:
        return _Grant("none")  # the first run's grant covers the secret it extends
    if role is None and why.startswith("its task definition"):
        return f"{at}: not rewritten: {why}: give it one (EF101) in {call.source}, then re-run"
    if role is None:
        return _Grant("note", note=f"{at}: {call.source} has {why}: grant its execution role "
                      "secretsmanager:GetSecretValue on {arn} by hand")
    m = re.fullmatch(r"var\.([A-Za-z_][\w-]*)", role.source) if isinstance(role, Ref) else None
    literal = isinstance(role, Str) and role.value is not None and not role.is_template
    if m or literal:
        passed = block.attributes.get(m.group(1)) if m else None
        if m and (passed is None or isinstance(passed.value, Null)):
            return (f"{at}: not rewritten: the call does not pass {m.group(1)}, the execution role of "
                    f"{call.source}'s task definition: pass one, then re-run")
        proxy = TaskDefinition(address=td.address, kind="module", form="wrapper", span=td.span, block=block,
                               execution_role=passed.value if passed is not None else role)
        target = execution_role_target(mr, proxy)
        if target.role is None:
            return f"{target.note}; not rewritten"
        return _Grant("policy", role=target.role, extra=target.plan)
    m = re.fullmatch(r"var\.([A-Za-z_][\w-]*)((?:\.[A-Za-z_][\w-]*)+)", role.source) if isinstance(role, Ref) else None
    passed = block.attributes.get(m.group(1)) if m else None
    if m and passed is not None and isinstance(passed.value, Ref):  # `var.cluster.execution_role.arn`
        return _Grant("policy", role=f'regex("[^/]+$", {passed.value.source}{m.group(2)})')
    m = _ROLE_RESOURCE.match(role.source) if isinstance(role, Ref) else None
    if m is None:
        return _Grant("note", note=f"{at}: the execution role of {call.source}'s task definition "
                      f"({role.span.text}) is not one ecsfix follows: grant it secretsmanager:GetSecretValue "
                      "on {arn} by hand")
    role_name = m.group(1)
    grants = _child_grants(child, name)
    if grants == "whole":
        return _Grant("none")
    _, index = meta_of(block)
    for out in child.blocks("output"):
        value = out.attr("value")
        if not (out.labels and isinstance(value, Ref)):
            continue
        attr = {f"aws_iam_role.{role_name}.{a}": a for a in ("name", "id", "arn")}.get(value.source)
        if attr is not None:
            ref = f"module.{block.labels[0]}{index}.{out.labels[0]}"
            return _Grant("policy", role=ref if attr != "arn" else f'regex("[^/]+$", {ref})')
    given = (f" (its policy {grants} grants the valueFrom ARNs as given, which the `:KEY::` ending of the moved "
             "entries does not match)") if grants else ""
    return _Grant("note", note=f"{at}: the execution role aws_iam_role.{role_name} is created in {call.source}{given} "
                  "and no output returns it: grant it secretsmanager:GetSecretValue on {arn} there "
                  "(or add an output with its name and re-run)")


def _child_grants(child: Module, name: str) -> str | None:
    """"whole" when the child's own policy grants read on what its secrets input gets in a way that
    covers a whole secret; the policy's address when it grants them only as given (the moved
    `valueFrom`s end in `:KEY::`, which a policy naming them as given does not match); else None."""
    ref = re.compile(r"\bvar\." + re.escape(name) + r"\b")
    as_given = None
    for kind, types in (("resource", ("aws_iam_role_policy", "aws_iam_policy", "aws_iam_role")),
                        ("data", ("aws_iam_policy_document",))):
        for t in types:
            for b in child.blocks(kind, t, hint=t):
                text = b.span.text
                if ref.search(text) and "secretsmanager:" in text:
                    if _COVERS_SECRET.search(text):
                        return "whole"
                    as_given = as_given or f"{'data.' if kind == 'data' else ''}{'.'.join(b.labels)}"
    return as_given
