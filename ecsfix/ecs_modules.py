"""Calls of ECS modules, whose inputs are container definitions in all but name.

Which modules, under which input names, is data: the catalogue (`catalogue.py`). A call of a
catalogued module becomes a `TaskDefinition` of kind "module" whose address is `module.<name>`,
read the way its row says (one container per call, or terraform-aws-modules' maps of containers);
entries keep exact spans (a map input's entry spans its map item). A registry or git module
outside the catalogue is read by its input names alone: an input named like an environment
(`environment`, `env_vars`, `map_environment`, `container_env`, ...) written as a list of
`{name, value}` objects or a map is scanned as a container environment, at `medium` severity at
most and with "module not in the catalogue" in each message. Lambda and other non-container
modules (by their source) are left alone, and so are inputs that are strings (`environment =
"prod"`) or maps of objects.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .catalogue import (
    CLOUDPOSSE,
    LIST,
    MAP,
    TAM_CONTAINER,
    TAM_ROOT,
    TAM_SERVICE,
    Row,
    is_local,
    lookup,
    module_kind,
)
from .extract import container_of, containers_of, crossed_into
from .model import (
    Attribute,
    Block,
    Bool,
    Call,
    Container,
    EcsfixError,
    EnvEntry,
    Expr,
    InputError,
    Lst,
    Null,
    Obj,
    ObjItem,
    Other,
    Ref,
    SecretEntry,
    Span,
    Str,
    TaskDefinition,
    Value,
    describe,
)
from .module import Module
from .prefilter import HINTS, env_like, might_pass_an_environment
from .resolve import Resolver, Scope

__all__ = ["CLOUDPOSSE", "HINTS", "TAM_CONTAINER", "TAM_ROOT", "TAM_SERVICE", "module_kind",
           "task_definitions_from_module_calls", "not_known"]

# terraform-aws-modules 5.x took snake_case keys inside `container_definitions`, 6.x the ECS names.
SERVICE_CONTAINER_ALIASES = {
    "command": "command", "entrypoint": "entryPoint", "entryPoint": "entryPoint", "docker_labels": "dockerLabels",
    "dockerLabels": "dockerLabels", "healthcheck": "healthCheck", "health_check": "healthCheck",
    "healthCheck": "healthCheck", "repository_credentials": "repositoryCredentials",
    "repositoryCredentials": "repositoryCredentials",
}
# Sources of modules that take environment-like inputs but build no ECS container: never read as one.
_NOT_CONTAINERS = re.compile(r"lambda|function|beanstalk|codebuild|amplify|app-?runner|glue|sagemaker|batch"
                             r"|step-?functions?|sfn|kubernetes|k8s|helm|vercel|heroku|netlify")
_NAME_INPUTS = ("container_name", "name", "service_name", "app_name", "application")


def task_definitions_from_module_calls(module: Module, resolver: Resolver,
                                       scope: Scope | None = None) -> list[TaskDefinition]:
    """Task definitions of the module's ECS module calls (`scope`: the frame of a local module call
    when `module` is its child)."""
    out: list[TaskDefinition] = []
    seen: set[tuple[str, int]] = set()
    for hint in HINTS:
        for block in module.blocks("module", hint=hint):
            key = (block.file.path, block.span.start)
            if key in seen or not block.labels:
                continue
            seen.add(key)
            source = block.attr("source")
            row = lookup(source.value) if isinstance(source, Str) and source.value else None
            if row is not None:
                out.extend(_SHAPES[row.shape](row, module, resolver, block, scope))
    wanted = {src.path for src in module.hcl_files() if might_pass_an_environment(src.text)}
    if wanted:
        for block in module.blocks("module"):  # only module blocks are read: an error elsewhere is terraform's
            if block.file.path not in wanted or not block.labels or (block.file.path, block.span.start) in seen:
                continue
            source = block.attr("source")
            if isinstance(source, Str) and source.value and not is_local(source.value) and lookup(source.value) is None:
                out.extend(_uncatalogued(module, resolver, block, source.value, scope))
    return out


# --------------------------------------------------------------------------- one container per call


def _container_call(row: Row, module: Module, resolver: Resolver, block: Block,
                    scope: Scope | None) -> list[TaskDefinition]:
    td = _module_td(module, block, f"module.{block.labels[0]}", block.span, row)
    container = _container_from_inputs(resolver, block, row, scope)
    for env in row.environment:
        if env.shape == MAP:
            _map_environment(resolver, block, container, env.name, scope)
    for sec in row.secrets:
        if sec.shape == MAP:
            _map_secrets(resolver, block, container, sec.name, scope)
    td.containers = [container]
    td.execution_role, td.task_role = _roles(row, module, block)
    return [td]


def _container_from_inputs(resolver: Resolver, block: Block, row: Row, scope: Scope | None) -> Container:
    """The container a module call describes: its inputs read as the container object they become."""
    lists = {i.name: "environment" for i in row.environment if i.shape == LIST}
    lists.update({i.name: "secrets" for i in row.secrets if i.shape == LIST})
    items: list[ObjItem] = []
    for attr in block.attributes.values():
        key = "name" if attr.name == row.name_input else lists.get(attr.name) or row.fields.get(attr.name)
        if key is None or isinstance(attr.value, Null):
            continue
        items.append(ObjItem(key, attr.name_span, attr.value, attr.span))
    return container_of(resolver, Obj(block.span, items), scope)


def _map_environment(resolver: Resolver, block: Block, container: Container, name: str, scope: Scope | None) -> None:
    attr = block.attributes.get(name)
    if attr is None or isinstance(attr.value, Null):
        return
    entries = map_items(resolver, attr, container, name, scope)
    if entries is None:
        return
    if container.environment_expr is None:
        container.environment_expr = attr.value
    container.environment.extend(map_environment_entries(resolver, entries))


def map_environment_entries(resolver: Resolver, entries: list[tuple[ObjItem, Scope | None]]) -> list[EnvEntry]:
    """Map items (name = value) as environment entries; each entry's span is its map item."""
    out: list[EnvEntry] = []
    for item, scope in entries:
        via: list[str] = []
        resolved, _ = resolver.resolve2(item.value, scope, via)
        name_expr = Str(item.key_span, [item.key]) if item.key is not None else None
        value = Value(item.value, resolved if resolved is not None else item.value, via)
        out.append(EnvEntry(item.key, name_expr, value, item.span, crossed=crossed_into(resolver, scope, via)))
    return out


