"""Values that flow through local module calls (`ecsfix/module_calls.py`): the child's variables
are bound to the call's arguments, and what came from the caller is reported at the entry,
naming the argument that carried it. Each case is a small tree of files written here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ecsfix.cli import main
from ecsfix.scan import scan

# (a) the caller renders whole container definitions and passes them in
RENDERED_CHILD = """\
variable "app_container_definitions" {
  type = string
}

resource "aws_ecs_task_definition" "app" {
  family                = "app"
  execution_role_arn    = "arn:aws:iam::123456789012:role/app-exec"
  container_definitions = var.app_container_definitions
}
"""
TEMPLATE = """\
[
  {
    "name": "app",
    "environment": [
      { "name": "DB_PASSWORD", "value": "${db_password}" },
      { "name": "STRIPE_API_KEY", "value": "${api_key}" },
      { "name": "LOG_LEVEL", "value": "info" }
    ]
  }
]
"""
TEMPLATE_FILE_CALLER = """\
data "template_file" "cfb" {
  template = file("${path.module}/container.json.tpl")
  vars = {
    db_password = var.db_password
    api_key     = "hunter2hunter2"
  }
}

module "app" {
  source                    = "../../modules/app"
  app_container_definitions = data.template_file.cfb.rendered
}
"""
TEMPLATEFILE_CALLER = """\
module "app" {
  source = "../../modules/app"
  app_container_definitions = templatefile("${path.module}/container.json.tpl", {
    db_password = var.db_password
    api_key     = "hunter2hunter2"
  })
}
"""
JSONENCODE_CALLER = """\
module "app" {
  source = "../../modules/app"
  app_container_definitions = jsonencode([{
    name = "app"
    environment = [
      { name = "DB_PASSWORD", value = var.db_password },
      { name = "LOG_LEVEL", value = "info" },
    ]
  }])
}
"""

# (b) the caller passes single values; the child builds the environment from `var.<input>`
VALUES_CHILD = """\
variable "api_db_url" {
  type = string
}
variable "admin_pass" {
  type = string
}
variable "log_level" {
  type = string
}
variable "mode" {
  type    = string
  default = "server"
}

resource "aws_ecs_task_definition" "api" {
  family = "api"
  container_definitions = jsonencode([{
    name = "api"
    environment = [
      { name = "DATABASE_URL", value = var.api_db_url },
      { name = "ADMIN_PASSWORD", value = var.admin_pass },
      { name = "LOG_LEVEL", value = var.log_level },
      { name = "MODE", value = var.mode },
    ]
  }])
}
"""
VALUES_CALLER = """\
module "api" {
  source     = "../../modules/api"
  api_db_url = "postgres://app:${var.db_password}@${aws_db_instance.main.address}/app"
  admin_pass = var.bootstrap_admin_pass
  log_level  = "debug"
}
"""

# (c) the child's locals combine several inputs into the list
LOCALS_CHILD = """\
variable "db_host" {
  type = string
}
variable "db_pass" {
  type = string
}
variable "extra_env" {
  type    = list(object({ name = string, value = string }))
  default = []
}

locals {
  base = [
    { name = "DB_HOST", value = var.db_host },
    { name = "DB_CREDENTIAL", value = var.db_pass },
  ]
  environment = concat(local.base, var.extra_env)
}

resource "aws_ecs_task_definition" "worker" {
  family = "worker"
  container_definitions = jsonencode([{
    name        = "worker"
    environment = local.environment
  }])
}
"""
LOCALS_CALLER = """\
module "worker" {
  source  = "../../modules/worker"
  db_host = "db.internal"
  db_pass = "hunter2"
  extra_env = [
    { name = "SENTRY_AUTH_TOKEN", value = "hunter2hunter2" },
    { name = "SENTRY_ENVIRONMENT", value = "prod" },
  ]
}
"""

# nested: the caller's value goes through one wrapper into the module with the task definition
OUTER_CHILD = """\
variable "db_password" {
  type = string
}

module "task" {
  source      = "../task"
  db_password = var.db_password
  image       = "ghcr.io/acme/api:1.0.0"
}
"""
INNER_CHILD = """\
variable "db_password" {
  type = string
}
variable "image" {
  type = string
}

