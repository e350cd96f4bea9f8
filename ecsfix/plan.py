"""Terraform plan JSON (`terraform show -json plan.out`): the task definitions a plan will create.

A plan sees what the configuration alone cannot: module inputs, variables, `for` expressions,
`count`/`for_each` instances. Each `aws_ecs_task_definition` becomes a `TaskDefinition` whose
address is the plan's own (`module.svc["api"].aws_ecs_task_definition.this[0]`) and whose spans
point into the plan file: `container_definitions` is a compact JSON document inside a JSON string,
decoded with a per-character offset map so that every entry keeps its exact position.

Facts this module relies on (checked on real `terraform show -json` output, Terraform 1.11):

* `resource_changes[].change.after` holds the planned attributes; a deleted resource has
  `actions: ["delete"]` and `after: null`. A replacement (`["delete", "create"]`) still creates one.
* `planned_values` (and `values` in `terraform show -json` of a *state*) nests resources under
  `root_module.child_modules[]`; it is read for resources that `resource_changes` does not list.
* An attribute that is unknown until apply is absent from `after` and `true` in `after_unknown`:
  such a task definition is reported as not analysable (EF003), never as clean.
* An attribute marked sensitive (`after_sensitive`) is still plaintext in `after`. Nothing here
  copies a value into a message; findings show redacted previews only, like everywhere else.
* `configuration.root_module.module_calls.<name>.source` names each module's source, nested
  calls relative to their parent's; a local one lets findings say where the block is written.
"""

from __future__ import annotations

import os
import posixpath
import re

from .model import (
    Bool,
    EcsfixError,
    Expr,
    Lst,
    Null,
    Obj,
    Other,
    SourceFile,
    Span,
    Str,
    TaskDefinition,
    describe,
)
from .module import Module, read_directory

TASK_DEFINITION = "aws_ecs_task_definition"
UNKNOWN = "unknown until apply"
# Actions after which no task definition exists any more (`forget`: removed from state, kept in AWS,
# no longer Terraform's concern).
GONE_ACTIONS = frozenset({"delete", "forget"})

_NAME_RE = re.compile(r"[A-Za-z_][\w-]*")


def task_definitions_from_plan(src: SourceFile, doc: Obj) -> list[TaskDefinition]:
    """Every task definition the plan (or state) document describes, in document order."""
    return _PlanReader(src, doc).read()


def module_path(address: str) -> list[str]:
    """The module call names of an address: `module.a["x.y"].module.b[0].aws_x.y` -> ["a", "b"]."""
    names: list[str] = []
    pos = 0
    while address.startswith("module.", pos):
        m = _NAME_RE.match(address, pos + len("module."))
        if m is None:
            break
        names.append(m.group(0))
        pos = m.end()
        if address.startswith("[", pos):
            pos = _skip_index(address, pos)
        if not address.startswith(".", pos):
            break
        pos += 1
    return names


def _skip_index(address: str, pos: int) -> int:
    """Past the `[...]` at `pos`; a quoted key may contain `]`, `.` and escaped quotes."""
    i = pos + 1
    if address.startswith('"', i):
        i += 1
        while i < len(address) and address[i] != '"':
            i += 2 if address[i] == "\\" else 1
        i += 1
    end = address.find("]", i)
    return len(address) if end == -1 else end + 1


def _string(expr: Expr | None) -> str | None:
    return expr.value if isinstance(expr, Str) else None


def _strings(expr: Expr | None) -> list[str]:
    if not isinstance(expr, Lst):
        return []
    return [s for s in (_string(item) for item in expr.items) if s is not None]


def _marked(marks: Expr | None, key: str) -> bool:
    """Whether `after_unknown`-style marks flag the attribute `key` (or the whole object)."""
    if isinstance(marks, Bool):
        return marks.value
    if isinstance(marks, Obj):
        value = marks.get(key)
        return isinstance(value, Bool) and value.value
    return False


