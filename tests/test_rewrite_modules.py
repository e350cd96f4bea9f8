"""`ecsfix rewrite` of ECS module calls: EF001 entries move into the module's own secrets inputs.

Fixtures in tests/fixtures/rewrite_modules, one shape each; every fixture starts fmt-clean.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from ecsfix.hclparse import parse_file
from ecsfix.model import SourceFile
from ecsfix.rewrite.engine import FileChange, RewriteResult, rewrite, write_change
from ecsfix.rewrite.plan import Options
from ecsfix.scan import scan

from .tf import require_terraform

FIXTURES = Path(__file__).parent / "fixtures" / "rewrite_modules"
SNAPSHOTS = Path(__file__).parent / "snapshots" / "rewrite_modules"


@dataclass(frozen=True)
class Case:
    fixture: str
    moved: tuple[str, ...]  # entry names that must leave `environment` / `map_environment`
    literals: tuple[str, ...]  # fake secret literals that must vanish from every output file
    kept: tuple[str, ...] = ()  # entries that must stay where they are
    notes: tuple[str, ...] = ()  # substrings of the notes left for a human


CASES = [
    Case("cp_environment", ("DB_PASSWORD", "STRIPE_API_KEY"), ('"sk-hunter2-Str1pe"',), ("DB_HOST", "LOG_LEVEL", "QUEUE_URL"),
         ("module.worker_container: the task definition using this module's output is not in this module: grant "
          "its execution role secretsmanager:GetSecretValue on aws_secretsmanager_secret.worker_container_secrets.arn",)),
    Case("cp_map_environment", ("DB_PASSWORD", "AWS_ACCESS_KEY_ID", "SMTP_PASSWORD"),
         ('"AKIAIOSFODNN7EXAMPLE"', '"hunter2-smtp"'), ("DB_HOST", "TOKEN_TTL_SECONDS")),
    Case("tam_service", ("DB_PASSWORD", "APPMESH_AUTH_TOKEN", "STRIPE_SECRET_KEY"),
         ('"tok-hunter2-Env9Qp"', '"sk-hunter2-B1ll"'), ("KEYBOARD_LAYOUT",)),
    Case("tam_exec_role", ("LEGACY_API_KEY", "WAREHOUSE_PASSWORD"), ('"lk-hunter2-Lg7Wq2"', '"hunter2-wh"'),
         ("LEGACY_API_URL", "ORPHAN_API_TOKEN"),
         ("module.orphan: not rewritten: create_task_exec_iam_role = false without task_exec_iam_role_arn",)),
    Case("tam_container_literals", ("BASIC_AUTH_PASSWORD", "AWS_SECRET_ACCESS_KEY"),
         ('"hunter2"', '"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"'), ("NGINX_PORT",)),
    Case("tam_for_each", ("API_TOKEN", "DB_PASSWORD"), ('"hunter2"',), ("COLOR",)),
    Case("tam_root", ("SENTRY_AUTH_TOKEN",), ('"sntrys-hunter2-Fr0nt"',), ("NEXT_PUBLIC_API_URL",)),
]
IDS = [c.fixture for c in CASES]
BY_NAME = {c.fixture: c for c in CASES}


def _copy(case: Case, tmp_path: Path) -> Path:
    dst = tmp_path / case.fixture
    shutil.copytree(FIXTURES / case.fixture, dst)
    return dst


def _run(directory: Path, options: Options | None = None) -> RewriteResult:
    result = rewrite([str(directory)], options=options)
    assert not result.errors, result.errors
    return result


def _changes(case: Case, tmp_path: Path) -> tuple[Path, RewriteResult]:
    directory = _copy(case, tmp_path)
    result = _run(directory)
    assert result.changes, result.notes
    return directory, result


def _only(result: RewriteResult) -> FileChange:
    assert len(result.changes) == 1
    return result.changes[0]


def _fmt_check(text: str) -> int:
    tf = require_terraform()
    env = dict(os.environ, TF_CLI_CONFIG_FILE="/dev/null")
    proc = subprocess.run([tf, "fmt", "-check", "-"], input=text.encode(), env=env, capture_output=True, check=False)
    return proc.returncode


def _module_tds(directory: Path):  # type: ignore[no-untyped-def]
    return [td for td in scan([str(directory)]).task_definitions if td.kind == "module"]


# --------------------------------------------------------------------------- every fixture


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_diff_snapshot(case: Case, tmp_path: Path, snapshot) -> None:  # type: ignore[no-untyped-def]
    snapshot.snapshot_dir = SNAPSHOTS
    _, result = _changes(case, tmp_path)
    diffs = []
    for change in sorted(result.changes, key=lambda c: c.path):
        change.display = f"{case.fixture}/{os.path.basename(change.path)}"
        diffs.append(change.diff())
    snapshot.assert_match("".join(diffs).encode(), f"{case.fixture}.diff")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_moved_and_notes(case: Case, tmp_path: Path) -> None:
    _, result = _changes(case, tmp_path)
    assert sorted(m.name for m in result.moved) == sorted(case.moved)
    for note in case.notes:
        assert any(note in n for n in result.notes), result.notes
    assert len(result.notes) == len(case.notes), result.notes


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_output_parses(case: Case, tmp_path: Path) -> None:
    _, result = _changes(case, tmp_path)
    for change in result.changes:
        blocks = parse_file(SourceFile(path=change.path, display=change.display, text=change.new))
        types = {b.labels[0] for b in blocks if b.type == "resource"}
        assert {"aws_secretsmanager_secret", "aws_secretsmanager_secret_version"} <= types


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_fmt_clean_input_stays_fmt_clean(case: Case, tmp_path: Path) -> None:
    _, result = _changes(case, tmp_path)
    for change in result.changes:
        assert _fmt_check(change.original) == 0, "fixture must start fmt-clean"
        assert _fmt_check(change.new) == 0, change.new


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_scan_after_rewrite_has_no_ef001_for_moved(case: Case, tmp_path: Path) -> None:
    directory, result = _changes(case, tmp_path)
    for change in result.changes:
        write_change(change)
    after = scan([str(directory)])
    assert not after.errors
    flagged = {f.name for f in after.findings if f.rule == "EF001"}
    assert not flagged & set(case.moved)
    tds = [td for td in after.task_definitions if td.kind == "module"]
    secrets = {s.name for td in tds for c in td.containers for s in c.secrets}
    assert set(case.moved) <= secrets  # read back from the module's own secrets inputs
    env = {e.name for td in tds for c in td.containers for e in c.environment}
    assert set(case.kept) <= env
    assert not env & set(case.moved)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_second_run_changes_nothing(case: Case, tmp_path: Path) -> None:
    directory, result = _changes(case, tmp_path)
    for change in result.changes:
        write_change(change)
    again = _run(directory)
    assert again.changes == []
    assert again.moved == []


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_no_literal_secret_remains(case: Case, tmp_path: Path) -> None:
    directory, result = _changes(case, tmp_path)
    originals = "".join(c.original for c in result.changes)
    for literal in case.literals:
        assert literal in originals  # guard: the fixture really holds it
    for change in result.changes:
        write_change(change)
    for path in directory.rglob("*"):
        if path.is_file():
            text = path.read_text()
            for literal in case.literals:
                assert literal.strip('"') not in text, path


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_bytes_outside_edits_unchanged(case: Case, tmp_path: Path) -> None:
    directory = _copy(case, tmp_path)
    before = scan([str(directory)])
    moved = [f for f in before.findings if f.rule == "EF001" and f.name in case.moved]
    result = _run(directory)
    for change in result.changes:
        ours = [f for f in moved if os.path.samefile(f.span.file.path, change.path)]
        assert ours
        original = change.original
        first = min(f.span.start for f in ours)
        # the earliest edit is at the `environment` input holding the first entry (or the blank line above it)
        env_line = original.rfind("\n", 0, original.rfind("environment", 0, first)) + 1
        prefix = original[: original.rfind("\n", 0, max(env_line - 1, 0)) + 1]
        assert len(prefix) > 100
        tds = [td for td in before.task_definitions if td.kind == "module" and td.block is not None
               and any(f.resource == td.address for f in ours)]
        last_block_end = max(td.block.span.end for td in tds if td.block is not None)
        suffix = original[last_block_end:]
        assert change.new.startswith(prefix)
        assert change.new.endswith(suffix)
        assert len(change.new) > len(prefix) + len(suffix)


# --------------------------------------------------------------------------- module by module


def test_cloudposse_environment_extends_or_creates_secrets(tmp_path: Path) -> None:
    new = _only(_changes(BY_NAME["cp_environment"], tmp_path)[1]).new
    # api_container: its `secrets` list gets the new entry after the existing one
    assert re.search(
        r'secrets = \[\n\s+\{ name = "JWT_SIGNING_KEY"[^\n]*\n'
        r'\s+\{ name = "DB_PASSWORD", valueFrom = "\$\{aws_secretsmanager_secret\.api_container_secrets\.arn\}:DB_PASSWORD::" \},\n'
        r"\s+\]", new)
    # worker_container: a new `secrets` input
    assert ('  secrets = [\n    { name = "STRIPE_API_KEY", valueFrom = '
            '"${aws_secretsmanager_secret.worker_container_secrets.arn}:STRIPE_API_KEY::" },\n  ]\n') in new
    # the task definition using api_container's output is here: its role gets the policy
    assert 'resource "aws_iam_role_policy" "api_container_secrets" {' in new
    assert "role = aws_iam_role.exec.id" in new.replace("  ", " ").replace("  ", " ")
    # worker_container's task definition is elsewhere: no policy, a note (checked above)
    assert 'resource "aws_iam_role_policy" "worker_container_secrets"' not in new
    assert "DB_PASSWORD = var.db_password" in new
    assert "# set by CI" not in new  # a comment ending a moved entry's line goes with it


def test_cloudposse_map_environment_goes_to_map_secrets(tmp_path: Path) -> None:
    new = _only(_changes(BY_NAME["cp_map_environment"], tmp_path)[1]).new
    assert re.search(r'map_secrets = \{\n\s+DB_PASSWORD\s+= "\$\{aws_secretsmanager_secret\.checkout_container_secrets'
                     r'\.arn\}:DB_PASSWORD::"\n\s+AWS_ACCESS_KEY_ID = ', new)
    # every entry of mailer's map_environment moved: the input goes, map_secrets is extended
    mailer = new[new.index('module "mailer_container"') :]
    mailer = mailer[: mailer.index("\n}\n")]
    assert "map_environment" not in mailer
    assert 'SMTP_PASSWORD    = "${aws_secretsmanager_secret.mailer_container_secrets.arn}:SMTP_PASSWORD::"' in mailer
    assert "\n  secrets" not in mailer  # map_secrets wins over secrets in this module: never both
    # a role ARN with a path: the policy names the role
    assert new.count('role = "checkout-exec"') == 2
    assert "# TODO: rotate" not in new  # a comment ending a moved entry's line goes with it
    assert "    DB_HOST           = \"checkout-db.internal\"\n    TOKEN_TTL_SECONDS = \"3600\"\n  }\n" in new


def test_cloudposse_map_environment_with_existing_secrets_list(tmp_path: Path) -> None:
    """Adding map_secrets would make the module ignore an existing `secrets` list: extend the list."""
    (tmp_path / "main.tf").write_text(
        'module "c" {\n'
        '  source         = "cloudposse/ecs-container-definition/aws"\n'
        '  container_name = "c"\n'
        "  map_environment = {\n"
        '    DB_PASSWORD = "hunter2"\n'
        '    MODE        = "fast"\n'
        "  }\n"
        "  secrets = [\n"
        '    { name = "A", valueFrom = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:a-AbCdEf" },\n'
        "  ]\n"
        "}\n"
    )
    new = _only(_run(tmp_path)).new
    assert "map_secrets" not in new
    assert '{ name = "DB_PASSWORD", valueFrom = "${aws_secretsmanager_secret.c_secrets.arn}:DB_PASSWORD::" },' in new
    assert "hunter2" not in new and 'MODE = "fast"' in new


def test_terraform_aws_modules_service_grants_through_task_exec_secret_arns(tmp_path: Path) -> None:
    new = _only(_changes(BY_NAME["tam_service"], tmp_path)[1]).new
    assert ('task_exec_secret_arns = ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders/api-AbCdEf", '
            "aws_secretsmanager_secret.orders_secrets.arn]") in new
    assert "task_exec_secret_arns = [aws_secretsmanager_secret.billing_secrets.arn]" in new
    assert "aws_iam_role_policy" not in new  # the module's own execution role policy grants it
    # secrets go into the container objects, one secret per module call
    assert '{ name = "DB_PASSWORD", valueFrom = "${aws_secretsmanager_secret.orders_secrets.arn}:DB_PASSWORD::" },' in new
    assert ('{ name = "APPMESH_AUTH_TOKEN", valueFrom = '
            '"${aws_secretsmanager_secret.orders_secrets.arn}:APPMESH_AUTH_TOKEN::" },') in new


def test_terraform_aws_modules_without_module_policy(tmp_path: Path) -> None:
    directory, result = _changes(BY_NAME["tam_exec_role"], tmp_path)
    new = _only(result).new
    assert "task_exec_secret_arns =" not in new
    policies = re.findall(r'resource "aws_iam_role_policy" "(\w+)" \{\n  name = "[^"]+"\n  role = ([^\n]+)\n', new)
    assert policies == [("legacy_secrets", '"legacy-exec"'), ("reports_secrets", "module.reports.task_exec_iam_role_name")]
    orphan = new[new.index('module "orphan"') :]
    assert orphan == result.changes[0].original[result.changes[0].original.index('module "orphan"') :]


def test_literal_values_become_sensitive_variables(tmp_path: Path) -> None:
    new = _only(_changes(BY_NAME["tam_container_literals"], tmp_path)[1]).new
    for var in ("nginx_basic_auth_password", "nginx_aws_secret_access_key"):
        block = new[new.index(f'variable "{var}" {{') :]
        block = block[: block.index("\n}\n")]
        assert "sensitive   = true" in block and "default" not in block
    assert "BASIC_AUTH_PASSWORD   = var.nginx_basic_auth_password" in new
    assert 'role = "nginx-exec"' in new.replace("  ", " ")


def test_for_each_module_call(tmp_path: Path) -> None:
    new = _only(_changes(BY_NAME["tam_for_each"], tmp_path)[1]).new
    assert new.count('for_each = toset(["blue", "green"])') == 3  # the call, the secret, its version
    assert "task_exec_secret_arns = [aws_secretsmanager_secret.orders_secrets[each.key].arn]" in new
    assert '"${aws_secretsmanager_secret.orders_secrets[each.key].arn}:API_TOKEN::"' in new
    assert 'name_prefix = "orders-${each.key}-"' in new
    assert "API_TOKEN   = var.api_tokens[each.key]" in new


def test_root_module_service(tmp_path: Path) -> None:
    new = _only(_changes(BY_NAME["tam_root"], tmp_path)[1]).new
    service = new[new.index("frontend = {") : new.index('# Generated by ecsfix')]
    assert "      task_exec_secret_arns = [aws_secretsmanager_secret.ecs_frontend_secrets.arn]\n" in service
    assert 'description = "SENTRY_AUTH_TOKEN for module.ecs.module.service[\\"frontend\\"] (set outside git)"' in new


def test_later_run_extends_the_generated_secret(tmp_path: Path) -> None:
    directory, result = _changes(BY_NAME["tam_service"], tmp_path)
    write_change(_only(result))
    path = directory / "main.tf"
    text = path.read_text()
    text = text.replace('{ name = "KEYBOARD_LAYOUT", value = "us" },',
                        '{ name = "KEYBOARD_LAYOUT", value = "us" },\n        { name = "REDIS_PASSWORD", value = "hunter2-redis" },')
    path.write_text(text)
    again = _run(directory)
    new = _only(again).new
    assert [m.name for m in again.moved] == ["REDIS_PASSWORD"]
    assert new.count('resource "aws_secretsmanager_secret" "orders_secrets"') == 1
    assert "REDIS_PASSWORD     = var.orders_redis_password" in new
    assert new.count("aws_secretsmanager_secret.orders_secrets.arn]") == 1  # not added twice
    assert "hunter2-redis" not in new


def test_later_run_on_a_container_module_keeps_its_grant(tmp_path: Path) -> None:
    """cloudposse: a policy from the first run covers new keys; without one, the note comes back."""
    directory, result = _changes(BY_NAME["cp_environment"], tmp_path)
    write_change(_only(result))
    path = directory / "main.tf"
    text = path.read_text()
    for module in ("api", "worker"):
        text = text.replace(f'container_image = "ghcr.io/acme/{module}:2.3.1"\n',
                            f'container_image = "ghcr.io/acme/{module}:2.3.1"\n  map_environment = {{\n'
                            f'    {module.upper()}_PASSWORD = "hunter2-{module}"\n  }}\n')
    path.write_text(text)
    again = _run(directory)
    new = _only(again).new
    assert sorted(m.name for m in again.moved) == ["API_PASSWORD", "WORKER_PASSWORD"]
    assert new.count('resource "aws_iam_role_policy"') == 1
    assert [n for n in again.notes if "worker_container_secrets.arn" in n]
    assert not [n for n in again.notes if "api_container" in n]
    assert "hunter2-api" not in new and "hunter2-worker" not in new
    assert "API_PASSWORD = var.api_container_api_password" in new


def test_ssm_backend_is_noted_not_rewritten(tmp_path: Path) -> None:
    directory = _copy(BY_NAME["tam_service"], tmp_path)
    result = _run(directory, Options(backend="ssm"))
    assert result.changes == [] and result.moved == []
    assert any("--backend ssm is not supported for module calls" in n for n in result.notes)


def test_unknown_create_flag_is_noted(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'variable "own_role" {\n  type = bool\n}\n\n'
        'module "s" {\n'
        '  source                    = "terraform-aws-modules/ecs/aws//modules/service"\n'
        '  name                      = "s"\n'
        "  create_task_exec_iam_role = var.own_role\n"
        "  container_definitions = {\n"
        "    s = {\n"
        "      environment = [\n"
        '        { name = "DB_PASSWORD", value = "hunter2" },\n'
        "      ]\n"
        "    }\n"
        "  }\n"
        "}\n"
    )
    result = _run(tmp_path)
    assert result.changes == []
    assert any("create_task_exec_iam_role is not a literal" in n for n in result.notes), result.notes


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_printed_diff_never_shows_a_removed_literal(case: Case, tmp_path: Path) -> None:
    _, result = _changes(case, tmp_path)
    for change in result.changes:
        diff = change.diff()
        for literal in case.literals:
            assert literal.strip('"') not in diff


# --------------------------------------------------------------------------- shared with the resource planner

_TWO_CONTAINERS = '''module "svc" {
  source = "terraform-aws-modules/ecs/aws//modules/service"
  name   = "svc"

  container_definitions = {
    api = {
      image = "example/api:1"
      environment = [
        { name = "DB_PASSWORD", value = "hunter2-api" },
      ]
    }
    worker = {
      image = "example/worker:1"
      environment = [
        { name = "DB_PASSWORD", value = "hunter2-worker" },
      ]
    }
  }
}
'''


def test_same_name_in_two_module_containers_gets_two_keys(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(_TWO_CONTAINERS)
    result = _run(tmp_path)
    new = result.changes[0].new
    assert ':DB_PASSWORD::"' in new and ':DB_PASSWORD_2::"' in new
    assert re.search(r"\n    DB_PASSWORD\s+= var\.\w+\n    DB_PASSWORD_2\s+= var\.\w+\n", new), new


def test_committed_secret_mixed_with_a_reference_is_left_with_a_note(tmp_path: Path) -> None:
    url = 'postgres://app:hunter2-url@${aws_db_instance.db.address}/app'
    (tmp_path / "main.tf").write_text(_TWO_CONTAINERS.replace(
        '{ name = "DB_PASSWORD", value = "hunter2-worker" },',
        f'{{ name = "DATABASE_URL", value = "{url}" }},'))
    result = rewrite([str(tmp_path)])
    assert result.errors == []
    assert any("mixes a committed secret with references" in n for n in result.notes), result.notes
    assert not any("hunter2" in n for n in result.notes)
    # partial moves (SPEC §5.x): that entry stays, every other one moves
    assert "DATABASE_URL" not in {m.name for m in result.moved} and result.moved
    assert url in result.changes[0].new


def test_literal_values_keep_is_never_printed_for_module_inputs(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.fixture == "tam_container_literals")
    directory = _copy(case, tmp_path)
    result = _run(directory, Options(literal_values="keep"))
    assert result.warnings
    for change in result.changes:
        diff = change.diff()
        for literal in case.literals:
            assert literal.strip('"') not in diff
