"""`ecsfix rewrite`, first slice: jsonencode literal environment lists -> secrets + Secrets Manager."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from ecsfix.cli import main
from ecsfix.hclparse import parse_file
from ecsfix.model import SourceFile, Str
from ecsfix.rewrite.engine import Edit, FileChange, apply_edits, rewrite, write_change
from ecsfix.scan import scan

from .tf import require_terraform

FIXTURES = Path(__file__).parent / "fixtures" / "rewrite"
SNAPSHOTS = Path(__file__).parent / "snapshots" / "rewrite"


@dataclass(frozen=True)
class Case:
    fixture: str
    moved: tuple[str, ...]  # entry names that must leave `environment`
    literals: tuple[str, ...]  # fake secret literals that must vanish from the output
    kept: tuple[str, ...] = ()  # non-secret entries that must stay


CASES = [
    Case("single_line", ("DB_PASSWORD",), ('"hunter2"',), ("LOG_LEVEL",)),
    Case("multi_line", ("AWS_ACCESS_KEY_ID",), ('"AKIAIOSFODNN7EXAMPLE"',), ("PORT",)),
    Case("comment_inside", ("DATABASE_PASSWORD",), ('"hunter2"',), ("QUEUE_NAME",)),
    Case("existing_secrets", ("STRIPE_SECRET_KEY",), (), ("REGION", "API_TOKEN")),
    Case("all_moved", ("DB_PASSWORD", "API_SECRET"), ('"hunter2"', '"hunter2-api"')),
    Case("variable_value", ("DB_PASSWORD", "API_TOKEN"), (), ("MODE",)),
    Case("inline_lists", ("DB_PASSWORD", "API_KEY"), ('"hunter2"',), ("LOG_LEVEL",)),
    Case("crlf", ("DB_PASSWORD",), ('"hunter2"',), ("LOG_LEVEL",)),
]
IDS = [c.fixture for c in CASES]


def _copy(case: Case, tmp_path: Path) -> Path:
    dst = tmp_path / case.fixture
    shutil.copytree(FIXTURES / case.fixture, dst)
    return dst


def _change(case: Case, tmp_path: Path) -> FileChange:
    result = rewrite([str(_copy(case, tmp_path))])
    assert not result.errors
    assert len(result.changes) == 1, result.notes
    return result.changes[0]


def _fmt_check(text: str) -> int:
    tf = require_terraform()
    env = dict(os.environ, TF_CLI_CONFIG_FILE="/dev/null")
    proc = subprocess.run([tf, "fmt", "-check", "-"], input=text.encode(), env=env, capture_output=True, check=False)
    return proc.returncode


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_bytes_outside_edits_unchanged(case: Case, tmp_path: Path) -> None:
    directory = _copy(case, tmp_path)
    before = scan([str(directory)])
    td = next(t for t in before.task_definitions if t.block is not None)
    assert td.block is not None
    first = min(f.span.start for f in before.findings if f.rule == "EF001")
    original = td.span.file.text
    # the earliest edit is the `environment = [` line itself (when every entry moves)
    env_line = original.rfind("\n", 0, original.rfind("environment", 0, first)) + 1
    prefix = original[:env_line]
    assert len(prefix) > 100
    suffix = original[td.block.span.end :]
    change = rewrite([str(directory)]).changes[0]
    assert change.new.startswith(prefix)
    assert change.new.endswith(suffix)
    assert sorted(m.name for m in rewrite([str(directory)]).moved) == sorted(case.moved)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_output_parses(case: Case, tmp_path: Path) -> None:
    change = _change(case, tmp_path)
    blocks = parse_file(SourceFile(path="x.tf", display="x.tf", text=change.new))
    types = {tuple(b.labels[:1]) for b in blocks if b.type == "resource"}
    assert {("aws_secretsmanager_secret",), ("aws_secretsmanager_secret_version",), ("aws_iam_role_policy",)} <= types


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_fmt_clean_input_stays_fmt_clean(case: Case, tmp_path: Path) -> None:
    original = (FIXTURES / case.fixture / "main.tf").read_bytes().decode()
    assert _fmt_check(original) == 0, "fixture must start fmt-clean"
    assert _fmt_check(_change(case, tmp_path).new) == 0


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_second_run_changes_nothing(case: Case, tmp_path: Path) -> None:
    change = _change(case, tmp_path)
    write_change(change)
    again = rewrite([os.path.dirname(change.path)])
    assert again.changes == []
    assert again.moved == []


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_no_literal_secret_remains(case: Case, tmp_path: Path) -> None:
    new = _change(case, tmp_path).new
    for literal in case.literals:
        assert literal not in new
    for kept in case.kept:
        assert f'"{kept}"' in new


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_scan_after_rewrite_has_no_ef001_for_moved(case: Case, tmp_path: Path) -> None:
    change = _change(case, tmp_path)
    write_change(change)
    after = scan([os.path.dirname(change.path)])
    flagged = {f.name for f in after.findings if f.rule == "EF001"}
    assert not flagged & set(case.moved)
    td = next(t for t in after.task_definitions if t.block is not None)
    secrets = {s.name for c in td.containers for s in c.secrets}
    assert set(case.moved) <= secrets
    env = {e.name for c in td.containers for e in c.environment}
    assert set(case.kept) - {"API_TOKEN"} <= env


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_diff_snapshot(case: Case, tmp_path: Path, snapshot) -> None:  # type: ignore[no-untyped-def]
    snapshot.snapshot_dir = SNAPSHOTS
    change = _change(case, tmp_path)
    change.display = f"{case.fixture}/main.tf"
    # bytes: a CRLF file's diff keeps its \r (pytest-snapshot refuses \r in str)
    snapshot.assert_match(change.diff().encode(), f"{case.fixture}.diff")


def test_crlf_line_endings_kept(tmp_path: Path) -> None:
    new = _change(CASES[-1], tmp_path).new
    assert new.count("\n") == new.count("\r\n") > 0


def test_literal_becomes_sensitive_variable(tmp_path: Path) -> None:
    new = _change(CASES[0], tmp_path).new
    assert 'variable "app_db_password" {' in new
    assert "sensitive   = true" in new
    assert "DB_PASSWORD = var.app_db_password" in new
    assert "role = aws_iam_role.exec.id" in new


def test_original_expression_moves_unchanged(tmp_path: Path) -> None:
    new = _change(CASES[5], tmp_path).new
    assert "DB_PASSWORD = var.db_password" in new
    assert "API_TOKEN   = local.api_token" in new
    assert 'variable "svc_' not in new  # no literal: no new variable


def test_generated_names_do_not_collide(tmp_path: Path) -> None:
    new = _change(CASES[2], tmp_path).new
    assert new.count('resource "aws_secretsmanager_secret" "worker_secrets" {') == 1
    assert 'resource "aws_secretsmanager_secret" "worker_secrets_2" {' in new
    assert "${aws_secretsmanager_secret.worker_secrets_2.arn}:DATABASE_PASSWORD::" in new


@pytest.mark.parametrize(
    ("text", "edits", "expected"),
    [
        ("abcdef", [Edit(1, 2, "X"), Edit(4, 4, "Y")], "aXcdYef"),
        ("abc", [Edit(3, 3, "!"), Edit(0, 0, ">")], ">abc!"),
    ],
    ids=["replace-and-insert", "unordered"],
)
def test_apply_edits(text: str, edits: list[Edit], expected: str) -> None:
    assert apply_edits(text, edits) == expected


def test_other_forms_are_noted_not_silent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a value computed inside the template cannot be moved out of it
    (tmp_path / "c.tpl").write_text('[{"name": "h", "environment": [{"name": "DB_PASSWORD", "value": "${upper(pw)}"}]}]\n')
    (tmp_path / "main.tf").write_text(
        'resource "aws_ecs_task_definition" "h" {\n'
        '  family                = "h"\n'
        "  execution_role_arn    = aws_iam_role.exec.arn\n"
        '  container_definitions = templatefile("${path.module}/c.tpl", { pw = "hunter2" })\n'
        "}\n"
    )
    result = rewrite([str(tmp_path)])
    assert result.changes == []
    why = "not rewritten: the value of DB_PASSWORD cannot be expressed outside the template"
    assert any(why in n for n in result.notes), result.notes
    assert main(["rewrite", str(tmp_path)]) == 0  # nothing --write would change: the note is scan's to fail on
    err = capsys.readouterr().err
    assert why in err
    assert "hunter2" not in err


def test_cli_diff_check_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = _copy(CASES[0], tmp_path)
    path = directory / "main.tf"
    path.chmod(0o640)
    original = path.read_bytes()
    assert main(["rewrite", str(directory)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("---") and "+      secrets = [" in out and "hu******" in out  # the removed line, redacted
    assert "hunter2" not in out and "unter" not in out
    assert main(["rewrite", "--check", str(directory)]) == 1
    out = capsys.readouterr().out
    assert "DB_PASSWORD" in out and "hunter2" not in out and "---" not in out
    assert path.read_bytes() == original
    summary = tmp_path / "summary.md"
    assert main(["rewrite", "--write", "--summary", str(summary), str(directory)]) == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert b"hunter2" not in path.read_bytes()
    text = summary.read_text()
    assert "var.app_db_password" in text and "**Rotate**" in text and "hunter2" not in text
    assert main(["rewrite", "--check", str(directory)]) == 0
    assert [p.name for p in directory.iterdir()] == ["main.tf"]  # no temp file left


def test_write_refuses_when_file_changed(tmp_path: Path) -> None:
    change = _change(CASES[1], tmp_path)
    Path(change.path).write_text(change.original + "\n# edited meanwhile\n")
    from ecsfix.model import EcsfixError

    with pytest.raises(EcsfixError, match="changed since it was read"):
        write_change(change)
    assert Path(change.path).read_text().endswith("# edited meanwhile\n")


def test_values_are_str_literals_in_fixtures() -> None:
    """Guard: the literal cases really hold literals at the entry (else test 6 proves nothing)."""
    result = scan([str(FIXTURES / "single_line")])
    entry = next(e for td in result.task_definitions for c in td.containers for e in c.environment
                 if e.name == "DB_PASSWORD")
    assert entry.value is not None and isinstance(entry.value.at_entry, Str)


def test_printed_diff_never_shows_a_removed_literal_value(tmp_path: Path) -> None:
    from ecsfix.rewrite.changes import redact_values as _redact_values

    assert _redact_values('-        { name = "DB_PASSWORD", value = "hunter2" },\n') == (
        '-        { name = "DB_PASSWORD", value = "hu******" },\n'
    )
    assert _redact_values('-  {"name": "A", "value": "AKIAIOSFODNN7EXAMPLE"}\n') == '-  {"name": "A", "value": "AK******"}\n'
    assert _redact_values('-  { name = "A", value = "${var.a}" }\n') == '-  { name = "A", value = "${var.a}" }\n'
    assert _redact_values('-      value = var.db_password\n') == '-      value = var.db_password\n'
    example = Path(__file__).parents[1] / "examples" / "jsonencode"
    proc = subprocess.run([sys.executable, "-m", "ecsfix", "rewrite", str(example)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "-        { name = \"AWS_ACCESS_KEY_ID\"" in proc.stdout
    for fake in ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "IOSFODNN7", "K7MDENG"):
        assert fake not in proc.stdout + proc.stderr
