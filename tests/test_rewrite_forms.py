"""`ecsfix rewrite` over every input form and role case: the seven output properties (SPEC §5).

Property 5 (terraform console before/after) lives in tests/test_rewrite_console.py; the others are
checked here for every fixture directory under tests/fixtures/rewrite, multi-file forms included
(`file()` and `templatefile()` edit the JSON file and the call).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from ecsfix.hclparse import parse_file
from ecsfix.model import EcsfixError, SourceFile
from ecsfix.rewrite.engine import FileChange, RewriteResult, rewrite, write_change
from ecsfix.rewrite.plan import Options
from ecsfix.scan import scan

from .tf import require_terraform

FIXTURES = Path(__file__).parent / "fixtures" / "rewrite"
SNAPSHOTS = Path(__file__).parent / "snapshots" / "rewrite_forms"


@dataclass(frozen=True)
class Case:
    fixture: str
    form: str
    moved: tuple[str, ...]
    literals: tuple[str, ...] = ()  # fake secret literals that must vanish from every output file
    kept: tuple[str, ...] = ()  # entries that must stay in `environment`
    role: str = "aws_iam_role.exec.id"  # the `role =` the generated policy must carry
    task_definitions: int = 1  # how many task definitions get their own secret
    generated: tuple[str, ...] = ()  # the generated resource types, when not one secret per task definition


CASES = [
    # the first slice (jsonencode), also covered by tests/test_rewrite.py
    Case("single_line", "jsonencode", ("DB_PASSWORD",), ("hunter2",), ("LOG_LEVEL",)),
    Case("multi_line", "jsonencode", ("AWS_ACCESS_KEY_ID",), ("AKIAIOSFODNN7EXAMPLE",), ("PORT",),
         role="aws_iam_role.api_exec.id"),
    Case("comment_inside", "jsonencode", ("DATABASE_PASSWORD",), ("hunter2",), ("QUEUE_NAME",)),
    Case("existing_secrets", "jsonencode", ("STRIPE_SECRET_KEY",), (), ("REGION",)),
    Case("all_moved", "jsonencode", ("DB_PASSWORD", "API_SECRET"), ("hunter2",)),
    Case("variable_value", "jsonencode", ("DB_PASSWORD", "API_TOKEN"), (), ("MODE",), role="aws_iam_role.svc_exec.id"),
    Case("inline_lists", "jsonencode", ("DB_PASSWORD", "API_KEY"), ("hunter2",), ("LOG_LEVEL",)),
    Case("crlf", "jsonencode", ("DB_PASSWORD",), ("hunter2",), ("LOG_LEVEL",)),
    # every other form
    Case("heredoc_eof", "heredoc <<EOF", ("DB_PASSWORD", "API_TOKEN"), ("hunter2",), ("QUEUE_NAME",)),
    Case("heredoc_trim", "heredoc <<-EOT", ("STRIPE_SECRET_KEY",), ("sk_test_EXAMPLE0000000000000000",),
         role="data.aws_iam_role.exec.name"),
    Case("file_json", "file()", ("JWT_SECRET",), ("hunter2-jwt",), ("PORT",), role='"api-exec"'),
    Case("templatefile_vars", "templatefile()", ("GITHUB_TOKEN", "WEBHOOK_SECRET"), ("hunter2-hook",),
         ("LOG_LEVEL",), role='regex("[^/]+$", var.execution_role_arn)'),
    Case("locals_env", "environment = local.x", ("SECRET_KEY_BASE", "SMTP_PASSWORD"), ("hunter2",), ("RAILS_ENV",)),
    Case("locals_containers", "jsonencode(local.x)", ("DATADOG_API_KEY",), (), ("LOG_LEVEL",)),
    Case("for_each", "for_each", ("TENANT_API_KEY",), (), ("TENANT",)),
    Case("count", "count", ("REDIS_PASSWORD",), (), ("SHARD",)),
    Case("write_only", "write-only value", ("DB_PASSWORD",)),
    Case("realign_all_moved", "= re-alignment", ("DB_PASSWORD",)),
    Case("bom_no_newline", "BOM, no final newline", ("DB_PASSWORD",)),
    Case("oneline_heredoc", "one-line JSON containers", ("SENTRY_AUTH_TOKEN",), ("hunter2-sentry",), ("APP_ENV", "LOG_LEVEL")),
    Case("oneline_hcl", "one-line HCL container", ("MAILGUN_API_KEY",), (), ("TZ",)),
    Case("exclusive_inline_role", "role with inline_policy blocks", ("DB_PASSWORD",), role="inline_policy"),
    # the execution role ARN through a local: the policy names it by the ARN's last segment
    Case("role_local", "execution_role_arn = local.x", ("DB_PASSWORD",), role='regex("[^/]+$", local.execution_role_arn)'),
    Case("role_local_inline", "local.x naming a role with inline_policy blocks", ("DB_PASSWORD",), role="inline_policy"),
    # container definitions held in a local: `container_definitions = local.x`
    Case("templatefile_local", "templatefile() in a local", ("DB_PASSWORD", "QUEUE_API_KEY", "SMTP_PASSWORD"),
         ("hunter2",), ("LOG_LEVEL", "TZ"), task_definitions=3),
    # the 0.11-era template provider: `data "template_file"` with `vars = {...}` or `vars { ... }`
    Case("template_file_vars", "data template_file, vars = {}", ("DB_PASSWORD", "SESSION_SECRET"), ("hunter2",),
         ("LOG_LEVEL",)),
    Case("template_file_block_count", "data template_file, vars {}, count, 0.11 strings", ("REDIS_PASSWORD",),
         (), ("SHARD",)),
    # an environment local several containers read: moved once, every execution role granted
    Case("shared_env_local", "environment = local.x in 3 containers, 2 roles",
         ("SECRET_KEY_BASE", "SMTP_PASSWORD") * 3, ("hunter2",), ("RAILS_ENV",),
         role="aws_iam_role.web_exec.id | aws_iam_role.worker_exec.id",
         generated=("aws_iam_role_policy", "aws_iam_role_policy", "aws_secretsmanager_secret",
                    "aws_secretsmanager_secret_version")),
    # one template file several task definitions render, each with its own variables
    Case("templatefile_shared", "templatefile() of one file in 3 task definitions, 2 roles",
         ("DB_PASSWORD", "STRIPE_SECRET_KEY") * 3, (), ("LOG_LEVEL",),
         role="aws_iam_role.exec.id | aws_iam_role.worker_exec.id",
         generated=("aws_iam_role_policy", "aws_iam_role_policy", "aws_secretsmanager_secret",
                    "aws_secretsmanager_secret_version")),
    Case("concat_common_env", "environment = concat(local.common_env, [...])",
         ("DATABASE_PASSWORD",) * 3 + ("STRIPE_SECRET_KEY", "MAILGUN_API_KEY"), ("key-hunter2",),
         ("APP_ENV", "PORT", "QUEUE"), task_definitions=3),
]
IDS = [c.fixture for c in CASES]


def test_every_fixture_has_a_case() -> None:
    assert {p.name for p in FIXTURES.iterdir() if p.is_dir()} == set(IDS)


def _copy(case: Case, tmp_path: Path) -> Path:
    dst = tmp_path / case.fixture
    shutil.copytree(FIXTURES / case.fixture, dst)
    return dst


def _run(directory: Path, **options: object) -> RewriteResult:
    result = rewrite([str(directory)], options=Options(**options))  # type: ignore[arg-type]
    assert not result.errors, result.errors
    assert result.changes, result.notes
    return result


def _fmt_check(text: str) -> int:
    tf = require_terraform()
    env = dict(os.environ, TF_CLI_CONFIG_FILE="/dev/null")
    proc = subprocess.run([tf, "fmt", "-check", "-"], input=text.encode(), env=env, capture_output=True, check=False)
    return proc.returncode


def _json_parses(text: str) -> None:
    # a templatefile() template: interpolations live inside JSON strings here
    json.loads(re.sub(r"\$\{[^}]*\}", "x", text))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_bytes_outside_edited_spans_unchanged(case: Case, tmp_path: Path) -> None:
    directory = _copy(case, tmp_path)
    before = scan([str(directory)])
    allowed: dict[str, list[tuple[int, int]]] = {}
    for td in before.task_definitions:
        if td.block is None:
            continue
        allowed.setdefault(td.block.file.path, []).append((td.block.span.start, td.block.span.end))
        for c in td.containers:
            for expr in (c.obj, c.environment_expr):
                if expr is not None:
                    allowed.setdefault(expr.span.file.path, []).append((expr.span.start, expr.span.end))
            for e in c.environment:  # entries of a list in `locals`
                allowed.setdefault(e.span.file.path, []).append((e.span.start, e.span.end))
    for td in before.task_definitions:  # the local or the template_file data source is edited too
        cd = td.block.attributes.get("container_definitions") if td.block is not None else None
        envs = [c.environment_expr.span.text for c in td.containers if c.environment_expr is not None]
        if cd is None or not re.match(r'"?(\$\{)?(local|data\.template_file)\.', cd.value.span.text) \
                and not any("local." in env for env in envs):
            continue
        for path in Path(td.block.file.path).parent.glob("*.tf"):
            src = SourceFile(path=str(path), display="", text=path.read_text())
            spans = [(b.span.start, b.span.end) for b in parse_file(src) if b.type == "locals"]
            spans += [(b.span.start, b.span.end) for b in parse_file(src)
                      if b.type == "data" and b.labels[:1] == ["template_file"]]
            allowed.setdefault(str(path), []).extend(spans)
    if case.role == "inline_policy":  # the grant is a new block inside the execution role
        for path in allowed:
            src = SourceFile(path=path, display=path, text=Path(path).read_text())
            allowed[path] += [(b.span.start, b.span.end) for b in parse_file(src)
                              if b.type == "resource" and b.labels[:1] == ["aws_iam_role"]]
    for change in _run(directory).changes:
        spans = allowed[change.path]
        ops = difflib.SequenceMatcher(None, change.original, change.new, autojunk=False).get_opcodes()
        for tag, i1, i2, _, _ in ops:
            if tag == "equal":
                continue
            # the locals list itself may grow/shrink: allow the whole line range of edited spans
            # (a pure insertion right after a span may be aligned by difflib after its newline)
            slack = 2 if i1 == i2 else 0
            assert any(s <= i1 and i2 <= e + slack for s, e in spans) or _in_locals_list(change, i1, i2), (
                f"{change.display}: bytes {i1}..{i2} changed outside the edited spans: "
                f"{change.original[max(0, i1 - 20):i2 + 20]!r}"
            )


def _in_locals_list(change: FileChange, i1: int, i2: int) -> bool:
    # a `locals { x = [ ... ] }` list whose entries moved: the change stays between its brackets
    text = change.original
    start = text.rfind("= [", 0, i1)
    end = text.find("\n  ]", i2)
    return start != -1 and end != -1 and "locals {" in text[:start]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_output_parses_and_fmt_clean_stays_clean(case: Case, tmp_path: Path) -> None:
    for change in _run(_copy(case, tmp_path)).changes:
        if change.path.endswith(".tf"):
            blocks = parse_file(SourceFile(path=change.path, display=change.display, text=change.new))
            assert blocks
            if _fmt_check(change.original) == 0:
                assert _fmt_check(change.new) == 0, change.new
        else:
            _json_parses(change.new)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_generated_wiring(case: Case, tmp_path: Path) -> None:
    result = _run(_copy(case, tmp_path))
    tf = "".join(c.new for c in result.changes if c.path.endswith(".tf"))
    blocks = [b for c in result.changes if c.path.endswith(".tf")
              for b in parse_file(SourceFile(path=c.path, display=c.display, text=c.new))]
    old = "".join(c.original for c in result.changes if c.path.endswith(".tf"))
    generated = [b for b in blocks if b.type == "resource" and f'"{b.labels[1]}"' not in old
                 # the EF102 fix for a secret the role could not read before (rewrite/deploy.py)
                 and not b.labels[1].endswith("_execution_secrets")]
    types = sorted(b.labels[0] for b in generated)
    if case.role == "inline_policy":  # the grant goes into the role's own inline_policy blocks
        assert types == ["aws_secretsmanager_secret", "aws_secretsmanager_secret_version"]
        role = next(b for b in blocks if b.type == "resource" and b.labels[0] == "aws_iam_role")
        inline = [b for b in role.blocks if b.type == "inline_policy"]
        assert len(inline) == 2 and "secretsmanager:GetSecretValue" in inline[1].span.text
    else:
        assert types == sorted(case.generated or ["aws_iam_role_policy", "aws_secretsmanager_secret",
                                                  "aws_secretsmanager_secret_version"] * case.task_definitions)
        for policy in (b for b in generated if b.labels[0] == "aws_iam_role_policy"):
            assert policy.attributes["role"].value.span.text in case.role.split(" | ")
            assert "secretsmanager:GetSecretValue" in policy.span.text
    assert sorted(m.name for m in result.moved) == sorted(case.moved)
    for name in case.moved:
        assert re.search(rf':{name}::"', "".join(c.new for c in result.changes)), name
    assert "# Generated by ecsfix" in tf


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_second_run_changes_nothing(case: Case, tmp_path: Path) -> None:
    directory = _copy(case, tmp_path)
    for change in _run(directory).changes:
        write_change(change)
    again = rewrite([str(directory)])
    assert again.changes == [] and again.moved == [] and again.errors == []


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_no_literal_secret_remains(case: Case, tmp_path: Path) -> None:
    result = _run(_copy(case, tmp_path))
    for change in result.changes:
        for literal in case.literals:
            assert literal not in change.new, (change.display, literal)
            assert literal not in change.diff()
    everything = "".join(c.new for c in result.changes)
    for kept in case.kept:
        assert f'"{kept}"' in everything


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_scan_after_rewrite_has_no_ef001_for_moved(case: Case, tmp_path: Path) -> None:
    directory = _copy(case, tmp_path)
    before = scan([str(directory)])
    for change in _run(directory).changes:
        write_change(change)
    after = scan([str(directory)])
    assert not after.errors
    flagged = {f.name for f in after.findings if f.rule == "EF001"}
    assert not flagged & set(case.moved)
    secrets = {s.name for td in after.task_definitions for c in td.containers for s in c.secrets}
    assert set(case.moved) <= secrets
    env = {e.name for td in after.task_definitions for c in td.containers for e in c.environment}
    assert set(case.kept) <= env
    assert not set(case.moved) & env
    # the new wiring is complete: no deploy-readiness finding that was not there before
    old = {(f.rule, f.name) for f in before.findings if f.rule.startswith("EF1")}
    new = {(f.rule, f.name) for f in after.findings if f.rule.startswith("EF1") and f.severity != "info"}
    assert new <= old, new - old


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_diff_snapshot(case: Case, tmp_path: Path, snapshot) -> None:  # type: ignore[no-untyped-def]
    snapshot.snapshot_dir = SNAPSHOTS
    directory = _copy(case, tmp_path)
    result = _run(directory)
    out = []
    for change in sorted(result.changes, key=lambda c: c.path):
        change.display = os.path.relpath(change.path, tmp_path)
        out.append(change.diff())
    snapshot.assert_match("".join(out).encode(), f"{case.fixture}.diff")


# --------------------------------------------------------------------------- specific behaviours


def test_bom_and_missing_final_newline_are_kept(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.fixture == "bom_no_newline")
    change = _run(_copy(case, tmp_path)).changes[0]
    assert change.original.startswith("\ufeff") and change.new.startswith("\ufeff")
    assert not change.original.endswith("\n") and not change.new.endswith("\n")
    write_change(change)
    raw = Path(change.path).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\xef\xbb\xbf") == 1


def test_write_only_chosen_from_version_constraints(tmp_path: Path) -> None:
    wo = _run(_copy(next(c for c in CASES if c.fixture == "write_only"), tmp_path)).changes[0].new
    assert "  secret_string_wo = jsonencode({" in wo and "  secret_string_wo_version = 1" in wo
    assert "secret_string =" not in wo
    plain = _run(_copy(next(c for c in CASES if c.fixture == "count"), tmp_path)).changes[0].new
    assert "secret_string = jsonencode({" in plain and "secret_string_wo" not in plain


@pytest.mark.parametrize(
    ("required_version", "aws_version", "expected"),
    [
        (">= 1.11.0", "~> 5.90", True),
        (">= 1.11", ">= 5.88.0", True),
        ("~> 1.12", ">= 6.0", True),
        (">= 1.10", ">= 5.88", False),  # Terraform 1.10 lacks write-only attributes
        (">= 1.11", "~> 5.0", False),  # 5.0 satisfies ~> 5.0 but predates 5.88
        (">= 1.11, < 2.0", "> 5.87", False),  # > 5.87 admits 5.87.1
        (None, ">= 5.88", False),
    ],
)
def test_write_only_decision_table(tmp_path: Path, required_version: str | None, aws_version: str, expected: bool) -> None:
    src = (FIXTURES / "write_only" / "main.tf").read_text()
    src = src.replace('required_version = ">= 1.11.0"', f'required_version = "{required_version}"' if required_version else "")
    src = src.replace('version = "~> 5.90"', f'version = "{aws_version}"')
    (tmp_path / "main.tf").write_text(src)
    new = _run(tmp_path).changes[0].new
    assert ("secret_string_wo " in new) is expected
    forced = _run(tmp_path, write_only=not expected).changes[0].new
    assert ("secret_string_wo " in forced) is (not expected)


def test_later_run_extends_generated_resources(tmp_path: Path) -> None:
    directory = _copy(next(c for c in CASES if c.fixture == "multi_line"), tmp_path)
    for change in _run(directory).changes:
        write_change(change)
    main = directory / "main.tf"
    text = main.read_text()
    # a colleague adds another secret to the same container later
    marker = '          value = "8080"\n        },'
    assert marker in text
    main.write_text(text.replace(marker, marker + '\n        { name = "SESSION_SECRET", value = var.session_secret },'))
    result = _run(directory)
    new = result.changes[0].new
    assert [m.name for m in result.moved] == ["SESSION_SECRET"]
    assert new.count('resource "aws_secretsmanager_secret" ') == 1
    assert new.count('resource "aws_iam_role_policy" ') == 1
    assert "_secrets_2" not in new
    assert re.search(r"\n    SESSION_SECRET\s+= var\.session_secret\n", new)
    secret = re.search(r'resource "aws_secretsmanager_secret" "([^"]+)"', new)
    assert secret and f"${{aws_secretsmanager_secret.{secret.group(1)}.arn}}:SESSION_SECRET::" in new
    if _fmt_check(text) == 0:
        assert _fmt_check(new) == 0
    write_change(result.changes[0])
    assert rewrite([str(directory)]).changes == []


def test_literal_values_keep_warns_and_copies(tmp_path: Path) -> None:
    directory = _copy(next(c for c in CASES if c.fixture == "single_line"), tmp_path)
    result = _run(directory, literal_values="keep")
    assert result.warnings and all("rotate" in w for w in result.warnings)
    assert all("hunter2" not in w for w in result.warnings)
    assert '= "hunter2"' in result.changes[0].new  # the user asked for it
    assert "hunter2" not in result.changes[0].diff()  # ... but it is never printed
    assert 'variable "' not in result.changes[0].new.split("# Generated by ecsfix", 1)[1]


def test_kms_key_id_sets_key_and_grants_decrypt(tmp_path: Path) -> None:
    directory = _copy(next(c for c in CASES if c.fixture == "variable_value"), tmp_path)
    new = _run(directory, kms_key_id="aws_kms_key.secrets.arn").changes[0].new
    assert "kms_key_id  = aws_kms_key.secrets.arn" in new
    assert '"kms:Decrypt"' in new and "Resource = [aws_kms_key.secrets.arn]" in new
    assert _fmt_check(new) == 0 or _fmt_check((FIXTURES / "variable_value" / "main.tf").read_text()) != 0


def test_local_used_twice_is_left_with_a_note(tmp_path: Path) -> None:
    directory = _copy(next(c for c in CASES if c.fixture == "locals_env"), tmp_path)
    main = directory / "main.tf"
    main.write_text(main.read_text() + '\noutput "env_names" {\n  value = [for e in local.app_env : e.name]\n}\n')
    result = rewrite([str(directory)])
    assert result.changes == []
    assert any("local.app_env is used more than once" in n for n in result.notes)


def test_file_with_template_syntax_is_not_turned_into_templatefile(tmp_path: Path) -> None:
    directory = _copy(next(c for c in CASES if c.fixture == "file_json"), tmp_path)
    js = directory / "containers.json"
    js.write_text(js.read_text().replace('"example/api:7"', '"example/api:${tag}"'))
    result = rewrite([str(directory)])
    assert result.changes == []
    assert any("templatefile() would evaluate" in n for n in result.notes)


# --------------------------------------------------------------------------- options


def test_backend_ssm_generates_parameters_and_get_parameters_policy(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.fixture == "heredoc_eof")
    directory = _copy(case, tmp_path)
    result = _run(directory, backend="ssm")
    new = result.changes[0].new
    assert new.count('resource "aws_ssm_parameter" ') == 2
    assert '"valueFrom": "${aws_ssm_parameter.worker_db_password.arn}"' in new
    assert '"ssm:GetParameters"' in new and "secretsmanager" not in new
    assert 'type  = "SecureString"' in new
    if _fmt_check(result.changes[0].original) == 0:
        assert _fmt_check(new) == 0
    write_change(result.changes[0])
    after = scan([str(directory)])
    assert not [f for f in after.findings if f.rule in ("EF001", "EF102", "EF103")]
    assert rewrite([str(directory)], options=Options(backend="ssm")).changes == []


def test_output_file_collects_generated_resources(tmp_path: Path) -> None:
    directory = tmp_path / "two"
    directory.mkdir()
    for case in ("single_line", "variable_value"):
        text = (FIXTURES / case / "main.tf").read_text()
        (directory / f"{case}.tf").write_text(text.replace('"app"', f'"{case}"'))
    result = _run(directory, output_file="ecsfix_secrets.tf")
    by_name = {Path(c.path).name: c for c in result.changes}
    assert set(by_name) == {"single_line.tf", "variable_value.tf", "ecsfix_secrets.tf"}
    generated = by_name["ecsfix_secrets.tf"]
    assert generated.created and generated.original == ""
    assert generated.new.count('resource "aws_secretsmanager_secret" ') == 2
    for name in ("single_line.tf", "variable_value.tf"):
        assert "# Generated by ecsfix" not in by_name[name].new
    assert _fmt_check(generated.new) == 0
    for change in result.changes:
        write_change(change)
    assert rewrite([str(directory)], options=Options(output_file="ecsfix_secrets.tf")).changes == []
    assert not [f for f in scan([str(directory)]).findings if f.rule == "EF001"]


def test_output_file_never_clobbers_a_file_created_meanwhile(tmp_path: Path) -> None:
    directory = _copy(next(c for c in CASES if c.fixture == "single_line"), tmp_path)
    result = _run(directory, output_file="generated.tf")
    created = next(c for c in result.changes if c.created)
    Path(created.path).write_text("# someone else's file\n")
    with pytest.raises(EcsfixError, match="appeared since ecsfix read the module"):
        write_change(created)
    assert Path(created.path).read_text() == "# someone else's file\n"


def test_cli_format_json_and_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ecsfix.cli import main

    directory = _copy(next(c for c in CASES if c.fixture == "templatefile_vars"), tmp_path)
    summary = tmp_path / "summary.md"
    assert main(["rewrite", str(directory), "--format", "json", "--summary", str(summary)]) == 1
    out = capsys.readouterr().out
    doc = json.loads(out)
    assert doc["version"] == 1
    assert sorted(m["name"] for m in doc["moved"]) == ["GITHUB_TOKEN", "WEBHOOK_SECRET"]
    assert {Path(c["file"]).name for c in doc["changes"]} == {"main.tf", "containers.json.tpl"}
    assert "hunter2" not in out
    md = summary.read_text()
    assert "WEBHOOK_SECRET" in md and "**Rotate**" in md and "hunter2" not in md


def test_cli_rejects_output_file_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ecsfix.cli import main

    assert main(["rewrite", str(tmp_path), "--output-file", "../x.tf"]) == 2
    assert "--output-file" in capsys.readouterr().err


SHARED_TEMPLATE = (
    '[\n  {\n    "name": "app",\n    "image": "${image}",\n    "environment": [\n'
    '      { "name": "LOG_LEVEL", "value": "info" },\n'
    '      { "name": "API_TOKEN", "value": "${api_token}" },\n'
    '      { "name": "DB_PASSWORD", "value": "${db_password}" }\n    ]\n  }\n]\n'
)
A_VARS = '{ image = "a", db_password = var.db_password, api_token = var.api_token }'


@pytest.mark.parametrize(("b_vars", "moved", "why"), [
    pytest.param('merge({ db_password = var.db_password }, { image = "b", api_token = var.api_token })',
                 ("API_TOKEN", "DB_PASSWORD"), None, id="agree"),
    pytest.param('{ image = "b", db_password = var.other_password, api_token = var.api_token }', ("API_TOKEN",),
                 "the value of DB_PASSWORD is passed differently by the calls", id="one-value-disagrees"),
    pytest.param("var.template_vars", (),
                 "the variables of aws_ecs_task_definition.b are not a literal map or merge(..., { ... })",
                 id="vars-not-literal"),
    pytest.param('merge(var.common, { image = "b" })', (),
                 "the variables of aws_ecs_task_definition.b merge var.common, which is not a literal map",
                 id="merge-of-a-variable"),
])
def test_template_shared_by_two_task_definitions(tmp_path: Path, b_vars: str, moved: tuple[str, ...],
                                                 why: str | None) -> None:
    (tmp_path / "c.tpl").write_text(SHARED_TEMPLATE)
    (tmp_path / "main.tf").write_text("".join(
        f'resource "aws_ecs_task_definition" "{n}" {{\n  family             = "{n}"\n'
        f'  execution_role_arn = aws_iam_role.exec.arn\n'
        f'  container_definitions = templatefile("${{path.module}}/c.tpl", {v})\n}}\n\n'
        for n, v in {"a": A_VARS, "b": b_vars}.items()
    ))
    result = rewrite([str(tmp_path)])
    assert result.errors == []
    # the template is edited once, each call passes the one secret's ARN
    assert sorted((m.task_definition, m.name) for m in result.moved) == sorted(
        (f"aws_ecs_task_definition.{td}", name) for td in "ab" for name in moved)
    notes = [n for n in result.notes if "shared by 2 task definitions" in n and "c.tpl" in n]
    if why is None:
        assert notes == []
    else:
        assert len(notes) == 2 and all(why in n and n.endswith("by hand") for n in notes), notes
    flagged = {(f.resource, f.name, f.fixable) for f in scan([str(tmp_path)]).findings if f.rule == "EF001"}
    assert flagged == {(f"aws_ecs_task_definition.{td}", name, name in moved)
                       for td in "ab" for name in ("API_TOKEN", "DB_PASSWORD")}
    if not moved:
        assert result.changes == []
        return
    tf = next(c.new for c in result.changes if c.path.endswith(".tf"))
    assert tf.count("c_secrets_arn = aws_secretsmanager_secret.c_secrets.arn") == 2
    assert tf.count('resource "aws_secretsmanager_secret" ') == 1
    assert tf.count('resource "aws_iam_role_policy" ') == 1
    assert ("DB_PASSWORD = var.db_password" in tf) is ("DB_PASSWORD" in moved)
    for change in result.changes:
        write_change(change)
    assert rewrite([str(tmp_path)]).changes == []
    assert {f.name for f in scan([str(tmp_path)]).findings if f.rule == "EF001"} == {"API_TOKEN", "DB_PASSWORD"} - set(moved)


# --------------------------------------------------------------------------- refusals (found on real-world files)

REFUSALS = {
    "secret-inside-template": (
        'resource "aws_ecs_task_definition" "app" {\n  family             = "app"\n'
        '  execution_role_arn = aws_iam_role.exec.arn\n  container_definitions = jsonencode([{\n'
        '    name  = "app"\n    image = "nginx"\n    environment = [\n'
        '      { name = "DATABASE_URL", value = "postgres://app:hunter2@${aws_db_instance.db.address}:5432/app" },\n'
        '    ]\n  }])\n}\n',
        "mixes a committed secret with references",
    ),
    "extra-keys": (
        'resource "aws_ecs_task_definition" "svc" {\n  family             = "svc"\n'
        '  execution_role_arn = aws_iam_role.exec.arn\n  container_definitions = <<EOF\n'
        '[\n  {\n    "name": "app",\n    "environment": [\n'
        '      {"name": "APP_PASSWORD", "value": "hunter2", "value1": "hunter2-other"}\n    ]\n  }\n]\nEOF\n}\n',
        "has keys other than name and value",
    ),
    "not-rewritable-form": (
        'resource "aws_ecs_task_definition" "app" {\n  family                = "app"\n'
        '  execution_role_arn    = aws_iam_role.exec.arn\n'
        '  container_definitions = jsonencode(var.containers)\n}\n\n'
        'variable "containers" {\n  default = [{ name = "a", environment = [{ name = "DB_PASSWORD", value = "hunter2" }] }]\n}\n',
        "move DB_PASSWORD to `secrets` by hand",
    ),
}


@pytest.mark.parametrize("key", sorted(REFUSALS))
def test_unsafe_or_unsupported_entries_are_left_with_a_note(tmp_path: Path, key: str,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    from ecsfix.cli import main

    text, why = REFUSALS[key]
    (tmp_path / "main.tf").write_text(text)
    result = rewrite([str(tmp_path)])
    assert result.changes == [] and result.errors == []
    assert any(why in n for n in result.notes), result.notes
    assert main(["rewrite", str(tmp_path)]) == 0  # listed on stderr; scan is the command that fails on it
    captured = capsys.readouterr()
    assert "hunter2" not in captured.out + captured.err


# --------------------------------------------------------------------------- shared locals

SHARED_NO_ROLE = """\
locals {
  common_env = [
    { name = "LOG_LEVEL", value = "info" },
    { name = "DB_PASSWORD", value = var.db_password },
  ]
}

