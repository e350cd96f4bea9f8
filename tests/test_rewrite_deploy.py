"""`ecsfix rewrite` for the deploy-readiness rules EF101-EF104: execution role, policy, valueFrom, KMS.

Every fixture under tests/fixtures/rewrite_deploy/ is rewritten and checked the same way: the diff
(snapshot), the re-scan (the fixed findings are gone, nothing new of high severity), parsing and
`terraform fmt`, a second run that changes nothing, and the bytes outside the edited blocks.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from ecsfix.hclparse import parse_file
from ecsfix.model import SourceFile
from ecsfix.rewrite import engine
from ecsfix.rewrite.edits import Edit
from ecsfix.rewrite.engine import RewriteResult, rewrite, write_change
from ecsfix.scan import scan

from .tf import require_terraform

FIXTURES = Path(__file__).parent / "fixtures" / "rewrite_deploy"
DEPLOY = Path(__file__).parent / "fixtures" / "deploy"
SNAPSHOTS = Path(__file__).parent / "snapshots" / "rewrite_deploy"


@dataclass(frozen=True)
class Case:
    fixture: str
    rules: tuple[str, ...]  # the findings the rewrite fixes (present before, gone after)
    expect: tuple[str, ...]  # text the output must contain
    fixed: int  # lines in the summary's "fixed" list


CASES = [
    Case("ef101_missing_role", ("EF101",), (
        'resource "aws_iam_role" "billing_api_execution" {',
        "execution_role_arn = aws_iam_role.billing_api_execution.arn",
        'policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"',
        'Principal = { Service = "ecs-tasks.amazonaws.com" }',
        "role = aws_iam_role.billing_api_execution.id",
        'Resource = [aws_secretsmanager_secret.api.arn, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:'
        'registry/example-AbCdEf"]',
    ), 3),
    Case("ef102_role_resource", ("EF102",), (
        'resource "aws_iam_role_policy" "search_execution_secrets" {',
        "role = aws_iam_role.execution.id",
        "Resource = [aws_secretsmanager_secret.api.arn]",
    ), 1),
    Case("ef102_data_secret_ssm", ("EF102",), (
        'Action   = ["secretsmanager:GetSecretValue"]',
        "Resource = [data.aws_secretsmanager_secret.shared.arn]",
        'Action   = ["ssm:GetParameters"]',
        "Resource = [aws_ssm_parameter.feature_key.arn]",
    ), 2),
    Case("ef103_missing_colons", ("EF103",), (
        'valueFrom = "${aws_secretsmanager_secret.db.arn}:password::"',
        'secret:prod/catalog/search-AbCdEf:api_key::"',
    ), 2),
    Case("ef103_policy_key_suffix", ("EF103", "EF102"), (
        "Resource = [aws_secretsmanager_secret.db.arn]",
    ), 1),
    Case("ef103_heredoc_json", ("EF103", "EF102"), (
        '"Resource": ["${aws_secretsmanager_secret.db.arn}"]',
        '"valueFrom": "${aws_secretsmanager_secret.db.arn}:password::"',
    ), 2),
    Case("ef104_kms", ("EF104",), (
        'Action   = ["kms:Decrypt"]',
        "Resource = [aws_kms_key.payments.arn]",
    ), 1),
    Case("exclusive_inline_policy", ("EF102",), (
        '  inline_policy {\n    name = "reports-execution-secrets"',
        "Resource = [aws_secretsmanager_secret.mailer.arn]",
    ), 1),
    Case("policies_exclusive", ("EF102",), (
        "    aws_iam_role_policy.logs.name,\n    aws_iam_role_policy.orders_execution_secrets.name,\n  ]",
        'resource "aws_iam_role_policy" "orders_execution_secrets" {',
    ), 1),
    Case("ef001_no_role", ("EF001", "EF101"), (
        "execution_role_arn = aws_iam_role.checkout_execution.arn",
        "role = aws_iam_role.checkout_execution.id",
        "Resource = [aws_secretsmanager_secret.checkout_secrets.arn]",
        "Resource = [aws_secretsmanager_secret.stripe.arn]",
    ), 2),
]
IDS = [c.fixture for c in CASES]


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    return dst


def _rewrite(directory: Path) -> RewriteResult:
    result = rewrite([str(directory)])
    assert result.errors == []
    return result


def _high(directory: Path) -> set[tuple[str, str, str | None]]:
    return {(f.rule, f.resource, f.name) for f in scan([str(directory)]).findings if f.severity == "high"}


def _fmt_check(text: str) -> int:
    tf = require_terraform()
    env = dict(os.environ, TF_CLI_CONFIG_FILE="/dev/null")
    proc = subprocess.run([tf, "fmt", "-check", "-"], input=text.encode(), env=env, capture_output=True, check=False)
    return proc.returncode


def test_every_fixture_has_a_case() -> None:
    assert sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()) == sorted(IDS + ["ef102_data_role"])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_diff_snapshot(case: Case, tmp_path: Path, snapshot) -> None:  # type: ignore[no-untyped-def]
    snapshot.snapshot_dir = SNAPSHOTS
    result = _rewrite(_copy(FIXTURES / case.fixture, tmp_path))
    (change,) = result.changes
    change.display = f"{case.fixture}/main.tf"
    snapshot.assert_match(change.diff().encode(), f"{case.fixture}.diff")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_output_has_the_fix(case: Case, tmp_path: Path) -> None:
    result = _rewrite(_copy(FIXTURES / case.fixture, tmp_path))
    (change,) = result.changes
    for text in case.expect:
        assert text in change.new, text
    assert len(result.fixed) == case.fixed, result.fixed
    assert all(re.match(r"^\S+:\d+: EF10[1-4] \S+", line) for line in result.fixed), result.fixed
    assert result.notes == []
    assert "hunter2" not in "\n".join(result.fixed + result.notes)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_rescan_after_rewrite(case: Case, tmp_path: Path) -> None:
    directory = _copy(FIXTURES / case.fixture, tmp_path)
    before = _high(directory)
    assert set(case.rules) <= {rule for rule, _, _ in before}, "the fixture must show what the rewrite fixes"
    for change in _rewrite(directory).changes:
        write_change(change)
    after = scan([str(directory)])
    assert after.errors == []
    assert not [f for f in after.findings if f.rule in case.rules], [f.message for f in after.findings]
    assert [f.message for f in after.findings if f.severity == "high"] == []


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_output_parses_and_stays_fmt_clean(case: Case, tmp_path: Path) -> None:
    original = (FIXTURES / case.fixture / "main.tf").read_text(encoding="utf-8")
    (change,) = _rewrite(_copy(FIXTURES / case.fixture, tmp_path)).changes
    parse_file(SourceFile(path="main.tf", display="main.tf", text=change.new))
    assert _fmt_check(original) == 0, "fixture must start fmt-clean"
    assert _fmt_check(change.new) == 0


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_second_run_changes_nothing(case: Case, tmp_path: Path) -> None:
    directory = _copy(FIXTURES / case.fixture, tmp_path)
    for change in _rewrite(directory).changes:
        write_change(change)
    again = _rewrite(directory)
    assert again.changes == []
    assert again.fixed == []
    assert again.moved == []


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_bytes_outside_edited_blocks_unchanged(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before the first edited block, after the last one, and every block no edit touches: byte-identical."""
    seen: dict[str, list[Edit]] = {}
    real = engine.apply_and_realign

    def spy(src: SourceFile, edits: Sequence[Edit]) -> str:
        seen[src.path] = list(edits)
        return real(src, edits)

    monkeypatch.setattr(engine, "apply_and_realign", spy)
    (change,) = _rewrite(_copy(FIXTURES / case.fixture, tmp_path)).changes
    edits = seen[change.path]
    original, new = change.original, change.new
    blocks = parse_file(SourceFile(path=change.path, display=change.display, text=original))
    touched = [b for b in blocks if any(b.span.start <= e.start <= b.span.end for e in edits)]
    assert touched and all(any(b.span.start <= e.start <= b.span.end for b in touched) for e in edits)
    assert new.startswith(original[: min(b.span.start for b in touched)])
    assert new.endswith(original[max(b.span.end for b in touched) :])
    pos = 0
    for b in blocks:
        if b in touched:
            continue
        found = new.find(b.span.text, pos)
        assert found >= 0, f"block at line {b.span.line} changed"
        pos = found + len(b.span.text)


