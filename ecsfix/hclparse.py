"""HCL native syntax -> `model` blocks and expressions, with tree-sitter-hcl.

tree-sitter is used as a *locator*: every node becomes a span into the original text, which is never
re-printed. It reads files first because python-hcl2's import and LALR grammar load alone cost
~0.25 s (over SPEC §8's one-file-scan budget of 150 ms) and its parse several times more per file.

tree-sitter recovers from syntax errors; ecsfix does not: a tree with an ERROR or MISSING node is
"not valid HCL" at the first such node's line, as Terraform would refuse the file, unless
python-hcl2 (`hclparse_lark`, the parser ecsfix used before) can read it: tree-sitter-hcl's grammar
has holes (`1e5` needs a decimal point there). The tests hold the two converters to the same model.
"""

from __future__ import annotations

import bisect
import re
from typing import Any

from .hclescape import unescape
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

_parser: Any = None


def _ts_parser() -> Any:
    """The tree-sitter parser for HCL (created once: ~15 ms with its import)."""
    global _parser
    if _parser is None:
        import tree_sitter_hcl
        from tree_sitter import Language, Parser

        _parser = Parser(Language(tree_sitter_hcl.language()))
    return _parser


class BlockLinesError(EcsfixError):
    """A multi-line block whose body does not start (or end) on a line of its own: Terraform rejects
    it; tree-sitter-hcl and python-hcl2 both accept it, so no fallback parser is asked."""


def parse_file(src: SourceFile, base: int = 0, text: str | None = None) -> list[Block]:
    """Parse `text` (default: the whole file) whose first character is at offset `base`."""
    tree = FileTree(src, base, text)
    if tree.error is not None:
        from . import hclparse_lark  # the second opinion, imported only for a file tree-sitter rejects

        message, line, exact = tree.error
        try:
            return hclparse_lark.parse_file(src, base, text)
        except EcsfixError as exc:
            # tree-sitter's recovery can start an ERROR node lines before the fault; python-hcl2
            # stops at the first token it cannot take
            raise EcsfixError(message, line if exact or exc.line is None else exc.line) from None
    try:
        return tree.all_blocks()
    except BlockLinesError:  # Terraform's rule that python-hcl2 does not apply either
        raise
    except EcsfixError as exc:  # a rule tree-sitter does not apply (a line break ending an attribute)
        from . import hclparse_lark

        try:
            return hclparse_lark.parse_file(src, base, text)
        except EcsfixError:
            raise exc from None
    except (AttributeError, IndexError, ValueError):  # a tree shape we do not know: never a traceback
        from . import hclparse_lark

        return hclparse_lark.parse_file(src, base, text)


def parse_attributes(src: SourceFile) -> dict[str, Attribute]:
    """The top-level attributes of an HCL file such as `terraform.tfvars` (a file that does not
    parse has none: Terraform reports it when it reads it)."""
    tree = FileTree(src)
    if tree.error is not None:
        return {}
    try:
        return tree.attributes()
    except (EcsfixError, AttributeError, IndexError, ValueError):
        return {}


def parse_tree(src: SourceFile) -> FileTree | None:
    """The whole file parsed once, its top-level blocks converted only when asked for; None when
    tree-sitter rejects the file (then `parse_file` gives the blocks or the error)."""
    tree = FileTree(src)
    return tree if tree.error is None else None


