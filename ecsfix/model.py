"""The data model every stage shares: source files, spans, expressions, containers, findings.

Spans are character offsets into the *original* text of a file (as read, with its own line
endings); edits are spliced into that text, never re-printed from a tree.  No parser type leaks
past the parse stage: `hclparse` and `jsonscan` turn their input into the `Expr` nodes below.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

# --------------------------------------------------------------------------- sources


@dataclass(eq=False)
class SourceFile:
    """One file as read from disk. `display` is the path shown to users (relative when possible)."""

    path: str
    display: str
    text: str
    _line_starts: list[int] | None = field(default=None, repr=False)

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset."""
        if self._line_starts is None:
            starts = [0]
            text = self.text
            pos = text.find("\n")
            while pos != -1:
                starts.append(pos + 1)
                pos = text.find("\n", pos + 1)
            self._line_starts = starts
        offset = max(0, min(offset, len(self.text)))
        idx = bisect.bisect_right(self._line_starts, offset) - 1
        return idx + 1, offset - self._line_starts[idx] + 1

    def line_text(self, line: int) -> str:
        """The text of a 1-based line, without its line ending ('' when out of range)."""
        self.line_col(0)
        assert self._line_starts is not None
        if line < 1 or line > len(self._line_starts):
            return ""
        start = self._line_starts[line - 1]
        end = self._line_starts[line] if line < len(self._line_starts) else len(self.text)
        return self.text[start:end].rstrip("\r\n")


@dataclass(frozen=True, eq=False)
class Span:
    """A half-open range [start, end) of characters in `file.text`."""

    file: SourceFile
    start: int
    end: int

    @property
    def line(self) -> int:
        return self.file.line_col(self.start)[0]

    @property
    def column(self) -> int:
        return self.file.line_col(self.start)[1]

    @property
    def end_line(self) -> int:
        return self.file.line_col(self.end)[0]

    @property
    def end_column(self) -> int:
        return self.file.line_col(self.end)[1]

    @property
    def text(self) -> str:
        return self.file.text[self.start : self.end]


# --------------------------------------------------------------------------- expressions
#
# One small expression language for HCL, JSON (heredocs, files, templates, plans) alike.


@dataclass(eq=False)
class Str:
    """A string. `parts` holds literal text and `Interp` pieces; `value` is the literal text when
    there is no interpolation, else None."""

    span: Span
    parts: list[str | Interp]

    @property
    def value(self) -> str | None:
        if all(isinstance(p, str) for p in self.parts):
            return "".join(p for p in self.parts if isinstance(p, str))
        return None

    @property
    def is_template(self) -> bool:
        return any(isinstance(p, Interp) for p in self.parts)

    def sole_interp(self) -> Interp | None:
        """`"${var.x}"` -> the interpolation; anything else -> None."""
        if len(self.parts) == 1 and isinstance(self.parts[0], Interp):
            return self.parts[0]
        return None


@dataclass(eq=False)
class Interp:
    """`${...}` inside a string or a template. `expr` is the parsed inner expression when known."""

    span: Span
    source: str
    expr: Expr | None = None


@dataclass(eq=False)
class Num:
    span: Span
    source: str


@dataclass(eq=False)
class Bool:
    span: Span
    value: bool


@dataclass(eq=False)
class Null:
    span: Span


@dataclass(eq=False)
class Ref:
    """A traversal such as `var.db_password`, `local.env[0]`, `aws_iam_role.exec.arn`."""

    span: Span
    source: str

    @property
    def root(self) -> str:
        return self.source.split(".", 1)[0].split("[", 1)[0]


@dataclass(eq=False)
class ObjItem:
    key: str | None  # None when the key is an expression
    key_span: Span
    value: Expr
    span: Span  # the whole `key = value`


@dataclass(eq=False)
class Obj:
    span: Span
    items: list[ObjItem]

    def get(self, key: str) -> Expr | None:
        item = self.item(key)
        return item.value if item else None

    def item(self, key: str) -> ObjItem | None:
        for it in self.items:
            if it.key == key:
                return it
        return None


@dataclass(eq=False)
class Lst:
    span: Span
    items: list[Expr]


@dataclass(eq=False)
class Call:
    span: Span
    name: str
    args: list[Expr]


@dataclass(eq=False)
class Heredoc:
    """`<<EOT` / `<<-EOT`. `body_span` covers the body only (between the marker lines)."""

    span: Span
    marker: str
    strip: bool
    body_span: Span


@dataclass(eq=False)
class ForExpr:
    """The parts of a list `for` expression without a condition: `[for KEY, VALUE in COLLECTION : RESULT]`
    (`key` is None for `[for VALUE in ...]`)."""

    key: str | None
    value: str
    collection: Expr
    result: Expr


@dataclass(eq=False)
class Other:
    """Anything we do not model: conditionals, `for` expressions, operators, splats. A conditional
    keeps its two results (`cond ? a : b` -> [a, b]): lists built from branches are read from them.
    A list `for` expression keeps its parts in `detail` (the resolver expands the simple ones)."""

    span: Span
    kind: str
    branches: list[Expr] = field(default_factory=list)
    detail: ForExpr | None = None


Expr = Str | Num | Bool | Null | Ref | Obj | Lst | Call | Heredoc | Other


