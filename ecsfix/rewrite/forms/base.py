"""What the EF001 form planners share: the form interface, and the value a moved entry takes.

A `ResourceForm` says what differs between the ways `container_definitions` can be written
(HCL or JSON items, how an entry's value is written outside the container, what the call needs
afterwards). `moved_value` is the one decision every planner makes per entry: refuse it, turn a
committed literal into a new variable (or keep it, on request), or carry its expression over.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from ...model import Bool, Call, EnvEntry, Expr, Num, Obj, Str, TaskDefinition
from ..hclgen import IDENT, hcl_string
from ..plan import ModuleRewrite, Plan


class Refuse(Exception):
    """This entry cannot be moved safely; the message says why (never a value)."""


@dataclass
class ResourceForm:
    """One form of `container_definitions` in an `aws_ecs_task_definition` resource.

    A form answers: are the containers JSON text (`json_syntax`)? Do the `valueFrom`s name
    template variables instead of references (`templated`)? Does `environment = local.x` lead to
    the list (`follow_local`)? Then, per task definition: `refusal` (why not at all, checked
    first), `expression` (an entry's value as HCL, or None when it cannot leave the template), and
    `finish` (edits to the call itself once the entries moved, or why the whole plan is dropped).
    """

    td: TaskDefinition
    cd: Expr  # the value of `container_definitions`

    json_syntax: ClassVar[bool] = False
    templated: ClassVar[bool] = False
    follow_local: ClassVar[bool] = False

    def refusal(self, mr: ModuleRewrite) -> str | None:
        return None

    def expression(self, at: Expr) -> str | None:
        raise NotImplementedError

    def finish(self, mr: ModuleRewrite, plan: Plan, template_vars: list[tuple[str, str]]) -> str | None:
        return None


def entry_at(entry: EnvEntry) -> str:
    """`FILE:LINE` where the entry is written (the summary's reference to it)."""
    return f"{entry.span.file.display}:{entry.span.line}"


def is_literal(entry: EnvEntry) -> bool:
    if entry.value is None:
        return True
    at = entry.value.at_entry
    return (isinstance(at, Str) and at.value is not None) or isinstance(at, (Num, Bool))


def moved_value(
    mr: ModuleRewrite, td: TaskDefinition, e: EnvEntry, label: str, variables: list[dict[str, str]], plan: Plan,
    written: Callable[[Expr], str | None],
) -> tuple[str | None, str | None]:
    """The HCL expression that gives the secret its value, and the new variable's name, if any.

    A literal becomes a new sensitive variable (added to `variables`), or with `--literal-values
    keep` is copied (and hidden from the printed diff); anything else is `written(value)`.
    Raises `Refuse` for a value that mixes a committed secret with references."""
    assert e.value is not None and e.name is not None
    at = e.value.at_entry
    if isinstance(at, Str) and at.is_template and mr.options.literal_values != "keep":
        from ...rules.values import view_expr
        from ...secrets import classify

        verdict = classify(None, view_expr(at).text, config=None)
        if verdict is not None and "interpolated from" not in verdict.why:
            raise Refuse(f"the value of {e.name} mixes a committed secret with references ({verdict.why}): "
                         "replace the secret part with a variable, then run ecsfix rewrite again")
    if is_literal(e):
        if mr.options.literal_values == "keep":
            plan.warnings.append(
                f"{td.address}: {e.name}: --literal-values keep copies a committed secret into the secret "
                "version; rotate it anyway"
            )
            if isinstance(at, Str) and at.value is not None:
                plan.hidden.add(at.value)
                return hcl_string(at.value), None
            plan.hidden.add(at.span.text)
            return at.span.text, None
        base = f"{label}_{re.sub(r'[^a-z0-9_]', '_', e.name.lower())}"
        var_name = mr.names.free(base, ("var",))
        description = hcl_string(f"{e.name} for {td.address} (set outside git)")[1:-1]
        variables.append({"name": var_name, "description": description})
        return f"var.{var_name}", var_name
    return written(at), None


def hcl_expression(at: Expr) -> str:
    """An HCL value as it is written (a lone `"${x}"` as `x`: terraform fmt would unwrap it)."""
    if isinstance(at, Str) and at.sole_interp() is not None:
        interp = at.sole_interp()
        assert interp is not None
        return interp.source.strip()
    return at.span.text


def template_expression(at: Expr, *, heredoc: bool, template_vars: Obj | None, resolve_vars: bool) -> str | None:
    """A JSON string value in a template (a heredoc, a file, a templatefile() template) as HCL.

    Its interpolations become HCL interpolations; with `resolve_vars` (templatefile) each must be a
    template variable and is replaced by the expression passed for it. An unquoted `${...}` is JSON
    text itself: only a heredoc's `${jsonencode(x)}` can be undone. None: cannot leave the template."""
    if not isinstance(at, Str):
        return None
    if not at.span.text.startswith('"'):
        interp = at.sole_interp()
        m = re.fullmatch(r"\s*jsonencode\((.*)\)\s*", interp.source, re.S) if interp is not None else None
        if m is None or not heredoc:
            return None
        return m.group(1).strip()
    pieces: list[str] = []
    for part in at.parts:
        if isinstance(part, str):
            pieces.append(hcl_string(part)[1:-1])
            continue
        source = part.source.strip()
        if resolve_vars:
            item = template_vars.item(source) if template_vars is not None and IDENT.match(source) else None
            found = item.value.span.text if item is not None else _substitute(source, template_vars)
            if found is None or "\n" in found:
                return None
            source = found
        pieces.append("${" + source + "}")
    if len(at.parts) == 1 and not isinstance(at.parts[0], str):
        return pieces[0][2:-1]
    return '"' + "".join(pieces) + '"'


_TOKEN = re.compile(r'"|(?<![\w.])[A-Za-z_][\w-]*')
_SIMPLE = re.compile(r"[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*|\[\d+\])*")


def _substitute(source: str, template_vars: Obj | None) -> str | None:
    """A template expression (`urlencode(token)`) with each template variable replaced by the
    expression passed for it; None when a name is not one (or a string makes it unclear)."""
    if template_vars is None:
        return None
    out: list[str] = []
    pos = 0
    for m in _TOKEN.finditer(source):
        name = m.group(0)
        if name == '"':
            return None
        if source[m.end():].lstrip().startswith("(") or name in ("true", "false", "null"):
            continue  # a function
        item = template_vars.item(name)
        if item is None:
            return None
        value = item.value.span.text
        if isinstance(item.value, (Str, Num, Bool)) and not (isinstance(item.value, Str) and item.value.is_template):
            return None  # a committed literal: never copied into the generated secret
        out += [source[pos:m.start()], value if _SIMPLE.fullmatch(value) else f"({value})"]
        pos = m.end()
    return "".join(out) + source[pos:]


def call_of(form: ResourceForm) -> Call:
    """The `container_definitions` call of a form that is one (file(), templatefile(), jsonencode())."""
    assert isinstance(form.cd, Call)
    return form.cd
