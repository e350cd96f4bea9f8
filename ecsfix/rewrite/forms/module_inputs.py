"""Rewrites of ECS module calls (cloudposse ecs-container-definition, terraform-aws-modules ecs).

EF001 entries move into the module's own secrets inputs, and the values into one generated
Secrets Manager secret per call (as for resources, `task_definition.py`). How the execution role gets read
access depends on the module (inputs checked against the modules' source):

* cloudposse `ecs-container-definition` and terraform-aws-modules `//modules/container-definition`
  only render JSON: the execution role belongs to the task definition that uses the output. When
  that `aws_ecs_task_definition` is in this module, a policy is generated on its role; otherwise
  the entries still move and a note names the role to grant. cloudposse uses `map_secrets`
  instead of `secrets` whenever it is set (and `map_environment` instead of `environment`), so
  entries go to whichever of the two the module will read.
* terraform-aws-modules `//modules/service` (and each service of the root module) creates the
  execution role unless `create_task_exec_iam_role = false`, and grants it
  `secretsmanager:GetSecretValue` on `task_exec_secret_arns` unless `create_task_exec_policy =
  false`: the secret's ARN is added there. With `create_task_exec_policy = false` the policy goes
  on the module's `task_exec_iam_role_name` output; with `create_task_exec_iam_role = false` on the
  role named by `task_exec_iam_role_arn`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from ...ecs_modules import CLOUDPOSSE, TAM_CONTAINER, TAM_ROOT, TAM_SERVICE, module_kind
from ...model import (
    Attribute,
    Block,
    Bool,
    Container,
    EnvEntry,
    Expr,
    Lst,
    Null,
    Obj,
    ObjItem,
    Other,
    Ref,
    SourceFile,
    Str,
    TaskDefinition,
)
from ..containers import container_edits, flagged_entries, unsupported, within
from ..edits import Edit, indent_of, line_end, line_start, newline_of, remove_attribute, remove_line_item
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
from ..hclgen import add_block_attribute, add_map_item, hcl_key, hcl_string, instance_suffix, meta_of
from ..plan import ModuleRewrite, Moved, Plan, Unit, unit, where
from ..roles import execution_role_target
from .base import Refuse, entry_at, hcl_expression, is_literal, moved_value

_EXEC_ARNS = "task_exec_secret_arns"


@dataclass
class _Grant:
    """How the execution role gets read access to the generated secret."""

    mode: str  # "exec_arns" (the module's input), "policy" (generated), "note" (for a human), "none"
    role: str | None = None  # for "policy": the role name expression
    note: str | None = None  # for "note": who must grant what (the entries still move)
    arns_in: Block | Obj | None = None  # for "exec_arns": where `task_exec_secret_arns` is written
    extra: Plan | None = None  # edits the role needs first (a created role and its `execution_role_arn`)


@dataclass
class _Move:
    """One container's flagged entries and how they leave it."""

    container: Container
    entries: list[EnvEntry]
    shape: str  # "object" (a container object in a map), "list" or "map" (module inputs)
    source: Attribute | None = None  # the module input holding the entries ("list"/"map")
    env_list: Lst | None = None  # "object": the container's environment list


@dataclass
class _Call:
    td: TaskDefinition
    block: Block
    kind: str
    label: str  # base of generated names
    where: str
    service: Obj | None = None  # TAM_ROOT: the service's object in `services`
    moves: list[_Move] = field(default_factory=list)


def plan(mr: ModuleRewrite) -> list[Unit]:
    """Edits that move EF001 module-input entries into the module's own `secrets` inputs (one unit
    per module call, or per service of a terraform-aws-modules root call)."""
    units: list[Unit] = []
    flagged = [f for f in mr.findings if f.rule == "EF001" and f.manual is None]
    for td in mr.scan.task_definitions:
        if td.kind != "module" or td.form == "wrapper":
            continue  # a wrapper: an input of the user's own module (a note from task_definition.plan)
        spans = {(f.span.file.path, f.span.start, f.span.end) for f in flagged if f.resource == td.address}
        if spans:
            units.append(unit("EF001 module", td, functools.partial(_plan_call, mr, td, spans)))
    return units


