"""`ecsfix rewrite --format patch`: the exact, unredacted change as a git-style unified diff.

Unlike `FileChange.diff()` (removed values redacted, for eyes and logs), this text holds every
removed secret value, so the CLI prints it only to a file or a pipe. It applies with `git apply`
and `patch -p1`:

* each file starts with a `diff --git a/P b/P` header; a file `--write` would create (`--output-file`)
  is `new file mode 100644` from `/dev/null`;
* P is relative to the top of the git work tree holding the current directory (what `git apply`
  expects from any directory of the repository), or to the current directory outside git; a file
  outside that root cannot be named in such a patch and is refused (`PatchError`);
* the hunks are over the bytes `--write` would write (`safewrite.written_text`): lines split at
  `\\n` only, so a CR of a CRLF file stays in its line, and a missing final newline gets git's
  `\\ No newline at end of file` marker;
* a path with a control character, `"`, `\\` or a non-ASCII byte is C-quoted as git quotes it, and
  one with a space gets git's trailing tab on its `---`/`+++` lines.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .safewrite import written_text

if TYPE_CHECKING:
    from .changes import FileChange

NO_NEWLINE = "\\ No newline at end of file\n"


class PatchError(Exception):
    """A change the patch cannot name (outside the root): `message` is one line, `FILE: error: ...`."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def patch_root(cwd: str | None = None) -> str:
    """The directory patch paths are relative to: the git work tree's top, else `cwd`."""
    here = os.path.realpath(cwd or os.getcwd())
    d = here
    while True:
        if os.path.exists(os.path.join(d, ".git")):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            return here
        d = parent


def patch_path(path: str, root: str) -> str | None:
    """`path` relative to `root` with `/` separators (through symlinks, as `--write` writes), or None
    when it is not inside `root`."""
    full = os.path.realpath(path)
    try:
        rel = os.path.relpath(full, root)
    except ValueError:  # another drive (Windows)
        return None
    if rel == os.curdir or rel == os.pardir or rel.startswith(os.pardir + os.sep) or os.path.isabs(rel):
        return None
    return rel.replace(os.sep, "/")


def render_patch(changes: Sequence[FileChange], root: str | None = None) -> str:
    """The patch of every change, in order. Raises PatchError naming the first file outside `root`."""
    root = root or patch_root()
    out: list[str] = []
    for change in changes:
        rel = patch_path(change.path, root)
        if rel is None:
            raise PatchError(
                f"{change.display}: error: --format patch: the file is outside {root}, which the patch's paths are "
                "relative to (the git work tree, else the current directory): run ecsfix from a directory that "
                "holds every path given; nothing printed")
        out.append(file_patch(change, rel))
    return "".join(out)


def file_patch(change: FileChange, rel: str) -> str:
    """One file's git-style diff, `rel` being its path in the patch."""
    old_text = "" if change.created else change.original
    new_text = written_text(change)
    a_name, b_name = _quote("a/" + rel), _quote("b/" + rel)
    head = [f"diff --git {a_name} {b_name}\n"]
    tab = "\t" if " " in rel else ""
    if change.created:
        head += ["new file mode 100644\n", "--- /dev/null\n"]
    else:
        head.append(f"--- {a_name}{tab}\n")
    head.append(f"+++ {b_name}{tab}\n")
    body = []
    lines = difflib.unified_diff(_lines(old_text), _lines(new_text), n=3)
    for i, line in enumerate(lines):
        if i < 2:  # difflib's own ---/+++ lines
            continue
        body.append(line)
        if not line.endswith("\n"):  # the last line of a side, without its newline
            body.append("\n" + NO_NEWLINE)
    return "".join(head + body) if body else ""


def _lines(text: str) -> list[str]:
    """Lines ending at `\\n` only (str.splitlines would also split at CR, form feeds, U+2028, ...)."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _quote(name: str) -> str:
    """A path as git writes it in a patch header: C-quoted when it holds a byte git would escape."""
    data = name.encode("utf-8")
    if not any(b < 0x20 or b in (0x22, 0x5C, 0x7F) or b >= 0x80 for b in data):
        return name
    escapes = {0x07: "\\a", 0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0B: "\\v", 0x0C: "\\f", 0x0D: "\\r",
               0x22: '\\"', 0x5C: "\\\\"}
    out = []
    for b in data:
        if b in escapes:
            out.append(escapes[b])
        elif b < 0x20 or b >= 0x7F:
            out.append(f"\\{b:03o}")
        else:
            out.append(chr(b))
    return '"' + "".join(out) + '"'