resource "aws_ecs_task_definition" "api" {
  family = "api"
  container_definitions = jsonencode([{
    name        = "api"
    image       = var.image
    environment = [{ name = "DB_SECRET", value = var.db_password }]
  }])
}
"""
NESTED_CALLER = """\
module "svc" {
  source      = "../../modules/service"
  db_password = "hunter2"
}
"""

# a cycle, a `for_each` call, and calls whose children build no task definition
CYCLE_A = 'module "b" {\n  source = "../b"\n  pw     = "hunter2"\n}\n'
CYCLE_B = 'module "a" {\n  source = "../a"\n  pw     = "hunter2"\n}\n'
FOR_EACH_CALLER = """\
module "api" {
  source     = "../../modules/api"
  for_each   = { blue = "b", green = "g" }
  api_db_url = "postgres://app:hunter2@db.internal/app_${each.value}"
  admin_pass = var.admin_passwords[each.key]
  log_level  = "info"
}
"""
LAMBDA_CHILD = """\
variable "environment_variables" {
  type = map(string)
}
resource "aws_lambda_function" "f" {
  function_name = "f"
  environment {
    variables = var.environment_variables
  }
}
"""
LAMBDA_CALLER = """\
module "fn" {
  source                = "../../modules/fn"
  environment_variables = { API_TOKEN = "hunter2hunter2" }
}
module "registry" {
  source      = "acme/ecs-api/aws"
  api_db_url  = "postgres://app:hunter2@db.internal/app"
}
"""


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


Row = tuple[str, int, str, str, str]  # file, line, resource, name, the argument named in the message

CASES: dict[str, tuple[dict[str, str], list[Row]]] = {
    "template_file rendered": (
        {"modules/app/main.tf": RENDERED_CHILD, "envs/prod/main.tf": TEMPLATE_FILE_CALLER,
         "envs/prod/container.json.tpl": TEMPLATE},
        [("envs/prod/container.json.tpl", 5, "module.app", "DB_PASSWORD", "module.app.app_container_definitions at envs/prod/main.tf:11"),
         ("envs/prod/container.json.tpl", 6, "module.app", "STRIPE_API_KEY", "module.app.app_container_definitions at envs/prod/main.tf:11")],
    ),
    "templatefile": (
        {"modules/app/main.tf": RENDERED_CHILD, "envs/prod/main.tf": TEMPLATEFILE_CALLER,
         "envs/prod/container.json.tpl": TEMPLATE},
        [("envs/prod/container.json.tpl", 5, "module.app", "DB_PASSWORD", "module.app.app_container_definitions at envs/prod/main.tf:3"),
         ("envs/prod/container.json.tpl", 6, "module.app", "STRIPE_API_KEY", "module.app.app_container_definitions at envs/prod/main.tf:3")],
    ),
    "jsonencode": (
        {"modules/app/main.tf": RENDERED_CHILD, "envs/prod/main.tf": JSONENCODE_CALLER},
        [("envs/prod/main.tf", 6, "module.app", "DB_PASSWORD", "module.app.app_container_definitions at envs/prod/main.tf:3")],
    ),
    "single values": (
        {"modules/api/main.tf": VALUES_CHILD, "envs/prod/main.tf": VALUES_CALLER},
        [("modules/api/main.tf", 20, "module.api", "DATABASE_URL", "module.api.api_db_url at envs/prod/main.tf:3"),
         ("modules/api/main.tf", 21, "module.api", "ADMIN_PASSWORD", "module.api.admin_pass at envs/prod/main.tf:4")],
    ),
    "locals combine inputs": (
        {"modules/worker/main.tf": LOCALS_CHILD, "envs/prod/main.tf": LOCALS_CALLER},
        [("envs/prod/main.tf", 6, "module.worker", "SENTRY_AUTH_TOKEN", "module.worker.extra_env at envs/prod/main.tf:5"),
         ("modules/worker/main.tf", 15, "module.worker", "DB_CREDENTIAL", "module.worker.db_pass at envs/prod/main.tf:4")],
    ),
    "nested": (
        {"modules/service/main.tf": OUTER_CHILD, "modules/task/main.tf": INNER_CHILD, "envs/prod/main.tf": NESTED_CALLER},
        [("modules/task/main.tf", 13, "module.svc.module.task", "DB_SECRET", "module.svc.db_password at envs/prod/main.tf:3")],
    ),
    "for_each": (
        {"modules/api/main.tf": VALUES_CHILD, "envs/prod/main.tf": FOR_EACH_CALLER},
        [("modules/api/main.tf", 20, "module.api", "DATABASE_URL", "module.api.api_db_url at envs/prod/main.tf:4"),
         ("modules/api/main.tf", 21, "module.api", "ADMIN_PASSWORD", "module.api.admin_pass at envs/prod/main.tf:5")],
    ),
    "cycle": ({"modules/a/main.tf": CYCLE_A, "modules/b/main.tf": CYCLE_B, "envs/prod/main.tf":
               'module "a" {\n  source = "../../modules/a"\n  pw     = "hunter2"\n}\n'}, []),
    "no task definition, registry not fetched": (
        {"modules/fn/main.tf": LAMBDA_CHILD, "envs/prod/main.tf": LAMBDA_CALLER}, []),
}


@pytest.mark.parametrize("case", list(CASES))
def test_what_crosses_a_local_module_call_is_reported_at_the_entry(tmp_path: Path, case: str) -> None:
    files, want = CASES[case]
    write(tmp_path, files)
    result = scan([str(tmp_path / "envs" / "prod")], root=str(tmp_path))
    assert not result.errors, [e.render() for e in result.errors]
    got = [(f.file, f.line, f.resource, f.name, f.message) for f in result.findings if f.rule == "EF001"]
    assert [g[:4] for g in got] == [w[:4] for w in want]
    for (_, _, _, name, message), row in zip(got, want, strict=True):
        assert f"via {row[4]}" in message or f"-> {row[4]}" in message, (name, message)
        assert "hunter2" not in message
    for f in result.findings:
        assert not f.fixable and "by hand" in f.message


def test_the_message_names_both_places(tmp_path: Path) -> None:
    write(tmp_path, {"modules/api/main.tf": VALUES_CHILD, "envs/prod/main.tf": VALUES_CALLER})
    result = scan([str(tmp_path / "envs" / "prod")], root=str(tmp_path))
    message = next(f.message for f in result.findings if f.name == "DATABASE_URL")
    assert "aws_ecs_task_definition.api (modules/api/main.tf:15)" in message
    assert "pass the ARN from envs/prod/main.tf:1" in message
    assert "interpolated from var.db_password" in message


def test_scanning_the_child_alone_is_unchanged(tmp_path: Path) -> None:
    write(tmp_path, {"modules/api/main.tf": VALUES_CHILD, "envs/prod/main.tf": VALUES_CALLER})
    alone = scan([str(tmp_path / "modules" / "api")], root=str(tmp_path))
    # DATABASE_URL from an unset variable "may embed credentials" (medium): the child cannot know more
    assert [(f.rule, f.severity, f.line, f.resource, f.name, f.fixable) for f in alone.findings] == [
        ("EF001", "medium", 20, "aws_ecs_task_definition.api", "DATABASE_URL", True),
        ("EF001", "high", 21, "aws_ecs_task_definition.api", "ADMIN_PASSWORD", True)]


def test_both_directories_in_one_run_report_each_entry_once(tmp_path: Path) -> None:
    """ADMIN_PASSWORD = var.admin_pass is the child's own finding (its name says secret, whoever
    sets it): reported once, by the child, fixable there. DATABASE_URL is "may embed credentials"
    (medium) in the child alone; the caller passes a URL with a password, so the child's finding
    (fixable there) takes the caller's severity and names the call."""
    write(tmp_path, {"modules/api/main.tf": VALUES_CHILD, "envs/prod/main.tf": VALUES_CALLER})
    result = scan([str(tmp_path)], root=str(tmp_path))
    got = sorted((f.line, f.severity, f.resource, f.name, f.fixable) for f in result.findings if f.rule == "EF001")
    assert got == [(20, "high", "aws_ecs_task_definition.api", "DATABASE_URL", True),
                   (21, "high", "aws_ecs_task_definition.api", "ADMIN_PASSWORD", True)]
    database_url = next(f for f in result.findings if f.name == "DATABASE_URL")
    assert "module.api passes credentials here" in database_url.message
    assert "module.api.api_db_url at envs/prod/main.tf:3" in database_url.message