def _plan_call(mr: ModuleRewrite, td: TaskDefinition, flagged: set[tuple[str, int, int]]) -> Plan:
    plan = Plan()
    at = where(td)
    block = td.block
    source = block.attr("source") if block is not None else None
    kind = module_kind(source.value) if isinstance(source, Str) and source.value else None
    if block is None or kind is None or not block.labels:
        plan.notes.append(f"{at}: not rewritten: unknown module call; move the entries by hand")
        return plan
    if mr.options.backend != "secretsmanager":
        plan.notes.append(f"{at}: not rewritten: --backend {mr.options.backend} is not supported for module "
                          "calls yet; move the entries by hand")
        return plan
    call = _Call(td, block, kind, block.labels[0], at)
    if kind == TAM_ROOT:
        service = _service_object(mr, td, block)
        if service is None:
            plan.notes.append(f"{at}: not rewritten: services is not a literal map in the call; "
                              "move the entries by hand")
            return plan
        call.service = service
        key = td.address.rsplit('["', 1)[-1].rstrip('"]')
        call.label = f"{block.labels[0]}_{key}"
    for container in td.containers:
        entries = flagged_entries(container, flagged)
        for e in entries:
            odd = _odd(e)
            if odd:  # one odd entry stays; the others still move
                plan.notes.append(f"{at} container {container.display_name}: not rewritten: {odd}; move it by hand")
        entries = [e for e in entries if _odd(e) is None]
        if not entries:
            continue
        move, why = _classify(call, container, entries)
        if move is None:
            plan.notes.append(f"{at} container {container.display_name}: not rewritten: {why}; "
                              "move the entries by hand")
            continue
        call.moves.append(move)
    if not call.moves:
        return plan

    existing = existing_secret(mr, td)
    _, index = meta_of(block)
    secret = Secret(existing or "", index, existing is not None)
    grant = _grant(mr, call, secret)
    if isinstance(grant, str):
        plan.notes.append(grant)
        return plan
    if not secret.existing:
        secret.name = mr.names.free(f"{call.label}_secrets", SECRET_TYPES)
    arn_in_string = "${" + secret.arn + "}"

    keys = secret_keys(mr, secret)
    values = keys.values
    variables: list[dict[str, str]] = []
    moving = 0
    for move in call.moves:
        move_keys: list[str] = []
        kept: list[EnvEntry] = []
        for e in move.entries:
            assert e.name is not None
            try:
                expr, var_name = moved_value(mr, td, e, call.label, variables, plan, hcl_expression)
            except Refuse as exc:  # this entry stays; the others still move
                plan.notes.append(f"{at} container {move.container.display_name}: not rewritten: {exc}")
                continue
            assert expr is not None  # module inputs are HCL: every expression can move
            kept.append(e)
            move_keys.append(keys.key(e.name, expr))
            plan.moved.append(Moved(td.address, move.container.display_name, e.name, var_name, entry_at(e), is_literal(e)))
        move.entries = kept
        moving += len(kept)
        if not kept:
            continue
        if move.shape == "object":
            assert move.env_list is not None
            value_from = {e.name or "": f"{arn_in_string}:{k}::" for e, k in zip(move.entries, move_keys, strict=True)}
            container_edits(plan, move.container, move.env_list, move.entries, False, value_from)
        else:
            _input_edits(plan, call, move, arn_in_string, move_keys)
    if not moving:
        return Plan(notes=plan.notes)

    if grant.mode == "exec_arns" and grant.arns_in is not None:
        _add_exec_arn(plan, grant.arns_in, secret.arn)
    if grant.mode == "note" and grant.note:
        plan.notes.append(grant.note.replace("{arn}", f"aws_secretsmanager_secret.{secret.name}{secret.index}.arn"))
    if grant.mode == "exec_arns" and mr.options.kms_key_id:
        plan.notes.append(f"{at}: the module's execution role also needs kms:Decrypt on {mr.options.kms_key_id} "
                          "(add it through task_exec_iam_statements)")

    if secret.existing:
        extend_existing(mr, plan, td, secret, values, variables)
        return plan
    meta, _ = meta_of(block)
    context = {
        "name": secret.name,
        "index": secret.index,
        "meta": meta,
        "td_address": td.address,
        "name_prefix": _name_prefix(call),
        "values": values,
        "variables": variables,
        "write_only": write_only(mr),
        "kms_key_id": mr.options.kms_key_id,
    }
    if grant.mode == "policy" and grant.extra is not None:
        plan.extend(grant.extra)
    if grant.mode == "policy":
        policy_name = secret.name.replace("_", "-") + instance_suffix(secret.index)
        rendered = render(mr.options.templates, "secret.tf.j2", role=grant.role, policy_name=policy_name, **context)
    else:
        how = ("the module's execution role reads it (task_exec_secret_arns)." if grant.mode == "exec_arns"
               else "the execution role is not in this module: grant it read access (see the rewrite notes).")
        rendered = render(mr.options.templates, "module_secret.tf.j2", grant=how, **context)
    place_generated(mr, plan, block, rendered)
    return plan


