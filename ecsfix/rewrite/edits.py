"""Text edits on the user's original file: splices, item removal, `terraform fmt` re-alignment.

Every change the rewrite makes is an `Edit(start, end, text)` on the original text; `apply_edits`
splices them back to front, so bytes no edit touches stay identical. `realign` then re-aligns the
`=` chains the edits touched, the way `terraform fmt` aligns them. This module knows nothing of
ECS, secrets or plans: only text, offsets and (for `apply_and_realign`) the file's name.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..model import EcsfixError, SourceFile, Span


@dataclass(frozen=True)
class Edit:
    start: int
    end: int
    text: str


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """Splice non-overlapping edits into `text`, back to front."""
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    for a, b in zip(ordered, ordered[1:], strict=False):
        if b.start < a.end:
            raise EcsfixError("internal error: overlapping rewrite edits (please report this file shape)")
    for e in reversed(ordered):
        text = text[: e.start] + e.text + text[e.end :]
    return text


# --------------------------------------------------------------------------- lines


def newline_of(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def line_start(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def line_end(text: str, pos: int) -> int:
    """Offset just after the newline ending the line that contains `pos`."""
    nl = text.find("\n", pos)
    return len(text) if nl == -1 else nl + 1


def indent_of(text: str, pos: int) -> str:
    line = text[line_start(text, pos) : pos]
    return line[: len(line) - len(line.lstrip(" \t"))]


def alone_on_lines(text: str, start: int, end: int) -> bool:
    """Only whitespace before `start` on its line, and only `,`/whitespace after `end` on its line."""
    before = text[line_start(text, start) : start]
    after = text[end : line_end(text, end)]
    return not before.strip() and after.strip() in ("", ",")


# --------------------------------------------------------------------------- removal and insertion


def remove_item(text: str, start: int, end: int) -> Edit:
    """Remove a list/object item with its own line(s), or with its comma on a shared line."""
    if alone_on_lines(text, start, end):
        return Edit(line_start(text, start), line_end(text, end), "")
    rest = text[end : line_end(text, end)]
    if not text[line_start(text, start) : start].strip() and re.match(r"[ \t]*,?[ \t]*(#|//)", rest):
        return Edit(line_start(text, start), line_end(text, end), "")  # its trailing comment goes with it
    m = re.compile(r"[ \t]*,[ \t]*").match(text, end)
    if m:
        return Edit(start, m.end(), "")
    m2 = re.search(r",[ \t]*$", text[:start])
    if m2:
        return Edit(m2.start(), end, "")
    return Edit(start, end, "")


_TRAILING_COMMENT = re.compile(r"[ \t]*,?[ \t]*(#|//)[^\n]*\n?")


def remove_line_item(text: str, span: Span) -> Edit:
    """Like `remove_item`, but a comment ending the item's own line always goes with it."""
    alone = not text[line_start(text, span.start) : span.start].strip()
    if alone and _TRAILING_COMMENT.fullmatch(text, span.end, line_end(text, span.end)):
        return Edit(line_start(text, span.start), line_end(text, span.end), "")
    return remove_item(text, span.start, span.end)


def remove_json_items(items: list[Span], remove: set[int]) -> list[Edit]:
    """Remove JSON list/object items (by index) with their commas (JSON has no trailing comma)."""
    edits: list[Edit] = []
    n = len(items)
    i = 0
    while i < n:
        if i not in remove:
            i += 1
            continue
        j = i
        while j + 1 < n and j + 1 in remove:
            j += 1
        if j + 1 < n:
            edits.append(Edit(items[i].start, items[j + 1].start, ""))
        elif i > 0:
            edits.append(Edit(items[i - 1].end, items[j].end, ""))
        i = j + 1
    return edits


def remove_attribute(text: str, span: Span) -> Edit:
    """Remove an attribute's lines, and one of the blank lines around it when both sides are blank."""
    if not alone_on_lines(text, span.start, span.end):
        return Edit(span.start, span.end, "")
    start, end = line_start(text, span.start), line_end(text, span.end)
    before = text[line_start(text, max(start - 1, 0)) : start] if start else ""
    after = text[end : line_end(text, end)] if end < len(text) else ""
    if start and not before.strip() and not after.strip() and after:
        end += len(after)
    elif start and not before.strip() and text[end : line_end(text, end)].strip() == "}":
        start = line_start(text, start - 1)  # no blank line left before the closing brace
    return Edit(start, end, "")


