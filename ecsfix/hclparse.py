"""HCL native syntax -> `model` blocks and expressions.

This is the only module that touches python-hcl2's internals (its rule classes and the private
lark `_meta` positions, see NOTES.md). python-hcl2 is used as a *locator*: every node becomes a
span into the original text, which is never re-printed.
"""

from __future__ import annotations

import re
from typing import Any

from .model import (
    Attribute,
    Block,
    Bool,
    Call,
    EcsfixError,
    Expr,
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

_SKIP = {"NewLineOrCommentRule"}


def _import_hcl2() -> Any:
    import hcl2  # imported lazily: ~90 ms with its grammar, paid only when HCL must be parsed

    return hcl2


def parse_file(src: SourceFile, base: int = 0, text: str | None = None) -> list[Block]:
    """Parse `text` (default: the whole file) whose first character is at offset `base`."""
    hcl2 = _import_hcl2()
    body_text = src.text if text is None else text
    if body_text.startswith("\ufeff"):  # a BOM is kept in the file but is not HCL
        body_text = body_text[1:]
        base += 1
    try:
        tree = hcl2.parses(body_text)
    except Exception as exc:  # lark raises many types; all mean "not valid HCL"
        line = getattr(exc, "line", None)
        message = _parse_message(exc)
        if _non_ascii_identifier_at(body_text, line, getattr(exc, "column", None)):
            message = ("identifier with non-ASCII letters: valid HCL, but the HCL parser ecsfix uses cannot read it; "
                       "rename it or skip the file with --exclude")
        if isinstance(line, int) and line > 0 and base:
            line += src.line_col(base)[0] - 1
        raise EcsfixError(message, line if isinstance(line, int) and line > 0 else None) from None
    conv = _Converter(src, base)
    kids = _children(tree)
    if not kids:
        return []
    try:
        return [conv.block(c) for c in _children(kids[0]) if _name(c) == "BlockRule"]
    except (AttributeError, IndexError, ValueError):  # a parser shape we do not know: never a traceback
        raise EcsfixError("could not map this file's syntax tree (please report this file shape)") from None


def parse_expression(src: SourceFile, start: int, end: int) -> Expr:
    """Parse the expression text in src.text[start:end] (used for `${...}` in JSON templates)."""
    hcl2 = _import_hcl2()
    inner = src.text[start:end]
    prefix = "x = "
    try:
        tree = hcl2.parses(prefix + inner + "\n")
    except Exception as exc:
        raise EcsfixError(_parse_message(exc)) from None
    conv = _Converter(src, start - len(prefix))
    body = _children(tree)[0]
    for c in _children(body):
        if _name(c) == "AttributeRule":
            return conv.expr(_children(c)[2])
    raise EcsfixError("empty interpolation")


def _parse_message(exc: Exception) -> str:
    name = type(exc).__name__
    if name == "UnexpectedCharacters":
        return "not valid HCL: unexpected character (check quotes, braces and identifiers)"
    if name in ("UnexpectedToken", "UnexpectedEOF", "UnexpectedInput"):
        return "not valid HCL: unexpected token or end of file (check brackets and commas)"
    return "not valid HCL: the parser could not read this file"


def _non_ascii_identifier_at(text: str, line: object, column: object) -> bool:
    """Whether a parse error points at a non-ASCII letter outside a string (python-hcl2 only knows
    ASCII identifiers; Terraform accepts Unicode ones such as `ü`)."""
    if not isinstance(line, int) or not isinstance(column, int) or line < 1 or column < 1:
        return False
    lines = text.split("\n")
    if line > len(lines) or column > len(lines[line - 1]):
        return False
    ch = lines[line - 1][column - 1]
    return not ch.isascii() and ch.isidentifier()


def _name(node: Any) -> str:
    return type(node).__name__


def _children(node: Any) -> list[Any]:
    return [c for c in (getattr(node, "children", None) or []) if c is not None and _name(c) not in _SKIP]


def _has_position(node: Any) -> bool:
    meta = getattr(node, "_meta", None)
    return meta is not None and not getattr(meta, "empty", True)


def _is_rule(node: Any) -> bool:
    return hasattr(node, "children")


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
_ESC_RE = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)|\$\$\{|%%\{", re.S)


def _unescape(raw: str) -> str:
    def sub(m: re.Match[str]) -> str:
        tok = m.group(0)
        if tok == "$${":
            return "${"
        if tok == "%%{":
            return "%{"
        esc = m.group(1)
        if esc[0] in "uU":
            return chr(int(esc[1:], 16))
        return _ESCAPES.get(esc, esc)

    return _ESC_RE.sub(sub, raw)


class _Converter:
    def __init__(self, src: SourceFile, base: int):
        self.src = src
        self.base = base

    def span(self, node: Any) -> Span:
        meta = node._meta
        return Span(self.src, self.base + meta.start_pos, self.base + meta.end_pos)

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
            if n == "StringRule":
                labels.append(_unescape(self.text(k)[1:-1]))
            elif n == "IdentifierRule":
                labels.append(self.text(k))
            elif n == "BodyRule":
                if _has_position(k):
                    body_span = self.span(k)
                for item in _children(k):
                    iname = _name(item)
                    if iname == "AttributeRule":
                        attr = self.attribute(item)
                        attributes[attr.name] = attr
                    elif iname == "BlockRule":
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
        if n == "ExprTermRule":
            kids = [k for k in _children(node) if _is_rule(k)]
            if len(kids) == 1:
                return self.expr(kids[0])
            return Other(self.span(node), "expression")
        span = self.span(node)
        if n == "StringRule":
            return self.string(node)
        if n in ("IntLitRule", "FloatLitRule"):
            return Num(span, span.text)
        if n == "LiteralValueRule":
            t = span.text
            if t == "null":
                return Null(span)
            if t in ("true", "false"):
                return Bool(span, t == "true")
            return Other(span, "literal")
        if n in ("IdentifierRule", "GetAttrExprTermRule", "IndexExprTermRule"):
            return Ref(span, span.text)
        if n == "ObjectRule":
            return self.object(node)
        if n == "TupleRule":
            return Lst(span, [self.expr(k) for k in _children(node) if _is_rule(k)])
        if n == "FunctionCallRule":
            kids = _children(node)
            fname = self.text(kids[0])
            args: list[Expr] = []
            for k in kids[1:]:
                if _name(k) == "ArgumentsRule":
                    args = [self.expr(a) for a in _children(k) if _is_rule(a)]
            return Call(span, fname, args)
        if n in ("HeredocTemplateRule", "HeredocTrimTemplateRule"):
            return self.heredoc(node, strip=n == "HeredocTrimTemplateRule")
        if n.startswith("For"):
            return Other(span, "for expression")
        if n == "ConditionalRule":
            return Other(span, "conditional")
        return Other(span, "expression")

    def string(self, node: Any) -> Expr:
        span = self.span(node)
        parts: list[str | Interp] = []
        for part in _children(node):
            if _name(part) != "StringPartRule":
                continue
            inner = _children(part)
            if len(inner) == 1 and _name(inner[0]) == "InterpolationRule":
                ip = inner[0]
                ikids = [k for k in _children(ip) if _is_rule(k)]
                ispan = self.span(ip)
                parts.append(Interp(ispan, ispan.text[2:-1].strip(), self.expr(ikids[0]) if ikids else None))
            elif len(inner) == 1 and not _is_rule(inner[0]):
                raw = self.text(part)
                if parts and isinstance(parts[-1], str):
                    parts[-1] += _unescape(raw)
                else:
                    parts.append(_unescape(raw))
            else:
                return Other(span, "template directive")
        return Str(span, parts)

    def object(self, node: Any) -> Obj:
        items: list[ObjItem] = []
        for el in _children(node):
            if _name(el) != "ObjectElemRule":
                continue
            kids = [k for k in _children(el) if _is_rule(k)]
            key_node, val_node = kids[0], kids[-1]
            key_span = self.span(key_node)
            key: str | None
            kk = _children(key_node)
            if _name(key_node) == "ObjectElemKeyRule" and kk and _name(kk[0]) == "IdentifierRule":
                key = key_span.text
            elif _name(key_node) == "ObjectElemKeyRule" and kk and _name(kk[0]) == "StringRule":
                sv = self.string(kk[0])
                key = sv.value if isinstance(sv, Str) else None
            else:
                key = None
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
