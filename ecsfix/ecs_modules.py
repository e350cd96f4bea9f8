"""Calls of the common ECS modules, whose inputs are container definitions in all but name.

Input names as published by the modules (checked against their source):

* cloudposse `ecs-container-definition` (`cloudposse/ecs-container-definition/aws`, or a git URL
  of `terraform-aws-ecs-container-definition`): one container per call. `container_name`;
  `environment` (list of `{name, value}`) and `map_environment` (map name -> value, which the
  module prefers when both are set); `secrets` (list of `{name, valueFrom}`) and `map_secrets`;
  `command`, `entrypoint`, `docker_labels`, `healthcheck`, `repository_credentials`. The task
  definition itself is wherever the module's JSON output is used.
* terraform-aws-modules `ecs` (`terraform-aws-modules/ecs/aws`, git `terraform-aws-modules/
  terraform-aws-ecs`):
  - `//modules/service`: `container_definitions = { <key> = { name, environment, secrets, ... } }`;
    the container is named `name`, else the map key. The module creates the task execution role
    unless `create_task_exec_iam_role = false` (default true) and grants it
    `secretsmanager:GetSecretValue` on the ARNs in `task_exec_secret_arns` (default `[]`).
  - `//modules/container-definition`: one container per call: `name`, `environment`, `secrets`,
    `command`, `entrypoint`, `docker_labels`/`dockerLabels`, `health_check`/`healthCheck`.
  - the root module: `services = { <svc> = { container_definitions = {...}, ... } }`, one service
    module instance each (`module.<call>.module.service["<svc>"]`).

Each call becomes a `TaskDefinition` of kind "module" whose address is `module.<name>`; entries keep
exact spans (a `map_environment` entry's span is its map item).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .extract import container_of
from .model import (
    Attribute,
    Block,
    Bool,
    Call,
    Container,
    EnvEntry,
    Expr,
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
from .resolve import Resolver, Scope

CLOUDPOSSE = "cloudposse ecs-container-definition"
TAM_ROOT = "terraform-aws-modules ecs"
TAM_SERVICE = "terraform-aws-modules ecs service"
TAM_CONTAINER = "terraform-aws-modules ecs container-definition"

# Substrings that put a module block in the running (the cheap pre-filter before parsing it).
HINTS = ("ecs-container-definition", "terraform-aws-modules/ecs", "terraform-aws-modules/terraform-aws-ecs")

_SUBDIR_RE = re.compile(r"(?<!:)//")  # `//` of a module subdirectory, not of `https://`
_REGISTRY_HOST_RE = re.compile(r"^(?:registry\.terraform\.io|registry\.opentofu\.org)/")

# Module inputs that are container fields, by the ECS name `container_of` reads them under.
CONTAINER_INPUTS = {
    "environment": "environment",
    "secrets": "secrets",
    "command": "command",
    "entrypoint": "entryPoint",
    "entryPoint": "entryPoint",
    "docker_labels": "dockerLabels",
    "dockerLabels": "dockerLabels",
    "healthcheck": "healthCheck",
    "health_check": "healthCheck",
    "healthCheck": "healthCheck",
    "repository_credentials": "repositoryCredentials",
    "repositoryCredentials": "repositoryCredentials",
}
# terraform-aws-modules 5.x took snake_case keys inside `container_definitions`, 6.x the ECS names.
SERVICE_CONTAINER_ALIASES = {k: v for k, v in CONTAINER_INPUTS.items() if k not in ("environment", "secrets")}


def module_kind(source: str) -> str | None:
    """Which known ECS module a `source` names, or None."""
    base = source.strip().partition("?")[0]
    parts = _SUBDIR_RE.split(base, maxsplit=1)
    location = parts[0].lower()
    sub = parts[1].strip("/").lower() if len(parts) > 1 else ""
    if location.startswith("git::"):
        location = location[len("git::"):]
    location = location.removesuffix("/").removesuffix(".git")
    registry = _REGISTRY_HOST_RE.sub("", location)
    if registry == "cloudposse/ecs-container-definition/aws" or location.endswith("terraform-aws-ecs-container-definition"):
        return CLOUDPOSSE if not sub else None
    if registry == "terraform-aws-modules/ecs/aws" or location.endswith("terraform-aws-modules/terraform-aws-ecs"):
        return {"": TAM_ROOT, "modules/service": TAM_SERVICE, "modules/container-definition": TAM_CONTAINER}.get(sub)
    return None


def task_definitions_from_module_calls(module: Module, resolver: Resolver) -> list[TaskDefinition]:
    out: list[TaskDefinition] = []
    seen: set[tuple[str, int]] = set()
    for hint in HINTS:
        for block in module.blocks("module", hint=hint):
            key = (block.file.path, block.span.start)
            if key in seen or not block.labels:
                continue
            seen.add(key)
            source = block.attr("source")
            kind = module_kind(source.value) if isinstance(source, Str) and source.value else None
            if kind is not None:
                out.extend(_HANDLERS[kind](module, resolver, block))
    return out


# --------------------------------------------------------------------------- one container per call


def _cloudposse(module: Module, resolver: Resolver, block: Block) -> list[TaskDefinition]:
    td = _module_td(module, block, f"module.{block.labels[0]}", block.span)
    container = _container_from_inputs(resolver, block, "container_name")
    _map_environment(resolver, block, container)
    _map_secrets(resolver, block, container)
    td.containers = [container]
    td.execution_role, td.task_role = _consumer_roles(module, block)
    return [td]


def _tam_container(module: Module, resolver: Resolver, block: Block) -> list[TaskDefinition]:
    td = _module_td(module, block, f"module.{block.labels[0]}", block.span)
    td.containers = [_container_from_inputs(resolver, block, "name")]
    td.execution_role, td.task_role = _consumer_roles(module, block)
    return [td]


def _container_from_inputs(resolver: Resolver, block: Block, name_input: str) -> Container:
    """The container a module call describes: its inputs read as the container object they become."""
    items: list[ObjItem] = []
    for attr in block.attributes.values():
        key = "name" if attr.name == name_input else CONTAINER_INPUTS.get(attr.name)
        if key is None or isinstance(attr.value, Null):
            continue
        items.append(ObjItem(key, attr.name_span, attr.value, attr.span))
    return container_of(resolver, Obj(block.span, items), None)


def _map_environment(resolver: Resolver, block: Block, container: Container) -> None:
    attr = block.attributes.get("map_environment")
    if attr is None or isinstance(attr.value, Null):
        return
    entries = _map_items(resolver, attr, container, "map_environment")
    if entries is None:
        return
    if container.environment_expr is None:
        container.environment_expr = attr.value
    container.environment.extend(_map_environment_entries(resolver, entries))


def _map_environment_entries(resolver: Resolver, entries: list[tuple[ObjItem, Scope | None]]) -> list[EnvEntry]:
    """Map items (name = value) as environment entries; each entry's span is its map item."""
    out: list[EnvEntry] = []
    for item, scope in entries:
        via: list[str] = []
        resolved, _ = resolver.resolve2(item.value, scope, via)
        name_expr = Str(item.key_span, [item.key]) if item.key is not None else None
        value = Value(item.value, resolved if resolved is not None else item.value, via)
        out.append(EnvEntry(item.key, name_expr, value, item.span))
    return out


