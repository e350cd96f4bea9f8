"""Local module calls, followed as Terraform evaluates the module tree.

For every `module` call whose `source` is a local path and that passes arguments, the child
module's variables are bound to the call's arguments (resolved where the call is written; a
variable the call does not set keeps its default), and the child's task definitions, and its own
ECS module calls, are evaluated with those bindings: the same resolver, one scope per call.
`count`/`for_each` calls are evaluated once (`each.*` and `count.*` stay unknown). Nested local
calls follow the same rule to a depth of `MAX_DEPTH`; a call into a directory already on the chain
(a cycle) is not followed. Registry and git sources are never fetched (scan a plan for those).
Child directories are read only when the call passes something, and parsed only when their text
can define a task definition.

What a call reports (attribution, and the rule that keeps a run that scans both the caller's and
the child's directory free of duplicates):

* An entry is the caller's when it, or its value, came in through an argument written in the
  scanned module: an environment list, a map or whole container definitions passed in (the finding
  is at the entry, where the caller wrote it), or a single value the child puts in its own entry
  (`{ name = "DB_URL", value = var.db_url }`: the finding is at the child's entry). The finding's
  resource is the call (`module.api`), its message names the argument that carried the value
  (`via module.api.db_url at envs/prod/main.tf:41`) and the child's task definition, and it is not
  fixable: `ecsfix rewrite` does not edit across modules, the message says what to do by hand.
* Everything else in the child (its literals, its defaults, variables no caller sets) is the
  child's own, reported when the child's directory is scanned, as it always was.
* When one run scans both directories, a finding at a child's entry that the child's own scan
  reports too (a secret-sounding name whose value is a variable: both see it) is reported once, by
  the child (`scan.drop_duplicates`, on `Finding.through_call`): fixing it there fixes it for
  every caller. Two callers of one child each report their own finding there (each its call).
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from .model import TaskDefinition
from .prefilter import HINTS, might_pass_an_environment

if TYPE_CHECKING:
    from .module import Module
    from .resolve import ModuleCall, Resolver, Scope

MAX_DEPTH = 3
# Arguments of every module call that are not inputs of the child.
_META = frozenset({"source", "version", "count", "for_each", "providers", "depends_on"})
_LOCAL_SOURCE_RE = re.compile(r'source[ \t]*=[ \t]*"(\.\.?/[^"]*)"')  # a literal first: fast on every file
# What a child's text must contain to be worth parsing (besides calls of its own: nesting): a
# task definition resource, container definitions, a catalogued module (a data source is not enough).
_TRIGGERS = ("container_definitions", *HINTS)
_TASK_DEFINITION_RE = re.compile(r'resource\s+"aws_ecs_task_definition"')


def might_call_a_local_module(text: str) -> bool:
    # `"."` first: one pass over a file that has no local source at all (nearly every file)
    return '".' in text and "module" in text and _LOCAL_SOURCE_RE.search(text) is not None


def local_sources(text: str) -> list[str]:
    return _LOCAL_SOURCE_RE.findall(text)


Facts = tuple[bool, list[str]]  # (can define a task definition by itself, its local module sources)


def facts_of(texts: list[str], calling: list[str] | None = None) -> Facts:
    """What the pre-filter needs to know of a directory, from its files' text (`calling`: those of
    them that call a local module, when already known)."""
    direct = any(any(t in text for t in _TRIGGERS) or _TASK_DEFINITION_RE.search(text) is not None
                 or might_pass_an_environment(text) for text in texts)
    if calling is None:
        calling = [text for text in texts if might_call_a_local_module(text)]
    return direct, [s for text in calling for s in local_sources(text)]


class Children:
    """The child directories a scan looked at: read once, and whether they can hold what we scan.
    `deps` collects every path read (a directory as `path/`: its listing), for the cache. `offer`
    hands it what the scan already read of a directory, so a child read for its own scan is not
    read again for its callers' pre-filter."""

    def __init__(self, root: str | None = None) -> None:
        self.root = root
        self.modules: dict[str, Module | None] = {}
        self.relevant: dict[str, bool] = {}
        self.deps: list[str] = []
        self._facts: dict[str, Facts | None] = {}

    def offer(self, directory: str, texts: list[str], calling: list[str]) -> None:
        """What the scan read of a directory: `texts` (empty when the scan's own, looser, triggers
        already failed on them) and those of them that call a local module."""
        self._facts.setdefault(os.path.normpath(directory), facts_of(texts, calling))

    def facts(self, directory: str) -> Facts | None:
        """The child's facts, its `.tf` files read cheaply when not offered; None when the
        directory cannot be listed."""
        if directory not in self._facts:
            self.deps.append(directory + os.sep)  # its listing: a file added or removed counts
            try:
                names = sorted(n for n in os.listdir(directory) if n.endswith(".tf"))
            except OSError:
                self._facts[directory] = None
                return None
            texts = []
            for n in names:
                self.deps.append(os.path.join(directory, n))
                try:
                    with open(os.path.join(directory, n), encoding="utf-8", errors="replace") as fh:
                        texts.append(fh.read())
                except OSError:
                    continue
            self._facts[directory] = facts_of(texts)
        return self._facts[directory]

    def module(self, directory: str) -> Module | None:
        if directory not in self.modules:
            from .module import read_directory

            self.facts(directory)  # records the dependencies
            self.modules[directory] = read_directory(directory, self.root)
        return self.modules[directory]

    def worth_reading(self, directory: str, depth: int = 0) -> bool:
        """The child can define a task definition: its text has a trigger, an environment-like
        module input, or a local call of its own into such a directory (to MAX_DEPTH)."""
        if directory in self.relevant:
            return self.relevant[directory]
        self.relevant[directory] = False  # a cycle reads as "no"
        facts = self.facts(directory)
        found = False
        if facts is not None:
            found = facts[0] or depth + 1 < MAX_DEPTH and any(
                self.worth_reading(os.path.normpath(os.path.join(directory, s)), depth + 1) for s in facts[1])
        self.relevant[directory] = found
        return found


