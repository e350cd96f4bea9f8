"""Calls of your own ECS wrapper modules: environment lists handed to a local module that builds the
task definition.

    module "api" {
      source      = "../../modules/ecs-service"
      environment = [{ name = "DB_PASSWORD", value = "hunter2" }]
    }

References are still resolved in the calling directory only (SPEC §3). The child directory is only
read to decide which inputs are container environments: it must define a task definition (or call
a known ECS module) and use `var.<input>`; the input must be written as a list of `{name, value}`
objects or a map where it is passed. A Lambda wrapper's `environment_variables`, a tag called
`environment = "prod"` or a registry module whose source is not on disk are never read this way.

Findings carry the module address (`module.api`) and the caller's spans; ecsfix does not rewrite
these calls (the child module decides where the values go): they say "move it by hand".
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from .catalogue import ENV_INPUT_RE, env_like, lookup
from .model import Call, Container, Lst, Obj, ObjItem, Str, TaskDefinition

if TYPE_CHECKING:
    from .module import Module
    from .resolve import Resolver

_LOCAL_SOURCE_RE = re.compile(r'^[ \t]*source[ \t]*=[ \t]*"\.\.?/', re.M)
_NAME_INPUTS = ("container_name", "name", "service_name", "app_name", "application")


def might_call_a_wrapper(text: str) -> bool:
    """The cheap pre-filter: a local module source and an environment-like input written as a
    list or map literal (or merge/concat), in one file."""
    return (('"./' in text or '"../' in text) and "module" in text and _LOCAL_SOURCE_RE.search(text) is not None
            and ENV_INPUT_RE.search(text) is not None)


class _Children:
    """What each local child module directory uses (read once per scan of the caller)."""

    def __init__(self, triggers: tuple[str, ...]):
        self.triggers = triggers
        self.used: dict[str, set[str] | None] = {}
        self.read: list[str] = []  # paths looked at, for the cache

    def inputs_used(self, directory: str) -> set[str] | None:
        """The `var.*` names an ECS child module uses; None if it defines no task definition."""
        if directory not in self.used:
            self.used[directory] = self._scan(directory)
        return self.used[directory]

    def _scan(self, directory: str) -> set[str] | None:
        from .module import read_directory

        self.read.append(directory + os.sep)  # its listing: a file added or removed counts
        child = read_directory(directory)
        if child is None:
            return None
        self.read.extend(f.path for f in child.files)
        text = "\n".join(f.text for f in child.files)
        if not any(t in text for t in self.triggers):
            return None
        return set(re.findall(r"\bvar\.([A-Za-z_][\w-]*)", text))


def task_definitions_from_wrapper_calls(module: Module, resolver: Resolver,
                                        triggers: tuple[str, ...]) -> tuple[list[TaskDefinition], list[str]]:
    """One task definition (kind "module", form "wrapper") per local module call that passes an
    environment list or map the child module uses in its task definition; and the paths read."""
    from .ecs_modules import map_environment_entries, map_items
    from .extract import container_of

    children = _Children(triggers)
    out: list[TaskDefinition] = []
    wanted = {src.path for src in module.hcl_files() if might_call_a_wrapper(src.text)}
    for block in module.blocks("module"):  # only module blocks are read: an error elsewhere is terraform's
        if block.file.path not in wanted or not block.labels:
            continue
        source = block.attr("source")
        if not (isinstance(source, Str) and source.value and source.value.startswith(("./", "../"))):
            continue
        if lookup(source.value) is not None:
            continue  # a known ECS module: ecs_modules reads it
        env_attrs = [a for name, a in block.attributes.items() if env_like(name)]
        if not env_attrs:
            continue
        used = children.inputs_used(os.path.normpath(os.path.join(module.dir, source.value)))
        if used is None:
            continue
        container_items = [ObjItem("name", a.name_span, a.value, a.span)
                           for n in _NAME_INPUTS if (a := block.attributes.get(n)) is not None]
        container = container_of(resolver, Obj(block.span, container_items[:1]), None)
        found = False
        for attr in env_attrs:
            if attr.name not in used:
                continue
            resolved = resolver.resolve(attr.value)
            if isinstance(resolved, Lst) or (isinstance(resolved, Call) and resolved.name == "concat"):
                listed = container_of(resolver, Obj(block.span, [ObjItem("environment", attr.name_span,
                                                                           attr.value, attr.span)]), None)
                container.environment.extend(listed.environment)
                container.unresolved.extend(listed.unresolved)
                found = found or bool(listed.environment)
            else:
                entries = map_items(resolver, attr, Container(None, None, block.span), attr.name)
                if entries:
                    container.environment.extend(map_environment_entries(resolver, entries))
                    found = True
        if not found:
            continue
        container.environment_expr = env_attrs[0].value
        td = TaskDefinition(address=f"module.{block.labels[0]}", kind="module", form="wrapper",
                            span=block.span, block=block, module_dir=module.dir)
        td.containers = [container]
        out.append(td)
    return out, children.read

