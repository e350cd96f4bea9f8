"""Container definitions in every form -> `TaskDefinition`/`Container`/`EnvEntry` models.

Forms: `jsonencode([...])`, heredoc JSON, `file()`, `templatefile()`, `data "template_file"`,
locals and variable defaults, `count`/`for_each`, `.tf.json`, raw task-definition JSON.
Whatever cannot be followed statically is recorded (EF003), never silently dropped.
"""

from __future__ import annotations

from .model import (
    Block,
    Call,
    Container,
    EcsfixError,
    EnvEntry,
    Expr,
    Heredoc,
    Lst,
    Obj,
    Other,
    Ref,
    SecretEntry,
    SourceFile,
    Str,
    TaskDefinition,
    Value,
    describe,
)
from .module import Module
from .resolve import REPORTED, Crossing, ListPart, Resolver, Scope

TASK_DEFINITION = "aws_ecs_task_definition"
PLAINTEXT_FIELDS = ("command", "entryPoint", "dockerLabels", "healthCheck")


def form_of(expr: Expr | None) -> str:
    if isinstance(expr, Call):
        if expr.name == "jsonencode" and expr.args and isinstance(expr.args[0], Ref):
            return "local" if expr.args[0].root == "local" else "variable"
        return expr.name
    if isinstance(expr, Heredoc):
        return "heredoc"
    if isinstance(expr, Ref):
        if expr.source.startswith(("data.template_file.", "template_file.")):
            return "template_file"
        return "local" if expr.root == "local" else "variable" if expr.root == "var" else "reference"
    if isinstance(expr, Str):
        interp = expr.sole_interp()  # "${template_file.x.rendered}" (Terraform 0.11)
        if interp is not None and isinstance(interp.expr, Ref) and form_of(interp.expr) == "template_file":
            return "template_file"
        return "string"
    return "expression"


def string_value(resolver: Resolver, expr: Expr | None, scope: Scope | None) -> str | None:
    r = resolver.resolve(expr, scope)
    return r.value if isinstance(r, Str) else None


def containers_of(resolver: Resolver, expr: Expr | None, scope: Scope | None = None) -> tuple[list[Container], str | None]:
    """The containers of a `container_definitions` value, or the reason they cannot be known."""
    resolved, rscope = resolver.resolve2(expr, scope)
    if isinstance(resolved, Str) and not resolved.is_template:
        resolved = resolver.json_string(resolved)  # a JSON document written as a quoted string
    parts = [ListPart(resolved, rscope, False)] if isinstance(resolved, Lst) else resolver.list_parts(resolved, rscope)
    if not any(isinstance(p.value, Lst) for p in parts):
        if isinstance(resolved, Other) and resolved.kind == REPORTED:
            return [], None
        return [], _unknown_reason(resolved)
    containers: list[Container] = []
    for part in parts:
        if not isinstance(part.value, Lst):  # concat([{...}], var.sidecars): the rest is still read
            if part.value is not None and not (isinstance(part.value, Other) and part.value.kind == REPORTED):
                c = Container(None, None, part.value.span)
                c.unresolved.append(f"some containers: {_unknown_reason(part.value)}")
                containers.append(c)
            continue
        for item in part.value.items:
            obj, oscope = resolver.resolve2(item, part.scope)
            if not isinstance(obj, Obj):
                c = Container(None, None, item.span)
                c.unresolved.append(f"container built by {describe(obj) if obj else 'an unknown expression'}")
                containers.append(c)
                continue
            containers.append(container_of(resolver, obj, oscope, part.maybe))
    return containers, None


def _unknown_reason(expr: Expr | None) -> str:
    if expr is None:
        return "no container_definitions attribute"
    if isinstance(expr, Ref):
        if expr.root == "var":
            return f"{expr.source} has no default value in this module"
        if expr.root == "module":
            return f"built from a module output ({expr.source})"
        return f"refers to {expr.source}, which is not known statically"
    if isinstance(expr, Call):
        return f"built with {expr.name}(...)"
    if isinstance(expr, Other):
        return expr.kind
    return f"not a list of containers ({describe(expr)})"


def container_of(resolver: Resolver, obj: Obj, scope: Scope | None, maybe: bool = False) -> Container:
    c = Container(string_value(resolver, obj.get("name"), scope), obj, obj.span)
    env_item = obj.item("environment")
    if env_item is not None:
        c.environment_expr = env_item.value
        _environment(resolver, c, env_item.value, scope, maybe)
    sec_item = obj.item("secrets")
    if sec_item is not None:
        c.secrets_expr = sec_item.value
        _secrets(resolver, c, sec_item.value, scope)
    c.repository_credentials = obj.item("repositoryCredentials") is not None
    for fname in PLAINTEXT_FIELDS:
        fitem = obj.item(fname)
        if fitem is None:
            continue
        value = resolver.resolve(fitem.value, scope)
        if fname == "healthCheck":
            value = resolver.resolve(value.get("command"), scope) if isinstance(value, Obj) else None
        if value is None:
            continue
        c.plaintext_fields.append((fname, value))
    return c


def _environment(resolver: Resolver, c: Container, expr: Expr, scope: Scope | None, maybe: bool = False) -> None:
    # concat([literal entries], local.base, var.extra, cond ? [...] : []): every known list is read
    # (entries of a conditional branch may be present), the rest is reported
    for part in resolver.list_parts(expr, scope, maybe):
        if isinstance(part.value, Lst):
            _entries(resolver, c, part.value, part.scope, part.maybe)
        elif part.value is not None and not (isinstance(part.value, Other) and part.value.kind == REPORTED):
            c.unresolved.append(f"environment of container {c.display_name}: {_unknown_reason(part.value)}")