def calls_worth_scanning(directory: str, texts: list[str], children: Children) -> bool:
    """The directory-level pre-filter: a local module call into a directory that can hold a task
    definition (read from text only: nothing is parsed)."""
    return any(children.worth_reading(os.path.normpath(os.path.join(directory, s)))
               for text in texts if might_call_a_local_module(text) for s in local_sources(text))


def task_definitions_through_calls(module: Module, resolver: Resolver) -> list[TaskDefinition]:
    """The caller's side of every local module call's task definitions (see the module docstring);
    the child files read are recorded in `resolver.consulted`."""
    children = Children(resolver.root)
    out: list[TaskDefinition] = []
    _walk(module, resolver, None, "", 0, (os.path.normpath(module.dir),), children, out)
    resolver.consulted.extend(children.deps)
    return out


def _walk(module: Module, resolver: Resolver, parent: Scope | None, prefix: str, depth: int,
          chain: tuple[str, ...], children: Children, out: list[TaskDefinition]) -> None:
    from .ecs_modules import task_definitions_from_module_calls
    from .extract import task_definitions_in_module
    from .model import Str
    from .resolve import ModuleCall, Scope

    targets = {os.path.normpath(os.path.join(module.dir, s))
               for src in module.hcl_files() if might_call_a_local_module(src.text) for s in local_sources(src.text)}
    if not any(children.worth_reading(t, depth) for t in targets if t not in chain):
        return  # nothing to parse: no call leads to a task definition
    for block in module.blocks("module"):  # only module blocks are read: an error elsewhere is terraform's
        source = block.attr("source")
        if not (block.labels and isinstance(source, Str) and source.value and source.value.startswith(("./", "../"))):
            continue
        if not any(name not in _META for name in block.attributes):
            continue  # the call passes nothing: the child alone is what its own scan sees
        directory = os.path.normpath(os.path.join(module.dir, source.value))
        if directory in chain or not children.worth_reading(directory, depth):
            continue
        child = children.module(directory)
        if child is None:
            continue
        call = ModuleCall(child, block, parent, f"{prefix}module.{block.labels[0]}")
        scope = Scope(call=call)
        evaluated = task_definitions_in_module(child, resolver, scope)
        evaluated.extend(task_definitions_from_module_calls(child, resolver, scope))
        for td in evaluated:
            instance = _callers_part(td, call)
            if instance is not None:
                out.append(instance)
        if depth + 1 < MAX_DEPTH:
            _walk(child, resolver, scope, call.address + ".", depth + 1, chain + (directory,), children, out)


def _callers_part(td: TaskDefinition, call: ModuleCall) -> TaskDefinition | None:
    """What of a child's task definition, evaluated for `call`, came from the scanned module: the
    crossed environment entries only (no EF002/EF003 or deploy checks: those are the child's)."""
    containers = []
    for c in td.containers:
        c.environment = [e for e in c.environment if e.crossed]
        c.plaintext_fields, c.unresolved, c.secrets = [], [], []
        c.secrets_expr, c.repository_credentials = None, False
        if c.environment:
            containers.append(c)
    if not containers:
        return None
    top = call
    while top.parent is not None and top.parent.call is not None:
        top = top.parent.call
    where = f"{td.span.file.display}:{td.span.line}"
    inst = TaskDefinition(address=call.address, kind="module", form="wrapper", span=top.block.span, block=top.block,
                          containers=containers, execution_role=td.execution_role, task_role=td.task_role,
                          module_dir=td.module_dir)
    inst.note, inst.severity_cap, inst.through_call = td.note, td.severity_cap, True
    inst.by_hand = (f"move it to `secrets` by hand: {td.address} ({where}) builds this environment from "
                    f"{call.address}'s inputs; make it take a secret ARN there and pass the ARN from "
                    f"{top.block.file.display}:{top.block.span.line} instead of the value")
    return inst
