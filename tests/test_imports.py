"""The rewrite package's layers import only downward (STYLE.md, issue 12).

Walks the import statements of every module in `ecsfix` with `ast` (relative imports resolved;
imports inside functions and under `TYPE_CHECKING` count too, since a lazy import is still a
dependency) and fails on:

* an import cycle that includes a module of `ecsfix.rewrite`;
* a module of `ecsfix.rewrite` importing an underscore-private name from another module
  (a helper two modules share gets a public name);
* a layer rule broken: `rewrite.edits` imports nothing from `ecsfix.rewrite`; no planner (and
  nothing else below it) imports `rewrite.engine`.

The whole of `ecsfix` is held to the first two rules as well (the last two small cycles,
`secrets` <-> `detectconfig` and `hclparse` <-> `hclparse_lark`, went with `nametokens` and
`hclescape`); `SCOPE` is the package the layer rules are about. A package's `__init__.py` is not counted as an importer (its face:
re-exports, lazy dispatch), as in /work/shared/tools/imports.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ecsfix"
SCOPE = "ecsfix.rewrite"


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(root: Path) -> tuple[dict[str, set[str]], list[tuple[str, str, str]]]:
    """Edges between the package's modules, and (importer, name, module) for private names."""
    modules = {_module_name(root, p): p for p in root.rglob("*.py")}
    edges: dict[str, set[str]] = {m: set() for m in modules}
    private: list[tuple[str, str, str]] = []
    for name, path in modules.items():
        if path.name == "__init__.py":
            continue
        package = name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    dest = full if full in modules else target
                    if dest in modules and dest != name:
                        edges[name].add(dest)
                        if dest == target and alias.name.startswith("_") and not alias.name.startswith("__"):
                            private.append((name, alias.name, dest))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in modules and alias.name != name:
                        edges[name].add(alias.name)
    return edges, private


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[v] = min(low[v], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def in_scope(module: str) -> bool:
    return module == SCOPE or module.startswith(SCOPE + ".")


def test_no_import_cycle_in_the_rewrite_package() -> None:
    edges, _ = import_graph(PACKAGE)
    assert f"{SCOPE}.engine" in edges and f"{SCOPE}.forms.task_definition" in edges  # the walk found the package
    bad = [c for c in cycles(edges) if any(in_scope(m) for m in c)]
    assert bad == []


def test_no_private_name_crosses_a_module_boundary() -> None:
    _, private = import_graph(PACKAGE)
    assert [p for p in private if in_scope(p[0])] == []


def test_no_import_cycle_and_no_private_import_anywhere_in_ecsfix() -> None:
    edges, private = import_graph(PACKAGE)
    assert "ecsfix.scan" in edges and "ecsfix.secrets" in edges  # the walk found the whole package
    assert cycles(edges) == []
    assert private == []


def test_layers_import_only_downward() -> None:
    edges, _ = import_graph(PACKAGE)
    assert {d for d in edges[f"{SCOPE}.edits"] if in_scope(d)} == set(), "edits must know nothing of the rewrite"
    engine_users = {m for m, deps in edges.items() if f"{SCOPE}.engine" in deps and in_scope(m)}
    assert engine_users <= {f"{SCOPE}.cli"}, "only the CLI sits above the engine"


# --------------------------------------------------------------------------- the checker itself


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for name, text in {"__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


CHECKER_CASES = [
    pytest.param({"a.py": "from . import b\n", "b.py": "from .a import x\n"}, [["pkg.a", "pkg.b"]], [], id="cycle"),
    pytest.param({"a.py": "def f():\n    from .b import y\n", "b.py": "from . import a\n"}, [["pkg.a", "pkg.b"]], [],
                 id="cycle-through-a-lazy-import"),
    pytest.param({"sub/__init__.py": "", "sub/c.py": "from ..a import _helper\n", "a.py": "_helper = 1\n"}, [],
                 [("pkg.sub.c", "_helper", "pkg.a")], id="relative-private-import"),
    pytest.param({"sub/__init__.py": "", "sub/c.py": "from ..a import helper\n", "a.py": "from .sub import c\n"},
                 [["pkg.a", "pkg.sub.c"]], [], id="submodule-import-resolves"),
    pytest.param({"a.py": "from .b import helper, __all__\n", "b.py": "import os\n"}, [], [], id="clean"),
]


@pytest.mark.parametrize(("files", "expected_cycles", "expected_private"), CHECKER_CASES)
def test_checker_finds_cycles_and_private_imports(
    tmp_path: Path, files: dict[str, str], expected_cycles: list[list[str]],
    expected_private: list[tuple[str, str, str]],
) -> None:
    edges, private = import_graph(_package(tmp_path, files))
    assert cycles(edges) == expected_cycles
    assert private == expected_private
