"""One Terraform module (a directory): its files, parsed lazily, and reference lookup.

Terraform resolves `local.*` and `var.*` within one module directory, so do we. Files are read
up front (cheap) but parsed only when needed: the files that define what we scan first, sibling
files only when a reference has to be followed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

from .model import Attribute, Block, EcsfixError, InputError, SourceFile


class Module:
    def __init__(self, directory: str, files: list[SourceFile]):
        self.dir = directory
        self.files = files
        self.errors: list[InputError] = []
        self._parsed: dict[str, list[Block]] = {}
        self._parsed_parts: dict[tuple[str, int], list[Block]] = {}
        self._locals: dict[str, Attribute] | None = None
        self._extents_of: dict[str, list[tuple[str, int, int]] | None] = {}
        self._trees: dict[str, Any] = {}

    # ------------------------------------------------------------------ parsing
    def hcl_files(self) -> Iterator[SourceFile]:
        return (f for f in self.files if not f.path.endswith(".tf.json"))

    def _tree(self, src: SourceFile) -> Any:
        """The file's tree-sitter parse (`hclparse.FileTree`), or None if tree-sitter rejects it."""
        if src.path not in self._trees:
            from . import hclparse

            self._trees[src.path] = hclparse.parse_tree(src)
        return self._trees[src.path]

    def blocks_of(self, src: SourceFile) -> list[Block]:
        if src.path not in self._parsed:
            from . import hclparse

            tree = self._tree(src)
            if tree is not None:
                try:
                    self._parsed[src.path] = tree.all_blocks()
                    return self._parsed[src.path]
                except (EcsfixError, AttributeError, IndexError, ValueError):
                    pass  # parse_file below reports it, or reads the file with python-hcl2
            try:
                self._parsed[src.path] = hclparse.parse_file(src)
            except EcsfixError as exc:
                self._parsed[src.path] = []
                self.errors.append(InputError(src.display, exc.line, exc.message))
        return self._parsed[src.path]

    def blocks(self, btype: str, *labels: str, hint: str | None = None) -> Iterator[Block]:
        """Top-level blocks of a type (and leading labels). `hint` is a substring that must occur in
        a file for it to be parsed at all: the cheap pre-filter that keeps parsing lazy. Within a
        file, only the blocks of the wanted type and labels are converted to the model (or, in a
        file tree-sitter rejects, parsed: located by `locate`)."""
        needle = hint if hint is not None else btype
        want = list(labels)
        for src in self.hcl_files():
            if needle not in src.text:
                continue
            for b in self._blocks_of_type(src, btype, needle, want):
                if b.type == btype and b.labels[: len(want)] == want:
                    yield b

    def _extents(self, src: SourceFile) -> list[tuple[str, int, int]] | None:
        if src.path not in self._extents_of:
            from .locate import top_level_blocks

            self._extents_of[src.path] = top_level_blocks(src.text)
        return self._extents_of[src.path]

    def _blocks_of_type(self, src: SourceFile, btype: str, needle: str, labels: list[str]) -> list[Block]:
        if src.path in self._parsed:
            return self._parsed[src.path]
        tree = self._tree(src)
        if tree is not None:  # parsed whole in C; only the blocks asked for are converted
            try:
                return tree.blocks(btype, needle, labels)  # type: ignore[no-any-return]
            except (EcsfixError, AttributeError, IndexError, ValueError):
                return self.blocks_of(src)
        extents = self._extents(src)
        if extents is None:
            return self.blocks_of(src)
        from . import hclparse
        from .locate import header_labels

        out: list[Block] = []
        for kind, start, end in extents:
            if kind != btype or needle not in src.text[start:end]:
                continue
            if labels:  # skip blocks whose header already shows other labels (no parse needed)
                written = header_labels(src.text, start)
                if written is not None and written[: len(labels)] != labels:
                    continue
            key = (src.path, start)
            if key not in self._parsed_parts:
                try:
                    self._parsed_parts[key] = hclparse.parse_file(src, base=start, text=src.text[start:end])
                except EcsfixError:
                    return self.blocks_of(src)  # let the whole-file parse report it precisely
            out.extend(self._parsed_parts[key])
        return out

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
                for b in self._blocks_of_type(src, "variable", "variable", [name]):
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


def read_directory(directory: str, root: str | None = None) -> Module | None:
    """The `.tf` files of another directory (a child module, the source of a plan's module), read
    only to look something up there: None if it cannot be listed; a file that cannot be read is
    left out (its own scan reports it). `root`: shown paths are relative to it, as the scan's."""
    from .sources import display_path, read_source

    try:
        names = sorted(n for n in os.listdir(directory) if n.endswith(".tf"))
    except OSError:
        return None
    files: list[SourceFile] = []
    for n in names:
        path = os.path.join(directory, n)
        if not os.path.isfile(path):
            continue
        try:
            files.append(read_source(path, display_path(path, root)))
        except EcsfixError:
            continue
    return Module(directory, files)
