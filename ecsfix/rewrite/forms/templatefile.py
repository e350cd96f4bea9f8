"""`container_definitions = templatefile("containers.json.tpl", { ... })`: JSON in a template.

A value's `${var}` parts are template variables: each moves as the expression passed for it
(a literal map of variables is required). The generated ARNs join the call's variables.
"""

from __future__ import annotations

import re

from ...model import Call, Expr, Obj
from ..hclgen import add_map_item
from ..plan import ModuleRewrite, Plan
from .base import ResourceForm, template_expression


class Templatefile(ResourceForm):
    json_syntax = True
    templated = True

    @property
    def variables(self) -> Obj | None:
        """The literal map of template variables, when the call has one."""
        cd = self.cd
        if isinstance(cd, Call) and len(cd.args) == 2 and isinstance(cd.args[1], Obj):
            return cd.args[1]
        return None

    def refusal(self, mr: ModuleRewrite) -> str | None:
        return "templatefile() variables are not a literal map" if self.variables is None else None

    def expression(self, at: Expr) -> str | None:
        return template_expression(at, heredoc=False, template_vars=self.variables, resolve_vars=True)

    def finish(self, mr: ModuleRewrite, plan: Plan, template_vars: list[tuple[str, str]]) -> str | None:
        variables = self.variables
        assert variables is not None
        for k, v in template_vars:
            if not re.search(r"\b" + re.escape(k) + r"\b", variables.span.text):
                add_map_item(plan, variables, k, v)
        return None
