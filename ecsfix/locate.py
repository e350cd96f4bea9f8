"""A cheap scan that finds top-level HCL blocks without parsing them.

Used only for a file tree-sitter rejects (`module.Module`): such a file is parsed block by block,
so that a syntax error in a block ecsfix does not need (a bucket, a security group) stays
terraform's to report. This scanner finds each top-level block's extent by matching braces while
skipping strings, `${...}`, heredocs and comments, so only the blocks we need are handed to the
parser. When anything looks unusual it returns None and the caller parses the whole file.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r'[ \t]*([A-Za-z_][\w-]*)((?:[ \t]+(?:"[^"\n]*"|[A-Za-z_][\w-]*))*)[ \t]*\{')
_HEREDOC = re.compile(r"<<-?([A-Za-z_][\w-]*)[ \t]*\r?\n")


def _skip_string(text: str, i: int) -> int:
    """i is just after an opening quote; return the index after the closing quote."""
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            return i + 1
        if c == "\n":
            return -1
        if c == "$" and text.startswith("${", i):
            i = _skip_braces(text, i + 2)
            if i < 0:
                return -1
            continue
        i += 1
    return -1


def _skip_braces(text: str, i: int) -> int:
    """i is just after an opening `{`; return the index after the matching `}`."""
    n = len(text)
    depth = 1
    while i < n:
        c = text[i]
        if c == '"':
            i = _skip_string(text, i + 1)
            if i < 0:
                return -1
            continue
        if c == "#" or (c == "/" and text.startswith("//", i)):
            nl = text.find("\n", i)
            i = n if nl < 0 else nl + 1
            continue
        if c == "/" and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                return -1
            i = end + 2
            continue
        if c == "<" and text.startswith("<<", i):
            m = _HEREDOC.match(text, i)
            if m:
                marker = m.group(1)
                close = re.compile(r"^[ \t]*" + re.escape(marker) + r"[ \t]*\r?$", re.M)
                cm = close.search(text, m.end())
                if cm is None:
                    return -1
                i = cm.end()
                continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return -1


_LABEL = re.compile(r'"([^"\n]*)"|([A-Za-z_][\w-]*)')


def header_labels(text: str, start: int) -> list[str] | None:
    """The labels of the top-level block that starts at `start` (as found by `top_level_blocks`),
    or None when they cannot be read without the parser (escapes inside a quoted label)."""
    m = _HEADER.match(text, start)
    if m is None:
        return None
    out: list[str] = []
    for lm in _LABEL.finditer(m.group(2)):
        quoted, bare = lm.group(1), lm.group(2)
        if quoted is not None and ("\\" in quoted or "${" in quoted or "%{" in quoted):
            return None
        out.append(quoted if quoted is not None else bare)
    return out


def top_level_blocks(text: str) -> list[tuple[str, int, int]] | None:
    """(block type, start, end) of every top-level block, or None when unsure."""
    out: list[tuple[str, int, int]] = []
    i = 0
    n = len(text)
    if text.startswith("\ufeff"):
        i = 1
    while i < n:
        c = text[i]
        if c in " \t\r\n":
            i += 1
            continue
        if c == "#" or text.startswith("//", i):
            nl = text.find("\n", i)
            i = n if nl < 0 else nl + 1
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                return None
            i = end + 2
            continue
        m = _HEADER.match(text, i)
        if not m:
            return None  # a top-level attribute or something unusual: parse the whole file
        end = _skip_braces(text, m.end())
        if end < 0:
            return None
        out.append((m.group(1), i, end))
        i = end
    return out