def _map_secrets(resolver: Resolver, block: Block, container: Container, name: str, scope: Scope | None) -> None:
    attr = block.attributes.get(name)
    if attr is None or isinstance(attr.value, Null):
        return
    entries = map_items(resolver, attr, container, name, scope)
    if entries is None:
        return
    if container.secrets_expr is None:
        container.secrets_expr = attr.value
    for item, scope in entries:
        container.secrets.append(SecretEntry(item.key, resolver.resolve(item.value, scope), item.span))


def map_items(resolver: Resolver, attr: Attribute, container: Container, what: str,
              scope: Scope | None = None) -> list[tuple[ObjItem, Scope | None]] | None:
    """The items of a map input (a literal, or `merge` of known maps), each with the scope its value
    is resolved in; what is not known is recorded on the container (EF003)."""
    resolved, scope = resolver.resolve2(attr.value, scope)
    if isinstance(resolved, Call) and resolved.name == "merge":
        # merge({ literal map }, local.x, var.extra, ...): read every map that is known, report the rest
        items: list[tuple[ObjItem, Scope | None]] = []
        for arg in resolved.args:
            part, pscope = resolver.resolve2(arg, scope)
            if isinstance(part, Obj):
                items.extend((item, pscope) for item in part.items)
            elif part is not None and not isinstance(part, Null):
                container.unresolved.append(
                    f"part of {what} (merge) of container {container.display_name} is {not_known(part)}")
        return items
    if isinstance(resolved, Obj):
        return [(item, scope) for item in resolved.items]
    if resolved is not None and not isinstance(resolved, Null):
        container.unresolved.append(f"{what} of container {container.display_name} is {not_known(resolved)}")
    return None


def _roles(row: Row, module: Module, block: Block) -> tuple[Expr | None, Expr | None]:
    if row.execution_role == "consumer":
        return _consumer_roles(module, block)
    task = block.attr(row.task_role_input) if row.task_role_input else None
    given = block.attr(row.role_input) if row.role_input else None
    if row.execution_role == "input":
        return (given if given is not None else Null(block.span)), task
    if row.execution_role == "created-unless-input" and given is not None and not isinstance(given, Null):
        return given, task
    how = f" (it may read secrets {row.how_granted})" if row.how_granted else ""
    return Other(block.span, f"task execution role created by the module {row.family}{how}"), task


def _consumer_roles(module: Module, block: Block) -> tuple[Expr, Expr | None]:
    """The roles of the task definition that uses this container module's output in this module;
    when none does, the execution role is set elsewhere (an `Other` saying so, never None)."""
    used = re.compile(r"\bmodule\." + re.escape(block.labels[0]) + r"\b")
    for td_block in module.blocks("resource", "aws_ecs_task_definition"):
        cd = td_block.attributes.get("container_definitions")
        if cd is not None and used.search(cd.span.text):
            execution = td_block.attr("execution_role_arn")
            return (execution if execution is not None else Null(td_block.span)), td_block.attr("task_role_arn")
    return Other(block.span, f"set where module.{block.labels[0]}'s output is used"), None


# --------------------------------------------------------------------------- modules outside the catalogue


