"""A small position-tracking JSON scanner that understands Terraform `${...}` interpolations.

Container definitions arrive as JSON in heredocs, `file()`/`templatefile()` files, raw task
definitions, `.tf.json` strings and plan JSON strings. All of them become `model` expressions
whose spans point into the original file, so findings carry exact lines and rewrites can splice.

`offsets` maps each character of `text` (plus one sentinel past the end) to its offset in
`src.text` when the JSON was itself decoded from an escaped string (plan JSON, `.tf.json`);
otherwise offsets are `base + index`.
"""

from __future__ import annotations

import re

from .model import (
    Bool,
    EcsfixError,
    Expr,
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

_REF_RE = re.compile(r"^[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*|\[[^\[\]]*\])*$")
_CALL_RE = re.compile(r"^(jsonencode|tostring|tolist|tonumber)\((.*)\)$", re.S)
_NUM_RE = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_WS = " \t\r\n"
_ESC = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class TemplateDirective(Exception):
    """The text uses `%{ ... }` template directives: not statically analysable."""


class LineBreakInString(EcsfixError):
    """A string holds a literal line break: invalid JSON (AWS rejects the task definition), yet
    whatever it holds is in the repository; `scan_json_leniently` reads it anyway."""


# Said after the error of a document read leniently, so the user knows its entries were scanned.
LENIENT_NOTE = "AWS rejects it; its entries were still scanned, reading the line break as \\n"


def interp_expr(src: SourceFile, span: Span, inner: str) -> Expr | None:
    """A cheap model of a `${...}` body: simple traversals become `Ref`, the rest `None`."""
    inner = inner.strip()
    if _REF_RE.match(inner):
        return Ref(span, inner)
    m = _CALL_RE.match(inner)
    if m and _REF_RE.match(m.group(2).strip()):
        from .model import Call

        return Call(span, m.group(1), [Ref(span, m.group(2).strip())])
    return None


MAX_DEPTH = 200  # objects and lists inside each other


class JsonScanner:
    def __init__(
        self,
        src: SourceFile,
        text: str,
        *,
        base: int = 0,
        offsets: list[int] | None = None,
        templates: bool = True,
        lenient: bool = False,
    ):
        self.src = src
        self.lenient = lenient
        self.text = text
        self.base = base
        self.offsets = offsets
        self.templates = templates
        self.pos = 0
        self.depth = 0

    # ------------------------------------------------------------------ positions
    def off(self, i: int) -> int:
        if self.offsets is None:
            return self.base + i
        if i < len(self.offsets):
            return self.offsets[i]
        return (self.offsets[-1] + 1) if self.offsets else self.base

    def span(self, start: int, end: int) -> Span:
        if self.offsets is None:
            return Span(self.src, self.base + start, self.base + end)
        # `offsets` carries one sentinel past the last character, so an exclusive end maps exactly
        return Span(self.src, self.off(start), self.off(end))

    def error(self, message: str, at: int | None = None) -> EcsfixError:
        where = self.off(self.pos if at is None else at)
        return EcsfixError(message, self.src.line_col(where)[0])

    # ------------------------------------------------------------------ scanning
    def parse(self) -> Expr:
        self.ws()
        value = self.value()
        self.ws()
        if self.pos != len(self.text):
            raise self.error("invalid JSON: unexpected content after the value")
        return value

    def ws(self) -> None:
        text, n = self.text, len(self.text)
        while self.pos < n and text[self.pos] in _WS:
            self.pos += 1

    def value(self) -> Expr:
        text = self.text
        if self.pos >= len(text):
            raise self.error("invalid JSON: unexpected end of input")
        c = text[self.pos]
        if c in "{[":
            self.depth += 1
            if self.depth > MAX_DEPTH:  # no real document nests this deep; recursion would overflow
                raise self.error(f"invalid JSON: nested more than {MAX_DEPTH} levels deep")
            try:
                return self.obj() if c == "{" else self.lst()
            finally:
                self.depth -= 1
        if c == '"':
            return self.string()
        if self.templates and text.startswith("${", self.pos):
            start = self.pos
            interp = self.interp()
            return Str(self.span(start, self.pos), [interp])
        if self.templates and text.startswith("%{", self.pos):
            raise TemplateDirective()
        for word, node in (("true", True), ("false", False), ("null", None)):
            if text.startswith(word, self.pos):
                start = self.pos
                self.pos += len(word)
                sp = self.span(start, self.pos)
                return Null(sp) if node is None else Bool(sp, node)
        m = _NUM_RE.match(text, self.pos)
        if m:
            self.pos = m.end()
            return Num(self.span(m.start(), m.end()), m.group(0))
        raise self.error("invalid JSON: unexpected character")

    def interp(self) -> Interp:
        """`${ ... }` with nested braces and quoted strings; pos is at `$`."""
        text = self.text
        start = self.pos
        i = start + 2
        depth = 1
        in_str = False
        while i < len(text):
            ch = text[i]
            if in_str:
                if ch == "\\":
                    i += 1
                elif ch == '"':
                    in_str = False
            elif ch == '"':
                in_str = True
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        else:
            raise self.error("invalid template: unterminated ${ interpolation", start)
        self.pos = i + 1
        span = self.span(start, self.pos)
        inner = text[start + 2 : i]
        return Interp(span, inner.strip(), interp_expr(self.src, span, inner))

    def obj(self) -> Obj:
        start = self.pos
        self.pos += 1
        items: list[ObjItem] = []
        self.ws()
        if self.text.startswith("}", self.pos):
            self.pos += 1
            return Obj(self.span(start, self.pos), items)
        while True:
            self.ws()
            if self.pos >= len(self.text) or self.text[self.pos] != '"':
                if self.text.startswith("}", self.pos):
                    raise self.error("invalid JSON: trailing comma before '}'")
                raise self.error("invalid JSON: expected a quoted key")
            key_start = self.pos
            key = self.string()
            key_end = self.pos
            self.ws()
            if not self.text.startswith(":", self.pos):
                raise self.error("invalid JSON: expected ':' after a key")
            self.pos += 1
            self.ws()
            val = self.value()
            items.append(
                ObjItem(
                    key.value if isinstance(key, Str) else None,
                    self.span(key_start, key_end),
                    val,
                    self.span(key_start, self.pos),
                )
            )
            self.ws()
            if self.text.startswith(",", self.pos):
                self.pos += 1
                continue
            if self.text.startswith("}", self.pos):
                self.pos += 1
                return Obj(self.span(start, self.pos), items)
            raise self.error("invalid JSON: expected ',' or '}'")

    def lst(self) -> Lst:
        start = self.pos
        self.pos += 1
        items: list[Expr] = []
        self.ws()
        if self.text.startswith("]", self.pos):
            self.pos += 1
            return Lst(self.span(start, self.pos), items)
        while True:
            self.ws()
            if self.text.startswith("]", self.pos):
                raise self.error("invalid JSON: trailing comma before ']'")
            items.append(self.value())
            self.ws()
            if self.text.startswith(",", self.pos):
                self.pos += 1
                continue
            if self.text.startswith("]", self.pos):
                self.pos += 1
                return Lst(self.span(start, self.pos), items)
            raise self.error("invalid JSON: expected ',' or ']'")

    def string(self) -> Str:
        text = self.text
        start = self.pos
        i = start + 1
        parts: list[str | Interp] = []
        buf: list[str] = []
        n = len(text)
        while True:
            if i >= n:
                raise self.error("invalid JSON: unterminated string", start)
            ch = text[i]
            if ch == '"':
                i += 1
                break
            if ch == "\\":
                if i + 1 >= n:
                    raise self.error("invalid JSON: unterminated string", start)
                esc = text[i + 1]
                if esc == "u":
                    hexd = text[i + 2 : i + 6]
                    if len(hexd) != 4 or not all(h in "0123456789abcdefABCDEF" for h in hexd):
                        raise self.error("invalid JSON: bad \\u escape", i)
                    buf.append(chr(int(hexd, 16)))
                    i += 6
                    continue
                if esc not in _ESC:
                    raise self.error("invalid JSON: bad escape sequence", i)
                buf.append(_ESC[esc])
                i += 2
                continue
            if self.templates and ch == "$" and text.startswith("$${", i):
                buf.append("${")
                i += 3
                continue
            if self.templates and ch == "$" and text.startswith("${", i):
                if buf:
                    parts.append("".join(buf))
                    buf = []
                self.pos = i
                parts.append(self.interp())
                i = self.pos
                continue
            if self.templates and ch == "%" and text.startswith("%{", i):
                raise TemplateDirective()
            if ch == "\n" and not self.lenient:
                where = self.off(i)
                raise LineBreakInString("invalid JSON: line break inside a string", self.src.line_col(where)[0])
            buf.append(ch)
            i += 1
        if buf or not parts:
            parts.append("".join(buf))
        self.pos = i
        return Str(self.span(start, i), parts)


def scan_json(
    src: SourceFile,
    text: str | None = None,
    *,
    base: int = 0,
    offsets: list[int] | None = None,
    templates: bool = True,
    lenient: bool = False,
) -> Expr:
    """Parse JSON (default: the whole file) into model expressions with spans into `src`.
    `lenient` accepts literal line breaks inside strings (read as `\\n`)."""
    body = src.text if text is None else text
    if body.startswith("\ufeff") and text is None:
        body = body[1:]
        base = 1
    return JsonScanner(src, body, base=base, offsets=offsets, templates=templates, lenient=lenient).parse()


def scan_json_leniently(
    src: SourceFile,
    text: str | None = None,
    *,
    base: int = 0,
    templates: bool = True,
) -> tuple[Expr, LineBreakInString | None]:
    """`scan_json`; when the only fault is line breaks inside strings, the document read with them
    as `\\n`, and that error (still to be reported: exit code 2) beside it."""
    try:
        return scan_json(src, text, base=base, templates=templates), None
    except LineBreakInString as exc:
        try:
            return scan_json(src, text, base=base, templates=templates, lenient=True), exc
        except (EcsfixError, TemplateDirective):
            raise exc from None


def decode_string(expr: Str) -> tuple[str, list[int]] | None:
    """The decoded text of a JSON string node and, per character, its offset in the source.

    Used for JSON documents embedded in JSON strings (plan `container_definitions`, `.tf.json`).
    Returns None when the string holds interpolations."""
    if expr.is_template:
        return None
    src_text = expr.span.file.text
    i = expr.span.start + 1
    end = expr.span.end - 1
    out: list[str] = []
    offs: list[int] = []
    while i < end:
        ch = src_text[i]
        if ch == "\\" and i + 1 < end:
            esc = src_text[i + 1]
            if esc == "u":
                out.append(chr(int(src_text[i + 2 : i + 6], 16)))
                offs.append(i)
                i += 6
                continue
            out.append(_ESC.get(esc, esc))
            offs.append(i)
            i += 2
            continue
        out.append(ch)
        offs.append(i)
        i += 1
    offs.append(end)  # sentinel: where the character after the last one would start
    return "".join(out), offs


__all__ = ["JsonScanner", "LENIENT_NOTE", "LineBreakInString", "TemplateDirective", "scan_json",
           "scan_json_leniently", "decode_string", "interp_expr", "Other"]