def _map_secrets(resolver: Resolver, block: Block, container: Container) -> None:
    attr = block.attributes.get("map_secrets")
    if attr is None or isinstance(attr.value, Null):
        return
    entries = _map_items(resolver, attr, container, "map_secrets")
    if entries is None:
        return
    if container.secrets_expr is None:
        container.secrets_expr = attr.value
    for item, scope in entries:
        container.secrets.append(SecretEntry(item.key, resolver.resolve(item.value, scope), item.span))


def _map_items(resolver: Resolver, attr: Attribute, container: Container,
               what: str) -> list[tuple[ObjItem, Scope | None]] | None:
    resolved, scope = resolver.resolve2(attr.value)
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


# --------------------------------------------------------------------------- services


def _tam_service(module: Module, resolver: Resolver, block: Block) -> list[TaskDefinition]:
    definitions = block.attributes.get("container_definitions")
    if definitions is None:
        return []  # no task definition from this call (an existing one, or create_task_definition = false)
    td = _module_td(module, block, f"module.{block.labels[0]}", block.span)

    def get(name: str) -> Expr | None:
        return block.attr(name)

    td.execution_role, td.task_role = _service_roles(resolver, get, block.span)
    _service_containers(resolver, td, definitions.value, None)
    return [td]


def _tam_root(module: Module, resolver: Resolver, block: Block) -> list[TaskDefinition]:
    services_attr = block.attributes.get("services")
    if services_attr is None:
        return []
    out: list[TaskDefinition] = []
    services, scope = resolver.resolve2(services_attr.value)
    if not isinstance(services, Obj):
        if services is not None and not isinstance(services, Null):
            td = _module_td(module, block, f"module.{block.labels[0]}", services_attr.span)
            td.unanalysable = f"services of module.{block.labels[0]} is {not_known(services)}"
            out.append(td)
        return out
    for service in services.items:
        body, body_scope = resolver.resolve2(service.value, scope)
        key = f'["{service.key}"]' if service.key is not None else "[*]"
        td = _module_td(module, block, f"module.{block.labels[0]}.module.service{key}", service.span)
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

        td.execution_role, td.task_role = _service_roles(resolver, get, service.span)
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


def _service_roles(resolver: Resolver, get: Callable[[str], Expr | None], span: Span) -> tuple[Expr | None, Expr | None]:
    create = get("create_task_exec_iam_role")
    decided = resolver.resolve(create) if create is not None else None
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


def _module_td(module: Module, block: Block, address: str, span: Span) -> TaskDefinition:
    return TaskDefinition(address=address, kind="module", form="module", span=span, block=block, module_dir=module.dir)


_HANDLERS: dict[str, Callable[[Module, Resolver, Block], list[TaskDefinition]]] = {
    CLOUDPOSSE: _cloudposse,
    TAM_CONTAINER: _tam_container,
    TAM_SERVICE: _tam_service,
    TAM_ROOT: _tam_root,
}
