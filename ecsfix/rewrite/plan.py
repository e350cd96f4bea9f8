"""The small types every rewrite planner shares: what it gets (`ModuleRewrite`), what it returns (`Plan`).

A planner looks at one module (its files, the scan's task definitions and findings) and returns a
`Plan`: `Edit`s per file, the entries it moved, the deploy-readiness fixes it made, and notes for
what it left (with why). The engine merges the plans of all planners, splices the edits into the
original text back to front and re-parses the result before anything is written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ..model import Finding, SourceFile, TaskDefinition
from .edits import Edit

if TYPE_CHECKING:
    from ..module import Module
    from ..resolve import Resolver


class Scanned(Protocol):
    """What the planners read of the scan of a module (`scan.ModuleScan`; a protocol, so that the
    scan can ask the planners what they would move without an import cycle)."""

    resolver: Resolver
    task_definitions: list[TaskDefinition]

_ADDRESS = re.compile(
    r'^[ \t]*(resource|data)[ \t]+"([^"]+)"[ \t]+"([^"]+)"|^[ \t]*(variable|module)[ \t]+"([^"]+)"', re.M
)


@dataclass
class Moved:
    """One entry moved to `secrets` (never its value)."""

    task_definition: str
    container: str
    name: str
    variable: str | None  # the new variable the user must set, when the value was a literal
    where: str = ""  # `FILE:LINE` of the entry as written
    committed: bool = False  # the value was a literal in the file: in git history, to rotate

    def __post_init__(self) -> None:
        self.committed = self.committed or self.variable is not None


@dataclass
class Options:
    templates: str | None = None
    literal_values: str = "variable"  # or "keep"
    write_only: bool | None = None  # None: decide from the module's version constraints
    backend: str = "secretsmanager"  # or "ssm"
    kms_key_id: str | None = None  # an HCL expression
    output_file: str | None = None
    secret_arn: str | None = None  # raw task-definition JSON only: the secret its entries move to
    secret_name: str | None = None  # raw task-definition JSON only: a name, the ARN built around it


@dataclass
class Plan:
    """Edits per file (keyed by path), plus what the summary tells the user."""

    files: dict[str, tuple[SourceFile, list[Edit]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # left for a manual fix, with why
    moved: list[Moved] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)  # one line per EF10x fix, for the summary
    warnings: list[str] = field(default_factory=list)
    hidden: set[str] = field(default_factory=set)  # literal secret values the printed diff must redact

    def add(self, src: SourceFile, edit: Edit) -> None:
        """Add an edit; the same edit again (a created role several planners grant) is kept once."""
        edits = self.files.setdefault(src.path, (src, []))[1]
        if edit not in edits:
            edits.append(edit)

    def extend(self, other: Plan) -> None:
        for src, edits in other.files.values():
            for e in edits:
                self.add(src, e)
        self.notes.extend(other.notes)
        self.moved.extend(other.moved)
        self.fixed.extend(line for line in other.fixed if line not in self.fixed)
        self.warnings.extend(other.warnings)
        self.hidden.update(other.hidden)


@dataclass
class Unit:
    """One planner's work on one resource: the engine runs it guarded, and keeps or drops its plan whole.

    `at` is the `FILE:LINE: ADDRESS` prefix of notes about it (`where(td)`), `file` the file it
    names in an error line, `key` what identifies it across two planning passes."""

    key: str
    resource: str
    file: str
    at: str
    run: Callable[[], Plan]


def unit(planner: str, td: TaskDefinition, run: Callable[[], Plan]) -> Unit:
    """The unit of `planner`'s work on task definition `td`."""
    return Unit(f"{planner} {td.address}", td.address, td.span.file.display, where(td), run)


@dataclass
class ModuleRewrite:
    """What a planner gets for one module."""

    module: Module
    scan: Scanned
    findings: list[Finding]  # every rule's findings in this module (suppressions applied)
    names: Names
    options: Options


class Names:
    """Addresses already taken in a module; hands out fresh ones that never collide."""

    def __init__(self, files: Sequence[SourceFile]):
        self.taken: set[str] = set()
        for src in files:
            for m in _ADDRESS.finditer(src.text):
                if m.group(4) == "variable":
                    self.taken.add(f"var.{m.group(5)}")
                elif m.group(4) == "module":
                    self.taken.add(f"module.{m.group(5)}")
                elif m.group(1) == "data":
                    self.taken.add(f"data.{m.group(2)}.{m.group(3)}")
                else:
                    self.taken.add(f"{m.group(2)}.{m.group(3)}")

    def free(self, base: str, types: Sequence[str]) -> str:
        """The first of `base`, `base_2`, ... free for every type in `types`; reserve it."""
        base = re.sub(r"[^A-Za-z0-9_-]", "_", base)
        if not re.match(r"[A-Za-z_]", base):
            base = "_" + base
        n = 1
        name = base
        while any(f"{t}.{name}" in self.taken for t in types):
            n += 1
            name = f"{base}_{n}"
        for t in types:
            self.taken.add(f"{t}.{name}")
        return name


def where(td: TaskDefinition) -> str:
    """`FILE:LINE: ADDRESS`, the prefix of every note about one task definition."""
    return f"{td.span.file.display}:{td.span.line}: {td.address}"