def _uncatalogued(module: Module, resolver: Resolver, block: Block, source: str,
                  scope: Scope | None) -> list[TaskDefinition]:
    """A registry or git module read by its input names: environment-like inputs written as a list
    of `{name, value}` objects or a map of plain values are its container's environment."""
    if _NOT_CONTAINERS.search(source.lower()):
        return []
    name_items = [ObjItem("name", a.name_span, a.value, a.span)
                  for n in _NAME_INPUTS if (a := block.attributes.get(n)) is not None]
    container = container_of(resolver, Obj(block.span, name_items[:1]), scope)
    container.unresolved.clear()
    read: list[str] = []
    for name, attr in block.attributes.items():
        if not env_like(name) or isinstance(attr.value, Null):
            continue
        resolved = resolver.resolve(attr.value, scope)
        if _entry_list(resolver, resolved):
            listed = container_of(resolver, Obj(block.span, [ObjItem("environment", attr.name_span, attr.value,
                                                                       attr.span)]), scope)
            container.environment.extend(listed.environment)
        elif _plain_map(resolver, resolved):
            entries = map_items(resolver, attr, Container(None, None, block.span), name, scope)
            container.environment.extend(map_environment_entries(resolver, entries or []))
        else:
            continue
        read.append(name)
        if container.environment_expr is None:
            container.environment_expr = attr.value
    if not container.environment:
        return []
    td = TaskDefinition(address=f"module.{block.labels[0]}", kind="module", form="module input", span=block.span,
                        block=block, module_dir=module.dir)
    td.containers = [container]
    td.execution_role = Other(block.span, f"set inside the module {source}")
    td.severity_cap = "medium"
    inputs = ", ".join(f"`{n}`" for n in read)
    td.note = f"module not in the catalogue: {inputs} read as the container environment by {'its' if len(read) == 1 else 'their'} name"
    td.by_hand = "move it to the module's secrets input by hand (see the module's documentation)"
    return [td]


def _entry_list(resolver: Resolver, expr: Expr | None) -> bool:
    """A list (or concat) whose known items are `{name, value}` objects."""
    if isinstance(expr, Call) and expr.name == "concat":
        return any(_entry_list(resolver, resolver.resolve(a)) for a in expr.args)
    if not isinstance(expr, Lst) or not expr.items:
        return False
    first = resolver.resolve(expr.items[0])
    return isinstance(first, Obj) and first.item("name") is not None and first.item("value") is not None


def _plain_map(resolver: Resolver, expr: Expr | None) -> bool:
    """A map (or merge) of names to plain values, not a map of objects or lists (configuration)."""
    if isinstance(expr, Call) and expr.name == "merge":
        return any(_plain_map(resolver, resolver.resolve(a)) for a in expr.args)
    if not isinstance(expr, Obj) or not expr.items:
        return False
    return all(item.key is not None and not isinstance(item.value, (Obj, Lst)) for item in expr.items)


# --------------------------------------------------------------------------- services


def _service(row: Row, module: Module, resolver: Resolver, block: Block, scope: Scope | None) -> list[TaskDefinition]:
    definitions = block.attributes.get("container_definitions")
    if definitions is None:
        return []  # no task definition from this call (an existing one, or create_task_definition = false)
    td = _module_td(module, block, f"module.{block.labels[0]}", block.span, row)

    def get(name: str) -> Expr | None:
        return block.attr(name)

    td.execution_role, td.task_role = _service_roles(resolver, get, block.span, scope)
    _service_containers(resolver, td, definitions.value, scope)
    return [td]


def _services(row: Row, module: Module, resolver: Resolver, block: Block, scope: Scope | None) -> list[TaskDefinition]:
    services_attr = block.attributes.get("services")
    if services_attr is None:
        return []
    out: list[TaskDefinition] = []
    services, scope = resolver.resolve2(services_attr.value, scope)
    if not isinstance(services, Obj):
        if services is not None and not isinstance(services, Null):
            td = _module_td(module, block, f"module.{block.labels[0]}", services_attr.span, row)
            td.unanalysable = f"services of module.{block.labels[0]} is {not_known(services)}"
            out.append(td)
        return out
    for service in services.items:
        body, body_scope = resolver.resolve2(service.value, scope)
        key = f'["{service.key}"]' if service.key is not None else "[*]"
        td = _module_td(module, block, f"module.{block.labels[0]}.module.service{key}", service.span, row)
        if not isinstance(body, Obj):
            td.unanalysable = f"service {service.key or '*'} is {not_known(body)}"
            out.append(td)
            continue
        definitions = body.item("container_definitions")
        if definitions is None:
            continue
        service_body = body

        def get(name: str, body: Obj = service_body) -> Expr | None:
            return body.get(name)

        td.execution_role, td.task_role = _service_roles(resolver, get, service.span, body_scope)
        _service_containers(resolver, td, definitions.value, body_scope)
        out.append(td)
    return out