def describe(expr: Expr) -> str:
    """A short, value-free description of an expression for messages."""
    if isinstance(expr, Ref):
        return expr.source
    if isinstance(expr, Call):
        return f"{expr.name}(...)"
    if isinstance(expr, Other):
        return expr.kind
    return type(expr).__name__.lower()


# --------------------------------------------------------------------------- blocks


@dataclass(eq=False)
class Attribute:
    name: str
    value: Expr
    span: Span  # `name = value`
    name_span: Span


@dataclass(eq=False)
class Block:
    """A top-level or nested HCL block (`resource "t" "n" { ... }`)."""

    type: str
    labels: list[str]
    span: Span
    body_span: Span  # between the braces
    attributes: dict[str, Attribute]
    blocks: list[Block]

    @property
    def file(self) -> SourceFile:
        return self.span.file

    def attr(self, name: str) -> Expr | None:
        a = self.attributes.get(name)
        return a.value if a else None


# --------------------------------------------------------------------------- containers


@dataclass(eq=False)
class Value:
    """An environment value as it reaches the container: the expression written at the entry,
    and the literal (or most resolved expression) found by following references in the module."""

    at_entry: Expr
    resolved: Expr
    via: list[str] = field(default_factory=list)  # references followed, e.g. ["var.db_password"]


@dataclass(eq=False)
class EnvEntry:
    name: str | None
    name_expr: Expr | None
    value: Value | None
    span: Span  # the `{ name = ..., value = ... }` object (or the map item for map forms)
    # Evaluating a local module call: the caller's argument through which the entry (or its value)
    # came into the child ("module.api.db_password at envs/prod/main.tf:41"); None otherwise.
    crossed: str | None = None
    maybe: bool = False  # in a conditional branch (`cond ? [...] : []`): present when the condition holds


@dataclass(eq=False)
class SecretEntry:
    name: str | None
    value_from: Expr | None
    span: Span


@dataclass(eq=False)
class Container:
    name: str | None
    obj: Obj | None
    span: Span
    environment: list[EnvEntry] = field(default_factory=list)
    environment_expr: Expr | None = None  # the list (or map) as written, when located
    secrets: list[SecretEntry] = field(default_factory=list)
    secrets_expr: Expr | None = None
    plaintext_fields: list[tuple[str, Expr]] = field(default_factory=list)  # EF002 candidates
    repository_credentials: bool = False
    unresolved: list[str] = field(default_factory=list)  # parts we could not follow (EF003)

    @property
    def display_name(self) -> str:
        return self.name if self.name else "*"


@dataclass(eq=False)
class TaskDefinition:
    """One `aws_ecs_task_definition` (or module call / plan resource / raw task-definition JSON)."""

    address: str
    kind: str  # "resource", "module", "plan", "taskdef-json"
    form: str  # jsonencode, heredoc, file, templatefile, local, tf.json, plan, ...
    span: Span
    block: Block | None = None
    containers: list[Container] = field(default_factory=list)
    unanalysable: str | None = None  # why the definitions cannot be analysed statically
    execution_role: Expr | None = None
    task_role: Expr | None = None
    module_dir: str | None = None
    # Where the resource is written when it is not where the finding points (a plan resource of a
    # local module): "modules/svc/main.tf:12". Appended to every finding's message.
    defined_in: str | None = None
    # For task definitions `ecsfix rewrite` does not edit: what to do by hand instead (EF001's hint).
    by_hand: str | None = None
    # Said after every finding's message (a module outside the catalogue read by its input names).
    note: str | None = None
    # The highest severity its findings get (a guess from input names is "medium" at most).
    severity_cap: str | None = None
    # The caller's part of a child module's task definition, evaluated through a local module call.
    through_call: bool = False


# --------------------------------------------------------------------------- results


SEVERITIES = ("critical", "high", "medium", "low", "info")


@dataclass
class Finding:
    rule: str
    severity: str
    span: Span
    resource: str
    container: str
    name: str | None
    reason: str | None  # "name", "value", "both" (EF001/EF002); None for other rules
    preview: str | None
    fixable: bool
    message: str
    why: str = ""
    # Found by evaluating a local module call (the caller's scan): the child's own scan, when the
    # same run makes it, has the last word on the same entry (scan.drop_duplicates).
    through_call: bool = False
    # Why the rule itself leaves the entry to a person (a conditional branch, invalid JSON, no name,
    # a value that comes through a module call, a plan), whatever the rewrite could do: the
    # planners never move it (EF001 only; None: the rewrite's planners decide).
    manual: str | None = None

    @property
    def file(self) -> str:
        return self.span.file.display

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def column(self) -> int:
        return self.span.column

    @property
    def counts(self) -> bool:
        """Info findings are shown but never change the exit code."""
        return self.severity != "info"


@dataclass
class InputError:
    """A file that could not be read or parsed. The message never contains file content."""

    file: str
    line: int | None
    message: str

    def render(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: error: {self.message}"


class EcsfixError(Exception):
    """An input problem with a user-facing, value-free message."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass
class ScanResult:
    findings: list[Finding] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    task_definitions: list[TaskDefinition] = field(default_factory=list)
    files: int = 0

    @property
    def exit_code(self) -> int:
        if self.errors:
            return 2
        return 1 if any(f.counts for f in self.findings) else 0