def insert_after_block(text: str, end: int, rendered: str) -> Edit:
    """Insert generated blocks after a block ending at `end` (one blank line between)."""
    return Edit(end, end, "\n\n" + rendered.strip("\n"))


# --------------------------------------------------------------------------- re-alignment


def _line_has_assign(line: str) -> int | None:
    """Offset of a top-level `=` on a line whose brackets balance, else None (terraform fmt chains)."""
    depth = 0
    in_str = False
    eq: int | None = None
    i = 0
    n = len(line)
    stripped = line.lstrip()
    if not stripped or stripped.startswith(("#", "//", "/*", "}", "]", ")")):
        return None
    while i < n:
        c = line[i]
        if in_str:
            if c == "\\":
                i += 2
                continue
            if c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth < 0:
                return None
        elif c == "#" or line.startswith("//", i):
            break
        elif c == "=" and depth == 0 and eq is None:
            prev = line[i - 1] if i else ""
            nxt = line[i + 1] if i + 1 < n else ""
            if prev not in "=!<>" and nxt not in "=>":
                eq = i
        i += 1
    if in_str or depth != 0:
        return None
    if eq is not None and line[eq + 1 :].strip().startswith("<<"):
        return eq  # a heredoc attribute belongs to the chain
    return eq


def realign(text: str, touched: Sequence[tuple[int, int]]) -> str:
    """Re-align the `=` of the chains that contain touched lines, as `terraform fmt` does."""
    lines = text.split("\n")
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    masked = [False] * len(lines)
    i = 0
    while i < len(lines):
        m = re.search(r"<<-?([A-Za-z_][A-Za-z0-9_-]*)\s*$", lines[i].rstrip("\r"))
        if m:
            marker = m.group(1)
            j = i + 1
            while j < len(lines) and lines[j].strip() != marker:
                masked[j] = True
                j += 1
            if j < len(lines):
                masked[j] = True
            i = j + 1
            continue
        i += 1

    hot: set[int] = set()
    for start, end in touched:
        a = bisect.bisect_right(starts, start) - 1
        b = bisect.bisect_right(starts, max(start, end - 1)) - 1
        hot.update(range(max(a - 1, 0), min(b + 2, len(lines))))
    out = list(lines)
    i = 0
    while i < len(lines):
        if masked[i] or _line_has_assign(lines[i].rstrip("\r")) is None:
            i += 1
            continue
        chain: list[int] = []
        j = i
        while j < len(lines):
            if masked[j]:
                j += 1
                continue
            if _line_has_assign(lines[j].rstrip("\r")) is None:
                break
            chain.append(j)
            j += 1
        if hot.intersection(chain) and len(chain) > 0:
            parts = []
            for k in chain:
                line = lines[k]
                cr = "\r" if line.endswith("\r") else ""
                body = line[: len(line) - len(cr)]
                eq = _line_has_assign(body)
                assert eq is not None
                parts.append((k, body[:eq].rstrip(), body[eq + 1 :].strip(), cr))
            width = max(len(lead) for _, lead, _, _ in parts)
            for k, lead, rest, cr in parts:
                out[k] = f"{lead.ljust(width)} = {rest}{cr}" if rest else f"{lead.ljust(width)} ={cr}"
        i = j if j > i else i + 1
    return "\n".join(out)


def apply_and_realign(src: SourceFile, edits: Sequence[Edit]) -> str:
    """The file's new text: edits in the file's own newlines, spliced; `.tf` chains re-aligned."""
    nl = newline_of(src.text)
    fixed = sorted((Edit(e.start, e.end, e.text.replace("\r\n", "\n").replace("\n", nl)) for e in edits),
                   key=lambda e: (e.start, e.end))
    new = apply_edits(src.text, fixed)
    if src.path.endswith((".json", ".tpl")) or not src.path.endswith(".tf"):
        return new
    touched: list[tuple[int, int]] = []
    delta = 0
    for e in fixed:
        start = e.start + delta
        touched.append((start, start + len(e.text)))
        delta += len(e.text) - (e.end - e.start)
    return realign(new, touched)