variable "db_password" {
  type      = string
  sensitive = true
}

resource "aws_ecs_task_definition" "api" {
  family = "api"
  container_definitions = jsonencode([
    {
      name        = "api"
      image       = "example/api:1"
      environment = concat(local.common_env, [{ name = "API_TOKEN", value = var.db_password }])
    },
  ])
}

resource "aws_ecs_task_definition" "cron" {
  family = "cron"
  container_definitions = jsonencode([
    { name = "cron", image = "example/cron:1", environment = local.common_env },
  ])
}
"""


# The role created for a task definition is asked for by the shared-local planner and by the task
# definition's own planner: one role, one `execution_role_arn`, granted by both.
def test_shared_local_without_execution_roles_creates_each_role_once(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(SHARED_NO_ROLE)
    result = _run(tmp_path)
    new = result.changes[0].new
    assert new.count('resource "aws_iam_role" ') == 2
    assert new.count("execution_role_arn = aws_iam_role.") == 2
    assert new.count("role = aws_iam_role.api_execution.id") == 2  # the shared secret and the api's own
    assert new.count("role = aws_iam_role.cron_execution.id") == 1
    assert sum("created the execution role" in line for line in result.fixed) == 2
    if _fmt_check(SHARED_NO_ROLE) == 0:
        assert _fmt_check(new) == 0, new
    for change in result.changes:
        write_change(change)
    assert rewrite([str(tmp_path)]).changes == []


@pytest.mark.parametrize(("extra", "why"), [
    ('output "env" {\n  value = local.common_env\n}\n', "also used outside container environments"),
    ('resource "aws_ecs_task_definition" "each" {\n  for_each           = toset(["a"])\n  family             = each.key\n'
     '  execution_role_arn = aws_iam_role.exec[each.key].arn\n  container_definitions = jsonencode([\n'
     '    { name = "e", image = "x", environment = local.common_env },\n  ])\n}\n',
     "differs per instance"),
])
def test_shared_local_whose_uses_disagree_is_left_with_a_note(tmp_path: Path, extra: str, why: str) -> None:
    (tmp_path / "main.tf").write_text(SHARED_NO_ROLE + "\n" + extra)
    result = rewrite([str(tmp_path)])
    assert result.errors == []
    assert any("local.common_env" in n and why in n for n in result.notes), result.notes
    assert not any(m.name == "DB_PASSWORD" for m in result.moved)


MERGED_COMMON = """\
locals {
  container_common = {
    image = "app:1"
    environment = [
      { name = "DB_PASSWORD", value = var.db_password },
      { name = "LOG_LEVEL", value = "info" },
    ]
  }
}

