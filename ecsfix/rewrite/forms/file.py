"""`container_definitions = file("containers.json")`: containers written as JSON in a file.

The JSON file gets `"valueFrom": "${NAME_arn}:KEY::"` and the call becomes `templatefile()` with
the ARNs as its variables; refused when the file already holds `${` or `%{`, which templatefile()
would then evaluate.
"""

from __future__ import annotations

from ...model import Call, Expr
from ..edits import Edit
from ..plan import ModuleRewrite, Plan
from .base import ResourceForm, call_of, template_expression


class File(ResourceForm):
    json_syntax = True
    templated = True

    def refusal(self, mr: ModuleRewrite) -> str | None:
        if not (isinstance(self.cd, Call) and len(self.cd.args) == 1):
            return "unexpected file() call"
        return None

    def expression(self, at: Expr) -> str | None:
        return template_expression(at, heredoc=False, template_vars=None, resolve_vars=False)

    def finish(self, mr: ModuleRewrite, plan: Plan, template_vars: list[tuple[str, str]]) -> str | None:
        cd = call_of(self)
        if self._template_unsafe():
            return "the JSON file contains `${` or `%{`, which templatefile() would evaluate"
        assert self.td.block is not None
        items = ", ".join(f"{k} = {v}" for k, v in template_vars)
        plan.add(self.td.block.file, Edit(cd.span.start, cd.span.end,
                                          f"templatefile({cd.args[0].span.text}, {{ {items} }})"))
        return None

    def _template_unsafe(self) -> bool:
        files = {c.obj.span.file.path: c.obj.span.file for c in self.td.containers if c.obj is not None}
        return any("${" in f.text or "%{" in f.text for f in files.values())