class FileTree:
    """One tree-sitter parse of a file (or of `text` at offset `base`)."""

    def __init__(self, src: SourceFile, base: int = 0, text: str | None = None):
        body_text = src.text if text is None else text
        if body_text.startswith("\ufeff"):  # a BOM is kept in the file but is not HCL
            body_text = body_text[1:]
            base += 1
        data = body_text.encode("utf-8", "surrogatepass")
        root = _ts_parser().parse(data).root_node
        self.conv = _Converter(src, base, body_text, data)
        self.error: tuple[str, int | None, bool] | None = None
        self._tops: list[Any] = []
        self._attributes: list[Any] = []
        self._done: dict[int, Block] = {}
        if root.has_error:
            bad = _first_error(root)
            message, at = _error_message(bad, self.conv)
            line = at.start_point[0] + 1 if at is not None else None
            if line is not None and base:
                line += src.line_col(base)[0] - 1
            self.error = (message, line, at is not bad or (bad is not None and bad.is_missing))
            return
        self.conv.heredoc_ends = self.conv._heredoc_ends(root)
        for body in _named(root):
            if body.type == "body":
                self._tops.extend(c for c in _named(body) if c.type == "block")
                self._attributes.extend(c for c in _named(body) if c.type == "attribute")

    def attributes(self) -> dict[str, Attribute]:
        """The top-level attributes (a `.tfvars` file is nothing else)."""
        out: dict[str, Attribute] = {}
        for node in self._attributes:
            attr = self.conv.attribute(node)
            out[attr.name] = attr
        return out

    def _block(self, node: Any) -> Block:
        key = node.start_byte
        if key not in self._done:
            self._done[key] = self.conv.block(node)
        return self._done[key]

    def all_blocks(self) -> list[Block]:
        return [self._block(n) for n in self._tops]

    def blocks(self, btype: str, needle: str, labels: list[str]) -> list[Block]:
        """Top-level blocks of type `btype` whose text contains `needle` and whose header does not
        show other leading labels than `labels`; only those are converted."""
        conv = self.conv
        out: list[Block] = []
        for node in self._tops:
            kids = node.named_children
            if conv.slice(kids[0]) != btype:
                continue
            start, end = conv.off(node.start_byte), conv.off(node.end_byte)
            if needle not in conv.src.text[start:end]:
                continue
            if labels:
                written: list[str] = []
                for k in kids[1:]:
                    label = conv.label(k)
                    if label is None:
                        break
                    written.append(label)
                if written[: len(labels)] != labels:
                    continue
            out.append(self._block(node))
        return out


def _first_error(node: Any) -> Any:
    """The first ERROR or MISSING node in document order (None if the flag has no node behind it).
    Iterative: an erroneous tree can be deeper than Python's recursion limit."""
    stack = [node]
    while stack:
        n = stack.pop()
        if n.is_error or n.is_missing:
            return n
        stack.extend(reversed([c for c in n.children if c.has_error or c.is_missing]))
    return None


def _error_message(bad: Any, conv: _Converter) -> tuple[str, Any]:
    """What is wrong, and the node whose line to report."""
    if bad is None:
        return "not valid HCL: the parser could not read this file", None
    if bad.is_missing:
        at = bad.parent if bad.type == "heredoc_identifier" else bad  # a heredoc without its end: its start
        return f"not valid HCL: missing {_describe(bad.type)} (check brackets, quotes and commas)", at
    for c in bad.children:
        if c.type in ("template_if_intro", "template_for_intro") and "%{" in conv.slice(bad):
            return "not valid HCL: a template directive (%{ if } or %{ for }) without its end", c
    return "not valid HCL: unexpected token (check quotes, brackets and commas)", bad


_PUNCT = {"}": "`}`", "]": "`]`", ")": "`)`", '"': "a closing quote", "=": "`=`", "block_end": "`}`",
          "object_end": "`}`", "tuple_end": "`]`", "quoted_template_end": "a closing quote",
          "heredoc_identifier": "the heredoc's closing marker", "template_interpolation_end": "`}`"}


def _describe(kind: str) -> str:
    return _PUNCT.get(kind, f"`{kind}`" if not kind.isidentifier() else kind.replace("_", " "))


def _named(node: Any) -> list[Any]:
    """Named children without comments."""
    return [c for c in node.named_children if c.type != "comment"]


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_MAX_DEPTH = 300  # nested expression nodes (about three per level of brackets)
# Nodes inside which line breaks are free: brackets, braces, strings, heredocs, `for` expressions.
_ENCLOSED = frozenset({"tuple", "object", "for_tuple_expr", "for_object_expr", "template_expr", "string_lit",
                       "quoted_template", "heredoc_template", "index", "new_index", "legacy_index", "splat"})