def test_one_role_for_ef001_and_ef101(tmp_path: Path) -> None:
    """Both planners need the missing execution role: it is created once and both grant to it."""
    (change,) = _rewrite(_copy(FIXTURES / "ef001_no_role", tmp_path)).changes
    assert change.new.count('resource "aws_iam_role" ') == 1
    assert change.new.count('resource "aws_iam_role_policy_attachment" ') == 1
    assert change.new.count("execution_role_arn") == 1
    assert change.new.count("role = aws_iam_role.checkout_execution.id") == 2
    assert '"hunter2"' not in change.new


def test_role_outside_module_is_left_alone(tmp_path: Path) -> None:
    directory = _copy(FIXTURES / "ef102_data_role", tmp_path)
    findings = scan([str(directory)]).findings
    assert [(f.rule, f.severity) for f in findings] == [("EF102", "info")]
    result = _rewrite(directory)
    assert result.changes == [] and result.fixed == []


@pytest.mark.parametrize(("fixture", "why"), [
    ("stage-and-version", "sets both a version stage and a version id"),
    ("ssm-fragment", "is a fragment of an SSM parameter ARN"),
])
def test_ambiguous_value_from_is_a_note(fixture: str, why: str, tmp_path: Path) -> None:
    result = _rewrite(_copy(DEPLOY / fixture, tmp_path))
    assert result.changes == []
    assert any("EF103" in n and "not rewritten" in n and why in n for n in result.notes), result.notes


