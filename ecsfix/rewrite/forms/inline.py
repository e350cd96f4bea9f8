"""`container_definitions = jsonencode([{ ... }])`: containers written as HCL in the resource.

The simplest form: entries are HCL objects, their values HCL expressions that move as written.
"""

from __future__ import annotations

from ...model import Expr
from .base import ResourceForm, hcl_expression


class Inline(ResourceForm):
    follow_local = True  # `environment = local.x`: the list in the local moves, when only this uses it

    def expression(self, at: Expr) -> str | None:
        return hcl_expression(at)
