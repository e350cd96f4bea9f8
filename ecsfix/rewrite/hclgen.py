"""HCL and JSON text the planners write into the user's files: keys, strings, `secrets` items,
new items in an object constructor, new attributes in a block.

Everything here returns text or adds `Edit`s to a `Plan`; nothing knows which planner asks.
"""

from __future__ import annotations

import json
import re

from ..model import Block, Obj
from .edits import Edit, indent_of, line_start, newline_of
from .plan import Plan

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def hcl_key(name: str) -> str:
    """An object key: bare when it is an identifier, else quoted."""
    return name if IDENT.match(name) else '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def hcl_string(value: str) -> str:
    """An HCL quoted string with exactly this value (no interpolation)."""
    out = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    out = out.replace("\t", "\\t").replace("${", "$${").replace("%{", "%%{")
    return '"' + out + '"'


def secret_item(json_syntax: bool, name: str, value_from: str, spaced: bool) -> str:
    """One `secrets` list item, `{ name = ..., valueFrom = ... }` in HCL or JSON."""
    if json_syntax:
        n, v = json.dumps(name), json.dumps(value_from)
        return f'{{ "name": {n}, "valueFrom": {v} }}' if spaced else f'{{"name": {n}, "valueFrom": {v}}}'
    return f'{{ name = {hcl_string(name)}, valueFrom = "{value_from}" }}'


def add_map_item(plan: Plan, obj: Obj, key: str, expr: str) -> None:
    """Add `key = expr` to an HCL object constructor (multi-line: its own line; else after the last item)."""
    src = obj.span.file
    text = src.text
    close = obj.span.end - 1
    if obj.items and text[line_start(text, close) : close].strip() == "":
        indent = indent_of(text, obj.items[0].span.start)
        at = line_start(text, close)
        plan.add(src, Edit(at, at, f"{indent}{key} = {expr}{newline_of(text)}"))
    elif obj.items:
        last = obj.items[-1].span.end
        plan.add(src, Edit(last, last, f", {key} = {expr}"))
    else:
        plan.add(src, Edit(obj.span.start, obj.span.end, f"{{ {key} = {expr} }}"))


def add_block_attribute(plan: Plan, block: Block, line: str) -> None:
    """A new attribute on its own line before the block's closing brace, after a blank line."""
    src = block.file
    text = src.text
    nl = newline_of(text)
    close = block.span.end - 1
    at = line_start(text, close)
    first = min((a.span.start for a in block.attributes.values()), default=None)
    indent = indent_of(text, first) if first is not None else indent_of(text, close) + "  "
    previous = text[line_start(text, max(at - 1, 0)) : at]
    lead = "" if not previous.strip() else nl
    plan.add(src, Edit(at, at, lead + indent + line + nl))


def meta_of(block: Block) -> tuple[str, str]:
    """The block's `count`/`for_each` line (copied onto generated blocks) and the index it gives
    their addresses: "", "[each.key]" or "[count.index]"."""
    meta = ""
    for arg in ("for_each", "count"):
        if arg in block.attributes:
            meta = block.attributes[arg].span.text
    index = "[each.key]" if "for_each" in block.attributes else "[count.index]" if "count" in block.attributes else ""
    return meta, index


def instance_suffix(index: str) -> str:
    """What a generated name gets per instance so that `count`/`for_each` copies differ."""
    return {"[each.key]": "-${each.key}", "[count.index]": "-${count.index}"}.get(index, "")
