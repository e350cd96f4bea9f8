"""Reading files exactly as they are: no newline translation, BOM kept, clear errors."""

from __future__ import annotations

import os

from .model import EcsfixError, SourceFile

MAX_FILE_BYTES = 5 * 1024 * 1024  # larger files are skipped with a message, never half-read
MAX_JSON_BYTES = 64 * 1024 * 1024  # `terraform show -json` plans of large configurations are big


def display_path(path: str, root: str | None = None) -> str:
    base = root or os.getcwd()
    try:
        rel = os.path.relpath(path, base)
    except ValueError:  # another drive on Windows
        return path.replace(os.sep, "/")
    if rel.startswith(".." + os.sep) or rel == "..":
        return path.replace(os.sep, "/")
    return rel.replace(os.sep, "/")


def read_source(path: str, display: str | None = None) -> SourceFile:
    """Read a text file byte-exactly (CRLF and BOM preserved). Raises EcsfixError otherwise."""
    shown = display or display_path(path)
    try:
        size = os.path.getsize(path)
        limit = MAX_JSON_BYTES if path.endswith(".json") and not path.endswith(".tf.json") else MAX_FILE_BYTES
        if size > limit:
            raise EcsfixError(
                f"file is larger than {limit // (1024 * 1024)} MiB: skipped "
                "(exclude it with --exclude if it is not Terraform)"
            )
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise EcsfixError("no such file or directory") from None
    except IsADirectoryError:
        raise EcsfixError("is a directory, expected a file") from None
    except PermissionError:
        raise EcsfixError("permission denied: cannot read this file") from None
    except OSError as exc:
        raise EcsfixError(f"cannot read this file ({exc.strerror or 'I/O error'})") from None
    nul = data.find(b"\x00", 0, 8192)
    if nul != -1:
        raise EcsfixError(
            "binary file, not text (it contains a NUL byte): skipped (a plan? run `terraform show -json plan.out > plan.json` first)",
            _text_line(data, nul),
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise EcsfixError("not valid UTF-8 text: save the file as UTF-8", line) from None
    return SourceFile(path=path, display=shown, text=text)


def _text_line(data: bytes, offset: int) -> int | None:
    """The line of `offset` when what precedes it reads as text (a stray NUL), else None (a binary)."""
    head = data[:offset]
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return head.count(b"\n") + 1