def _entries(resolver: Resolver, c: Container, resolved: Lst, lscope: Scope | None, maybe: bool) -> None:
    for item in resolved.items:
        entry, escope = resolver.resolve2(item, lscope)
        if not isinstance(entry, Obj):
            c.unresolved.append(f"an environment entry of container {c.display_name} is built by {describe(entry) if entry else 'an unknown expression'}")
            continue
        name_expr = entry.get("name")
        value_expr = entry.get("value")
        value = None
        via: list[str] = []
        if value_expr is not None:
            resolved_value, _ = resolver.resolve2(value_expr, escope, via)
            value = Value(value_expr, resolved_value if resolved_value is not None else value_expr, via)
        c.environment.append(EnvEntry(string_value(resolver, name_expr, escope), name_expr, value, entry.span,
                                      crossed=crossed_into(resolver, escope, via), maybe=maybe))


def crossed_into(resolver: Resolver, scope: Scope | None, via: list[str]) -> str | None:
    """Evaluating a local module call: the caller's argument that carried an entry written in
    `scope` (or its value, following `via`) into the child; None when it is the child's own."""
    return resolver.crossed(scope) or next((v for v in via if isinstance(v, Crossing) and v.top), None)

def _secrets(resolver: Resolver, c: Container, expr: Expr, scope: Scope | None) -> None:
    resolved, lscope = resolver.resolve2(expr, scope)
    if not isinstance(resolved, Lst):
        return
    for item in resolved.items:
        entry, escope = resolver.resolve2(item, lscope)
        if not isinstance(entry, Obj):
            continue
        vf = entry.get("valueFrom")
        c.secrets.append(
            SecretEntry(string_value(resolver, entry.get("name"), escope), resolver.resolve(vf, escope) if vf else None, entry.span)
        )


# --------------------------------------------------------------------------- HCL modules


def task_definitions_in_module(module: Module, resolver: Resolver, scope: Scope | None = None) -> list[TaskDefinition]:
    """The module's `aws_ecs_task_definition` resources (`scope`: the frame of a local module call
    when `module` is its child, evaluated with the call's arguments)."""
    out: list[TaskDefinition] = []
    for block in module.blocks("resource", TASK_DEFINITION):
        if len(block.labels) < 2:
            continue
        out.append(task_definition_of_block(module, resolver, block, scope))
    return out


def task_definition_of_block(module: Module, resolver: Resolver, block: Block,
                             scope: Scope | None = None) -> TaskDefinition:
    cd = block.attr("container_definitions")
    td = TaskDefinition(
        address=f"{TASK_DEFINITION}.{block.labels[1]}",
        kind="resource",
        form=form_of(cd),
        span=block.span,
        block=block,
        execution_role=block.attr("execution_role_arn"),
        task_role=block.attr("task_role_arn"),
        module_dir=module.dir,
    )
    try:
        td.containers, td.unanalysable = containers_of(resolver, cd, scope)
    except EcsfixError as exc:
        resolver.errors.append(_error_at(block.file, exc))
        td.unanalysable = None
    return td


def _error_at(src: SourceFile, exc: EcsfixError):  # type: ignore[no-untyped-def]
    from .model import InputError

    return InputError(src.display, exc.line, exc.message)


# --------------------------------------------------------------------------- JSON inputs


def task_definition_from_json(src: SourceFile, doc: Obj, resolver: Resolver) -> TaskDefinition:
    """A raw ECS task definition (`aws ecs register-task-definition --cli-input-json`)."""
    family = string_value(resolver, doc.get("family"), None)
    td = TaskDefinition(
        address=f"task-definition {family}" if family else f"task-definition {src.display}",
        kind="taskdef-json",
        form="taskdef-json",
        span=doc.span,
        execution_role=doc.get("executionRoleArn"),
        task_role=doc.get("taskRoleArn"),
    )
    td.containers, td.unanalysable = containers_of(resolver, doc.get("containerDefinitions"))
    return td


def task_definitions_from_tf_json(src: SourceFile, doc: Obj, resolver: Resolver) -> list[TaskDefinition]:
    """`.tf.json` files: `{"resource": {"aws_ecs_task_definition": {"app": {...}}}}`."""
    out: list[TaskDefinition] = []
    resources = doc.get("resource")
    groups: list[Obj] = []
    if isinstance(resources, Obj):
        groups.append(resources)
    elif isinstance(resources, Lst):
        groups.extend(r for r in resources.items if isinstance(r, Obj))
    for group in groups:
        tds = group.get(TASK_DEFINITION)
        if not isinstance(tds, Obj):
            continue
        for item in tds.items:
            body = item.value
            if isinstance(body, Lst) and body.items and isinstance(body.items[0], Obj):
                body = body.items[0]
            if not isinstance(body, Obj) or item.key is None:
                continue
            cd = body.get("container_definitions")
            td = TaskDefinition(
                address=f"{TASK_DEFINITION}.{item.key}",
                kind="resource",
                form="tf.json",
                span=item.span,
                execution_role=body.get("execution_role_arn"),
                task_role=body.get("task_role_arn"),
            )
            if isinstance(cd, Str) and not cd.is_template:
                td.containers, td.unanalysable = containers_of(resolver, resolver.json_string(cd))
            elif isinstance(cd, Str):
                td.unanalysable = "a Terraform expression inside a .tf.json string"
            else:
                td.containers, td.unanalysable = containers_of(resolver, cd)
            out.append(td)
    return out

