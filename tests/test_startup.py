"""The fast paths that keep start-up cheap behave exactly like the slow ones (functional only:
performance is measured by benchmarks/run.py, not by timed tests).

* `ecsfix --version` and plain `ecsfix scan ...` command lines never import typer/rich/click;
  anything else (help, bad options) goes through typer unchanged.
* HCL is read with tree-sitter (`hclparse`); python-hcl2 (`hclparse_lark`) reads only what
  tree-sitter rejects. Both must give the same model, and python-hcl2's parser, used without
  position propagation, the same model as through the positions-propagating one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ecsfix import hclparse, hclparse_lark
from ecsfix.cli import _fast_scan_args, main
from ecsfix.model import Obj, Other, SourceFile, Span

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("typer", "rich", "click", "hcl2", "lark", "jinja2", "tree_sitter", "tree_sitter_hcl")


def modules_after(argv: list[str], cwd: Path) -> tuple[int, list[str], str]:
    code = (f"import sys\nfrom ecsfix.cli import main\nrc = main({argv!r})\n"
            f"print('HEAVY', sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})), file=sys.stderr)\n"
            "raise SystemExit(rc)\n")
    env = {k: v for k, v in os.environ.items() if k != "ECSFIX_CACHE_DIR"}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    heavy = proc.stderr.rsplit("HEAVY ", 1)[-1].strip()
    return proc.returncode, eval(heavy), proc.stdout  # noqa: S307 - our own printed list


def test_version_imports_nothing_heavy(tmp_path: Path) -> None:
    code, heavy, out = modules_after(["--version"], tmp_path)
    assert (code, heavy) == (0, []) and out.startswith("ecsfix ")


def test_one_file_scan_skips_typer_and_a_warm_one_the_parser(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_ecs_task_definition" "app" {\n  family = "app"\n'
        '  container_definitions = jsonencode([{ name = "app", environment = [{ name = "DB_PASSWORD", value = "hunter2" }] }])\n}\n',
        encoding="utf-8")
    code, heavy, out = modules_after(["scan", "main.tf"], tmp_path)
    assert code == 1 and "DB_PASSWORD" in out
    assert heavy == ["tree_sitter", "tree_sitter_hcl"]  # cold: the parser, but not the CLI framework
    code, heavy, warm = modules_after(["scan", "main.tf"], tmp_path)
    assert (code, heavy, warm) == (1, [], out)


@pytest.mark.parametrize("argv", [
    ["scan"], ["scan", "a", "b"], ["scan", "--format", "json", "x"], ["scan", "-f", "sarif", "-o", "out", "x"],
    ["scan", "--format=github", "--jobs=3", "--no-progress", "--no-cache", "--exclude", "a/**", "--exclude=b"],
    ["scan", "-j", "2", "--config", "c.toml", "."],
])
def test_fast_path_takes_plain_scan_command_lines(argv: list[str]) -> None:
    assert _fast_scan_args(argv) is not None


@pytest.mark.parametrize("argv", [
    ["scan", "--help"], ["scan", "-h"], ["scan", "--format", "xml"], ["scan", "--format"], ["scan", "-fjson"],
    ["scan", "--jobs", "two"], ["scan", "--jobs", "-1"], ["scan", "--no-such-option"], ["scan", "--", "x"],
    ["scan", "--no-cache=1"], ["rules"], ["--help"], [],
])
def test_everything_else_goes_through_typer(argv: list[str]) -> None:
    assert _fast_scan_args(argv) is None


def test_fast_and_typer_paths_print_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(REPO / "examples")
    monkeypatch.setenv("ECSFIX_CACHE_DIR", str(tmp_path / "cache"))
    outputs = []
    for argv in (["scan", "--format", "json", "."], ["scan", "-fjson", "."]):  # the second is typer's
        code = main(argv)
        outputs.append((code, *capsys.readouterr()))
    assert outputs[0] == outputs[1] and outputs[0][0] == 1


def test_scan_help_lists_the_performance_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--jobs" in out and "--no-cache" in out


def _dump(x: Any) -> Any:
    if isinstance(x, list):
        return [_dump(i) for i in x]
    if isinstance(x, dict):
        return {k: _dump(v) for k, v in x.items()}
    if isinstance(x, Span):
        return ("span", x.start, x.end)
    if isinstance(x, SourceFile):
        return "src"
    if hasattr(x, "__dataclass_fields__"):
        return (type(x).__name__, {k: _dump(getattr(x, k)) for k in x.__dataclass_fields__})
    return x


def _files() -> list[Path]:
    files = sorted(p for p in (REPO / "examples").rglob("*.tf")) + sorted((REPO / "tests" / "fixtures").rglob("*.tf"))
    assert len(files) > 20
    return files


def _model(parse: Any, src: SourceFile) -> Any:
    try:
        return _dump(parse(src))
    except Exception as exc:  # noqa: BLE001 - compared, not hidden
        return ("error", type(exc).__name__)


def test_position_free_lark_parser_gives_the_same_model_as_python_hcl2s_own(monkeypatch: pytest.MonkeyPatch) -> None:
    from hcl2.parser import parser

    hclparse_lark._lark_parser()
    assert hclparse_lark._parser is not parser(), "the position-free copy is in use"
    fast, slow = [], []
    for path in _files():
        src = SourceFile(str(path), str(path), path.read_text(encoding="utf-8"))
        for out, lark in ((fast, hclparse_lark._parser), (slow, parser())):
            monkeypatch.setattr(hclparse_lark, "_parser", lark)
            out.append(_model(hclparse_lark.parse_file, src))
    assert fast == slow


SNIPPETS = [
    '"a "', '" a"', '"  "', '""', '"a ${x} b"', '"${x}${y}"', '" ${x} "', '"a\\n ${x}\\t"', '"$${x} ${y}"',
    '"%%{x}"', '"é ${x} ü"', '"\\u00e9"', '"a\\\\"', '"${ x }"', '"a %{ if x }b%{ endif } c"', '"${"${x}"}"',
    '"${x.y[0]}"', '"a$b"', '"a%b"', '"{}"', "f(x)[0]", "(var.x)", "var.x[*].y", "var.l.*.id", "-1",
    "!x", "x ? 1 : 2", "[for a in b : a]", "{for k, v in m : k => v}", '{(var.k) = 1, "a${x}" = 2, true = 5}',
    "{ in = 1, for = 2 }", "f(x...)", "<<EOF\n  a ${b}\nEOF\n", "<<-EOT\n    [1]\n    EOT\n", "1.5e3", "null",
    "[1,\n  2, # c\n]", "[a + b, f(a * b)]", '{\n  a = 1 # c\n  "b" : 2\n}', "module.m.out", "data.aws_iam_role.r.arn", "each.value.pw",
    "jsonencode([{ name = \"A\", value = \"hunter2\" }])",
]


BLOCKS = [
    "b {\n}\n", "b {\n  # c\n}\n", "b {\r\n  x = 1\r\n}\r\n", "b {}\n", "b { x = 1 }\n", "b {\n\n  x = 1 # c\n\n}\n",
    'b "l" {\n  c {\n  }\n  d {\n  }\n}\n', "b {\r\n}\r\n", 'locals {\n  x = provider::aws::arn_parse(var.a)\n}\n',
]


@pytest.mark.parametrize("text", BLOCKS)
def test_tree_sitter_and_python_hcl2_give_the_same_model_for_each_block_shape(text: str) -> None:
    """Empty bodies over several lines, bodies holding only a comment, CRLF (found by a helper on
    real-world files), and provider-defined functions."""
    src = SourceFile("main.tf", "main.tf", text)
    ts, lark = _model(hclparse.parse_file, src), _model(hclparse_lark.parse_file, src)
    assert ts[0] != "error"
    assert ts == lark


@pytest.mark.parametrize("expr", SNIPPETS)
def test_tree_sitter_and_python_hcl2_give_the_same_model_for_each_expression(expr: str) -> None:
    for text in (f"locals {{\n  v = {expr}\n  w = {{ k = {expr} }}\n}}\n",
                 f'resource "a" "b" {{\n  x {{\n    v = [{expr}]\n  }}\n\n  # c\n}}\n'):
        src = SourceFile("main.tf", "main.tf", text)
        ts, lark = _model(hclparse.parse_file, src), _model(hclparse_lark.parse_file, src)
        assert ts[0] != "error"
        assert ts == lark


@pytest.mark.parametrize(("expr", "kind"), [("a + b", Other), ("a == b && c", Other), ("{ 3 = 4 }", Obj)])
def test_where_python_hcl2_was_wrong_tree_sitter_is_right(expr: str, kind: type) -> None:
    """python-hcl2 gives an operation at the end of a line the line break too, and a number key no
    name (Terraform's key is "3"); tree-sitter does neither."""
    text = f"locals {{\n  v = {expr}\n}}\n"
    (block,) = hclparse.parse_file(SourceFile("main.tf", "main.tf", text))
    value = block.attributes["v"].value
    assert isinstance(value, kind) and value.span.text == expr
    if isinstance(value, Obj):
        assert value.items[0].key == "3"


def test_tree_sitter_and_python_hcl2_give_the_same_model_for_every_file(tmp_path: Path) -> None:
    """Every example and fixture, and a generated 600-file monorepo (benchmarks/generate.py): the
    tree-sitter converter is held to python-hcl2's model, span for span."""
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "generate.py"), "--out", str(tmp_path / "mono"),
                    "--files", "600", "--seed", "7", "--quiet"], check=True, timeout=300)
    files = _files() + sorted((tmp_path / "mono").rglob("*.tf"))
    assert len(files) > 500
    differ = []
    for path in files:
        src = SourceFile(str(path), str(path), path.read_text(encoding="utf-8"))
        ts = _model(hclparse.parse_file, src)
        if ts != _model(hclparse_lark.parse_file, src) or ts[0] == "error":
            differ.append(str(path))
    assert differ == [] or "tests/fixtures/bad" in differ[0] and len(differ) == 1, differ