def test_explicit_deny_is_a_note(tmp_path: Path) -> None:
    result = _rewrite(_copy(DEPLOY / "deny-overrides", tmp_path))
    assert result.changes == []
    assert any("explicit Deny" in n for n in result.notes), result.notes


def test_new_role_also_gets_kms_decrypt(tmp_path: Path) -> None:
    """EF101 + a secret under a customer managed key: the created role may decrypt it (EF104)."""
    directory = _copy(FIXTURES / "ef104_kms", tmp_path)
    main = directory / "main.tf"
    main.write_text(main.read_text().replace("  execution_role_arn = aws_iam_role.execution.arn\n", ""))
    assert {f.rule for f in scan([str(directory)]).findings} == {"EF101"}
    for change in _rewrite(directory).changes:
        write_change(change)
    text = main.read_text()
    assert "Resource = [aws_kms_key.payments.arn]" in text
    assert "execution_role_arn = aws_iam_role.payments_execution.arn" in text
    assert [f.message for f in scan([str(directory)]).findings if f.severity == "high"] == []
    assert _rewrite(directory).changes == []


def test_count_task_definition_gets_indexed_role(tmp_path: Path) -> None:
    directory = _copy(FIXTURES / "ef101_missing_role", tmp_path)
    main = directory / "main.tf"
    main.write_text(main.read_text().replace('  family        = "billing-api"\n',
                                             '  count         = 2\n  family        = "billing-api-${count.index}"\n'))
    (change,) = _rewrite(directory).changes
    assert "execution_role_arn = aws_iam_role.billing_api_execution[count.index].arn" in change.new
    assert "role       = aws_iam_role.billing_api_execution[count.index].name" in change.new
    assert "role = aws_iam_role.billing_api_execution[count.index].id" in change.new
    assert change.new.count("  count = 2\n") == 3  # role, attachment, policy
    write_change(change)
    assert [f.message for f in scan([str(directory)]).findings if f.severity == "high"] == []
    assert _rewrite(directory).changes == []


def test_role_dropped_by_the_ef001_planner_is_still_created_once(tmp_path: Path) -> None:
    """The EF001 planner asks for the role, then gives up on the task definition (a `${` in the JSON
    file): the EF101 fix still creates the role (once) and everything it grants refers to it."""
    (tmp_path / "main.tf").write_text(
        'resource "aws_ecs_task_definition" "web" {\n'
        '  family                = "web"\n'
        '  container_definitions = file("${path.module}/containers.json")\n'
        "}\n"
    )
    (tmp_path / "containers.json").write_text(
        '[{"name": "web", "image": "nginx:1.27", "command": ["sh", "-c", "echo ${HOME}"],\n'
        '  "environment": [{"name": "DB_PASSWORD", "value": "hunter2"}],\n'
        '  "secrets": [{"name": "API_KEY", "valueFrom": '
        '"arn:aws:secretsmanager:eu-west-1:123456789012:secret:web/api-AbCdEf:key::"}]}]\n'
    )
    result = _rewrite(tmp_path)
    assert any("not rewritten" in n for n in result.notes)
    (change,) = result.changes
    assert change.new.count('resource "aws_iam_role" "web_execution" {') == 1
    assert "execution_role_arn    = aws_iam_role.web_execution.arn" in change.new
    assert 'Resource = ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:web/api-AbCdEf"]' in change.new
    write_change(change)
    assert {f.rule for f in scan([str(tmp_path)]).findings if f.severity == "high"} == {"EF001"}