TEMPLATED_CHILD = """\
variable "smtp_password" {
  type = string
}

resource "aws_ecs_task_definition" "app" {
  family = "app"
  container_definitions = templatefile("${path.module}/templates/app.json.tpl", {
    smtp_password = var.smtp_password
  })
}
"""
TEMPLATED_TEMPLATE = '[{"name": "app", "environment": [{"name": "SMTP_PASSWORD", "value": "${smtp_password}"}]}]\n'


def test_a_child_template_in_a_subdirectory_is_reported_once(tmp_path: Path) -> None:
    """The child's own finding is in its templates/ folder: the caller's is still a duplicate."""
    write(tmp_path, {"modules/app/main.tf": TEMPLATED_CHILD, "modules/app/templates/app.json.tpl": TEMPLATED_TEMPLATE,
                     "envs/prod/main.tf": 'module "app" {\n  source        = "../../modules/app"\n'
                                          '  smtp_password = var.smtp_password\n}\n'})
    caller_only = scan([str(tmp_path / "envs" / "prod")], root=str(tmp_path))
    assert [(f.file, f.resource) for f in caller_only.findings] == [("modules/app/templates/app.json.tpl", "module.app")]
    both = scan([str(tmp_path)], root=str(tmp_path))
    assert [(f.file, f.resource, f.fixable) for f in both.findings if f.rule == "EF001"] == [
        ("modules/app/templates/app.json.tpl", "aws_ecs_task_definition.app", True)]