def _service_containers(resolver: Resolver, td: TaskDefinition, expr: Expr, scope: Scope | None) -> None:
    definitions, dscope = resolver.resolve2(expr, scope)
    if not isinstance(definitions, Obj):
        td.unanalysable = f"container_definitions of {td.address} is {not_known(definitions)}"
        return
    for item in definitions.items:
        obj, oscope = resolver.resolve2(item.value, dscope)
        if not isinstance(obj, Obj):
            c = Container(item.key, None, item.span)
            c.unresolved.append(
                f"container {item.key or '*'} is built by {describe(obj) if obj else 'an unknown expression'}"
            )
            td.containers.append(c)
            continue
        # 5.x keys (`docker_labels`, `health_check`, ...) read under the ECS name
        aliased = [
            ObjItem(SERVICE_CONTAINER_ALIASES.get(i.key, i.key) if i.key else i.key, i.key_span, i.value, i.span)
            for i in obj.items
        ]
        container = container_of(resolver, Obj(obj.span, aliased), oscope)
        container.obj = obj
        if container.name is None and obj.item("name") is None:
            container.name = item.key  # the module names the container after its map key
        td.containers.append(container)


def _service_roles(resolver: Resolver, get: Callable[[str], Expr | None], span: Span,
                   scope: Scope | None) -> tuple[Expr | None, Expr | None]:
    create = get("create_task_exec_iam_role")
    decided = resolver.resolve(create, scope) if create is not None else None
    if create is None or isinstance(decided, Bool) and decided.value:
        execution: Expr | None = Other(
            create.span if create is not None else span,
            "task execution role created by the module (create_task_exec_iam_role defaults to true); "
            "it may read the secrets listed in task_exec_secret_arns",
        )
    elif isinstance(decided, Bool):
        execution = get("task_exec_iam_role_arn")
    else:
        execution = Other(create.span, "task execution role depends on create_task_exec_iam_role")
    return execution, get("tasks_iam_role_arn")


def not_known(expr: Expr | None) -> str:
    """Why a module input is not known statically, for EF003 (never its value)."""
    if expr is None:
        return "missing"
    if isinstance(expr, Ref):
        if expr.root == "var":
            return f"{expr.source}, a variable without a default value in this module"
        if expr.root == "module":
            return f"the output {expr.source} of another module"
        return f"{expr.source}, not known statically"
    if isinstance(expr, Call):
        return f"built with {expr.name}(...)"
    kind = expr.kind if isinstance(expr, Other) else f"{describe(expr)}, not a map"
    return f"{'an' if kind[:1] in 'aeiou' else 'a'} {kind}"


def _module_td(module: Module, block: Block, address: str, span: Span, row: Row) -> TaskDefinition:
    td = TaskDefinition(address=address, kind="module", form="module" if row.rewritable else "module input", span=span,
                        block=block, module_dir=module.dir)
    if not row.rewritable and row.secrets:
        secrets = next((i for i in row.secrets if i.name in block.attributes), row.secrets[0])
        item = "NAME = <secret ARN>" if secrets.shape == MAP else "{ name, valueFrom = <secret ARN> }"
        td.by_hand = (f"move it to the module's `{secrets.name}` input by hand ({item}; `ecsfix rewrite` does not "
                      f"edit calls of {row.family} yet)")
    elif not row.rewritable:
        td.by_hand = (f"move it to the container's `secrets` in `{row.definitions_input}` by hand (`ecsfix rewrite` "
                      f"does not edit calls of {row.family} yet)")
    return td


def _definitions_call(row: Row, module: Module, resolver: Resolver, block: Block,
                      scope: Scope | None) -> list[TaskDefinition]:
    """A module whose input is the task's container definitions as JSON (a template rendered by
    the caller, `jsonencode([...])`, ...): read like a task definition's `container_definitions`."""
    attr = block.attributes.get(row.definitions_input or "")
    if attr is None or isinstance(attr.value, Null):
        return []
    resolved = resolver.resolve(attr.value, scope)
    if isinstance(resolved, Ref) and resolved.root == "module":
        return []  # another module's output (a container-definition module): its own call is read
    td = _module_td(module, block, f"module.{block.labels[0]}", block.span, row)
    try:
        td.containers, td.unanalysable = containers_of(resolver, attr.value, scope)
    except EcsfixError as exc:  # broken JSON in a heredoc: reported like a task definition's
        resolver.errors.append(InputError(block.file.display, exc.line, exc.message))
    td.execution_role, td.task_role = _roles(row, module, block)
    return [td]


_SHAPES: dict[str, Callable[[Row, Module, Resolver, Block, Scope | None], list[TaskDefinition]]] = {
    "container": _container_call,
    "service": _service,
    "services": _services,
    "definitions": _definitions_call,
}