# --------------------------------------------------------------------------- what moves where


def _service_object(mr: ModuleRewrite, td: TaskDefinition, block: Block) -> Obj | None:
    attr = block.attributes.get("services")
    if attr is None or not isinstance(attr.value, Obj):
        return None
    for item in attr.value.items:
        if item.span.start == td.span.start and item.span.end == td.span.end and isinstance(item.value, Obj):
            return item.value
    return None


def _odd(e: EnvEntry) -> str | None:
    """Why this one entry cannot move (the others still can), or None."""
    if e.name is None:
        return "an entry name is not a literal"
    if e.value is None:
        return f"{e.name} has no value"
    if "\n" in e.value.at_entry.span.text:
        return f"{e.name} has a multi-line value"
    return None


def _classify(call: _Call, container: Container, entries: list[EnvEntry]) -> tuple[_Move | None, str]:
    if call.kind in (TAM_SERVICE, TAM_ROOT):
        obj = container.obj
        if obj is None or not within(obj.span, call.block.span):
            return None, "the container is not written in the module call"
        env = container.environment_expr
        if not isinstance(env, Lst) or not all(within(e.span, env.span) for e in entries):
            return None, "environment is not a literal list in the module call"
        why = unsupported(container, entries)
        if why:
            return None, why
        return _Move(container, entries, "object", env_list=env), ""
    # one container per call: the entries are module inputs
    inputs = ["environment"] + (["map_environment"] if call.kind == CLOUDPOSSE else [])
    for name in inputs:
        attr = call.block.attributes.get(name)
        if attr is None:
            continue
        literal = Obj if name == "map_environment" else Lst
        if isinstance(attr.value, literal) and all(within(e.span, attr.value.span) for e in entries):
            if isinstance(attr.value, Obj) and any(it.key is None for it in attr.value.items):
                return None, "map_environment has computed keys"
            return _Move(container, entries, "map" if name == "map_environment" else "list", source=attr), ""
    return None, "the entries are not written in one literal environment input of the call"


def _grant(mr: ModuleRewrite, call: _Call, secret: Secret) -> _Grant | str:
    """How the execution role reads the secret, or a note saying why nothing is rewritten.

    Notes of mode "note" say `{arn}` where the secret's ARN goes (its name is not chosen yet)."""
    td, where = call.td, call.where
    if call.kind in (CLOUDPOSSE, TAM_CONTAINER):
        grant = _consumer_grant(mr, td, where)
        if secret.existing:
            if mr.module.resource("aws_iam_role_policy", secret.name) is not None:
                return _Grant("none")
            if grant.mode == "policy":
                return _Grant("note", note=f"{where}: grant the execution role ({grant.role}) "
                              "secretsmanager:GetSecretValue on {arn}")
        return grant

    def get(name: str) -> Expr | None:
        return call.service.get(name) if call.service is not None else call.block.attr(name)

    arns_in = call.service if call.service is not None else call.block
    create_role = _decided(mr, get("create_task_exec_iam_role"))
    if create_role is None:
        return f"{where}: not rewritten: create_task_exec_iam_role is not a literal; move the entries by hand"
    if create_role:
        if secret.existing:
            return _Grant("exec_arns", arns_in=arns_in)
        create_policy = _decided(mr, get("create_task_exec_policy"))
        if create_policy is None:
            return f"{where}: not rewritten: create_task_exec_policy is not a literal; move the entries by hand"
        if create_policy:
            return _Grant("exec_arns", arns_in=arns_in)
        if call.kind == TAM_ROOT:
            return (f"{where}: not rewritten: create_task_exec_policy = false in a service of the root module; "
                    "move the entries by hand and grant the task execution role read access")
        return _Grant("policy", role=f"module.{call.block.labels[0]}{secret.index}.task_exec_iam_role_name")
    if secret.existing:
        return _Grant("none")  # the policy generated by the first run covers the secret
    if td.execution_role is None:
        return (f"{where}: not rewritten: create_task_exec_iam_role = false without task_exec_iam_role_arn; "
                "give the service an execution role first")
    target = execution_role_target(mr, td)
    if target.role is None:
        return f"{target.note}; not rewritten"
    return _Grant("policy", role=target.role, extra=target.plan)