def test_later_run_extends_the_generated_policy(tmp_path: Path) -> None:
    """New secrets after a first rewrite: the policy it generated gains them (and a KMS statement);
    no second policy."""
    directory = _copy(FIXTURES / "ef102_data_secret_ssm", tmp_path)
    for change in _rewrite(directory).changes:
        write_change(change)
    main = directory / "main.tf"
    text = main.read_text().replace(
        '        { name = "FEATURE_KEY", valueFrom = aws_ssm_parameter.feature_key.arn },\n',
        '        { name = "FEATURE_KEY", valueFrom = aws_ssm_parameter.feature_key.arn },\n'
        '        { name = "SMTP_USER", valueFrom = "${aws_secretsmanager_secret.user.arn}:user::" },\n',
    )
    main.write_text(text + '\nresource "aws_kms_key" "notify" {\n  description = "notify"\n}\n\n'
                    'resource "aws_secretsmanager_secret" "user" {\n  name       = "notify/smtp-user"\n'
                    "  kms_key_id = aws_kms_key.notify.arn\n}\n")
    assert {f.rule for f in scan([str(directory)]).findings} == {"EF102", "EF104"}
    result = _rewrite(directory)
    (change,) = result.changes
    assert change.new.count('resource "aws_iam_role_policy" ') == 1
    assert "Resource = [data.aws_secretsmanager_secret.shared.arn, aws_secretsmanager_secret.user.arn]" in change.new
    assert '        Action   = ["kms:Decrypt"]\n        Resource = [aws_kms_key.notify.arn]\n' in change.new
    assert all("generated by an earlier run, extended" in line for line in result.fixed)
    assert _fmt_check(change.new) == 0
    write_change(change)
    assert scan([str(directory)]).findings == []
    assert _rewrite(directory).changes == []


def test_managed_policy_arns_does_not_block_an_inline_policy(tmp_path: Path) -> None:
    """`managed_policy_arns` makes the role own its *attachments* only (provider docs): a separate
    aws_iam_role_policy does not fight it, so that is what the fix generates."""
    directory = _copy(FIXTURES / "ef102_role_resource", tmp_path)
    main = directory / "main.tf"
    main.write_text(main.read_text().replace(
        '  name = "search-execution"\n',
        '  name                = "search-execution"\n'
        '  managed_policy_arns = ["arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"]\n'))
    (change,) = _rewrite(directory).changes
    assert 'resource "aws_iam_role_policy" "search_execution_secrets" {' in change.new
    assert "inline_policy" not in change.new
    write_change(change)
    assert [f.message for f in scan([str(directory)]).findings if f.severity == "high"] == []


def test_null_execution_role_is_replaced(tmp_path: Path) -> None:
    directory = _copy(FIXTURES / "ef101_missing_role", tmp_path)
    main = directory / "main.tf"
    main.write_text(main.read_text().replace("  task_role_arn = aws_iam_role.task.arn\n",
                                             "  task_role_arn = aws_iam_role.task.arn\n"
                                             "  execution_role_arn = null\n"))
    (change,) = _rewrite(directory).changes
    assert change.new.count("execution_role_arn") == 1
    assert "  execution_role_arn = aws_iam_role.billing_api_execution.arn\n" in change.new
    assert _fmt_check(change.new) == 0
    write_change(change)
    assert [f.message for f in scan([str(directory)]).findings if f.severity == "high"] == []


def test_one_line_task_definition_is_a_note(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_secretsmanager_secret" "api" {\n  name = "api"\n}\n\n'
        'resource "aws_ecs_task_definition" "t" { container_definitions = jsonencode([{ name = "a", image = "x", '
        'secrets = [{ name = "K", valueFrom = aws_secretsmanager_secret.api.arn }] }]) }\n')
    result = _rewrite(tmp_path)
    assert result.changes == []
    assert any("written on one line" in n for n in result.notes), result.notes
