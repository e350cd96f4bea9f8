"""`container_definitions = jsonencode(local.containers)`: containers written as HCL in a local.

The entries move inside the local, which is safe only when this task definition is its one user.
"""

from __future__ import annotations

from ...model import Call, Expr, Ref
from ..containers import local_uses
from ..plan import ModuleRewrite
from .base import ResourceForm, hcl_expression


class Local(ResourceForm):
    follow_local = True

    def refusal(self, mr: ModuleRewrite) -> str | None:
        cd = self.cd
        assert isinstance(cd, Call) and cd.args and isinstance(cd.args[0], Ref)
        local_name = cd.args[0].source.split(".", 1)[1].split("[", 1)[0].split(".", 1)[0]
        if local_uses(mr, local_name) != 1:
            return f"local.{local_name} is used more than once; move the entries by hand"
        return None

    def expression(self, at: Expr) -> str | None:
        return hcl_expression(at)
