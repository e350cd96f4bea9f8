"""`ecsfix rewrite` on raw ECS task-definition JSON (`register-task-definition --cli-input-json`).

A table of task-definition shapes (indentation styles, one-line objects, several containers,
existing or missing `secrets`, CRLF, no final newline) and the three ways the secret is named
(`--secret-arn`, `--secret-name`, neither: placeholders). Per case: the rewritten file is JSON,
means what the old one meant with the entries moved, a re-scan has no EF001 (and EF103 exactly
when placeholders are left), a second run changes nothing, the diff is snapshotted. Then the
refusals, the Terraform boundary, the CLI (`--check`, `--format json`, option validation) and the
`--summary` section.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ecsfix.rewrite.engine import RewriteResult, rewrite, summary_markdown, write_change
from ecsfix.rewrite.plan import Options
from ecsfix.rewrite.taskdef_json import secret_arn_problem
from ecsfix.scan import scan

SNAPSHOTS = Path(__file__).parent / "snapshots" / "rewrite_taskdef_json"
ROLE = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:1.4"
SM_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/api-AbCdEf"
SSM_ARN = "arn:aws:ssm:eu-west-1:123456789012:parameter/prod/api"


def _seed(nl: str = "\n", final: bool = True) -> str:
    text = """{
  "family": "grpc-server-task",
  "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
  "containerDefinitions": [
    {
      "name": "server",
      "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:1.4",
      "essential": true,
      "environment": [
        { "name": "DB_HOST", "value": "db.internal" },
        { "name": "DB_PASS", "value": "hunter2" }
      ],
      "secrets": [
        { "name": "DB_USER", "valueFrom": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf:username::" }
      ]
    }
  ]
}
"""
    text = text if final else text.rstrip("\n")
    return text.replace("\n", nl)


FOUR_SPACES = """{
    "family": "api",
    "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
    "containerDefinitions": [
        {
            "name": "api",
            "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:1.4",
            "environment": [
                {
                    "name": "PORT",
                    "value": "8080"
                },
                {
                    "name": "STRIPE_SECRET_KEY",
                    "value": "sk_test_EXAMPLEhunter2"
                }
            ],
            "essential": true
        }
    ]
}
"""

TABS = ('{\n\t"family": "worker",\n\t"executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",\n\t"containerDefinitions": [\n\t\t{\n'
        '\t\t\t"name": "worker",\n\t\t\t"image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:1.4",\n\t\t\t"environment": [\n'
        '\t\t\t\t{\n\t\t\t\t\t"name": "API_TOKEN",\n\t\t\t\t\t"value": "hunter2-token"\n\t\t\t\t},\n'
        '\t\t\t\t{\n\t\t\t\t\t"name": "DB_PASSWORD",\n\t\t\t\t\t"value": "hunter2"\n\t\t\t\t}\n'
        '\t\t\t],\n\t\t\t"essential": true\n\t\t}\n\t]\n}\n')

TWO_CONTAINERS = """{
  "family": "web",
  "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
  "containerDefinitions": [
    {
      "name": "web",
      "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:1.4",
      "environment": [
        {"name": "DB_PASSWORD", "value": "hunter2"},
        {"name": "RAILS_ENV", "value": "production"}
      ],
      "secrets": []
    },
    {
      "name": "worker",
      "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:1.4",
      "environment": [
        {"name": "DB_PASSWORD", "value": "hunter2"},
        {"name": "SIDEKIQ_PASSWORD", "value": "hunter2-sidekiq"}
      ],
      "secrets": [
        {"valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/web/smtp", "name": "SMTP_PASSWORD"}
      ]
    },
    {
      "name": "migrate",
      "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:1.4",
      "environment": [{"name": "DB_PASSWORD", "value": "hunter3"}]
    }
  ]
}"""

ONE_LINE_CONTAINER = """{
  "family": "proxy",
  "containerDefinitions": [
    { "name": "proxy", "image": "nginx:1.27", "environment": [{ "name": "BASIC_AUTH_PASSWORD", "value": "hunter2" }], "essential": true }
  ],
  "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
}
"""

MINIFIED = ('{"family":"batch","executionRoleArn":"arn:aws:iam::123456789012:role/ecsTaskExecutionRole","containerDefinitions":[{"name":"job","image":"busybox",'
            '"environment":[{"name":"AWS_SECRET_ACCESS_KEY","value":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},'
            '{"name":"AWS_REGION","value":"eu-west-1"}],'
            '"logConfiguration":{"logDriver":"awslogs","options":{"awslogs-region":"eu-west-1"}}}]}')

NO_ACCOUNT = """{
  "family": "legacy",
  "containerDefinitions": [
    {
      "name": "app",
      "image": "example/app:latest",
      "environment": [
        { "name": "SECRET_KEY_BASE", "value": "hunter2-rails" }
      ]
    }
  ]
}
"""

# `aws ecs describe-task-definition` output saved as a file: `null` for every unset field
DESCRIBED = """{
    "containerDefinitions": [
        {
            "dnsSearchDomains": null,
            "environment": [
                {
                    "name": "DB_HOST",
                    "value": "db.internal"
                },
                {
                    "name": "DB_PWD",
                    "value": "hunter2"
                }
            ],
            "secrets": null,
            "image": "example/api:1.4",
            "name": "api"
        }
    ],
    "family": "api",
    "taskDefinitionArn": "arn:aws:ecs:ap-southeast-1:123456789012:task-definition/api:5",
    "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
}
"""


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    moved: tuple[str, ...]
    kept: tuple[str, ...] = ()
    options: dict[str, str] = field(default_factory=dict)
    placeholders: tuple[str, ...] = ()  # what EF103 must report afterwards
    value_from: dict[str, str] = field(default_factory=dict)  # name -> expected valueFrom (first container)


CASES = [
    Case("seed_secret_name", _seed(), ("DB_PASS",), ("DB_HOST",), {"secret_name": "prod/grpc-server"},
         value_from={"DB_PASS": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/grpc-server:DB_PASS::"}),
    Case("seed_secret_arn", _seed(), ("DB_PASS",), ("DB_HOST",), {"secret_arn": SM_ARN},
         value_from={"DB_PASS": SM_ARN + ":DB_PASS::"}),
    Case("seed_placeholder", _seed(), ("DB_PASS",), ("DB_HOST",), placeholders=("<secret-name>",),
         value_from={"DB_PASS": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:<secret-name>:DB_PASS::"}),
    Case("seed_crlf_no_newline", _seed("\r\n", final=False), ("DB_PASS",), ("DB_HOST",), {"secret_name": "prod/api"}),
    Case("four_spaces_multi_line_entries", FOUR_SPACES, ("STRIPE_SECRET_KEY",), ("PORT",), {"secret_name": "prod/api"}),
    Case("tabs_all_moved", TABS, ("API_TOKEN", "DB_PASSWORD"), (), {"secret_arn": SM_ARN}),
    Case("two_containers_keys", TWO_CONTAINERS, ("DB_PASSWORD", "SIDEKIQ_PASSWORD"), ("RAILS_ENV",),
         {"secret_name": "prod/web"}),
    Case("ssm_parameter_path", TWO_CONTAINERS, ("DB_PASSWORD", "SIDEKIQ_PASSWORD"), ("RAILS_ENV",),
         {"secret_arn": SSM_ARN}, value_from={"DB_PASSWORD": SSM_ARN + "/DB_PASSWORD"}),
    Case("one_line_container", ONE_LINE_CONTAINER, ("BASIC_AUTH_PASSWORD",), (), {"secret_name": "proxy"},
         placeholders=("<region>",)),
    Case("bom_minified", "\ufeff" + MINIFIED, ("AWS_SECRET_ACCESS_KEY",), ("AWS_REGION",), {"secret_name": "batch"}),
    Case("minified", MINIFIED, ("AWS_SECRET_ACCESS_KEY",), ("AWS_REGION",), {"secret_name": "batch"}),
    Case("described_null_secrets", DESCRIBED, ("DB_PWD",), ("DB_HOST",), {"secret_name": "prod/api"},
         value_from={"DB_PWD": "arn:aws:secretsmanager:ap-southeast-1:123456789012:secret:prod/api:DB_PWD::"}),
    Case("no_account_no_region", NO_ACCOUNT, ("SECRET_KEY_BASE",), (),
         placeholders=("<region>", "<account-id>", "<secret-name>")),
]
IDS = [c.id for c in CASES]
LITERALS = ("hunter2", "hunter3", "sk_test_EXAMPLEhunter2", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


def _write(tmp_path: Path, text: str, name: str = "task-definition.json") -> Path:
    d = tmp_path / "td"
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(text.encode("utf-8"))
    return d


def _run(directory: Path, **options: str) -> RewriteResult:
    result = rewrite([str(directory)], options=Options(**options))  # type: ignore[arg-type]
    assert not result.errors, result.errors
    return result


def _containers(text: str) -> list[dict]:  # type: ignore[type-arg]
    return json.loads(text.lstrip("\ufeff"))["containerDefinitions"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_rewrite_moves_entries_and_keeps_everything_else(case: Case, tmp_path: Path) -> None:
    d = _write(tmp_path, case.text)
    result = _run(d, **case.options)
    assert len(result.changes) == 1, result.notes
    change = result.changes[0]
    assert sorted({m.name for m in result.moved}) == sorted(set(case.moved))
    # the same document, with exactly the moved entries turned into secrets
    old, new = json.loads(change.original.lstrip("\ufeff")), json.loads(change.new.lstrip("\ufeff"))
    assert change.new.startswith("\ufeff") == change.original.startswith("\ufeff")
    assert {k: v for k, v in old.items() if k != "containerDefinitions"} == \
        {k: v for k, v in new.items() if k != "containerDefinitions"}
    for before, after in zip(old["containerDefinitions"], new["containerDefinitions"], strict=True):
        env_names = [e["name"] for e in before.get("environment", [])]
        moving = [n for n in env_names if n in case.moved]
        assert [e["name"] for e in after.get("environment", [])] == [n for n in env_names if n not in case.moved]
        assert [s["name"] for s in after.get("secrets") or []] == [s["name"] for s in before.get("secrets") or []] + moving
        assert {k: v for k, v in before.items() if k not in ("environment", "secrets")} == \
            {k: v for k, v in after.items() if k not in ("environment", "secrets")}
        if not [n for n in env_names if n not in case.moved] and before.get("secrets") is not None:
            assert "environment" not in after  # emptied next to an existing `secrets`: dropped
    first = new["containerDefinitions"][0]
    for name, vf in case.value_from.items():
        assert {"name": name, "valueFrom": vf} in first["secrets"]
    for literal in LITERALS:
        assert literal not in change.new
    # the file's own style
    assert change.new.endswith("\n") == change.original.endswith("\n")
    if "\r\n" in change.original:
        assert change.new.count("\n") == change.new.count("\r\n")
    if "\t" in change.original:
        assert "\n  " not in change.new and "\n\t\t\t\t{" in change.new
    if "\n" not in change.original.strip():
        assert "\n" not in change.new.strip()  # minified stays minified

    write_change(change)
    after = scan([str(d)])
    assert not [f for f in after.findings if f.rule == "EF001" and f.name in case.moved]
    assert {f.name for f in after.findings if f.rule == "EF001"} <= set(case.kept)
    ef103 = [f for f in after.findings if f.rule == "EF103"]
    if case.placeholders:
        assert {f.name for f in ef103} == set(case.moved)
        for f in ef103:
            assert "placeholder" in f.message and all(p in f.message for p in case.placeholders)
            assert "ecsfix rewrite --secret-arn ARN" in f.message
            if len(case.placeholders) == 3:
                assert "set the secret's Region, account id and name" in f.message
    else:
        assert ef103 == []
    again = _run(d, **case.options)
    assert again.changes == [] and again.moved == []


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_diff_snapshot(case: Case, tmp_path: Path, snapshot) -> None:  # type: ignore[no-untyped-def]
    snapshot.snapshot_dir = SNAPSHOTS
    d = _write(tmp_path, case.text)
    change = _run(d, **case.options).changes[0]
    change.display = "task-definition.json"
    snapshot.assert_match(change.diff().encode(), f"{case.id}.diff")


def test_same_name_in_two_containers_gets_one_key_per_value(tmp_path: Path) -> None:
    change = _run(_write(tmp_path, TWO_CONTAINERS), secret_name="prod/web").changes[0]
    vfs = [s["valueFrom"] for c in _containers(change.new) for s in c.get("secrets", []) if s["name"] == "DB_PASSWORD"]
    base = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/web"
    # web and worker set the same value: one key; migrate sets another: DB_PASSWORD_2
    assert vfs == [f"{base}:DB_PASSWORD::", f"{base}:DB_PASSWORD::", f"{base}:DB_PASSWORD_2::"]


def test_existing_secret_item_is_the_template(tmp_path: Path) -> None:
    """New items copy their neighbours' shape, `valueFrom` first included."""
    change = _run(_write(tmp_path, TWO_CONTAINERS), secret_name="prod/web").changes[0]
    assert '{"valueFrom": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/web:SIDEKIQ_PASSWORD::", ' \
           '"name": "SIDEKIQ_PASSWORD"}' in change.new


def test_a_later_run_with_the_arn_fills_the_placeholders(tmp_path: Path) -> None:
    d = _write(tmp_path, NO_ACCOUNT)
    write_change(_run(d).changes[0])
    assert any(f.rule == "EF103" for f in scan([str(d)]).findings)
    result = _run(d, secret_arn=SM_ARN)
    assert len(result.changes) == 1 and result.moved == []
    assert _containers(result.changes[0].new)[0]["secrets"] == [
        {"name": "SECRET_KEY_BASE", "valueFrom": SM_ARN + ":SECRET_KEY_BASE::"}]
    write_change(result.changes[0])
    assert not [f for f in scan([str(d)]).findings if f.rule in ("EF001", "EF103")]
    assert _run(d, secret_arn=SM_ARN).changes == []


# --------------------------------------------------------------------------- refusals


REFUSALS = [
    pytest.param(_seed().replace('"hunter2"', '"${DB_PASS}"'), "DB_PASS", "placeholder (${...})", id="envsubst"),
    pytest.param(_seed().replace('"hunter2"', '"{{ db_pass }}"'), "DB_PASS", "placeholder ({{ ... }})", id="jinja"),
    pytest.param(_seed().replace('"hunter2"', '"%DB_PASS%"'), "DB_PASS", "placeholder (%VAR%)", id="percent"),
    pytest.param(_seed().replace('"hunter2"', '"${{ secrets.DB_PASS }}"'), "DB_PASS", "placeholder (${...})",
                 id="actions-expression"),
    pytest.param(_seed().replace('"DB_USER"', '"DB_PASS"'), "DB_PASS", "has a secret named DB_PASS already",
                 id="name-in-secrets"),
    pytest.param(_seed().replace('"DB_HOST", "value": "db.internal"', '"DB_PASS", "value": "hunter3"'), "DB_PASS",
                 "sets DB_PASS more than once", id="name-twice"),
    pytest.param(_seed().replace('"secrets": [', '"secrets": {"x": [').replace('::" }\n      ]', '::" }\n      ]}'),
                 "DB_PASS", "secrets is not a list", id="secrets-not-a-list"),
    pytest.param(_seed().replace('{ "name": "DB_PASS", "value": "hunter2" }',
                                 '{ "name": "DB_PASS", "value": "hunter2", "type": "x" }'),
                 "DB_PASS", "keys other than name and value", id="extra-key"),
]


@pytest.mark.parametrize(("text", "name", "why"), REFUSALS)
def test_refused_with_a_note_and_scan_says_why(text: str, name: str, why: str, tmp_path: Path) -> None:
    json.loads(text)
    d = _write(tmp_path, text)
    result = _run(d, secret_name="prod/api")
    assert result.changes == [] and result.moved == []
    assert any(why in n and "not rewritten" in n for n in result.notes), result.notes
    flagged = [f for f in scan([str(d)]).findings if f.rule == "EF001" and f.name == name]
    assert flagged and not any(f.fixable for f in flagged)
    assert all("ecsfix rewrite leaves it: " in f.message and why in f.message for f in flagged)


def test_fixable_in_scan_matches_the_rewrite(tmp_path: Path) -> None:
    d = _write(tmp_path, _seed())
    flagged = [f for f in scan([str(d)]).findings if f.rule == "EF001"]
    assert [(f.name, f.fixable) for f in flagged] == [("DB_PASS", True)]
    assert "run `ecsfix rewrite` to preview the fix" in flagged[0].message


def test_bare_list_and_non_list_are_not_task_definitions(tmp_path: Path) -> None:
    """A bare list of container definitions is what Terraform's file() reads: scan does not take it
    for a task definition, nor does the rewrite. A `containerDefinitions` that is not a list: nothing."""
    d = _write(tmp_path, '[\n  {"name": "app", "environment": [{"name": "DB_PASSWORD", "value": "hunter2"}]}\n]\n',
               "containers.json")
    (d / "odd.json").write_text('{"family": "x", "containerDefinitions": {"name": "app", "environment": '
                                '[{"name": "DB_PASSWORD", "value": "hunter2"}]}}\n', encoding="utf-8")
    result = rewrite([str(d)])
    assert result.changes == [] and result.moved == []


# --------------------------------------------------------------------------- next to Terraform


MAIN_DECODE = '''resource "aws_ecs_task_definition" "app" {
  family                = "app"
  container_definitions = jsonencode(jsondecode(file("${path.module}/task-definition.json")).containerDefinitions)
}
'''
MAIN_FILE = '''resource "aws_ecs_task_definition" "app" {
  family                = "app"
  execution_role_arn    = aws_iam_role.exec.arn
  container_definitions = file("${path.module}/containers.json")
}

resource "aws_iam_role" "exec" {
  name               = "exec"
  assume_role_policy = "{}"
}
'''
CONTAINERS = '[\n  {\n    "name": "app",\n    "image": "nginx",\n    "environment": [\n' \
             '      { "name": "DB_PASSWORD", "value": "hunter2" }\n    ]\n  }\n]\n'


def test_a_json_file_terraform_reads_is_left_to_terraform(tmp_path: Path) -> None:
    d = _write(tmp_path, _seed())
    (d / "main.tf").write_text(MAIN_DECODE, encoding="utf-8")
    result = _run(d, secret_name="prod/api")
    assert result.changes == [] and result.moved == []
    assert any("read by Terraform" in n and "main.tf:3 file()" in n for n in result.notes), result.notes
    flagged = [f for f in scan([str(d)]).findings if f.rule == "EF001"]
    assert flagged and not any(f.fixable for f in flagged)


def test_terraform_file_form_and_a_standalone_task_definition_each_move_once(tmp_path: Path) -> None:
    d = _write(tmp_path, _seed())
    (d / "containers.json").write_text(CONTAINERS, encoding="utf-8")
    (d / "main.tf").write_text(MAIN_FILE, encoding="utf-8")
    result = _run(d, secret_name="prod/api")
    by_file = {os.path.basename(c.path): c for c in result.changes}
    assert set(by_file) == {"containers.json", "main.tf", "task-definition.json"}
    assert sorted((m.task_definition, m.name) for m in result.moved) == [
        ("aws_ecs_task_definition.app", "DB_PASSWORD"), ("task-definition grpc-server-task", "DB_PASS")]
    assert "${app_secrets_arn}:DB_PASSWORD::" in by_file["containers.json"].new  # the file() planner's form
    for c in result.changes:
        write_change(c)
    after = scan([str(d)])
    assert not [f for f in after.findings if f.rule == "EF001"]
    assert _run(d, secret_name="prod/api").changes == []


# --------------------------------------------------------------------------- the CLI


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ecsfix", "rewrite", *args], cwd=cwd, capture_output=True, text=True)


def test_check_exit_codes(tmp_path: Path) -> None:
    d = _write(tmp_path, _seed())
    proc = _cli("--check", "--secret-name", "prod/api", ".", cwd=d)
    assert proc.returncode == 1, proc.stderr
    assert "would move task-definition grpc-server-task container server: DB_PASS" in proc.stdout
    assert _cli("--write", "--secret-name", "prod/api", ".", cwd=d).returncode == 0
    proc = _cli("--check", "--secret-name", "prod/api", ".", cwd=d)
    assert proc.returncode == 0 and "0 entries in 0 files" in proc.stdout


def test_format_json(tmp_path: Path) -> None:
    d = _write(tmp_path, _seed())
    proc = _cli("--format", "json", "--secret-arn", SM_ARN, ".", cwd=d)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["moved"] == [{"resource": "task-definition grpc-server-task", "container": "server",
                             "name": "DB_PASS", "variable": None}]
    assert "hunter2" not in proc.stdout and SM_ARN + ":DB_PASS::" in doc["changes"][0]["diff"]


BAD_ARNS = [
    "prod/api",
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/api-AbCdEf:password::",
    "arn:aws:s3:::bucket",
    "arn:aws:secretsmanager:eu-west-1:1234:secret:prod/api",
    "arn:aws:ssm:eu-west-1:123456789012:parameter",
]


@pytest.mark.parametrize("arn", BAD_ARNS)
def test_secret_arn_is_validated(arn: str, tmp_path: Path) -> None:
    assert secret_arn_problem(arn) is not None
    d = _write(tmp_path, _seed())
    proc = _cli("--secret-arn", arn, ".", cwd=d)
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("error: --secret-arn ")


def test_option_errors(tmp_path: Path) -> None:
    d = _write(tmp_path, _seed())
    both = _cli("--secret-arn", SM_ARN, "--secret-name", "x", ".", cwd=d)
    assert both.returncode == 2 and "exclude each other" in both.stderr
    bad = _cli("--secret-name", "bad name!", ".", cwd=d)
    assert bad.returncode == 2 and bad.stderr.startswith("error: --secret-name ")
    assert secret_arn_problem(SM_ARN) is None and secret_arn_problem(SSM_ARN) is None


def test_help_says_raw_task_definition_json_only() -> None:
    proc = subprocess.run([sys.executable, "-m", "ecsfix", "rewrite", "--help"], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})
    assert proc.returncode == 0
    assert proc.stdout.count("Raw task-definition JSON only") == 2


