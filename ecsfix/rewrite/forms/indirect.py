"""`container_definitions` that name their form indirectly: `local.x` where the local holds
`templatefile(...)`, `jsonencode([...])`, a heredoc or `file(...)`; and the 0.11 wrapper
`"${data.template_file.x.rendered}"`. The form is the one of what they lead to; its edits are made
where that is written (inside the local, whose one user must be this task definition).
"""

from __future__ import annotations

from collections.abc import Mapping

from ...extract import form_of
from ...model import Expr, Ref, Str, TaskDefinition
from ..plan import ModuleRewrite
from .base import ResourceForm
from .local import Local, local_name, single_use


def underlying_form(
    mr: ModuleRewrite, td: TaskDefinition, cd: Expr, forms: Mapping[str, type[ResourceForm]]
) -> ResourceForm | str:
    """The form of `cd` (`forms` keyed by `extract.form_of`), or why it is not rewritten."""
    interp = cd.sole_interp() if isinstance(cd, Str) else None
    if interp is not None and interp.expr is not None:  # Terraform 0.11: "${data.template_file.x.rendered}"
        cd = interp.expr
    form = form_of(cd)
    if isinstance(cd, Ref) and form == "local" and cd.source.count(".") == 1:
        attr = mr.module.local(local_name(cd))
        if attr is None:
            return f"{cd.source} is not defined in this module"
        held = forms.get(form_of(attr.value))
        if held is None or held is Local:
            return f"{cd.source} holds container definitions written as {form_of(attr.value)}; move the entries by hand"
        return single_use(mr, cd) or held(td, attr.value)
    form_type = forms.get(form)
    if form_type is None:
        return f"container definitions written as {form}; move the entries by hand"
    return form_type(td, cd)