def _consumer_grant(mr: ModuleRewrite, td: TaskDefinition, where: str) -> _Grant:
    """A container-definition module: the role of the task definition using its output, if known here."""
    role = td.execution_role
    if isinstance(role, Other) or role is None:
        return _Grant("note", note=f"{where}: the task definition using this module's output is not in this "
                      "module: grant its execution role secretsmanager:GetSecretValue on {arn}")
    if isinstance(role, Null):
        return _Grant("note", note=f"{where}: the task definition using this module's output has no "
                      "execution_role_arn: add one (EF101) that may call secretsmanager:GetSecretValue on {arn}")
    if re.search(r"\b(each|count)\.", role.span.text):
        return _Grant("note", note=f"{where}: the execution role differs per instance: grant each "
                      "secretsmanager:GetSecretValue on {arn}")
    target = execution_role_target(mr, td)
    if target.role is None:
        return _Grant("note", note=(target.note or f"{where}: no execution role")
                      + "; it needs secretsmanager:GetSecretValue on {arn}")
    return _Grant("policy", role=target.role, extra=target.plan)


def _decided(mr: ModuleRewrite, expr: Expr | None) -> bool | None:
    """A module bool input that defaults to true: its value, or None when not known statically."""
    if expr is None:
        return True
    value = mr.scan.resolver.resolve(expr)
    return value.value if isinstance(value, Bool) else None


def _name_prefix(call: _Call) -> str:
    name_input = {CLOUDPOSSE: "container_name", TAM_CONTAINER: "name", TAM_SERVICE: "name"}.get(call.kind)
    expr = call.block.attr(name_input) if name_input else None
    if isinstance(expr, Str) and "\n" not in expr.span.text:
        text = expr.span.text
        if text.startswith('"') and text.endswith('"') and len(text) > 2:
            return text[:-1] + '-"'
    if isinstance(expr, Ref):
        return '"${' + expr.source + '}-"'
    return hcl_string(f"{call.label.replace('_', '-')}-")


def _input_edits(plan: Plan, call: _Call, move: _Move, arn: str, keys: list[str]) -> None:
    """Entries of `environment` / `map_environment` inputs move to `secrets` / `map_secrets`."""
    block, source = call.block, move.source
    assert source is not None
    src = block.file
    text = src.text
    nl = newline_of(text)
    attrs = block.attributes
    present = {k: a for k, a in attrs.items() if not isinstance(a.value, Null)}
    # cloudposse reads map_secrets when it is set (and only then `secrets`)
    if call.kind == CLOUDPOSSE and "map_secrets" in present:
        dest: Attribute | None = present["map_secrets"]
        as_map = True
    elif "secrets" in present:
        dest = present["secrets"]
        as_map = False
    else:
        dest = None
        as_map = move.shape == "map" and call.kind == CLOUDPOSSE
    names = [e.name or "" for e in move.entries]
    if as_map:
        new_items = [f'{hcl_key(n)} = "{arn}:{k}::"' for n, k in zip(names, keys, strict=True)]
    else:
        new_items = [f'{{ name = {hcl_string(n)}, valueFrom = "{arn}:{k}::" }}' for n, k in zip(names, keys, strict=True)]

    value = source.value
    assert isinstance(value, (Lst, Obj))
    all_moved = len(move.entries) == len(value.items)
    indent = indent_of(text, source.span.start)
    if dest is None:
        key = "map_secrets" if as_map else "secrets"
        new_attr = multi_line(key + " = ", new_items, as_map, indent, nl)
        if all_moved:
            plan.add(src, Edit(source.span.start, source.span.end, new_attr))
        else:
            _remove_entries(plan, src, move.entries)
            at = line_end(text, source.span.end)
            plan.add(src, Edit(at, at, nl + indent + new_attr + nl))
        return
    if all_moved:
        # an emptied map_environment stays ({}) when `environment` exists: the module would read that instead
        keep = move.shape == "map" and "environment" in present
        if keep:
            plan.add(src, Edit(value.span.start, value.span.end, "{}"))
        else:
            plan.add(src, remove_attribute(text, source.span))
    else:
        _remove_entries(plan, src, move.entries)
    extend_collection(plan, dest, new_items, as_map, nl)


