"""What a module says about the variables an environment value comes from: their declared type
(a `bool` or `number` variable never holds a secret, whatever the entry's name)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..model import Interp, Ref, Str, Value

if TYPE_CHECKING:
    from ..resolve import Resolver

SCALAR_TYPES = frozenset({"bool", "number"})


def variable_ref(value: Value | None) -> Ref | None:
    """The `var.x` reference a value comes down to, when it is one."""
    if value is None:
        return None
    expr = value.resolved
    if isinstance(expr, Str):
        interp = expr.sole_interp()
        expr = interp.expr if isinstance(interp, Interp) and interp.expr is not None else expr
    return expr if isinstance(expr, Ref) and expr.root == "var" else None


def scalar_typed(value: Value | None, resolver: Resolver | None) -> bool:
    """The value is a variable declared `bool` or `number` (ATLANTIS_WRITE_GIT_CREDS = var.x)."""
    ref = variable_ref(value)
    if ref is None or resolver is None:
        return False
    declared = resolver.declared(ref.source)
    return declared is not None and declared.type in SCALAR_TYPES
