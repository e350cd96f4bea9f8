"""HCL string escapes (`\\n`, `\\u00e9`, `$${`, `%%{`): one reading for both HCL converters
(`hclparse`, tree-sitter; `hclparse_lark`, python-hcl2)."""

from __future__ import annotations

import re

ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
ESC_RE = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)|\$\$\{|%%\{", re.S)


def unescape(raw: str) -> str:
    def sub(m: re.Match[str]) -> str:
        tok = m.group(0)
        if tok == "$${":
            return "${"
        if tok == "%%{":
            return "%{"
        esc = m.group(1)
        if esc[0] in "uU":
            try:
                return chr(int(esc[1:], 16))
            except (ValueError, OverflowError):
                return tok
        return ESCAPES.get(esc, esc)

    return ESC_RE.sub(sub, raw)
