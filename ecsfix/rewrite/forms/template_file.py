"""`container_definitions = data.template_file.x.rendered`: JSON in a template the 0.11-era
template provider renders (`resource "template_file"` too).

As for `templatefile()`: a value's `${var}` parts are template variables and move as the
expressions passed for them, and the generated ARNs join the variables, whether written as an
attribute (`vars = { ... }`) or as a 0.11 block (`vars { ... }`); a data source without variables
gets `vars = { ... }`. The template must be a file (`file("x.tpl")` or `"${file("x.tpl")}"`).
With `count`/`for_each`, the data source must repeat exactly like the task definition, so that
each instance's ARN is the one its task definition reads.
"""

from __future__ import annotations

import re

from ...model import Attribute, Block, Call, Expr, Obj, ObjItem, Ref, Str
from ..edits import Edit, indent_of, line_start, newline_of
from ..hclgen import add_block_attribute, add_map_item, meta_of
from ..plan import ModuleRewrite, Plan
from .base import ResourceForm, template_expression

_RENDERED = re.compile(r"^(data\.)?template_file\.([A-Za-z_][\w-]*)(\[[^\[\]]*\])?\.rendered$")


class TemplateFile(ResourceForm):
    json_syntax = True
    templated = True

    block: Block | None = None  # the data source (or resource) rendering the template
    vars_attr: Attribute | None = None  # `vars = { ... }`
    vars_block: Block | None = None  # `vars { ... }` (Terraform 0.11)

    def refusal(self, mr: ModuleRewrite) -> str | None:
        m = _RENDERED.match(self.cd.span.text.strip()) if isinstance(self.cd, Ref) else None
        if m is None:
            return "container definitions are not `data.template_file.NAME.rendered`"
        kind, name, index = m.group(1), m.group(2), m.group(3) or ""
        address = f"{'data.' if kind else ''}template_file.{name}"
        block = mr.module.data("template_file", name) if kind else mr.module.resource("template_file", name)
        if block is None:
            return f"{address} is not defined in this module"
        uses = sum(len(re.findall(r"(?<![\w.])" + re.escape(address) + r"\b", src.text)) for src in mr.module.hcl_files())
        if uses != 1:
            return f"{address} is used more than once; move the entries by hand"
        template = block.attr("template")
        interp = template.sole_interp() if isinstance(template, Str) else None
        if interp is not None and interp.expr is not None:  # 0.11: "${file("x.tpl")}"
            template = interp.expr
        if not (isinstance(template, Call) and template.name == "file"):
            return f"the template of {address} is not read with file(); move the entries by hand"
        assert self.td.block is not None
        td_meta, td_index = meta_of(self.td.block)
        meta, own_index = meta_of(block)
        if td_meta.split("=", 1)[-1].strip() != meta.split("=", 1)[-1].strip() or index != own_index:
            return (f"{address} does not repeat like the task definition (count/for_each and its index differ); "
                    "move the entries by hand")
        self.block = block
        self.vars_attr = block.attributes.get("vars")
        self.vars_block = next((b for b in block.blocks if b.type == "vars"), None)
        if self.vars_attr is not None and not isinstance(self.vars_attr.value, Obj):
            return f"the vars of {address} are not a literal map"
        return None

    @property
    def variables(self) -> Obj | None:
        """The template's variables as one object (a `vars { }` block read as one)."""
        if self.vars_attr is not None and isinstance(self.vars_attr.value, Obj):
            return self.vars_attr.value
        if self.vars_block is not None:
            return Obj(self.vars_block.span, [ObjItem(a.name, a.name_span, a.value, a.span)
                                              for a in self.vars_block.attributes.values()])
        return None

    def expression(self, at: Expr) -> str | None:
        return template_expression(at, heredoc=False, template_vars=self.variables, resolve_vars=True)

    def finish(self, mr: ModuleRewrite, plan: Plan, template_vars: list[tuple[str, str]]) -> str | None:
        assert self.block is not None
        variables = self.variables
        new = [(k, v) for k, v in template_vars
               if variables is None or not re.search(r"\b" + re.escape(k) + r"\b", variables.span.text)]
        if self.vars_attr is not None and isinstance(self.vars_attr.value, Obj):
            for k, v in new:
                add_map_item(plan, self.vars_attr.value, k, v)
        elif self.vars_block is not None:
            if new and not _add_block_lines(plan, self.vars_block, new):
                return "its `vars { ... }` block is written on one line; move the entries by hand"
        elif new:
            text = self.block.file.text
            nl = newline_of(text)
            first = min((a.span.start for a in self.block.attributes.values()), default=None)
            indent = indent_of(text, first) if first is not None else "  "
            body = "".join(f"{indent}  {k} = {v}{nl}" for k, v in new)
            add_block_attribute(plan, self.block, f"vars = {{{nl}{body}{indent}}}")
        return None


def _add_block_lines(plan: Plan, block: Block, items: list[tuple[str, str]]) -> bool:
    """`k = v` lines before the closing brace of a multi-line `vars { }` block."""
    src = block.file
    text = src.text
    close = block.span.end - 1
    at = line_start(text, close)
    if text[at:close].strip():
        return False
    first = min((a.span.start for a in block.attributes.values()), default=None)
    indent = indent_of(text, first) if first is not None else indent_of(text, close) + "  "
    plan.add(src, Edit(at, at, "".join(f"{indent}{k} = {v}{newline_of(text)}" for k, v in items)))
    return True
