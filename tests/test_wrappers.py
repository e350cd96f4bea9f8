"""Calls of your own ECS wrapper modules (`ecsfix/module_calls.py`): an environment list or map passed
to a local module that builds the task definition with it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ecsfix.cli import main
from ecsfix.module_calls import Children
from ecsfix.prefilter import env_like
from ecsfix.scan import worth_scanning

ECS_SERVICE = """\
variable "name" { type = string }
variable "environment" {
  type    = list(object({ name = string, value = string }))
  default = []
}
variable "extra_env" {
  type    = map(string)
  default = {}
}
resource "aws_ecs_task_definition" "this" {
  family = var.name
  container_definitions = jsonencode([{
    name        = var.name
    image       = "nginx"
    environment = concat(var.environment, [for k, v in var.extra_env : { name = k, value = v }])
  }])
}
"""
LAMBDA = """\
variable "environment_variables" { type = map(string) }
resource "aws_lambda_function" "f" {
  function_name = "f"
  environment { variables = var.environment_variables }
}
"""
NOT_ECS = ECS_SERVICE.split('resource "aws_ecs_task_definition"')[0] + (
    'output "env" {\n  value = concat(var.environment, [for k, v in var.extra_env : { name = k, value = v }])\n}\n')
CALLER = """\
module "api" {
  source = "../../modules/ecs-service"
  name   = "api"
  environment = [
    { name = "DB_PASSWORD", value = "hunter2" },
    { name = "LOG_LEVEL", value = "info" },
    { name = "DB_PASSWORD_ARN", value = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db" },
  ]
  extra_env = { STRIPE_SECRET_KEY = "sk_live_EXAMPLEEXAMPLEEXAMPLE" }
}

module "fn" {
  source                = "../../modules/lambda"
  environment_variables = { API_TOKEN = "hunter2hunter2" }
}

module "gone" {
  source      = "../../modules/not-there"
  environment = [{ name = "GONE_PASSWORD", value = "hunter2" }]
}
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for rel, text in {"modules/ecs-service/main.tf": ECS_SERVICE, "modules/lambda/main.tf": LAMBDA,
                      "envs/prod/main.tf": CALLER}.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    monkeypatch.delenv("ECSFIX_CACHE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def scan_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(["scan", "--format", "json", *args])
    return code, json.loads(capsys.readouterr().out)


def test_env_inputs_of_a_local_ecs_module_are_scanned_where_they_are_written(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = scan_json(capsys, "--no-cache", "envs/prod")
    ef001 = sorted((f["name"], f["line"], f["resource"], f["fixable"]) for f in doc["findings"] if f["rule"] == "EF001")
    assert ef001 == [("DB_PASSWORD", 5, "module.api", False), ("STRIPE_SECRET_KEY", 9, "module.api", False)]
    assert code == 1
    assert "hunter2" not in json.dumps(doc) and "sk_live" not in json.dumps(doc)


def test_what_is_not_read_as_a_container_environment(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A Lambda wrapper, a local source that does not exist, and an ECS module that does not use the
    input: nothing. (Registry modules are read by their input names: tests/test_ecs_modules.py.)"""
    (repo / "modules" / "ecs-service" / "main.tf").write_text(
        ECS_SERVICE.replace("concat(var.environment, ", "").replace("}])\n  }])", "}]\n  }])"), encoding="utf-8")
    code, doc = scan_json(capsys, "--no-cache", "envs/prod")
    names = sorted(f["name"] for f in doc["findings"] if f["rule"] == "EF001")
    assert names == ["STRIPE_SECRET_KEY"]  # `environment` is no longer used by the child; extra_env is
    (repo / "modules" / "ecs-service" / "main.tf").write_text(NOT_ECS, encoding="utf-8")  # uses both, no task
    code, doc = scan_json(capsys, "--no-cache", "envs/prod")
    assert (code, [f for f in doc["findings"] if f["rule"] == "EF001"]) == (0, [])


def test_the_rewrite_leaves_them_with_a_note(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (repo / "envs" / "prod" / "main.tf").read_text(encoding="utf-8")
    assert main(["rewrite", "envs/prod", "--write"]) == 0  # nothing to write; the note is scan's to fail on
    err = capsys.readouterr().err
    # the wrapper takes no secrets input: the note names the one to add (tests/test_rewrite_wrappers.py)
    why = ('module.api (../../modules/ecs-service) has no secrets input: add a variable "secrets" '
           "(list of {name, valueFrom}) that feeds the container's secrets, then re-run")
    assert f"envs/prod/main.tf:1: module.api: not rewritten: {why}; move the entries by hand" in err
    assert (repo / "envs" / "prod" / "main.tf").read_text(encoding="utf-8") == before
    _, doc = scan_json(capsys, "--no-cache", "envs/prod")
    hints = {f["name"]: f["message"] for f in doc["findings"] if f["rule"] == "EF001"}
    assert all(f"(ecsfix rewrite leaves it: {why})" in hints[n] for n in ("DB_PASSWORD", "STRIPE_SECRET_KEY"))


def test_the_cache_follows_the_child_module(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = scan_json(capsys, "envs/prod")
    assert scan_json(capsys, "envs/prod") == first  # warm
    child = repo / "modules" / "ecs-service" / "main.tf"
    child.write_text(NOT_ECS, encoding="utf-8")
    code, doc = scan_json(capsys, "envs/prod")
    assert (code, [f for f in doc["findings"] if f["rule"] == "EF001"]) == (0, [])
    child.unlink()
    (repo / "modules" / "ecs-service" / "ecs.tf").write_text(ECS_SERVICE, encoding="utf-8")  # a file renamed
    code, doc = scan_json(capsys, "envs/prod")
    assert code == first[0] and doc["findings"] == first[1]["findings"]
    # whether the rewrite moves them depends on the child's code too: the child gains a secrets input
    with_secrets = ECS_SERVICE.replace(
        'variable "extra_env"', 'variable "secrets" {\n  type    = list(any)\n  default = []\n}\nvariable "extra_env"'
    ).replace("var.extra_env : { name = k, value = v }])", "var.extra_env : { name = k, value = v }])\n    secrets     = var.secrets"
              ).replace("  family = var.name\n", '  family = var.name\n  execution_role_arn = "arn:aws:iam::123456789012:role/x"\n')
    (repo / "modules" / "ecs-service" / "ecs.tf").write_text(with_secrets, encoding="utf-8")
    code, doc = scan_json(capsys, "envs/prod")
    assert [(f["name"], f["fixable"]) for f in doc["findings"] if f["rule"] == "EF001"] == [
        ("DB_PASSWORD", True), ("STRIPE_SECRET_KEY", True)]


@pytest.mark.parametrize(("name", "env"), [
    ("environment", True), ("env_vars", True), ("container_environment", True), ("extra_env", True),
    ("environment_variables", True), ("inventory", False), ("envoy_image", False), ("name", False),
])
def test_env_like_input_names(name: str, env: bool) -> None:
    assert env_like(name) is env


@pytest.mark.parametrize(("text", "candidate"), [
    (CALLER, True),
    ('module "a" {\n  source = "../../modules/ecs-service"\n  environment = "prod"\n}\n', True),  # a task definition there
    ('module "a" {\n  source = "../../modules/lambda"\n  environment = "prod"\n}\n', False),  # none there
    ('module "a" {\n  source = "../../modules/not-there"\n  db_password = var.x\n}\n', False),
    ('module "a" {\n  source = "acme/m/aws"\n  environment = "prod"\n}\n', False),  # not on disk, not a list
    ('module "a" {\n  source = "./m"\n  env_vars = merge(local.a, {})\n}\n', True),  # an environment-like input
])
def test_pre_filter(repo: Path, text: str, candidate: bool) -> None:
    assert worth_scanning(str(repo / "envs" / "prod"), [text], Children()) is candidate


def test_a_syntax_error_elsewhere_in_the_calling_file_is_left_to_terraform(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    caller = repo / "envs" / "prod" / "main.tf"
    caller.write_text(CALLER + 'variable "broken" {\n  default = [1 2]\n}\n', encoding="utf-8")
    code, doc = scan_json(capsys, "--no-cache", "envs/prod")
    assert doc["errors"] == []
    assert sorted(f["name"] for f in doc["findings"] if f["rule"] == "EF001") == ["DB_PASSWORD", "STRIPE_SECRET_KEY"]
