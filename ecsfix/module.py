"""One Terraform module (a directory): its files, parsed lazily, and reference lookup.

Terraform resolves `local.*` and `var.*` within one module directory, so do we. Files are read
up front (cheap) but parsed only when needed: the files that define what we scan first, sibling
files only when a reference has to be followed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

from .model import Attribute, Block, EcsfixError, InputError, SourceFile


class Module:
    def __init__(self, directory: str, files: list[SourceFile]):
        self.dir = directory
        self.files = files
        self.errors: list[InputError] = []
        self._parsed: dict[str, list[Block]] = {}
        self._locals: dict[str, Attribute] | None = None

    # ------------------------------------------------------------------ parsing
    def hcl_files(self) -> Iterator[SourceFile]:
        return (f for f in self.files if not f.path.endswith(".tf.json"))

    def blocks_of(self, src: SourceFile) -> list[Block]:
        if src.path not in self._parsed:
            from . import hclparse

            try:
                self._parsed[src.path] = hclparse.parse_file(src)
            except EcsfixError as exc:
                self._parsed[src.path] = []
                self.errors.append(InputError(src.display, exc.line, exc.message))
        return self._parsed[src.path]

    def blocks(self, btype: str, *labels: str, hint: str | None = None) -> Iterator[Block]:
        """Top-level blocks of a type (and leading labels). `hint` is a substring that must occur in
        a file for it to be parsed at all: the cheap pre-filter that keeps parsing lazy."""
        needle = hint if hint is not None else btype
        for src in self.hcl_files():
            if needle not in src.text:
                continue
            for b in self.blocks_of(src):
                if b.type == btype and b.labels[: len(labels)] == list(labels):
                    yield b

    # ------------------------------------------------------------------ references
    def local(self, name: str) -> Attribute | None:
        if self._locals is None:
            self._locals = {}
            for b in self.blocks("locals"):
                self._locals.update(b.attributes)
        return self._locals.get(name)

    def variable(self, name: str) -> Block | None:
        pattern = re.compile(r'variable\s+"?' + re.escape(name) + r'"?\s*\{')
        for src in self.hcl_files():
            if "variable" in src.text and pattern.search(src.text):
                for b in self.blocks_of(src):
                    if b.type == "variable" and b.labels[:1] == [name]:
                        return b
        return None

    def resource(self, rtype: str, name: str) -> Block | None:
        for b in self.blocks("resource", rtype, hint=rtype):
            if b.labels[1:2] == [name]:
                return b
        return None

    def data(self, dtype: str, name: str) -> Block | None:
        for b in self.blocks("data", dtype, hint=dtype):
            if b.labels[1:2] == [name]:
                return b
        return None

    def path_module(self) -> str:
        return self.dir

    def read_relative(self, relpath: str) -> str:
        return os.path.normpath(os.path.join(self.dir, relpath))