class _PlanReader:
    def __init__(self, src: SourceFile, doc: Obj):
        from .resolve import Resolver

        self.src = src
        self.doc = doc
        self.plan_dir = os.path.dirname(os.path.abspath(src.path))
        # Container JSON from a plan is self-contained: an empty module resolves nothing further.
        self.resolver = Resolver(Module(self.plan_dir, []), None)
        self.sources = _SourceLocator(src, doc)

    def read(self) -> list[TaskDefinition]:
        out: list[TaskDefinition] = []
        seen: set[str] = set()
        changes = self.doc.get("resource_changes")
        for rc in changes.items if isinstance(changes, Lst) else []:
            if not self._is_task_definition(rc):
                continue
            assert isinstance(rc, Obj)
            address = _string(rc.get("address")) or ""
            seen.add(address)
            change = rc.get("change")
            if not isinstance(change, Obj):
                continue
            actions = set(_strings(change.get("actions")))
            if actions and actions <= GONE_ACTIONS:
                continue
            after = change.get("after")
            if isinstance(after, Null):  # nothing planned to exist, whatever the action says
                continue
            out.append(self._task_definition(rc, after if isinstance(after, Obj) else None, change.get("after_unknown")))
        for key in ("planned_values", "values"):  # `values`: `terraform show -json` of a state
            section = self.doc.get(key)
            if isinstance(section, Obj):
                self._module_values(section.get("root_module"), seen, out)
        return out

    def _module_values(self, module: Expr | None, seen: set[str], out: list[TaskDefinition]) -> None:
        if not isinstance(module, Obj):
            return
        resources = module.get("resources")
        for res in resources.items if isinstance(resources, Lst) else []:
            if not self._is_task_definition(res):
                continue
            assert isinstance(res, Obj)
            address = _string(res.get("address")) or ""
            if address in seen:
                continue
            seen.add(address)
            values = res.get("values")
            out.append(self._task_definition(res, values if isinstance(values, Obj) else None, None))
        children = module.get("child_modules")
        for child in children.items if isinstance(children, Lst) else []:
            self._module_values(child, seen, out)

    @staticmethod
    def _is_task_definition(res: Expr) -> bool:
        return (
            isinstance(res, Obj)
            and _string(res.get("type")) == TASK_DEFINITION
            and _string(res.get("mode")) in ("managed", None)
            and _string(res.get("address")) is not None
        )

    def _task_definition(self, res: Obj, attrs: Obj | None, unknown: Expr | None) -> TaskDefinition:
        address_item = res.item("address")
        assert address_item is not None
        address = _string(address_item.value) or ""
        span = address_item.span
        td = TaskDefinition(
            address=address,
            kind="plan",
            form="plan",
            span=span,
            execution_role=self._role(attrs, unknown, "execution_role_arn", span),
            task_role=self._role(attrs, unknown, "task_role_arn", span),
        )
        name = _string(res.get("name"))
        if name is not None:
            td.defined_in = self.sources.locate(module_path(address), name)
        cd = attrs.get("container_definitions") if attrs is not None else None
        if isinstance(cd, Str):
            self._containers(td, cd)
        elif cd is None or _marked(unknown, "container_definitions"):
            td.unanalysable = UNKNOWN
        else:
            td.unanalysable = f"container_definitions is {describe(cd)} in the plan, not a JSON document"
        return td

    def _containers(self, td: TaskDefinition, cd: Str) -> None:
        from .extract import containers_of
        from .jsonscan import decode_string, scan_json

        decoded = decode_string(cd)
        if decoded is None:  # cannot happen: plan documents are read without `${}` templates
            td.unanalysable = "container_definitions holds a template"
            return
        text, offsets = decoded
        try:
            definitions = scan_json(self.src, text, offsets=offsets, templates=False)
        except EcsfixError as exc:
            raise EcsfixError(
                f"{td.address}: container_definitions is not valid JSON ({exc.message}); "
                "regenerate the file with `terraform show -json plan.out > plan.json`",
                exc.line,
            ) from None
        td.containers, td.unanalysable = containers_of(self.resolver, definitions)

    @staticmethod
    def _role(attrs: Obj | None, unknown: Expr | None, key: str, span: Span) -> Expr | None:
        value = attrs.get(key) if attrs is not None else None
        if value is None and _marked(unknown, key):
            # set, but to something only apply knows (typically a role created in the same run)
            return Other(span, UNKNOWN)
        return value


class _SourceLocator:
    """`defined in modules/svc/main.tf:12` for resources of local modules (and of the root module
    when the plan sits next to its configuration)."""

    def __init__(self, src: SourceFile, doc: Obj):
        self.plan_dir = os.path.dirname(os.path.abspath(src.path))
        self.display_dir = posixpath.dirname(src.display.replace(os.sep, "/"))
        config = doc.get("configuration")
        root = config.get("root_module") if isinstance(config, Obj) else None
        self.root = root if isinstance(root, Obj) else None
        self.modules: dict[str, Module | None] = {}

    def locate(self, calls: list[str], name: str) -> str | None:
        rel = "."
        module = self.root
        for call in calls:
            module_calls = module.get("module_calls") if module is not None else None
            entry = module_calls.get(call) if isinstance(module_calls, Obj) else None
            source = _string(entry.get("source")) if isinstance(entry, Obj) else None
            if source is None or not (source.startswith("./") or source.startswith("../")):
                return None  # a registry or remote module: its code is not here to point at
            assert isinstance(entry, Obj)
            rel = posixpath.normpath(posixpath.join(rel, source))
            inner = entry.get("module")
            module = inner if isinstance(inner, Obj) else None
        directory = os.path.normpath(os.path.join(self.plan_dir, rel))
        block_module = self._module(directory)
        if block_module is None:
            return None
        for block in block_module.blocks("resource", TASK_DEFINITION):
            if block.labels[1:2] == [name]:
                where = os.path.relpath(block.file.path, self.plan_dir).replace(os.sep, "/")
                shown = posixpath.normpath(posixpath.join(self.display_dir, where)) if self.display_dir else where
                return f"{shown}:{block.span.line}"
        return None

    def _module(self, directory: str) -> Module | None:
        if directory not in self.modules:
            self.modules[directory] = _read_module(directory)
        return self.modules[directory]


def _read_module(directory: str) -> Module | None:
    module = read_directory(directory)
    if module is None or not any(TASK_DEFINITION in f.text for f in module.files):
        return None
    return module
