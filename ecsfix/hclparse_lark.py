"""HCL native syntax -> `model` blocks and expressions, with python-hcl2: the second parser.

`hclparse` (tree-sitter) reads every file first; this one reads only a file tree-sitter rejects,
because tree-sitter-hcl's grammar has holes Terraform does not (`1e5` without a decimal point), so
that no file python-hcl2 could read becomes an error. The tests hold the two to the same model.

This module touches python-hcl2's internals: its Lark grammar (`hcl2.lark`, whose
rule names this converter reads) and its cached LALR parser. python-hcl2 is used as a *locator*:
every node becomes a span into the original text, which is never re-printed.

For speed the raw Lark tree is converted directly; python-hcl2's own rule-object transformer
(`hcl2.parses`) would cost another ~60% of the parse time and is not needed for spans. A parse
tree's node positions are read from its first and last token (see `_Converter.span`).
"""

from __future__ import annotations

import re
from typing import Any

from .hclescape import unescape  # one reading of HCL escapes for both converters
from .model import (
    Attribute,
    Block,
    Bool,
    Call,
    EcsfixError,
    Expr,
    ForExpr,
    Heredoc,
    Interp,
    Lst,
    Null,
    Num,
    Obj,
    ObjItem,
    Other,
    Ref,
    SourceFile,
    Span,
    Str,
)

_NL = "new_line_or_comment"
_parser: Any = None


def _lark_parser() -> Any:
    """python-hcl2's LALR parser (loaded once from python-hcl2's own grammar cache), rebuilt without
    position propagation: node positions come from tokens here, and propagating them into every
    node costs a third of the parse."""
    global _parser
    if _parser is None:
        from hcl2.parser import parser  # imported lazily: ~0.2 s with its grammar, paid only to parse HCL

        hcl = parser()
        _parser = _without_positions(hcl) or hcl
    return _parser


def _without_positions(hcl: Any) -> Any:
    """A copy of the Lark parser `hcl` whose tree builder does not propagate positions, or None if
    this Lark version is shaped differently (then `hcl` itself is used: same trees, slower)."""
    import copy

    try:
        from lark import Tree
        from lark.parse_tree_builder import ParseTreeBuilder

        frontend = copy.copy(hcl.parser)
        lalr = copy.copy(frontend.parser)
        state = copy.copy(lalr.parser)
        builder = ParseTreeBuilder(hcl.rules, Tree, False, False, hcl.options.maybe_placeholders)
        callbacks = builder.create_callback(None)
        if set(callbacks) != set(state.callbacks):
            return None
        state.callbacks = callbacks
        lalr.parser = state
        frontend.parser = lalr
        return frontend
    except Exception:  # any other shape of Lark's internals: fall back to the public parser
        return None


def _parse_tree(text: str) -> Any:
    # python-hcl2 appends a newline too: its grammar needs one at the end of the last line.
    tree = _lark_parser().parse(text + "\n")
    if "%{" in text:
        _check_directives(tree)
    return tree


def parse_file(src: SourceFile, base: int = 0, text: str | None = None) -> list[Block]:
    """Parse `text` (default: the whole file) whose first character is at offset `base`."""
    body_text = src.text if text is None else text
    if body_text.startswith("\ufeff"):  # a BOM is kept in the file but is not HCL
        body_text = body_text[1:]
        base += 1
    try:
        tree = _parse_tree(body_text)
    except Exception as exc:  # lark raises many types; all mean "not valid HCL"
        line = getattr(exc, "line", None)
        message = _parse_message(exc)
        if isinstance(line, int) and line > 0 and base:
            line += src.line_col(base)[0] - 1
        raise EcsfixError(message, line if isinstance(line, int) and line > 0 else None) from None
    conv = _Converter(src, base)
    kids = _children(tree)
    if not kids:
        return []
    try:
        return [conv.block(c) for c in _children(kids[0]) if _name(c) == "block"]
    except (AttributeError, IndexError, ValueError):  # a parser shape we do not know: never a traceback
        raise EcsfixError("could not map this file's syntax tree (please report this file shape)") from None


class _UnterminatedDirective(Exception):
    """A `%{ if }` / `%{ for }` without its end (python-hcl2's transformer rejects those too)."""


_IF, _ELSE, _ENDIF = "template_if_start", "template_else", "template_endif"
_FOR, _ENDFOR = "template_for_start", "template_endfor"


def _check_directives(tree: Any) -> None:
    """Reject what python-hcl2's transformer rejects: an opening directive without its end."""
    for string in tree.find_data("string"):
        kinds = [_name(p.children[0]) if _is_rule(p) and p.children else "" for p in string.children]
        i = 0
        while i < len(kinds):
            i = _directive_end(kinds, i) if kinds[i] in (_IF, _FOR) else i + 1


