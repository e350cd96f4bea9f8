"""What a rewrite proposes for one file (`FileChange`), and its printed diff, with secrets redacted.

A literal value the rewrite removes from a file must not reach a terminal or CI log: the diff
shows its redacted preview instead (`redact_values`), and values copied on request
(`--literal-values keep`) are redacted wherever they appear.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from dataclasses import dataclass

from .hclgen import hcl_string


@dataclass
class FileChange:
    path: str
    display: str
    original: str
    new: str
    created: bool = False  # a new file (--output-file)
    # literal secret values never to print: those copied on request (--literal-values keep), and every
    # flagged literal, moved or left in place (a context line can show one the rewrite left)
    hidden: frozenset[str] = frozenset()

    def diff(self) -> str:
        a = self.original.splitlines(keepends=True)
        b = self.new.splitlines(keepends=True)
        rel = not os.path.isabs(self.display)
        old, new = (f"a/{self.display}", f"b/{self.display}") if rel else (self.display, self.display)
        lines = difflib.unified_diff(a, b, old, new)
        # A literal value the rewrite removes from the file must not reach a terminal or CI log:
        # show its preview. Values still in the new text (a re-aligned line) are shown as they are.
        out = []
        for line in lines:
            if line.startswith("-") and not line.startswith("---"):
                line = redact_values(line, self.new)
            if self.hidden and line[:1] in "+- " and not line.startswith(("+++", "---")):
                line = _redact_hidden(line, self.hidden)
            out.append(line)
        return "".join(out)


_VALUE_LITERAL = re.compile(r'(\bvalue"?\s*[=:]\s*")((?:[^"\\]|\\.)*)(")')
# the same inside a JSON string (`.tf.json` container definitions): `\"value\":\"...\"`; in the
# value, `\\` + the next escape is one escaped character of the inner JSON, `\"` alone ends it
_ESCAPED_VALUE_LITERAL = re.compile(r'(\bvalue\\"\s*:\s*\\")((?:\\\\(?:\\.|[^\\])|\\[^"\\]|[^\\"])*)(\\")')
# `KEY = "literal"` map items (cloudposse `map_environment`), but never `name =`/`valueFrom =`
_MAP_ITEM_LITERAL = re.compile(r'^(-[ \t]*(?!name\b|valueFrom\b)(?:[A-Za-z_][\w-]*|"[^"]*")[ \t]*=[ \t]*")((?:[^"\\]|\\.)*)(")')


def _redact_hidden(line: str, hidden: frozenset[str]) -> str:
    from ..secrets import redact

    for value in sorted(hidden, key=len, reverse=True):
        for form in {value, hcl_string(value)[1:-1], json.dumps(value)[1:-1]}:
            if len(form) >= 4 and form in line:
                line = line.replace(form, redact(value))
    return line


def redact_values(line: str, kept: str = "") -> str:
    """A removed diff line with each literal `value` redacted, unless it is still in `kept`."""
    from ..secrets import redact

    def sub(m: re.Match[str]) -> str:
        body = m.group(2)
        if body.startswith("${") and body.endswith("}") and body.count("${") == 1:
            return m.group(0)  # a bare reference names where the value comes from
        if body and m.group(1) + body + m.group(3) in kept:
            return m.group(0)  # still in the file (the line only moved or was re-aligned)
        if body and m.group(3) == '"' and f'"{body}"' in kept:
            return m.group(0)
        return m.group(1) + redact(body) + m.group(3)

    return _MAP_ITEM_LITERAL.sub(sub, _VALUE_LITERAL.sub(sub, _ESCAPED_VALUE_LITERAL.sub(sub, line)))
