"""`container_definitions = <<EOF [ ... ] EOF`: containers written as JSON in a heredoc.

The heredoc is an HCL template: a JSON string's `${...}` parts are HCL expressions and move as
interpolations; an unquoted `${jsonencode(x)}` moves as `x`.
"""

from __future__ import annotations

from ...model import Expr
from .base import ResourceForm, template_expression


class Heredoc(ResourceForm):
    json_syntax = True

    def expression(self, at: Expr) -> str | None:
        return template_expression(at, heredoc=True, template_vars=None, resolve_vars=False)