# --------------------------------------------------------------------------- the summary


def test_summary_section_snapshot(tmp_path: Path, snapshot) -> None:  # type: ignore[no-untyped-def]
    snapshot.snapshot_dir = SNAPSHOTS
    out = []
    for i, (text, options) in enumerate([(_seed(), {"secret_name": "prod/grpc-server"}),
                                         (_seed(), {"secret_arn": SM_ARN}),
                                         (NO_ACCOUNT, {}),
                                         (TWO_CONTAINERS, {"secret_arn": SSM_ARN})]):
        d = _write(tmp_path / str(i), text)
        result = _run(d, **options)
        for plan in result.taskdef_secrets:
            plan.file = "task-definition.json"
        for m in result.moved:  # tmp_path out of the snapshot
            m.where = "task-definition.json:" + m.where.rsplit(":", 1)[1]
        md = summary_markdown(result)
        for literal in LITERALS:
            assert literal not in md
        out.append(f"<!-- {options} -->\n{md}")
    snapshot.assert_match("\n".join(out).encode(), "summary.md")


def test_summary_names_the_commands(tmp_path: Path) -> None:
    md = summary_markdown(_run(_write(tmp_path, _seed()), secret_name="prod/grpc-server"))
    assert "aws secretsmanager create-secret --name prod/grpc-server --secret-string file://prod-grpc-server.json" in md
    assert '"DB_PASS": "<new value of DB_PASS>"' in md
    assert "secret:prod/grpc-server-??????" in md and "kms:Decrypt" in md and "**rotate**" in md
    assert "aws ecs register-task-definition --cli-input-json file://" in md
    assert md.index("### Moved to") < md.index("### Raw task definitions") < md.index("Generated by")
    md = summary_markdown(_run(_write(tmp_path / "b", _seed()), secret_arn=SM_ARN))
    assert f"aws secretsmanager put-secret-value --secret-id {SM_ARN} --secret-string file://" in md
    assert f'"Resource": "{SM_ARN}"' in md and "create-secret" not in md
