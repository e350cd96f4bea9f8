"""`resource` blocks of a module's `.tf.json` files, as HCL `Block`s, for the IAM model.

An execution role's grant can be written in JSON syntax (`ecsfix rewrite` puts the policy for a
`.tf.json` task definition in `ecsfix_secrets.tf.json`): each resource body is written out as the
HCL it stands for (`"${x}"` -> `x`, other strings keep their `${...}` as templates, `"//"`
comments dropped) and parsed, so that the IAM rules see its `role` and `policy` as they see HCL.
Only resources whose text holds the wanted hint are converted; a file that is not JSON is skipped
(the scan reports it).
"""

from __future__ import annotations

import json
import re

from .model import Block, EcsfixError, SourceFile

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def resource_blocks(src: SourceFile, hint: str) -> list[Block]:
    """The `resource` blocks of one `.tf.json` file whose type or body mentions `hint`."""
    if hint not in src.text:
        return []
    try:
        doc = json.loads(src.text)
    except ValueError:
        return []
    resources = doc.get("resource") if isinstance(doc, dict) else None
    groups = [resources] if isinstance(resources, dict) else [r for r in resources if isinstance(r, dict)] \
        if isinstance(resources, list) else []
    out: list[Block] = []
    for group in groups:
        for rtype, items in group.items():
            if not isinstance(items, dict) or not _IDENT.match(rtype):
                continue
            for label, body in items.items():
                if not isinstance(body, dict) or not _IDENT.match(label):
                    continue
                if hint not in rtype and hint not in json.dumps(body):
                    continue
                # the block starts on the line of its label in the file (messages cite that line)
                at = src.text.find(f'"{label}"', max(src.text.find(f'"{rtype}"'), 0))
                text = "\n" * src.text.count("\n", 0, max(at, 0)) + f'resource "{rtype}" "{label}" {{\n' + "".join(
                    f"  {key} = {_hcl(value)}\n" for key, value in body.items()
                    if key != "//" and _IDENT.match(key)) + "}\n"
                from .hclparse import parse_file

                try:
                    out.extend(parse_file(SourceFile(path=src.path, display=src.display, text=text)))
                except EcsfixError:
                    continue
    return out


def _sole_interpolation(value: str) -> str | None:
    """`${expr}` as the whole string (its braces balanced, not closed early) -> `expr`."""
    if not (value.startswith("${") and value.endswith("}")) or value.count("${") != 1:
        return None
    depth = 0
    for i, ch in enumerate(value[1:], 1):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth == 0 and i != len(value) - 1:
            return None
    return value[2:-1] if depth == 0 else None


def _hcl(value: object) -> str:
    if isinstance(value, str):
        inner = _sole_interpolation(value)
        if inner is not None:
            return inner
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_hcl(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_hcl(v)}" for k, v in value.items() if k != "//") + "}"
    return "null"
