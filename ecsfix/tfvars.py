"""Values a module directory assigns to its variables in `terraform.tfvars` and `*.auto.tfvars`
(and their `.json` forms): the files Terraform loads by itself when it runs in that directory.

Read only for evidence about a variable that has no default (does the value set for
`var.database_url` embed credentials?), never to print a value. Every file looked at, found or
not, and the directory listing (a new `*.auto.tfvars`) are recorded in the resolver, so a cached
scan is redone when one of them changes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from .model import EcsfixError, Expr, Obj, SourceFile

if TYPE_CHECKING:
    from .resolve import Resolver


@dataclass(frozen=True)
class Assigned:
    value: Expr
    file: SourceFile

    @property
    def where(self) -> str:
        return f"{os.path.basename(self.file.path)}:{self.value.span.line}"


# Per resolver (one module's scan): read once, however many entries ask.
_READ: WeakKeyDictionary[Resolver, dict[str, Assigned]] = WeakKeyDictionary()


def _files(directory: str) -> list[str]:
    """In Terraform's order of precedence, lowest first: terraform.tfvars(.json), then the
    *.auto.tfvars(.json) files in lexical order (a later file wins)."""
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    auto = sorted(n for n in names if n.endswith((".auto.tfvars", ".auto.tfvars.json")))
    return [os.path.join(directory, n) for n in ("terraform.tfvars", "terraform.tfvars.json", *auto)]


def assignments(resolver: Resolver) -> dict[str, Assigned]:
    """Every variable assigned in the module directory's automatically loaded `.tfvars` files."""
    if resolver in _READ:
        return _READ[resolver]
    found: dict[str, Assigned] = {}
    resolver.consulted.append(resolver.module.dir.rstrip(os.sep) + os.sep)  # a new *.auto.tfvars counts
    for path in _files(resolver.module.dir):
        resolver.consulted.append(path)
        if not os.path.isfile(path):
            continue
        try:
            src = resolver.load(path)
        except EcsfixError:
            continue  # terraform reports an unreadable tfvars file when it loads it
        if path.endswith(".json"):
            from .jsonscan import scan_json

            try:
                doc = scan_json(src, templates=False)
            except EcsfixError:
                continue
            if isinstance(doc, Obj):
                found.update((it.key, Assigned(it.value, src)) for it in doc.items if it.key is not None)
        else:
            from .hclparse import parse_attributes

            found.update((name, Assigned(attr.value, src)) for name, attr in parse_attributes(src).items())
    _READ[resolver] = found
    return found