def test_detector_patterns_compile_on_first_use_and_then_replace_themselves() -> None:
    code = (
        "import re, sys\n"
        "from ecsfix import nametokens, secrets\n"
        "from ecsfix.lazyre import LazyPattern\n"
        "lazy = sorted(n for n, v in vars(secrets).items() if isinstance(v, LazyPattern))\n"
        "compiled = [n for n, v in vars(secrets).items() if n.endswith('_RE') and isinstance(v, re.Pattern)]\n"
        "print(len(lazy), compiled)\n"
        "v = secrets.classify('DB_PASSWORD', 'hunter2')\n"
        "print(v is not None, isinstance(nametokens.SPLIT_RE, re.Pattern), "
        "isinstance(secrets._NOT_A_TOKEN_RE, LazyPattern))\n"
        "print(bool(secrets._NOT_A_TOKEN_RE.fullmatch('1.2.3')), isinstance(secrets._NOT_A_TOKEN_RE, re.Pattern))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60,
                         env=dict(os.environ, PYTHONPATH=str(REPO))).stdout.split("\n")
    n, compiled = out[0].split(" ", 1)
    assert int(n) > 30 and compiled == "[]"  # nothing compiled at import
    assert out[1] == "True True True"  # what classify used is compiled, the rest still waits
    assert out[2] == "True True"


@pytest.mark.parametrize(("secrets_line", "iam"), [("", False), (
    '      secrets = [{ name = "DB_PASSWORD", valueFrom = aws_secretsmanager_secret.db.arn }]\n', True)])
def test_the_iam_model_is_loaded_only_when_a_task_pulls_secrets(tmp_path: Path, secrets_line: str, iam: bool) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_ecs_task_definition" "app" {\n  family = "app"\n  container_definitions = jsonencode([{\n'
        '      name = "app"\n' + secrets_line +
        '      environment = [{ name = "API_TOKEN", value = "hunter2hunter2" }]\n  }])\n}\n', encoding="utf-8")
    code = ("import sys\nfrom ecsfix.cli import main\nrc = main(['scan', '--no-cache', '--format', 'json', 'main.tf'])\n"
            "print('IAM', 'ecsfix.iam' in sys.modules, file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.stderr.strip().endswith(f"IAM {iam}")
    rules = {f["rule"] for f in __import__("json").loads(proc.stdout)["findings"]}
    assert "EF001" in rules
    assert ("EF101" in rules) is iam  # no execution role: found when (and only when) secrets are pulled
