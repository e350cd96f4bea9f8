"""Safe writes for `ecsfix rewrite --write`: never a half-written or silently clobbered file.

* atomic: the new text goes to a temporary file in the target's directory, is fsynced, then
  renamed over the target (`os.replace`); on any failure the temporary file is removed and the
  original is untouched;
* the file mode (and, where permitted, the owner) is kept;
* a symlinked file is written through to its target: the link stays a link;
* a file that changed after ecsfix read it is refused (the user's edit would be lost);
* a read-only file is refused, even though a rename in a writable directory would replace it;
* the bytes are exactly `change.new` in UTF-8 (ecsfix reads files undecoded otherwise: CRLF and
  a byte-order mark are part of the text), and a BOM the original began with is kept.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import TYPE_CHECKING

from ..model import EcsfixError

if TYPE_CHECKING:
    from .changes import FileChange

BOM = "\ufeff"


def write_change(change: FileChange) -> None:
    """Write `change.new` over `change.path` atomically (or create it, for a new file). Raises
    EcsfixError with a one-line `FILE: error: ...` message (nothing written) when it cannot or must not."""
    if getattr(change, "created", False):
        _create(change)
        return
    shown = change.display
    target = os.path.realpath(change.path)  # through a symlink (and chains of them) to the file
    expected = change.original.encode("utf-8")
    data = written_text(change).encode("utf-8")

    try:
        before = os.stat(target)
        with open(target, "rb") as fh:
            current = fh.read()
    except FileNotFoundError:
        raise EcsfixError(f"{shown}: error: the file was removed since ecsfix read it; nothing written") from None
    except OSError as exc:
        raise EcsfixError(f"{shown}: error: cannot read the file again before writing ({_why(exc)}); "
                          "nothing written") from None
    if current != expected:
        raise EcsfixError(f"{shown}: error: the file changed since it was read: run ecsfix rewrite again; "
                          "nothing written")
    if not os.access(target, os.W_OK):
        raise EcsfixError(f"{shown}: error: the file is read-only: make it writable (chmod u+w) "
                          "or apply the diff of `ecsfix rewrite` by hand; nothing written")

    directory = os.path.dirname(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".ecsfix-", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise EcsfixError(f"{shown}: error: cannot create a temporary file next to it ({_why(exc)}): "
                          "ecsfix writes atomically and needs a writable directory; nothing written") from None
    try:
        _write_synced(fd, data)
        os.chmod(tmp, before.st_mode & 0o7777)
        with contextlib.suppress(OSError):  # keeping the owner needs privileges: best effort
            if hasattr(os, "chown"):
                os.chown(tmp, before.st_uid, before.st_gid)
        # Last look just before the rename: an editor saving meanwhile must not be overwritten.
        after = os.stat(target)
        if (after.st_ino, after.st_size, after.st_mtime_ns) != (before.st_ino, before.st_size, before.st_mtime_ns):
            raise EcsfixError(f"{shown}: error: the file changed since it was read: run ecsfix rewrite again; "
                              "nothing written")
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise EcsfixError(f"{shown}: error: cannot write the file ({_why(exc)}); nothing written") from None
        raise
    _fsync_directory(directory)


def written_text(change: FileChange) -> str:
    """The text `write_change` writes (in UTF-8): `change.new`, with the BOM the original began with."""
    if change.original.startswith(BOM) and not change.new.startswith(BOM):
        return BOM + change.new
    return change.new


def _write_synced(fd: int, data: bytes) -> None:
    """Write all of `data` to the temporary file and make it durable before any rename."""
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def _create(change: FileChange) -> None:
    """A new file: written to a temporary file, then linked into place, which fails if the name
    exists by then (someone created it meanwhile: never clobber it). Mode from the umask, like any
    new file."""
    shown = change.display
    path = os.path.abspath(change.path)
    directory = os.path.dirname(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".ecsfix-", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise EcsfixError(f"{shown}: error: cannot create a file in its directory ({_why(exc)}); "
                          "nothing written") from None
    try:
        _write_synced(fd, written_text(change).encode("utf-8"))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise EcsfixError(f"{shown}: error: the file appeared since ecsfix read the module: "
                              "run ecsfix rewrite again; nothing written") from None
    except OSError as exc:
        raise EcsfixError(f"{shown}: error: cannot create the file ({_why(exc)}); nothing written") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    _fsync_directory(directory)


def _why(exc: OSError) -> str:
    return (exc.strerror or type(exc).__name__).lower()


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX); not possible or needed everywhere."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
