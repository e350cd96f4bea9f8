"""`container_definitions = jsonencode(local.containers)`: containers written as HCL in a local.

The entries move inside the local, which is safe only when this task definition is its one user.
(`local.x` holding another form is `indirect.underlying_form`'s.)
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
        if not (isinstance(cd, Call) and cd.args and isinstance(cd.args[0], Ref)):
            return "container definitions are a local this rewrite does not follow"
        return single_use(mr, cd.args[0])

    def expression(self, at: Expr) -> str | None:
        return hcl_expression(at)


def local_name(ref: Ref) -> str:
    """`local.x`, `local.x[0]`, `local.x.y` -> `x`."""
    return ref.source.split(".", 1)[1].split("[", 1)[0].split(".", 1)[0]


def single_use(mr: ModuleRewrite, ref: Ref) -> str | None:
    """Why the local cannot be edited for one task definition (another user), or None."""
    name = local_name(ref)
    if local_uses(mr, name) != 1:
        return f"local.{name} is used more than once; move the entries by hand"
    return None