def multi_line(lead: str, items: list[str], as_map: bool, indent: str, nl: str) -> str:
    open_, close = ("{", "}") if as_map else ("[", "]")
    comma = "" if as_map else ","
    return lead + open_ + nl + "".join(indent + "  " + s + comma + nl for s in items) + indent + close


def _remove_entries(plan: Plan, src: SourceFile, entries: list[EnvEntry]) -> None:
    """Remove entries with their own lines; a comment ending an entry's line goes with it."""
    for e in entries:
        plan.add(src, remove_line_item(src.text, e.span))


def extend_collection(plan: Plan, dest: Attribute, new_items: list[str], as_map: bool, nl: str) -> None:
    """Add items to an existing `secrets` list or `map_secrets` map input."""
    src = dest.span.file
    text = src.text
    value = dest.value
    literal = Obj if as_map else Lst
    if not isinstance(value, literal):
        joined = ", ".join(new_items)
        wrapped = f"merge({value.span.text}, {{ {joined} }})" if as_map else f"concat({value.span.text}, [{joined}])"
        plan.add(src, Edit(value.span.start, value.span.end, wrapped))
        return
    items: list[Expr] | list[ObjItem] = value.items
    spans = [it.span for it in items]
    close = value.span.end - 1
    close_line = line_start(text, close)
    if spans and not text[close_line:close].strip():
        item_indent = indent_of(text, spans[0].start)
        comma = "" if as_map else ","
        last = spans[-1].end
        if not as_map and not text[last:close].strip().startswith(","):
            plan.add(src, Edit(last, last, ","))
        plan.add(src, Edit(close_line, close_line, "".join(item_indent + s + comma + nl for s in new_items)))
        return
    indent = indent_of(text, dest.span.start)
    old = [s.text for s in spans]
    if as_map and len(old) > 0:
        old = [o.rstrip(",") for o in old]
    plan.add(src, Edit(value.span.start, value.span.end, multi_line("", old + new_items, as_map, indent, nl)))


def _add_exec_arn(plan: Plan, where: Block | Obj, arn: str) -> None:
    """`task_exec_secret_arns` gets the secret's ARN (added, extended, or wrapped in concat())."""
    if isinstance(where, Obj):
        item = where.item(_EXEC_ARNS)
        if item is None:
            add_map_item(plan, where, _EXEC_ARNS, f"[{arn}]")
            return
        value: Expr = item.value
    else:
        attr = where.attributes.get(_EXEC_ARNS)
        if attr is None:
            add_block_attribute(plan, where, f"{_EXEC_ARNS} = [{arn}]")
            return
        value = attr.value
    src = value.span.file
    text = src.text
    if re.search(re.escape(arn) + r"(?![\w\[])", value.span.text):
        return
    if not isinstance(value, Lst):
        plan.add(src, Edit(value.span.start, value.span.end, f"concat({value.span.text}, [{arn}])"))
        return
    close = value.span.end - 1
    close_line = line_start(text, close)
    if value.items and not text[close_line:close].strip():
        last = value.items[-1].span.end
        if not text[last:close].strip().startswith(","):
            plan.add(src, Edit(last, last, ","))
        indent = indent_of(text, value.items[0].span.start)
        plan.add(src, Edit(close_line, close_line, f"{indent}{arn},{newline_of(text)}"))
    elif value.items:
        last = value.items[-1].span.end
        plan.add(src, Edit(last, last, f", {arn}"))
    else:
        plan.add(src, Edit(value.span.start, value.span.end, f"[{arn}]"))
