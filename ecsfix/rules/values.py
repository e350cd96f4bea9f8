"""How an environment value is seen by the rules: its text (for pattern checks) and a preview
that is safe to print (a redacted literal, or the reference it comes from)."""

from __future__ import annotations

from dataclasses import dataclass

from ..model import Bool, Expr, Interp, Null, Num, Ref, Str, Value
from ..secrets import redact


@dataclass(frozen=True)
class ValueView:
    text: str | None  # literal text to check; `${...}` stands for unknown pieces; None = unknown
    preview: str | None  # safe to print
    literal: bool  # a literal value is written in the repository (must be rotated when moved)


def view(value: Value | None) -> ValueView:
    if value is None:
        return ValueView(None, None, False)
    return view_expr(value.resolved)


def view_expr(expr: Expr | None) -> ValueView:
    if isinstance(expr, Str):
        if not expr.is_template:
            text = expr.value or ""
            return ValueView(text, redact(text) if text else '""', True)
        pieces = [p if isinstance(p, str) else "${" + p.source + "}" for p in expr.parts]
        text = "".join(pieces)
        literal_part = "".join(p for p in expr.parts if isinstance(p, str))
        if not literal_part.strip():
            interp = expr.parts[0]
            assert isinstance(interp, Interp)
            return ValueView(None, interp.source, False)
        return ValueView(text, redact(text), True)
    if isinstance(expr, Num):
        return ValueView(expr.source, expr.source, True)
    if isinstance(expr, Bool):
        return ValueView("true" if expr.value else "false", "true" if expr.value else "false", True)
    if isinstance(expr, Null):
        return ValueView("", "null", False)
    if isinstance(expr, Ref):
        return ValueView(None, expr.source, False)
    return ValueView(None, None, False)