def _directive_end(kinds: list[str], i: int) -> int:
    """kinds[i] opens a directive; the index after its end (nested directives consume their own)."""
    if kinds[i] == _IF:
        end, i = _collect(kinds, i + 1, (_ELSE, _ENDIF))
        if end == _ELSE:
            end, i = _collect(kinds, i, (_ENDIF,))
        if end != _ENDIF:
            raise _UnterminatedDirective()
        return i
    end, i = _collect(kinds, i + 1, (_ENDFOR,))
    if end != _ENDFOR:
        raise _UnterminatedDirective()
    return i


def _collect(kinds: list[str], i: int, ends: tuple[str, ...]) -> tuple[str | None, int]:
    while i < len(kinds):
        if kinds[i] in ends:
            return kinds[i], i + 1
        i = _directive_end(kinds, i) if kinds[i] in (_IF, _FOR) else i + 1
    return None, i


def _parse_message(exc: Exception) -> str:
    name = type(exc).__name__
    if name == "UnexpectedCharacters":
        return "not valid HCL: unexpected character (check quotes, braces and identifiers)"
    if name in ("UnexpectedToken", "UnexpectedEOF", "UnexpectedInput"):
        return "not valid HCL: unexpected token or end of file (check brackets and commas)"
    return "not valid HCL: the parser could not read this file"


def _name(node: Any) -> str:
    """The grammar rule of a tree node ("" for a token)."""
    data = getattr(node, "data", None)
    return "" if data is None else str(data)


def _is_rule(node: Any) -> bool:
    return getattr(node, "data", None) is not None


def _children(node: Any) -> list[Any]:
    return [c for c in (getattr(node, "children", None) or []) if c is not None and _name(c) != _NL]


def _first_pos(node: Any) -> int | None:
    """Start offset of the first token under `node` (None for an empty rule)."""
    if not _is_rule(node):
        return node.start_pos  # type: ignore[no-any-return]
    for c in node.children:
        if c is not None:
            pos = _first_pos(c)
            if pos is not None:
                return pos
    return None


def _last_pos(node: Any) -> int | None:
    """End offset of the last token under `node` (None for an empty rule)."""
    if not _is_rule(node):
        return node.end_pos  # type: ignore[no-any-return]
    for c in reversed(node.children):
        if c is not None:
            pos = _last_pos(c)
            if pos is not None:
                return pos
    return None


def _has_position(node: Any) -> bool:
    return _first_pos(node) is not None




