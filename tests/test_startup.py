"""The fast paths that keep start-up cheap behave exactly like the slow ones (functional only:
performance is measured by benchmarks/run.py, not by timed tests).

* `ecsfix --version` and plain `ecsfix scan ...` command lines never import typer/rich/click;
  anything else (help, bad options) goes through typer unchanged.
* python-hcl2's parser is used without position propagation and without its rule-object
  transformer; the model must be the same as through the positions-propagating parser.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ecsfix import hclparse
from ecsfix.cli import _fast_scan_args, main
from ecsfix.model import SourceFile, Span

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("typer", "rich", "click", "hcl2", "lark", "jinja2")


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
    assert heavy == ["hcl2", "lark"]  # cold: the parser, but not the CLI framework
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


def test_fast_parser_gives_the_same_model_as_python_hcl2s_own(monkeypatch: pytest.MonkeyPatch) -> None:
    from hcl2.parser import parser

    files = sorted(p for p in (REPO / "examples").rglob("*.tf")) + sorted((REPO / "tests" / "fixtures").rglob("*.tf"))
    assert len(files) > 20
    hclparse._lark_parser()
    assert hclparse._parser is not parser(), "the position-free copy is in use"
    fast, slow = [], []
    for path in files:
        src = SourceFile(str(path), str(path), path.read_text(encoding="utf-8"))
        for out, lark in ((fast, hclparse._parser), (slow, parser())):
            monkeypatch.setattr(hclparse, "_parser", lark)
            try:
                out.append(_dump(hclparse.parse_file(src)))
            except Exception as exc:  # noqa: BLE001 - compared, not hidden
                out.append(("error", type(exc).__name__, str(exc)))
    assert fast == slow
