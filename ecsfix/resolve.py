"""Follow references inside one module: `local.*`, `var.*` defaults, `jsonencode`, heredoc JSON,
`file()`, `templatefile()`, `data "template_file"` (and the older `resource "template_file"`), `concat`/`merge` of known lists and objects.

The result of `resolve` is the most concrete expression we can reach; anything we cannot follow is
returned as it is (a `Ref` to a variable without default, an `Other` for `for` expressions) so the
caller can say *why* it is not statically analysable.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from .jsonscan import LENIENT_NOTE, TemplateDirective, decode_string, scan_json, scan_json_leniently
from .model import (
    Block,
    Call,
    EcsfixError,
    Expr,
    Heredoc,
    InputError,
    Lst,
    Null,
    Obj,
    ObjItem,
    Other,
    Ref,
    SourceFile,
    Span,
    Str,
)
from .module import Module
from .sources import display_path, read_source

_STEP_RE = re.compile(r"\.([A-Za-z_][\w-]*)|\[\s*(\d+)\s*\]|\[\s*\"([^\"]*)\"\s*\]")
_MAX_DEPTH = 24
# data.template_file.x.rendered, and the resource of the template provider before data sources
# (template_file.x.rendered, Terraform 0.6-0.11): read alike
_TEMPLATE_FILE_RE = re.compile(r"(data\.)?template_file\.([A-Za-z_][\w-]*)(?:\[[^\[\]]*\])?\.rendered$")
# The kind of an `Other` standing for a file that could not be read or parsed: the error is already
# reported (exit code 2), so it is not also "not statically analysable".
REPORTED = "unreadable input (reported as an error)"
PASSTHROUGH_FUNCS = {"jsonencode", "tolist", "toset", "tomap", "tostring", "sensitive", "nonsensitive", "jsondecode"}


@dataclass(frozen=True)
class Declared:
    """What the `variable` block of a `var.x...` reference declares."""

    type: str | None  # the type constraint of the referenced value (`bool`, `list(string)`), if written
    description: str | None
    default: Expr | None  # None when there is no default (`default = null` is a Null)


def _type_at(type_expr: Expr | None, steps: list[str | int]) -> Expr | None:
    """The type constraint of `var.x.a[0]` given the one of `var.x`: object attributes by name,
    element types of list/set/map/tuple collections, `optional(T)` unwrapped."""
    for step in steps:
        while isinstance(type_expr, Call) and type_expr.name == "optional" and type_expr.args:
            type_expr = type_expr.args[0]
        if not isinstance(type_expr, Call) or not type_expr.args:
            return None
        arg = type_expr.args[0]
        if type_expr.name == "object" and isinstance(arg, Obj) and isinstance(step, str):
            type_expr = arg.get(step)
        elif type_expr.name in ("list", "set", "map"):
            type_expr = arg
        elif type_expr.name == "tuple" and isinstance(arg, Lst) and isinstance(step, int) and step < len(arg.items):
            type_expr = arg.items[step]
        else:
            return None
    while isinstance(type_expr, Call) and type_expr.name == "optional" and type_expr.args:
        type_expr = type_expr.args[0]
    return type_expr


@dataclass(frozen=True)
class ListPart:
    """One piece of a list built with `concat()` and conditionals: a `Lst` when it is known, else
    the expression that could not be followed. `maybe`: present only when a condition holds."""

    value: Expr | None
    scope: Scope | None
    maybe: bool


@dataclass
class Scope:
    """Template variables in effect (inside a `templatefile` template) and where they came from."""

    vars: Obj | None = None
    outer: Scope | None = None


def split_traversal(source: str) -> tuple[str, list[str | int]]:
    """`local.env[0].name` -> ("local", ["env", 0, "name"])."""
    m = re.match(r"[A-Za-z_][\w-]*", source)
    if not m:
        return source, []
    root = m.group(0)
    steps: list[str | int] = []
    pos = m.end()
    while pos < len(source):
        sm = _STEP_RE.match(source, pos)
        if not sm:
            break
        if sm.group(1) is not None:
            steps.append(sm.group(1))
        elif sm.group(2) is not None:
            steps.append(int(sm.group(2)))
        else:
            steps.append(sm.group(3))
        pos = sm.end()
    return root, steps


class Resolver:
    def __init__(self, module: Module, root: str | None = None):
        self.module = module
        self.root = root
        self._files: dict[str, SourceFile | EcsfixError] = {}
        self.errors: list[InputError] = []
        self.external_files: list[SourceFile] = []
        self._reported: set[str] = set()  # files (or file:line:message) whose error is already in `errors`
        # JSON documents read leniently (a line break inside a string): reported, scanned, not rewritten
        self.lenient: list[Span] = []
        self._declared: dict[str, Declared | None] = {}
        # every path `file()`/`templatefile()`/`template_file` names, found or not (the cache key)
        self.consulted: list[str] = []

    # ------------------------------------------------------------------ files
    def load(self, path: str) -> SourceFile:
        cached = self._files.get(path)
        if cached is None:
            try:
                cached = read_source(path, display_path(path, self.root))
                self.external_files.append(cached)
            except EcsfixError as exc:
                cached = exc
            self._files[path] = cached
        if isinstance(cached, EcsfixError):
            raise cached
        return cached

    def literal_path(self, expr: Expr) -> str | None:
        """The file a `file()`/`templatefile()` path argument names, when it is static."""
        if isinstance(expr, Str):
            out = []
            for p in expr.parts:
                if isinstance(p, str):
                    out.append(p)
                elif p.source in ("path.module", "path.root", "path.cwd"):
                    out.append(self.module.dir)
                else:
                    return None
            joined = "".join(out)
            path = joined if os.path.isabs(joined) else os.path.join(self.module.dir, joined)
            self.consulted.append(path)
            return path
        return None

    # ------------------------------------------------------------------ variables
    def declared(self, reference: str) -> Declared | None:
        """The declaration behind `var.x` (or `var.x.attr[0]`) in this module, or None."""
        if reference in self._declared:
            return self._declared[reference]
        self._declared[reference] = found = self._declaration(reference)
        return found

    def _declaration(self, reference: str) -> Declared | None:
        root, steps = split_traversal(reference)
        if root != "var" or not steps or not isinstance(steps[0], str):
            return None
        block = self.module.variable(steps[0])
        if block is None:
            return None
        type_expr = _type_at(block.attr("type"), steps[1:])
        type_text = None
        if isinstance(type_expr, Str):  # Terraform 0.11: type = "string"
            type_text = type_expr.value
        elif type_expr is not None:
            type_text = type_expr.span.text.strip()
        description = block.attr("description")
        return Declared(type_text, description.value if isinstance(description, Str) else None, block.attr("default"))

    # ------------------------------------------------------------------ references
    def resolve(self, expr: Expr | None, scope: Scope | None = None, via: list[str] | None = None) -> Expr | None:
        return self.resolve2(expr, scope, via)[0]

    def resolve2(self, expr: Expr | None, scope: Scope | None = None, via: list[str] | None = None,
                 depth: int = 0) -> tuple[Expr | None, Scope | None]:
        """The most concrete expression reachable from `expr`, and the template scope in which the
        result's own references must be resolved (None outside `templatefile` templates)."""
        if expr is None or depth > _MAX_DEPTH:
            return expr, scope
        if isinstance(expr, Str):
            interp = expr.sole_interp()
            if interp is not None and interp.expr is not None:
                return self.resolve2(interp.expr, scope, via, depth + 1)
            return expr, scope
        if isinstance(expr, Ref):
            return self.resolve_ref(expr, scope, via, depth)
        if isinstance(expr, Call):
            return self.resolve_call(expr, scope, via, depth)
        if isinstance(expr, Heredoc):
            return self.heredoc_json(expr), scope
        return expr, scope

    def resolve_ref(self, ref: Ref, scope: Scope | None, via: list[str] | None,
                    depth: int) -> tuple[Expr | None, Scope | None]:
        root, steps = split_traversal(ref.source)
        target: Expr | None = None
        if root == "local" and steps and isinstance(steps[0], str):
            attr = self.module.local(steps[0])
            if attr is not None:
                target = attr.value
        elif root == "var" and steps and isinstance(steps[0], str):
            block = self.module.variable(steps[0])
            if block is not None and block.attr("default") is not None:
                target = block.attr("default")
        elif root in ("data", "template_file") and (m := _TEMPLATE_FILE_RE.match(ref.source)):
            # data.template_file.x.rendered, or data.template_file.x[each.key].rendered (count or
            # for_each: every instance renders the same template; per-instance vars stay unknown)
            if m.group(1):
                block = self.module.data("template_file", m.group(2))
            else:
                block = self.module.resource("template_file", m.group(2))
            if block is not None:
                return self.template_block(block, scope, depth)
            return ref, scope
        elif scope is not None and scope.vars is not None and root not in ("var", "local", "path", "each", "count"):
            item = scope.vars.item(root)
            if item is not None:
                if via is not None:
                    via.append(ref.source)
                target_expr, target_scope = self.resolve2(item.value, scope.outer, via, depth + 1)
                return self.walk_steps(target_expr, steps, target_scope, via, depth)
            return ref, scope
        if target is None:
            return ref, scope
        if via is not None:
            via.append(ref.source)
        resolved, rscope = self.resolve2(target, None, via, depth + 1)
        return self.walk_steps(resolved, steps[1:], rscope, via, depth)

    def walk_steps(self, expr: Expr | None, steps: list[str | int], scope: Scope | None,
                   via: list[str] | None, depth: int) -> tuple[Expr | None, Scope | None]:
        for step in steps:
            if isinstance(step, int) and isinstance(expr, Lst) and step < len(expr.items):
                expr, scope = self.resolve2(expr.items[step], scope, via, depth + 1)
            elif isinstance(step, str) and isinstance(expr, Obj) and expr.item(step) is not None:
                expr, scope = self.resolve2(expr.get(step), scope, via, depth + 1)
            else:
                return (Other(expr.span, "indexed value") if expr is not None else None), scope
        return expr, scope

    def resolve_call(self, call: Call, scope: Scope | None, via: list[str] | None,
                     depth: int) -> tuple[Expr | None, Scope | None]:
        name = call.name
        if name in PASSTHROUGH_FUNCS and len(call.args) == 1:
            return self.resolve2(call.args[0], scope, via, depth + 1)
        if name == "file" and len(call.args) == 1:
            return self.json_file(call.args[0], templates=False), None
        if name == "templatefile" and len(call.args) == 2:
            tvars = self.resolve(call.args[1], scope)
            inner = Scope(tvars if isinstance(tvars, Obj) else None, scope)
            return self.json_file(call.args[0], templates=True), inner
        if name == "concat" and call.args:
            items: list[Expr] = []
            for a in call.args:
                r, rscope = self.resolve2(a, scope, via, depth + 1)
                if not isinstance(r, Lst) or rscope is not scope:
                    return call, scope
                items.extend(r.items)
            return Lst(call.span, items), scope
        if name == "merge" and call.args:
            merged: dict[str | None, ObjItem] = {}
            for a in call.args:
                r, rscope = self.resolve2(a, scope, via, depth + 1)
                if not isinstance(r, Obj) or rscope is not scope:
                    return call, scope
                for it in r.items:
                    merged[it.key] = it
            return Obj(call.span, list(merged.values())), scope
        return call, scope

    def list_parts(self, expr: Expr | None, scope: Scope | None = None, maybe: bool = False,
                   depth: int = 0) -> list[ListPart]:
        """The pieces of a list: every argument of `concat(...)`, both results of `cond ? a : b`
        (as "maybe"), followed through locals and variable defaults; `null` is no piece."""
        resolved, rscope = self.resolve2(expr, scope)
        if depth < _MAX_DEPTH:
            if isinstance(resolved, Call) and resolved.name == "concat":
                return [p for a in resolved.args for p in self.list_parts(a, rscope, maybe, depth + 1)]
            if isinstance(resolved, Other) and resolved.kind == "conditional" and len(resolved.branches) == 2:
                return [p for b in resolved.branches for p in self.list_parts(b, rscope, True, depth + 1)]
            if isinstance(resolved, Null):
                return []
        return [ListPart(resolved, rscope, maybe)]

    def template_block(self, block: Block, scope: Scope | None, depth: int) -> tuple[Expr | None, Scope | None]:
        template = block.attr("template")
        interp = template.sole_interp() if isinstance(template, Str) else None
        if interp is not None and interp.expr is not None:  # 0.11 style: "${file("x.tpl")}"
            template = interp.expr
        vars_expr = block.attr("vars")
        if vars_expr is None:  # Terraform 0.11: `vars { name = "..." }` written as a block
            vblock = next((b for b in block.blocks if b.type == "vars"), None)
            if vblock is not None:
                vars_expr = Obj(vblock.span, [ObjItem(a.name, a.name_span, a.value, a.span)
                                              for a in vblock.attributes.values()])
        tvars = self.resolve(vars_expr, scope)
        inner = Scope(tvars if isinstance(tvars, Obj) else None, scope)
        if isinstance(template, Call) and template.name == "file" and len(template.args) == 1:
            return self.json_file(template.args[0], templates=True), inner
        filename = block.attr("filename") if template is None else None  # the template provider before 0.7
        if filename is not None:
            return self.json_file(filename, templates=True), inner
        if isinstance(template, Heredoc):
            return self.heredoc_json(template), inner
        return template, scope

    # ------------------------------------------------------------------ JSON bodies
    def heredoc_json(self, doc: Heredoc) -> Expr:
        body = doc.body_span
        try:
            value, broken = scan_json_leniently(body.file, body.text, base=body.start)
        except TemplateDirective:
            return Other(doc.span, "template with %{ } directives")
        except EcsfixError as exc:
            raise EcsfixError(f"heredoc <<{doc.marker}: {exc.message}", exc.line) from None
        if broken is not None:  # reported, and the entries read anyway: the values are in git
            self.lenient.append(body)
            self._report_once(body.file.display, broken.line, f"heredoc <<{doc.marker}: {broken.message}; {LENIENT_NOTE}")
        return value

    def _from_the_caller(self, path_expr: Expr) -> str | None:
        """A relative path that is not under `path.module` is relative to the directory Terraform
        runs in, the root module (`file("./ecs/app.json")` in ./ecs, called from its parent): the
        first ancestor directory, up to three, where the file exists."""
        if not isinstance(path_expr, Str) or path_expr.value is None or os.path.isabs(path_expr.value):
            return None
        directory = self.module.dir
        for _ in range(3):
            parent = os.path.dirname(os.path.abspath(directory))
            if parent == directory or (self.root is not None and not parent.startswith(os.path.abspath(self.root))):
                return None
            directory = parent
            candidate = os.path.join(directory, path_expr.value)
            self.consulted.append(candidate)
            if os.path.isfile(candidate):
                return candidate
        return None

    def read_leniently(self, span: Span) -> bool:
        """Whether `span` lies in a JSON document read leniently (invalid as it is written)."""
        return any(s.file is span.file and s.start <= span.start and span.end <= s.end for s in self.lenient)

    def _report_once(self, shown: str, line: int | None, message: str) -> None:
        key = f"{shown}:{line}:{message}"
        if key not in self._reported:
            self._reported.add(key)
            self.errors.append(InputError(shown, line, message))

    def json_string(self, s: Str) -> Expr:
        decoded = decode_string(s)
        if decoded is None:
            return s
        text, offsets = decoded
        try:
            return scan_json(s.span.file, text, offsets=offsets)
        except TemplateDirective:
            return Other(s.span, "template with %{ } directives")

    def json_file(self, path_expr: Expr, *, templates: bool) -> Expr:
        path = self.literal_path(path_expr)
        if path is None:
            return Other(path_expr.span, "file path not known statically")
        shown = display_path(path, self.root)
        if not os.path.exists(path):
            path = self._from_the_caller(path_expr) or path
        if not os.path.exists(path):  # perhaps generated by an earlier build step: not analysable here
            return Other(path_expr.span, f"{shown}: no such file or directory")
        try:
            src = self.load(path)
        except EcsfixError as exc:
            if path not in self._reported:
                self._reported.add(path)
                self.errors.append(InputError(shown, exc.line, exc.message))
            return Other(path_expr.span, REPORTED)
        try:
            doc, broken = scan_json_leniently(src, templates=templates)
        except TemplateDirective:
            return Other(path_expr.span, "template with %{ } directives")
        except EcsfixError as exc:
            if path not in self._reported:
                self._reported.add(path)
                self.errors.append(InputError(src.display, exc.line, exc.message))
            return Other(path_expr.span, REPORTED)
        if broken is not None:
            self.lenient.append(Span(src, 0, len(src.text)))
            self._report_once(src.display, broken.line, f"{broken.message}; {LENIENT_NOTE}")
        return doc

