"""Safe writes for `ecsfix rewrite --write`: never a half-written or silently clobbered file."""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING

from ..model import EcsfixError

if TYPE_CHECKING:
    from .engine import FileChange


def write_change(change: FileChange) -> None:
    """Write atomically (temp file in the same directory + rename), keeping the file mode."""
    with open(change.path, "rb") as fh:
        if fh.read() != change.original.encode("utf-8"):
            raise EcsfixError(f"{change.display} changed since it was read: run ecsfix rewrite again")
    mode = os.stat(change.path).st_mode & 0o7777
    directory = os.path.dirname(os.path.abspath(change.path))
    fd, tmp = tempfile.mkstemp(prefix=".ecsfix-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(change.new.encode("utf-8"))
        os.chmod(tmp, mode)
        os.replace(tmp, change.path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
