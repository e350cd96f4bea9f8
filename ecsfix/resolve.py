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
    ForExpr,
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


@dataclass(eq=False)
class ModuleCall:
    """A `module` call with a local source, being evaluated: the child module, the call block in
    its parent, and the scope the call's arguments are resolved in (None: the scanned module)."""

    module: Module
    block: Block
    parent: Scope | None
    address: str  # module.api, module.api.module.db

    def argument(self, name: str) -> tuple[Expr, str] | None:
        """The call's argument for the child's `variable "name"`, and where it is written (a null
        argument is no argument: Terraform uses the default)."""
        attr = self.block.attributes.get(name)
        if attr is None or isinstance(attr.value, Null):
            return None
        return attr.value, f"{self.address}.{name} at {attr.span.file.display}:{attr.span.line}"


class Crossing(str):
    """A `via` step that crosses from a child module into its caller's argument; `top` when the
    argument is written in the scanned module itself."""

    top: bool


@dataclass(frozen=True)
class ListPart:
    """One piece of a list built with `concat()` and conditionals: a `Lst` when it is known, else
    the expression that could not be followed. `maybe`: present only when a condition holds."""

    value: Expr | None
    scope: Scope | None
    maybe: bool


@dataclass
class Scope:
    """Where references are resolved. Template variables in effect (inside a `templatefile`
    template) and where they came from; or a frame: the child module of a local module call
    (`call`), or the caller's side of a call argument (`crossed`: which argument, `top` when the
    caller is the scanned module). No scope at all is the scanned module."""

    vars: Obj | None = None
    outer: Scope | None = None
    call: ModuleCall | None = None
    crossed: Crossing | None = None


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

    # ------------------------------------------------------------------ module frames
    @staticmethod
    def frame(scope: Scope | None) -> Scope | None:
        """The module frame a scope is in: the innermost call or crossed scope (None: the scanned
        module). References to `local.*`, `var.*` and `data.*` are looked up there."""
        while scope is not None and scope.call is None and scope.crossed is None:
            scope = scope.outer
        return scope

    @staticmethod
    def call_of(scope: Scope | None) -> ModuleCall | None:
        """The local module call whose child a scope is in (None: the scanned module)."""
        while scope is not None and scope.call is None:
            scope = scope.outer
        return scope.call if scope is not None else None

    def module_of(self, scope: Scope | None) -> Module:
        call = self.call_of(scope)
        return call.module if call is not None else self.module

    @staticmethod
    def crossed(scope: Scope | None) -> Crossing | None:
        """The argument through which a value resolved in `scope` reached the scanned module's
        side of the outermost call, or None when it lives inside a child module."""
        while scope is not None:
            if scope.call is not None:
                return None
            if scope.crossed is not None and scope.crossed.top:
                return scope.crossed
            scope = scope.outer
        return None

    def literal_path(self, expr: Expr, scope: Scope | None = None) -> str | None:
        """The file a `file()`/`templatefile()` path argument names, when it is static."""
        directory = self.module_of(scope).dir
        if isinstance(expr, Str):
            out = []
            for p in expr.parts:
                if isinstance(p, str):
                    out.append(p)
                elif p.source in ("path.module", "path.root", "path.cwd"):
                    out.append(directory)
                else:
                    return None
            joined = "".join(out)
            path = joined if os.path.isabs(joined) else os.path.join(directory, joined)
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
        if isinstance(expr, Other) and expr.detail is not None and self.frame(scope) is not None:
            # only while evaluating a local module call (the rewrite does not edit expanded entries)
            return self.expand_for(expr, expr.detail, scope, depth)
        return expr, scope

    def resolve_ref(self, ref: Ref, scope: Scope | None, via: list[str] | None,
                    depth: int) -> tuple[Expr | None, Scope | None]:
        root, steps = split_traversal(ref.source)
        target: Expr | None = None
        module = self.module_of(scope)
        frame = self.frame(scope)
        if root == "local" and steps and isinstance(steps[0], str):
            attr = module.local(steps[0])
            if attr is not None:
                target = attr.value
        elif root == "var" and steps and isinstance(steps[0], str):
            call = self.call_of(scope)
            argument = call.argument(steps[0]) if call is not None else None
            if call is not None and argument is not None:
                # a child module's variable is the caller's argument, resolved where the call is written
                crossing = Crossing(argument[1])
                crossing.top = self.call_of(call.parent) is None
                if via is not None:
                    via.append(ref.source)
                    via.append(crossing)
                resolved, rscope = self.resolve2(argument[0], Scope(outer=call.parent, crossed=crossing), via,
                                                 depth + 1)
                return self.walk_steps(resolved, steps[1:], rscope, via, depth)
            block = module.variable(steps[0])
            default = block.attr("default") if block is not None else None
            # `default = null` / `""` is a placeholder ("set it in tfvars"), not the value: unknown
            if default is not None and not isinstance(default, Null) and not (isinstance(default, Str)
                                                                                and default.value == ""):
                target = default
        elif root in ("data", "template_file") and (m := _TEMPLATE_FILE_RE.match(ref.source)):
            # data.template_file.x.rendered, or data.template_file.x[each.key].rendered (count or
            # for_each: every instance renders the same template; per-instance vars stay unknown)
            if m.group(1):
                block = module.data("template_file", m.group(2))
            else:
                block = module.resource("template_file", m.group(2))
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
        resolved, rscope = self.resolve2(target, frame, via, depth + 1)
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
            return self.json_file(call.args[0], templates=False, scope=scope), self.frame(scope)
        if name == "templatefile" and len(call.args) == 2:
            tvars = self.resolve(call.args[1], scope)
            inner = Scope(tvars if isinstance(tvars, Obj) else None, scope)
            return self.json_file(call.args[0], templates=True, scope=scope), inner
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
            return self.json_file(template.args[0], templates=True, scope=scope), inner
        filename = block.attr("filename") if template is None else None  # the template provider before 0.7
        if filename is not None:
            return self.json_file(filename, templates=True, scope=scope), inner
        if isinstance(template, Heredoc):
            return self.heredoc_json(template), inner
        return template, scope

    # ------------------------------------------------------------------ for expressions
    def expand_for(self, expr: Other, parts: ForExpr, scope: Scope | None,
                   depth: int) -> tuple[Expr | None, Scope | None]:
        """`[for k, v in MAP : { name = k, value = v }]` over a known map (or `[for e in LIST : e]`,
        `{ name = e.name, value = e.value }` over a known list): the list it evaluates to, its items
        written where the collection's are (so entries keep the spans of what the caller wrote)."""
        collection, cscope = self.resolve2(parts.collection, scope, None, depth + 1)
        if isinstance(collection, Obj):
            pairs: list[tuple[Expr, Expr, Span]] = []
            for item in collection.items:
                if item.key is None:
                    return expr, scope
                pairs.append((Str(item.key_span, [item.key]), item.value, item.span))
        elif isinstance(collection, Lst) and parts.key is None:
            pairs = [(Other(e.span, "index"), e, e.span) for e in collection.items]
        else:
            return expr, scope
        out: list[Expr] = []
        for key, value, span in pairs:
            entry = self._for_result(parts, parts.result, key, value, span, cscope, depth)
            if entry is None:
                return expr, scope
            out.append(entry)
        return Lst(expr.span, out), cscope

    def _for_result(self, parts: ForExpr, result: Expr, key: Expr, value: Expr, span: Span, scope: Scope | None,
                    depth: int) -> Expr | None:
        """RESULT with the iteration variables replaced, or None when it uses them otherwise."""
        if isinstance(result, Ref):
            root, steps = split_traversal(result.source)
            if root == parts.key and not steps:
                return key
            if root == parts.value:
                if not steps:
                    return value
                walked, _ = self.walk_steps(self.resolve2(value, scope, None, depth + 1)[0], steps, scope, None, depth)
                return walked if walked is not None and not isinstance(walked, Other) else None
            return None if root in ("var", "local", "each", "count", "module", "data") else result
        if isinstance(result, Obj):
            items = []
            for it in result.items:
                v = self._for_result(parts, it.value, key, value, span, scope, depth)
                if v is None:
                    return None
                items.append(ObjItem(it.key, it.key_span, v, it.span))
            return Obj(span, items)
        if isinstance(result, Str) and not result.is_template:
            return result
        return None

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

    def json_file(self, path_expr: Expr, *, templates: bool, scope: Scope | None = None) -> Expr:
        path = self.literal_path(path_expr, scope)
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

