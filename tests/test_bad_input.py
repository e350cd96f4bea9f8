"""Inputs that cannot be read or parsed: one clear line naming the file (and line), exit code 2, no
traceback, and every other file of the same run still scanned.

Each case writes a broken module next to a good one and scans both in one run.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.labelled import run_ecsfix, run_main

GOOD = """\
resource "aws_ecs_task_definition" "good" {
  family = "good"
  container_definitions = jsonencode([
    {
      name        = "app"
      environment = [{ name = "DB_PASSWORD", value = "hunter2" }]
    }
  ])
}
"""
GOOD_FINDING = "good/main.tf:6:22 EF001"


@dataclass
class Case:
    files: dict[str, bytes]
    file: str  # the file the error must name
    line: int | None  # the line it must name (None: no line)
    message: str  # a regular expression the message must match
    extra_args: tuple[str, ...] = ()
    symlinks: dict[str, str] = field(default_factory=dict)  # link -> target


def td(body: str) -> bytes:
    return (
        'resource "aws_ecs_task_definition" "bad" {\n'
        '  family = "bad"\n' + body + "}\n"
    ).encode()


HEREDOC_BAD_JSON = td(
    "  container_definitions = <<EOF\n"
    "[\n"
    '  {"name": "a",\n'
    '   "environment": [{"name": "X", "value": "y"},]}\n'
    "]\n"
    "EOF\n"
)

CASES: dict[str, Case] = {
    "unparseable HCL": Case(
        {"bad/main.tf": td('  container_definitions = jsonencode([{ name = "a", environment = [ }])\n')},
        "bad/main.tf", 3, r"not valid HCL",
    ),
    "unbalanced braces": Case(
        {"bad/main.tf": b'resource "aws_ecs_task_definition" "bad" {\n  family = "bad"\n'},
        "bad/main.tf", 3, r"not valid HCL",
    ),
    "invalid JSON in a heredoc": Case({"bad/main.tf": HEREDOC_BAD_JSON}, "bad/main.tf", 6, r"heredoc <<EOF: invalid JSON"),
    "invalid JSON file for file()": Case(
        {
            "bad/main.tf": td('  container_definitions = file("${path.module}/containers.json")\n'),
            "bad/containers.json": b'[\n  {"name": "a",\n   "environment": [{"name": "X" "value": "y"}]}\n]\n',
        },
        "bad/containers.json", 3, r"invalid JSON",
    ),
    "invalid JSON template for templatefile()": Case(
        {
            "bad/main.tf": td('  container_definitions = templatefile("${path.module}/c.json.tpl", { x = 1 })\n'),
            "bad/c.json.tpl": b'[\n  {"name": "${x}",\n   "environment": [\n]\n',
        },
        "bad/c.json.tpl", 5, r"invalid JSON",
    ),
    "non-UTF-8 template for templatefile()": Case(
        {
            "bad/main.tf": td('  container_definitions = templatefile("${path.module}/c.json.tpl", {})\n'),
            "bad/c.json.tpl": b'[\n  {"name": "caf\xe9"}\n]\n',
        },
        "bad/c.json.tpl", 2, r"not valid UTF-8",
    ),
    "invalid .tf.json": Case(
        {"bad/main.tf.json": b'{\n  "resource": {\n    "aws_ecs_task_definition": {\n      "x": {,}\n}}}\n'},
        "bad/main.tf.json", 4, r"invalid JSON",
    ),
    "invalid task-definition JSON": Case(
        {"bad/taskdef.json": b'{\n  "family": "x",\n  "containerDefinitions": [\n    {"name": "a",}\n  ]\n}\n'},
        "bad/taskdef.json", 4, r"invalid JSON",
    ),
    "non-UTF-8 file": Case(
        {"bad/main.tf": td("  container_definitions = jsonencode([])\n  # caf\n").replace(b"caf", b"caf\xe9")},
        "bad/main.tf", 4, r"not valid UTF-8",
    ),
    "binary file": Case(
        {"bad/main.tf": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) + b"aws_ecs_task_definition"},
        "bad/main.tf", None, r"binary file",
    ),
    "a NUL byte in a text file": Case(
        {"bad/main.tf": td('  container_definitions = jsonencode([])\n  # a\x00b\n')},
        "bad/main.tf", 4, r"binary file|NUL",
    ),
    "missing path": Case({}, "missing/main.tf", None, r"no such file or directory", extra_args=("missing/main.tf",)),
    "empty interpolation": Case(
        {"bad/main.tf": td('  family = "${}"\n  container_definitions = jsonencode([])\n')},
        "bad/main.tf", 3, r"not valid HCL: an empty interpolation",
    ),
    "heredoc without its closing marker": Case(
        {"bad/main.tf": td('  container_definitions = <<EOF\n[]\nEOF # not alone on its line\n')},
        "bad/main.tf", 3, r"not valid HCL: missing the heredoc's closing marker",
    ),
    "directory symlink loop": Case(
        {"bad/main.tf": td("  container_definitions = jsonencode([])\n")},
        "bad/again", None, r"symbolic link loop",
        symlinks={"bad/again": ".."},
    ),
}


def _write(root: Path, case: Case) -> None:
    (root / "good").mkdir()
    (root / "good/main.tf").write_text(GOOD, encoding="utf-8")
    for rel, data in case.files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for link, target in case.symlinks.items():
        os.symlink(target, root / link)


def _targets(case: Case) -> list[str]:
    return ["good", *(["bad"] if any(r.startswith("bad/") for r in case.files) else []), *case.extra_args]


def _error_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if re.search(r": error: ", ln)]


@pytest.mark.parametrize("name", CASES, ids=list(CASES))
def test_bad_input_is_one_clear_error(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    _write(tmp_path, case)
    run = run_ecsfix("scan", *_targets(case), cwd=tmp_path)
    assert "Traceback" not in run.stderr + run.stdout
    assert run.code == 2, run.stdout + run.stderr
    errors = _error_lines(run.stdout + run.stderr)
    assert len(errors) == 1, errors
    (error,) = errors
    where = f"{case.file}:{case.line}" if case.line else case.file
    assert error.startswith(f"{where}: error: "), error
    assert re.search(case.message, error), error
    assert GOOD_FINDING in run.stdout  # the other module was still scanned
    assert "1 error" in run.stdout.splitlines()[-1] or "1 error" in run.stdout


@pytest.mark.parametrize("name", CASES, ids=list(CASES))
def test_bad_input_in_json_output(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    _write(tmp_path, case)
    run = run_main("scan", "--format", "json", *_targets(case), cwd=tmp_path)
    assert run.code == 2
    doc = json.loads(run.stdout)  # the report stays valid JSON
    assert [(e["file"], e["line"]) for e in doc["errors"]] == [(case.file, case.line)]
    assert doc["summary"]["errors"] == 1
    assert [(f["file"], f["name"]) for f in doc["findings"] if f["rule"] == "EF001"] == [("good/main.tf", "DB_PASSWORD")]
    # machine formats repeat the error on stderr for humans, once
    assert len(_error_lines(run.stderr)) == 1


def test_bad_input_no_finding_beyond_the_error(tmp_path: Path) -> None:
    """An unreadable definitions file is an error, not also an 'unanalysable' EF003 finding."""
    case = CASES["invalid JSON file for file()"]
    _write(tmp_path, case)
    doc = json.loads(run_main("scan", "--format", "json", "bad", cwd=tmp_path).stdout)
    assert doc["findings"] == []
    assert len(doc["errors"]) == 1


def test_unreadable_file(tmp_path: Path) -> None:
    case = Case({"bad/main.tf": td("  container_definitions = jsonencode([])\n")}, "bad/main.tf", None,
                r"permission denied")
    _write(tmp_path, case)
    path = tmp_path / "bad/main.tf"
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user who can read a mode-000 file (root)")
        run = run_ecsfix("scan", "good", "bad", cwd=tmp_path)
    finally:
        path.chmod(0o644)
    assert "Traceback" not in run.stderr
    assert run.code == 2
    (error,) = _error_lines(run.stdout)
    assert error.startswith("bad/main.tf: error: ") and "permission denied" in error
    assert GOOD_FINDING in run.stdout


def test_symlinked_directories_are_followed_once(tmp_path: Path) -> None:
    """A directory symlink that is not a loop is followed when it leads outside the scanned tree, and
    never makes a module count twice when it leads to a directory the walk reaches anyway."""
    repo = tmp_path / "repo"
    for d in ("repo/shared", "repo/svc", "vendor"):
        (tmp_path / d).mkdir(parents=True)
    (repo / "shared/main.tf").write_text(GOOD, encoding="utf-8")
    (tmp_path / "vendor/main.tf").write_text(GOOD, encoding="utf-8")
    os.symlink("../shared", repo / "svc/shared")  # inside the tree: reached through its real path
    os.symlink("shared", repo / "alias")
    os.symlink("../vendor", repo / "vendor")  # outside the tree: followed
    os.symlink("../../vendor", repo / "svc/vendor-again")
    run = run_main("scan", "--format", "json", ".", cwd=repo)
    doc = json.loads(run.stdout)
    assert run.code == 1, run.stdout + run.stderr
    assert doc["errors"] == []
    assert sorted(f["file"] for f in doc["findings"] if f["rule"] == "EF001") == [
        "shared/main.tf", "svc/vendor-again/main.tf"
    ] or sorted(f["file"] for f in doc["findings"] if f["rule"] == "EF001") == ["shared/main.tf", "vendor/main.tf"]


def test_unreadable_file_even_as_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """The same as above where root can read anything: the read itself is made to fail."""
    import builtins

    from ecsfix.cli import main

    _write(tmp_path, Case({"bad/main.tf": td("  container_definitions = jsonencode([])\n")}, "bad/main.tf", None, ""))
    real_open = builtins.open

    def deny(file: object, *args: object, **kwargs: object) -> object:
        if str(file).endswith(os.path.join("bad", "main.tf")):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("ecsfix.sources.open", deny, raising=False)
    monkeypatch.setattr("ecsfix.scan._read_text", lambda path: None)  # the fast reader defers to read_source
    monkeypatch.chdir(tmp_path)
    assert main(["scan", "good", "bad"]) == 2
    out = capsys.readouterr().out
    (error,) = _error_lines(out)
    assert error.startswith("bad/main.tf: error: permission denied")
    assert GOOD_FINDING in out


NESTED = "[" * 3000 + "]" * 3000


@pytest.mark.parametrize(("name", "text", "code", "error"), [
    ("main.tf", 'resource "aws_ecs_task_definition" "a" {\n  family = "x"\n  container_definitions = jsonencode([{\n'
     '    name = "a", environment = [{ name = "DB_PASSWORD", value = "hunter2" }], x = ' + NESTED + "\n  }])\n}\n",
     1, None),
    ("main.tf", 'resource "aws_ecs_task_definition" "a" {\n  family = "x"\n  container_definitions = <<EOF\n'
     '[{"name": "a", "x": ' + NESTED + "}]\nEOF\n}\n", 2, "main.tf:4: error: heredoc <<EOF: invalid JSON: nested more than 200"),
    ("main.tf", 'resource "aws_ecs_task_definition" "a" {\n  family = "x"\n  container_definitions = jsonencode([{\n'
     '    name = "a", x = ' + "[" * 3000 + " 1 2 " + "]" * 3000 + "\n  }])\n}\n", 2,
     "main.tf:4: error: not valid HCL: unexpected token (check quotes, brackets and commas)"),
    ("taskdef.json", '{"family": "x", "containerDefinitions": [{"name": "a", "x": ' + NESTED + "}]}", 2,
     "taskdef.json:1: error: invalid JSON: nested more than 200"),
])
def test_absurd_nesting_is_read_or_one_clear_error_never_a_recursion_traceback(
        tmp_path: Path, name: str, text: str, code: int, error: str | None) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    run = run_ecsfix("scan", "--no-cache", name, cwd=tmp_path)
    assert "Traceback" not in run.stderr and "RecursionError" not in run.stderr
    assert run.code == code
    if error is None:  # HCL nesting is read as an opaque value: the rest of the container is still scanned
        assert "DB_PASSWORD" in run.stdout and "hunter2" not in run.stdout
    else:
        assert _error_lines(run.stdout + run.stderr) == [error + ("" if "HCL" in error else " levels deep")]


_TD_HEAD = 'resource "aws_ecs_task_definition" "app" {'
_TD_BODY = ('  family = "app"\n  container_definitions = jsonencode([{ name = "app", environment = '
            '[{ name = "DB_PASSWORD", value = var.db_password }] }])\n')


@pytest.mark.parametrize(("text", "error"), [
    pytest.param(_TD_HEAD + _TD_BODY.lstrip() + "}\n", "main.tf:1: error: an argument on the same line", id="first-on-brace-line"),
    pytest.param(_TD_HEAD + "\n" + _TD_BODY.rstrip("\n") + " }\n", "main.tf:3: error: an argument must end with a line break",
                 id="last-on-brace-line"),
    pytest.param(_TD_HEAD + "\n" + _TD_BODY + "}\n", None, id="valid"),
    pytest.param('variable "db_password" { type = string }\n' + _TD_HEAD + "\n" + _TD_BODY
                 + '  task_role_arn = <<EOT\narn:aws:iam::123456789012:role/x\nEOT\n}\n', None, id="one-line-block-and-heredoc-end"),
])
def test_block_body_lines_as_terraform_reads_them(tmp_path: Path, text: str, error: str | None) -> None:
    """Terraform rejects a multi-line block whose body starts on the `{` line or ends on the `}`
    line; tree-sitter-hcl and python-hcl2 accept both, so ecsfix checks it itself (found by the fuzz
    test: such a task definition was scanned, exit 1, where terraform fails)."""
    (tmp_path / "main.tf").write_text(text)
    run = run_main("scan", "--no-cache", "main.tf", cwd=str(tmp_path))
    if error is None:
        assert run.code == 1 and "error" not in run.stdout + run.stderr
    else:
        assert run.code == 2 and error in run.stdout + run.stderr