variable "db_password" {
  sensitive = true
}

resource "aws_ecs_task_definition" "api" {
  family                = "api"
  execution_role_arn    = aws_iam_role.exec.arn
  container_definitions = jsonencode([merge(local.container_common, { name = "api" })])
}

resource "aws_ecs_task_definition" "worker" {
  family                = "worker"
  execution_role_arn    = aws_iam_role.exec.arn
  container_definitions = jsonencode([merge(local.container_common, { name = "worker" })])
}
"""


# Was "internal error: overlapping rewrite edits": every task definition planned the same removal
# inside the local; moving it for one would take it from the others. One note per task definition.
def test_merged_container_local_is_left_with_a_note_per_task_definition(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(MERGED_COMMON)
    result = rewrite([str(tmp_path)])
    assert result.errors == [] and result.changes == [] and result.moved == []
    notes = [n for n in result.notes if "written in local.container_common" in n]
    assert len(notes) == 2 and all("DB_PASSWORD" in n for n in notes), result.notes


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param("${token}", "var.api_token", id="a-variable"),
    pytest.param("${urlencode(token)}", "urlencode(var.api_token)", id="a-function-of-a-variable"),
    pytest.param("sqs://${urlencode(key)}:${urlencode(token)}@",
                 '"sqs://${urlencode(aws_iam_access_key.q.id)}:${urlencode(var.api_token)}@"', id="two-in-a-url"),
    pytest.param("${lower(joined)}", 'lower(("${var.api_token}-x"))', id="a-template-value-is-parenthesised"),
    pytest.param("${key.secret}", "aws_iam_access_key.q.id.secret", id="an-attribute-of-a-variable"),
    pytest.param("${urlencode(missing)}", None, id="not-a-variable"),
    pytest.param("${upper(lit)}", None, id="a-committed-literal-is-never-copied"),
])
def test_templatefile_value_expressions(tmp_path: Path, value: str, expected: str | None) -> None:
    """A template value's `${...}` becomes HCL with each template variable replaced by what the
    call passes for it (function names kept); anything unclear stays in the template, with a note."""
    (tmp_path / "c.tpl").write_text('[\n  {\n    "name": "app",\n    "environment": [\n'
                                    f'      {{ "name": "API_TOKEN", "value": "{value}" }}\n    ]\n  }}\n]\n')
    (tmp_path / "main.tf").write_text(
        'resource "aws_ecs_task_definition" "a" {\n  family             = "a"\n'
        '  execution_role_arn = aws_iam_role.exec.arn\n  container_definitions = templatefile("c.tpl", {\n'
        '    token  = var.api_token\n    key    = aws_iam_access_key.q.id\n'
        '    joined = "${var.api_token}-x"\n    lit    = "hunter2"\n  })\n}\n')
    result = rewrite([str(tmp_path)])
    assert result.errors == []
    if expected is None:
        assert result.moved == [] and result.changes == []
        assert any("the value of API_TOKEN cannot be expressed outside the template" in n for n in result.notes)
        return
    tf = next(c.new for c in result.changes if c.path.endswith(".tf"))
    assert f"    API_TOKEN = {expected}\n" in tf
    assert parse_file(SourceFile(path="main.tf", display="main.tf", text=tf))


@pytest.mark.parametrize("later", ["task_definition", "secrets_entry"])
def test_later_run_extends_the_generated_inline_policy(tmp_path: Path, later: str) -> None:
    """A role that manages its inline policies with `inline_policy` blocks: a later run puts a new
    grant into the block an earlier run generated, never a second generated block."""
    directory = _copy(next(c for c in CASES if c.fixture == "exclusive_inline_role"), tmp_path)
    for change in _run(directory).changes:
        write_change(change)
    main = directory / "main.tf"
    if later == "task_definition":  # a second task definition on the same role, with its own secret
        main.write_text(main.read_text() + (
            '\nresource "aws_ecs_task_definition" "jobs" {\n  family             = "jobs"\n'
            '  execution_role_arn = aws_iam_role.exec.arn\n  container_definitions = jsonencode([\n'
            '    {\n      name  = "jobs"\n      image = "nginx"\n      environment = [\n'
            '        { name = "API_TOKEN", value = var.api_token },\n      ]\n    }\n  ])\n}\n'
            '\nvariable "api_token" {\n  type      = string\n  sensitive = true\n}\n'))
        grant = "aws_secretsmanager_secret.jobs_secrets.arn"
    else:  # a secret written by hand into the container ecsfix rewrote
        text = main.read_text().replace("policy = data.aws_iam_policy_document.logs.json",  # a document scan reads
                                        'policy = jsonencode({ Version = "2012-10-17", Statement = [] })')
        main.write_text(text.replace('      secrets = [\n', '      secrets = [\n'
                                     '        { name = "SMTP_PASSWORD", valueFrom = aws_secretsmanager_secret.smtp.arn },\n')
                        + '\nresource "aws_secretsmanager_secret" "smtp" {\n  name = "smtp"\n}\n')
        grant = "aws_secretsmanager_secret.smtp.arn"
    result = _run(directory)
    new = next(c.new for c in result.changes if c.path == str(main))
    role = next(b for b in parse_file(SourceFile(path=str(main), display="main.tf", text=new))
                if b.type == "resource" and b.labels == ["aws_iam_role", "exec"])
    inline = [b for b in role.blocks if b.type == "inline_policy"]
    assert len(inline) == 2, role.span.text
    assert "aws_secretsmanager_secret.app_secrets.arn" in inline[1].span.text and grant in inline[1].span.text
    assert new.count("# Generated by ecsfix: the execution role of") == 1
    if _fmt_check(main.read_text()) == 0:
        assert _fmt_check(new) == 0, new
    for change in result.changes:
        write_change(change)
    assert rewrite([str(directory)]).changes == []
    assert not [f for f in scan([str(directory)]).findings if f.rule == "EF102" and f.severity != "info"]


@pytest.mark.parametrize("image", ["example/app:3", "example/app:${tag}"])
def test_json_file_shared_by_two_task_definitions(tmp_path: Path, image: str) -> None:
    """file() of one JSON file in two task definitions: edited once, each call becomes
    templatefile() with the one secret's ARN; a file templatefile() would evaluate stays, noted."""
    (tmp_path / "c.json").write_text('[\n  {\n    "name": "app",\n    "image": "' + image + '",\n'
                                     '    "environment": [\n      { "name": "DB_PASSWORD", "value": "hunter2" }\n'
                                     '    ]\n  }\n]\n')
    (tmp_path / "main.tf").write_text("".join(
        f'resource "aws_ecs_task_definition" "{n}" {{\n  family                = "{n}"\n'
        f'  execution_role_arn    = aws_iam_role.exec.arn\n'
        f'  container_definitions = file("${{path.module}}/c.json")\n}}\n\n' for n in ("a", "b")))
    result = rewrite([str(tmp_path)])
    assert result.errors == []
    if "${" in image:
        assert result.changes == [] and result.moved == []
        assert sum("templatefile() would evaluate" in n and "c.json is shared by 2" in n for n in result.notes) == 2
        return
    assert sorted(m.task_definition for m in result.moved) == ["aws_ecs_task_definition.a", "aws_ecs_task_definition.b"]
    tf = next(c.new for c in result.changes if c.path.endswith(".tf"))
    assert tf.count('templatefile("${path.module}/c.json", { c_secrets_arn = aws_secretsmanager_secret.c_secrets.arn })') == 2
    assert tf.count('resource "aws_secretsmanager_secret" ') == 1 and "hunter2" not in tf
    js = next(c.new for c in result.changes if c.path.endswith(".json"))
    assert '"valueFrom": "${c_secrets_arn}:DB_PASSWORD::"' in js and "hunter2" not in js
    for change in result.changes:
        write_change(change)
    assert rewrite([str(tmp_path)]).changes == []
    assert not [f for f in scan([str(tmp_path)]).findings if f.rule in ("EF001", "EF102") and f.severity != "info"]