class _Converter:
    def __init__(self, src: SourceFile, base: int, text: str, data: bytes):
        self.src = src
        self.base = base
        self.data = data
        self.heredoc_ends: dict[int, int] = {}
        self.depth = 0
        # byte offset -> character offset: identity for ASCII text, else corrected per run of
        # non-ASCII characters (a Japanese comment is one run): where each run starts and ends in
        # bytes, and the extra bytes (UTF-8 over characters) before and after it
        self._run_start: list[int] = []
        self._run_end: list[int] = []
        self._extra_before: list[int] = []
        self._extra_after: list[int] = []
        if not text.isascii():
            extra = 0
            for m in _NON_ASCII.finditer(text):
                n = len(m.group().encode("utf-8", "surrogatepass"))
                self._run_start.append(m.start() + extra)
                self._run_end.append(m.start() + extra + n)
                self._extra_before.append(extra)
                extra += n - len(m.group())
                self._extra_after.append(extra)

    def _heredoc_ends(self, root: Any) -> dict[int, int]:
        """End byte of every heredoc -> the byte after its closing marker's line break: a node that
        ends with a heredoc ends there (python-hcl2's heredoc token, and so the model, includes it)."""
        out: dict[int, int] = {}
        if b"<<" not in self.data:
            return out
        stack = [root]
        while stack:
            node = stack.pop()
            if node.type == "heredoc_template":
                e = node.end_byte
                nxt = self.data[e : e + 2]
                out[e] = e + (2 if nxt == b"\r\n" else 1 if nxt[:1] == b"\n" else 0)
            elif node.child_count:
                stack.extend(node.named_children)
        return out

    def off(self, byte: int) -> int:
        if not self._run_start:
            return self.base + byte
        k = bisect.bisect_right(self._run_start, byte) - 1
        if k < 0:
            return self.base + byte
        if byte >= self._run_end[k]:
            return self.base + byte - self._extra_after[k]
        start = self._run_start[k]  # inside a run: count its characters up to `byte`
        inside = self.data[start:byte].decode("utf-8", "surrogatepass")
        return self.base + start - self._extra_before[k] + len(inside)

    def span(self, node: Any) -> Span:
        end = node.end_byte
        return Span(self.src, self.off(node.start_byte), self.off(self.heredoc_ends.get(end, end)))

    def slice(self, node: Any) -> str:
        return self.data[node.start_byte : node.end_byte].decode("utf-8", "surrogatepass")

    def label(self, node: Any) -> str | None:
        """A block label (`"name"` or a bare identifier), else None."""
        if node.type == "string_lit":
            return unescape(self.slice(node)[1:-1])
        if node.type == "identifier":
            return self.slice(node)
        return None

    def block(self, node: Any) -> Block:
        kids = _named(node)
        btype = self.slice(kids[0])
        labels: list[str] = []
        attributes: dict[str, Attribute] = {}
        blocks: list[Block] = []
        body_span: Span | None = None
        start_brace = None
        for k in kids[1:]:
            t = k.type
            label = self.label(k)
            if label is not None:
                labels.append(label)
            elif t == "block_start":
                start_brace = k
            elif t == "body":
                body_span = self.span(k)
                for item in _named(k):
                    if item.type == "attribute":
                        attr = self.attribute(item)
                        attributes[attr.name] = attr
                    elif item.type == "block":
                        blocks.append(self.block(item))
        span = self.span(node)
        if start_brace is not None and body_span is not None:
            self._check_block_lines(node, start_brace, body_span)
        if body_span is None:  # empty block `x {}`: the body is between the braces
            inner = span.start + span.text.rfind("}")
            i = self.off(start_brace.end_byte) if start_brace is not None else inner
            while i < inner and self.src.text[i] in " \t\r":
                i += 1
            body_span = Span(self.src, i, inner)  # python-hcl2: a line break or comment opens the body
        elif start_brace is not None:
            body_span = self._body_extent(start_brace, body_span)
        return Block(btype, labels, span, body_span, attributes, blocks)

    def _check_block_lines(self, node: Any, brace: Any, items: Span) -> None:
        """A block that spans several lines starts its body on a new line after `{` and ends it with
        a line break before `}` (HCL's rule, which tree-sitter does not apply); a one-line block
        `x { a = 1 }` holds at most one argument and is checked by Terraform, not here."""
        text = self.src.text
        brace_at = self.off(brace.end_byte)
        end_at = self.off(node.end_byte)
        if "\n" not in text[brace_at:end_at]:
            return
        if "\n" not in text[brace_at:items.start]:
            raise BlockLinesError("an argument on the same line as the block's `{` makes a single-line block, "
                                  "which must close on that line", self.src.line_col(items.start)[0])
        close = text.rfind("}", items.end, end_at)
        if close != -1 and "\n" not in text[items.end - 1:close]:  # a heredoc's item ends after its line break
            raise BlockLinesError("an argument must end with a line break before the block's closing `}`",
                                  self.src.line_col(close)[0])

    def _body_extent(self, brace: Any, items: Span) -> Span:
        """The body as python-hcl2 saw it: from the line break after `{` (a comment on the brace's
        line belongs to the body) to the end of the last line break or comment before `}`."""
        text = self.src.text
        start = self.off(brace.end_byte)
        i = start
        while i < items.start and text[i] in " \t\r":
            i += 1
        end = items.end
        j = end
        n = len(text)
        while j < n:
            c = text[j]
            if c in " \t\r\n":
                j += 1
            elif c == "#" or text.startswith("//", j):
                nl = text.find("\n", j)
                j = n if nl == -1 else nl + 1
            elif text.startswith("/*", j):
                close = text.find("*/", j + 2)
                j = n if close == -1 else close + 2
            else:
                break
        k = j
        while k > end and text[k - 1] in " \t":
            k -= 1
        if k > end and text[k - 1] == "\n":  # the indentation before `}` belongs to the last line break
            k = j
        return Span(self.src, i, k)

    def single_line(self, node: Any) -> None:
        """Terraform ends an attribute or an object element at a line break outside brackets,
        parentheses, strings and heredocs (`x =\n 1`, `a\n.b` are errors there); tree-sitter-hcl
        reads such a line break as a space. Raise where Terraform would stop."""
        pieces: list[tuple[int, int]] = []
        stack = [node]
        while stack:
            n = stack.pop()
            t = n.type
            if t in _ENCLOSED or t == "expression" and n.child_count and n.children[0].type == "(":
                pieces.append((n.start_byte, n.end_byte))
            elif t == "function_call":  # the name, then `( ... )` whole
                kids = n.children
                pieces.append((kids[0].start_byte, kids[0].end_byte))
                if len(kids) > 1:
                    pieces.append((kids[1].start_byte, kids[-1].end_byte))
            elif t == "comment":
                continue
            elif not n.child_count:
                pieces.append((n.start_byte, n.end_byte))
            else:
                stack.extend(reversed(n.children))
        for (_, end), (start, _) in zip(pieces, pieces[1:], strict=False):
            if b"\n" in self.data[end:start]:
                raise EcsfixError("not valid HCL: a line break inside an expression (outside brackets), "
                                  "where Terraform ends the attribute", self.src.line_col(self.off(end))[0])

    def attribute(self, node: Any) -> Attribute:
        self.single_line(node)
        kids = _named(node)
        ident, value_node = kids[0], kids[-1]
        name_span = self.span(ident)
        return Attribute(name_span.text, self.expr(value_node), self.span(node), name_span)

    def expr(self, node: Any) -> Expr:
        """`node` as an expression; nested deeper than any real configuration (recursion would
        overflow), an uninterpreted `Other`."""
        self.depth += 1
        try:
            if self.depth > _MAX_DEPTH:
                return Other(self.span(node), "expression")
            return self._expr(node)
        finally:
            self.depth -= 1

    def _expr(self, node: Any) -> Expr:
        t = node.type
        if t == "expression":
            kids = _named(node)
            if len(kids) == 1:
                return self.expr(kids[0])
            if not kids:
                return Other(self.span(node), "expression")
            first, last = kids[0], kids[-1]
            if len(kids) > 1 and last.type in ("get_attr", "index", "legacy_index"):
                return Ref(self.span(node), self.slice(node))
            if first.type == "expression" and node.children[0].type == "(":  # `(expr)` is expr
                return self.expr(first)
            return Other(self.span(node), "expression")
        span = self.span(node)
        if t == "literal_value":
            return self.expr(_named(node)[0])
        if t == "string_lit":
            return self.string(node)
        if t == "numeric_lit":
            return Num(span, span.text)
        if t == "null_lit":
            return Null(span)
        if t == "bool_lit":
            return Bool(span, span.text == "true")
        if t == "variable_expr":
            return Ref(span, span.text)
        if t == "collection_value":
            return self.expr(_named(node)[0])
        if t == "object":
            return self.object(node)
        if t == "tuple":
            return Lst(span, [self.expr(k) for k in _named(node) if k.type not in ("tuple_start", "tuple_end")])
        if t == "function_call":
            kids = _named(node)
            fname = self.slice(kids[0])
            args: list[Expr] = []
            for k in kids[1:]:
                if k.type == "function_arguments":
                    args = [self.expr(a) for a in _named(k) if a.type == "expression"]
            return Call(span, fname, args)
        if t == "template_expr":
            inner = _named(node)[0]
            if inner.type == "heredoc_template":
                return self.heredoc(inner)
            return self.string(inner)
        if t == "for_expr":
            return Other(span, "for expression", detail=self.for_parts(node))
        if t == "conditional":
            kids = [k for k in _named(node) if k.type == "expression"]
            return Other(span, "conditional", [self.expr(k) for k in kids[1:3]] if len(kids) == 3 else [])
        return Other(span, "expression")

    def for_parts(self, node: Any) -> ForExpr | None:
        """`[for k, v in coll : result]` (no `if`): its parts; None for object `for`s and conditions."""
        inner = _named(node)
        if len(inner) != 1 or inner[0].type != "for_tuple_expr":
            return None
        kids = _named(inner[0])
        intro = next((k for k in kids if k.type == "for_intro"), None)
        results = [k for k in kids if k.type == "expression"]
        if intro is None or len(results) != 1 or any(k.type == "for_cond" for k in kids):
            return None
        names = [self.slice(k) for k in _named(intro) if k.type == "identifier"]
        collection = [k for k in _named(intro) if k.type == "expression"]
        if len(names) not in (1, 2) or len(collection) != 1:
            return None
        return ForExpr(names[0] if len(names) == 2 else None, names[-1], self.expr(collection[0]),
                       self.expr(results[0]))

    def string(self, node: Any) -> Expr:
        """A quoted string or template. Literal text is read from the gaps between interpolations:
        tree-sitter's template_literal nodes leave out whitespace next to them."""
        span = self.span(node)
        parts: list[str | Interp] = []
        pos = node.start_byte + 1  # after the opening quote
        for part in _named(node):
            t = part.type
            if t in ("quoted_template_start", "quoted_template_end", "template_literal"):
                continue
            if t != "template_interpolation":
                return Other(span, "template directive")
            if part.start_byte > pos:
                parts.append(unescape(self.data[pos : part.start_byte].decode("utf-8", "surrogatepass")))
            ispan = self.span(part)
            inner = [k for k in _named(part) if k.type == "expression"]
            if not inner:
                raise EcsfixError("not valid HCL: an empty interpolation `${}`", ispan.line)
            parts.append(Interp(ispan, ispan.text[2:-1].strip().strip("~").strip(), self.expr(inner[0]) if inner else None))
            pos = part.end_byte
        end = node.end_byte - 1  # before the closing quote
        if end > pos:
            parts.append(unescape(self.data[pos:end].decode("utf-8", "surrogatepass")))
        return Str(span, parts)

    def object(self, node: Any) -> Obj:
        items: list[ObjItem] = []
        for el in _named(node):
            if el.type != "object_elem":
                continue
            self.single_line(el)
            kids = [k for k in _named(el) if k.type == "expression"]
            key_node, val_node = kids[0], kids[-1]
            key_span = self.span(key_node)
            key: str | None = None
            inner = _named(key_node)
            if len(inner) == 1:
                kind = inner[0].type
                if kind == "variable_expr":  # `in = 1` is a name too
                    key = key_span.text
                elif kind == "literal_value":
                    lit = _named(inner[0])[0]
                    if lit.type == "string_lit":
                        sv = self.string(lit)
                        key = sv.value if isinstance(sv, Str) else None
                    else:  # `true = 1`, `3 = 4`
                        key = key_span.text
                elif kind == "template_expr" and _named(inner[0])[0].type == "quoted_template":
                    sv = self.string(_named(inner[0])[0])
                    key = sv.value if isinstance(sv, Str) else None
            items.append(ObjItem(key, key_span, self.expr(val_node), self.span(el)))
        return Obj(self.span(node), items)

    def heredoc(self, node: Any) -> Heredoc:
        kids = _named(node)
        strip = self.slice(kids[0]) == "<<-"
        marker = self.slice(kids[1])
        span = self.span(node)
        text = span.text
        first_nl = text.find("\n")
        body_start = span.start + first_nl + 1
        last_nl = text.rstrip("\r\n").rfind("\n")  # the closing marker is the last line
        body_end = span.start + last_nl + 1 if last_nl >= first_nl else body_start
        return Heredoc(span, marker, strip, Span(self.src, body_start, max(body_start, body_end)))