def test_a_call_that_passes_nothing_is_not_followed(tmp_path: Path) -> None:
    write(tmp_path, {"modules/api/main.tf": VALUES_CHILD.replace("type = string\n}", "type = string\n  default = \"x\"\n}"),
                     "envs/prod/main.tf": 'module "api" {\n  source = "../../modules/api"\n}\n'})
    result = scan([str(tmp_path / "envs" / "prod")], root=str(tmp_path))
    assert not result.findings and not result.task_definitions


def test_the_cache_records_the_child_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, {"modules/api/main.tf": VALUES_CHILD, "envs/prod/main.tf": VALUES_CALLER})
    monkeypatch.delenv("ECSFIX_CACHE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)

    def names() -> list[str]:
        main(["scan", "--format", "json", "envs/prod"])
        return sorted(f["name"] for f in json.loads(capsys.readouterr().out)["findings"])

    assert names() == ["ADMIN_PASSWORD", "DATABASE_URL"]
    assert names() == ["ADMIN_PASSWORD", "DATABASE_URL"]  # warm
    child = tmp_path / "modules" / "api" / "main.tf"
    child.write_text(VALUES_CHILD.replace('{ name = "DATABASE_URL", value = var.api_db_url },\n', ""), encoding="utf-8")
    assert names() == ["ADMIN_PASSWORD"]


def test_sarif_fingerprints_tell_the_calls_apart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two environments calling one module: one finding per call at the child's entry, each with
    its own fingerprint (the resource is the call, the file the child's)."""
    write(tmp_path, {"modules/api/main.tf": VALUES_CHILD, "envs/prod/main.tf": VALUES_CALLER,
                     "envs/staging/main.tf": VALUES_CALLER.replace('module "api"', 'module "api_staging"')})
    main(["scan", "--no-cache", "--format", "sarif", str(tmp_path / "envs")])
    results = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    prints = [r["partialFingerprints"] for r in results if r["properties"].get("name") == "DATABASE_URL"]
    assert len(prints) == 2 and prints[0] != prints[1]


@pytest.mark.parametrize(("default", "found"), [
    ("null", True),  # "set it in tfvars": the value is unknown, the name says secret
    ('""', True),
    ('"hunter2"', True),
    ('"/run/secrets/smtp"', False),  # a path: the look-alike rule still applies to a real default
])
def test_a_null_or_empty_default_is_a_placeholder(tmp_path: Path, default: str, found: bool) -> None:
    """A variable whose default is null or "" is set elsewhere (tfvars, a caller): the entry is
    judged as if the variable had no default, not as an empty value."""
    write(tmp_path, {"main.tf": f'variable "smtp_password" {{\n  default = {default}\n}}\n'
                                'resource "aws_ecs_task_definition" "app" {\n  family = "app"\n'
                                '  container_definitions = jsonencode([{ name = "app", environment = [\n'
                                '    { name = "SMTP_PASSWORD", value = var.smtp_password },\n  ] }])\n}\n'})
    result = scan([str(tmp_path)], root=str(tmp_path))
    assert [f.name for f in result.findings if f.rule == "EF001"] == (["SMTP_PASSWORD"] if found else [])


def test_rewriting_caller_and_child_in_one_run_leaves_no_stale_note(tmp_path: Path) -> None:
    """As in `scan`, an entry the child's own findings cover is the child's to move: a run over both
    directories moves it there and does not also tell the user to move it by hand in the caller."""
    from ecsfix.rewrite.engine import rewrite

    write(tmp_path, {"modules/api/main.tf": VALUES_CHILD, "envs/prod/main.tf": VALUES_CALLER})
    both = rewrite([str(tmp_path)], root=str(tmp_path))
    assert [n for n in both.notes if "module.api" in n] == []
    assert {m.name for m in both.moved} == {"DATABASE_URL", "ADMIN_PASSWORD"}
    caller_only = rewrite([str(tmp_path / "envs" / "prod")], root=str(tmp_path))
    assert caller_only.moved == []
    assert any("module.api" in n and "by hand" in n for n in caller_only.notes)