class _Converter:
    def __init__(self, src: SourceFile, base: int):
        self.src = src
        self.base = base

    def span(self, node: Any) -> Span:
        start, end = _first_pos(node), _last_pos(node)
        if start is None or end is None:
            raise ValueError("a rule without tokens has no span")
        return Span(self.src, self.base + start, self.base + end)

    def text(self, node: Any) -> str:
        return self.span(node).text

    def block(self, node: Any) -> Block:
        kids = _children(node)
        btype = self.text(kids[0])
        labels: list[str] = []
        attributes: dict[str, Attribute] = {}
        blocks: list[Block] = []
        body_span: Span | None = None
        for k in kids[1:]:
            n = _name(k)
            if n == "string":
                labels.append(unescape(self.text(k)[1:-1]))
            elif n in ("identifier", "keyword", "literal_value"):
                labels.append(self.text(k))
            elif n == "body":
                if _has_position(k):
                    body_span = self.span(k)
                for item in _children(k):
                    iname = _name(item)
                    if iname == "attribute":
                        attr = self.attribute(item)
                        attributes[attr.name] = attr
                    elif iname == "block":
                        blocks.append(self.block(item))
        span = self.span(node)
        if body_span is None:  # empty block `x {}`: the body is between the braces
            inner = span.text.rfind("}")
            body_span = Span(self.src, span.start + inner, span.start + inner)
        return Block(btype, labels, span, body_span, attributes, blocks)

    def attribute(self, node: Any) -> Attribute:
        kids = _children(node)
        ident = kids[0]
        value = self.expr(kids[-1])
        name_span = self.span(ident)
        # python-hcl2 gives some keyword-like identifiers (`for_each`) the whole attribute's extent
        m = re.match(r"[^\s=]+", name_span.text)
        if m and m.end() != len(name_span.text):
            name_span = Span(self.src, name_span.start, name_span.start + m.end())
        return Attribute(name_span.text, value, self.span(node), name_span)

    def expr(self, node: Any) -> Expr:
        n = _name(node)
        if n == "expr_term":
            kids = [k for k in _children(node) if _is_rule(k)]
            if len(kids) == 1:
                return self.expr(kids[0])
            return Other(self.span(node), "expression")
        span = self.span(node)
        if n == "string":
            return self.string(node)
        if n in ("int_lit", "float_lit"):
            return Num(span, span.text)
        if n == "literal_value":
            t = span.text
            if t == "null":
                return Null(span)
            if t in ("true", "false"):
                return Bool(span, t == "true")
            return Other(span, "literal")
        if n in ("identifier", "get_attr_expr_term", "index_expr_term"):
            return Ref(span, span.text)
        if n == "object":
            return self.object(node)
        if n == "tuple":
            return Lst(span, [self.expr(k) for k in _children(node) if _is_rule(k)])
        if n == "function_call":
            kids = _children(node)
            names = [self.text(k) for k in kids if _name(k) == "identifier"]  # provider::aws::arn_parse
            fname = "::".join(names) if names else self.text(kids[0])
            args: list[Expr] = []
            for k in kids[1:]:
                if _name(k) == "arguments":
                    args = [self.expr(a) for a in _children(k) if _is_rule(a)]
            return Call(span, fname, args)
        if n in ("heredoc_template", "heredoc_template_trim"):
            return self.heredoc(node, strip=n == "heredoc_template_trim")
        if n.startswith("for_"):
            return Other(span, "for expression", detail=self.for_parts(node) if n == "for_tuple_expr" else None)
        if n == "conditional":
            kids = [k for k in _children(node) if _is_rule(k)]
            return Other(span, "conditional", [self.expr(k) for k in kids[1:3]] if len(kids) == 3 else [])
        return Other(span, "expression")

    def for_parts(self, node: Any) -> ForExpr | None:
        """As `hclparse`'s: `[for k, v in coll : result]` without `if`, else None."""
        kids = [k for k in _children(node) if _is_rule(k)]
        intro = next((k for k in kids if _name(k) == "for_intro"), None)
        results = [k for k in kids if _name(k) != "for_intro"]
        if intro is None or len(results) != 1 or _name(results[0]) == "for_cond":
            return None
        parts = [k for k in _children(intro) if _is_rule(k)]
        names = [self.text(k) for k in parts if _name(k) == "identifier"]
        collection = [k for k in parts if _name(k) != "identifier"]
        if len(names) not in (1, 2) or len(collection) != 1:
            return None
        return ForExpr(names[0] if len(names) == 2 else None, names[-1], self.expr(collection[0]),
                       self.expr(results[0]))

    def string(self, node: Any) -> Expr:
        span = self.span(node)
        parts: list[str | Interp] = []
        for part in _children(node):
            if _name(part) != "string_part":
                continue
            inner = _children(part)
            if len(inner) == 1 and _name(inner[0]) == "interpolation":
                ip = inner[0]
                ikids = [k for k in _children(ip) if _is_rule(k)]
                ispan = self.span(ip)
                parts.append(Interp(ispan, ispan.text[2:-1].strip(), self.expr(ikids[0]) if ikids else None))
            elif len(inner) == 1 and not _is_rule(inner[0]):
                raw = self.text(part)
                if parts and isinstance(parts[-1], str):
                    parts[-1] += unescape(raw)
                else:
                    parts.append(unescape(raw))
            else:
                return Other(span, "template directive")
        return Str(span, parts)

    def object(self, node: Any) -> Obj:
        items: list[ObjItem] = []
        for el in _children(node):
            if _name(el) != "object_elem":
                continue
            kids = [k for k in _children(el) if _is_rule(k)]
            key_node, val_node = kids[0], kids[-1]
            key_span = self.span(key_node)
            key: str | None = None
            kk = _children(key_node)
            inner = kk[0] if len(kk) == 1 else None
            if _name(inner) == "expr_term":  # a key written as a plain identifier, literal or string
                terms = [k for k in _children(inner) if _is_rule(k)]
                inner = terms[0] if len(terms) == 1 else None
            kind = _name(inner)
            if kind in ("identifier", "keyword", "literal_value"):  # `in = 1`, `true = 1` are names too
                key = key_span.text
            elif kind == "string":
                sv = self.string(inner)
                key = sv.value if isinstance(sv, Str) else None
            items.append(ObjItem(key, key_span, self.expr(val_node), self.span(el)))
        return Obj(self.span(node), items)

    def heredoc(self, node: Any, strip: bool) -> Heredoc:
        span = self.span(node)
        text = span.text
        first_nl = text.find("\n")
        marker = text[(3 if strip else 2) : first_nl].strip()
        body_start = span.start + first_nl + 1
        # the closing marker is the last non-empty line of the token
        stripped = text.rstrip("\r\n")
        last_nl = stripped.rfind("\n")
        body_end = span.start + last_nl + 1 if last_nl >= first_nl else body_start
        return Heredoc(span, marker, strip, Span(self.src, body_start, max(body_start, body_end)))
