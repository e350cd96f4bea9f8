"""Issue 13, groups 3-8: shapes from real repositories that the scan judged wrongly, as tables of
small Terraform modules. Each case is one task definition; the test scans it and compares the
EF001 findings (entry name -> severity) with what the case expects."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.labelled import run_main


def _module(variables: str, entries: str, extra: str = "") -> str:
    return textwrap.dedent(variables) + textwrap.dedent(f"""
        resource "aws_ecs_task_definition" "app" {{
          family = "app"
          container_definitions = jsonencode([
            {{
              name  = "app"
              image = "acme/app:1.0.0"
              environment = [
        {textwrap.indent(textwrap.dedent(entries).strip(), "        ")}
              ]
            }}
          ])
        }}
        """) + textwrap.dedent(extra)


def scan(root: Path) -> dict[str, object]:
    run = run_main("scan", "--no-cache", "--format", "json", ".", cwd=root)
    assert run.code in (0, 1, 2), run.stderr
    doc = run.json()
    doc["code"] = run.code
    return doc


def ef001(doc: dict[str, object]) -> dict[str, dict[str, object]]:
    findings = doc["findings"]
    assert isinstance(findings, list)
    return {str(f["name"]): f for f in findings if f["rule"] == "EF001"}


def _case(case_id: str, files: dict[str, str], expected: dict[str, str]) -> object:
    return pytest.param(files, expected, id=case_id)


# --------------------------------------------------------------------------- group 3: names

NAMES = [
    _case("pair-prefixed", {"main.tf": _module("""
        variable "s3_key_id" { type = string }
        variable "s3_secret" { type = string }
        """, """
        { name = "S3_ACCESS_KEY_ID", value = var.s3_key_id },
        { name = "S3_SECRET_ACCESS_KEY", value = var.s3_secret },
        """)}, {"S3_ACCESS_KEY_ID": "high", "S3_SECRET_ACCESS_KEY": "high"}),
    _case("pair-camel-sections", {"main.tf": _module("", """
        { name = "Runner__LockAccessKeyId", value = aws_iam_access_key.lock.id },
        { name = "Runner__LockSecretAccessKey", value = aws_iam_access_key.lock.secret },
        { name = "Runner__LockTable", value = "locks" },
        """)}, {"Runner__LockAccessKeyId": "high", "Runner__LockSecretAccessKey": "high"}),
    _case("pair-other-stem-does-not-pair", {"main.tf": _module("", """
        { name = "UPLOADS_ACCESS_KEY_ID", value = "uploads-reader" },
        { name = "BACKUP_SECRET_ACCESS_KEY", value = var.backup_secret },
        """)}, {"BACKUP_SECRET_ACCESS_KEY": "high"}),
    _case("id-alone", {"main.tf": _module("", """
        { name = "ACCESS_KEY_ID", value = "reports-reader" },
        """)}, {}),
    _case("pair-with-empty-id", {"main.tf": _module("", """
        { name = "S3_ACCESS_KEY_ID", value = "" },
        { name = "S3_SECRET_ACCESS_KEY", value = var.s3_secret },
        """)}, {"S3_SECRET_ACCESS_KEY": "high"}),
    _case("pair-secret-is-an-arn", {"main.tf": _module("", """
        { name = "S3_ACCESS_KEY_ID", value = var.s3_key_id },
        { name = "S3_SECRET_ACCESS_KEY", value = aws_secretsmanager_secret.s3.arn },
        """)}, {}),
    _case("aws-service-prefix", {"main.tf": _module("", """
        { name = "AWS_S3_ACCESS_KEY_ID", value = var.aws_s3_access_key_id },
        { name = "AWS_DYNAMODB_ACCESS_KEY_ID", value = var.dynamodb_key_id },
        """)}, {"AWS_S3_ACCESS_KEY_ID": "high", "AWS_DYNAMODB_ACCESS_KEY_ID": "high"}),
    _case("pw-words", {"main.tf": _module("", """
        { name = "SMTP_PW", value = var.smtp_pw },
        { name = "DB_PWD", value = var.db_pwd },
        { name = "LDAP_PASSWRD", value = var.ldap_passwrd },
        { name = "PWD", value = "/app" },
        """)}, {"SMTP_PW": "high", "DB_PWD": "high", "LDAP_PASSWRD": "high"}),
]


@pytest.mark.parametrize(("files", "expected"), NAMES)
def test_names(tmp_path: Path, files: dict[str, str], expected: dict[str, str]) -> None:
    _check(tmp_path, files, expected)


# --------------------------------------------------------------------------- group 4: typed variables

TYPED = [
    _case("bool-variable", {"main.tf": _module("""
        variable "write_git_creds" { type = bool }
        """, """
        { name = "ATLANTIS_WRITE_GIT_CREDS", value = var.write_git_creds },
        """)}, {}),
    _case("number-variable-through-tostring", {"main.tf": _module("""
        variable "token_refresh" { type = number }
        """, """
        { name = "TOKEN_REFRESH", value = tostring(var.token_refresh) },
        """)}, {}),
    _case("bool-variable-interpolated-through-a-local", {"main.tf": _module("""
        variable "creds" { type = bool }
        locals { write_creds = var.creds }
        """, """
        { name = "WRITE_CREDS", value = "${local.write_creds}" },
        """)}, {}),
    _case("quoted-legacy-type", {"main.tf": _module("""
        variable "secret_rotation_on" { type = "bool" }
        """, """
        { name = "SECRET_ROTATE", value = var.secret_rotation_on },
        """)}, {}),
    _case("object-attribute-types", {"main.tf": _module("""
        variable "otp" {
          type = object({ secret_digits = number, secret = string, flags = map(bool) })
        }
        """, """
        { name = "OTP_SECRET_DIGITS", value = var.otp.secret_digits },
        { name = "OTP_SECRET_STRICT", value = var.otp.flags["strict"] },
        { name = "OTP_SECRET", value = var.otp.secret },
        """)}, {"OTP_SECRET": "high"}),
    _case("optional-attribute", {"main.tf": _module("""
        variable "cfg" { type = list(object({ creds = optional(bool, false), token = optional(string) })) }
        """, """
        { name = "GIT_CREDS", value = var.cfg[0].creds },
        { name = "GIT_TOKEN", value = var.cfg[0].token },
        """)}, {"GIT_TOKEN": "high"}),
    _case("literals", {"main.tf": _module("", """
        { name = "GIT_CREDS", value = tostring(true) },
        { name = "SECRET_COUNT_X", value = 3 },
        { name = "API_TOKEN_REQUIRED_X", value = "${false}" },
        """)}, {}),
    _case("string-variable-still-flagged", {"main.tf": _module("""
        variable "gh_token" { type = string }
        variable "anything" { type = any }
        """, """
        { name = "ATLANTIS_GH_TOKEN", value = var.gh_token },
        { name = "ATLANTIS_GH_APP_KEY_SECRET", value = var.anything },
        """)}, {"ATLANTIS_GH_TOKEN": "high", "ATLANTIS_GH_APP_KEY_SECRET": "high"}),
]


@pytest.mark.parametrize(("files", "expected"), TYPED)
def test_typed_variables(tmp_path: Path, files: dict[str, str], expected: dict[str, str]) -> None:
    _check(tmp_path, files, expected)


# --------------------------------------------------------------------------- group 5: resource "template_file"

_CONTAINERS_TPL = """\
[
  {
    "name": "api",
    "image": "acme/api:0.11.0",
    "environment": [
      { "name": "MONGO_ROOT_PASSWORD", "value": "${mongo_root_password}" },
      { "name": "MONGO_HOST", "value": "${mongo_host}" }
    ]
  }
]
"""
_TD_011 = """
resource "aws_ecs_task_definition" "api" {
  family                = "api"
  container_definitions = "${template_file.api.rendered}"
}
"""
_VARS_011 = """
  vars {
    mongo_root_password = "${var.mongo_root_password}"
    mongo_host          = "mongo.internal"
  }
}
"""

TEMPLATE_FILE_RESOURCE = [
    _case("template-file-function", {
        "main.tf": 'variable "mongo_root_password" {}\nresource "template_file" "api" {\n'
                   '  template = "${file("${path.module}/api.json.tpl")}"\n' + _VARS_011 + _TD_011,
        "api.json.tpl": _CONTAINERS_TPL,
    }, {"MONGO_ROOT_PASSWORD": "high"}),
    _case("template-file-0.6-filename", {
        "main.tf": 'variable "mongo_root_password" {}\nresource "template_file" "api" {\n'
                   '  filename = "${path.module}/api.json.tpl"\n' + _VARS_011 + _TD_011,
        "api.json.tpl": _CONTAINERS_TPL,
    }, {"MONGO_ROOT_PASSWORD": "high"}),
    _case("template-heredoc-with-a-literal", {
        "main.tf": 'resource "template_file" "api" {\n  template = <<EOF\n' + _CONTAINERS_TPL + "EOF\n"
                   + _VARS_011.replace('"${var.mongo_root_password}"', '"EXAMPLE-mongo-root"') + _TD_011,
    }, {"MONGO_ROOT_PASSWORD": "high"}),
    _case("template-file-counted", {
        "main.tf": 'variable "mongo_root_password" {}\nresource "template_file" "api" {\n  count = 2\n'
                   '  template = file("${path.module}/api.json.tpl")\n' + _VARS_011 + _TD_011.replace(
                       "${template_file.api.rendered}", "${template_file.api.0.rendered}").replace(
                       "template_file.api.0.rendered", "template_file.api[0].rendered"),
        "api.json.tpl": _CONTAINERS_TPL,
    }, {"MONGO_ROOT_PASSWORD": "high"}),
]


TEMPLATE_FILE_RESOURCE.append(
    # Terraform reads relative paths from the directory it runs in: here the parent, which calls ./ecs
    _case("template-path-relative-to-the-caller", {
        "main.tf": 'module "ecs" {\n  source = "./ecs"\n}\n',
        "ecs/main.tf": 'variable "mongo_root_password" {}\nresource "template_file" "api" {\n'
                       '  template = "${file("./ecs/api.json.tpl")}"\n' + _VARS_011 + _TD_011,
        "ecs/api.json.tpl": _CONTAINERS_TPL,
    }, {"MONGO_ROOT_PASSWORD": "high"}),
)


@pytest.mark.parametrize(("files", "expected"), TEMPLATE_FILE_RESOURCE)
def test_template_file_resource(tmp_path: Path, files: dict[str, str], expected: dict[str, str]) -> None:
    found = _check(tmp_path, files, expected)
    assert not [f for f in found.values() if f["rule"] == "EF003"]


# --------------------------------------------------------------------------- group 6: line breaks inside JSON strings

_BROKEN_CONTAINERS = """\
[
  {
    "name": "mongo",
    "image": "mongo:7.0.5",
    "environment": [
      { "name": "MOTD", "value": "Welcome.
Be gentle." },
      { "name": "MONGO_ROOT_PASSWORD", "value": "EXAMPLE-mongo-root" },
      { "name": "MONGO_PORT", "value": "27017" }
    ]
  }
]
"""
_BROKEN_TD = """\
resource "aws_ecs_task_definition" "mongo" {
  family                = "mongo"
  container_definitions = %s
}
"""

BROKEN_JSON = [
    # (files, expected EF001 findings, expected errors as (file, line))
    pytest.param({"main.tf": _BROKEN_TD % ("<<EOF\n" + _BROKEN_CONTAINERS + "EOF")},
                 {"MONGO_ROOT_PASSWORD": "high"}, {("main.tf", 9)}, id="heredoc"),
    pytest.param({"main.tf": _BROKEN_TD % ("<<-EOT\n" + textwrap.indent(_BROKEN_CONTAINERS, "    ") + "  EOT")},
                 {"MONGO_ROOT_PASSWORD": "high"}, {("main.tf", 9)}, id="indented-heredoc"),
    pytest.param({"main.tf": _BROKEN_TD % 'file("${path.module}/mongo.json")', "mongo.json": _BROKEN_CONTAINERS},
                 {"MONGO_ROOT_PASSWORD": "high"}, {("mongo.json", 6)}, id="file"),
    pytest.param({"main.tf": 'variable "port" {}\n' + _BROKEN_TD % 'templatefile("${path.module}/mongo.tpl", '
                  "{ port = var.port })",
                  "mongo.tpl": _BROKEN_CONTAINERS.replace('"27017"', '"${port}"')},
                 {"MONGO_ROOT_PASSWORD": "high"}, {("mongo.tpl", 6)}, id="templatefile"),
    pytest.param({"task-definition.json": '{\n  "family": "mongo",\n  "containerDefinitions": '
                  + _BROKEN_CONTAINERS + "}\n"},
                 {"MONGO_ROOT_PASSWORD": "high"}, {("task-definition.json", 8)}, id="task-definition-json"),
    # another fault besides: an error as before, nothing read
    pytest.param({"main.tf": _BROKEN_TD % ("<<EOF\n" + _BROKEN_CONTAINERS.replace('"27017" }', '"27017" },')
                                           + "EOF")},
                 {}, {("main.tf", 9)}, id="and-a-trailing-comma"),
]


@pytest.mark.parametrize(("files", "expected", "errors"), BROKEN_JSON)
def test_line_break_inside_a_json_string(tmp_path: Path, files: dict[str, str], expected: dict[str, str],
                                         errors: set[tuple[str, int]]) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    doc = scan(tmp_path)
    assert {name: f["severity"] for name, f in ef001(doc).items()} == expected
    reported = doc["errors"]
    assert isinstance(reported, list)
    assert {(e["file"], e["line"]) for e in reported} == errors
    assert doc["code"] == 2
    if expected:
        assert all("line break inside a string" in e["message"] and "still scanned" in e["message"] for e in reported)
        (finding,) = ef001(doc).values()
        assert finding["fixable"] is False  # `ecsfix rewrite` leaves a document it cannot write back alone
        if "main.tf" in files:
            assert "fix the JSON first" in str(finding["message"])
    text = run_main("scan", "--no-cache", ".", cwd=tmp_path)
    assert text.code == 2 and "EXAMPLE-mongo-root" not in text.stdout + text.stderr
    assert sum(": error: " in line for line in (text.stdout + text.stderr).splitlines()) == len(errors)


# --------------------------------------------------------------------------- group 7: no usable name

UNNAMED = [
    _case("empty-name-default-password", {"main.tf": _module("", """
        { name = "", value = "password" },
        """)}, {"": "high"}),
    _case("blank-name-default-password", {"main.tf": _module("", """
        { name = "  ", value = "hunter2" },
        """)}, {"  ": "high"}),
    _case("empty-name-key-shape", {"main.tf": _module("", f"""
        {{ name = "", value = "{"AKIA" + "IOSFODNN7EXAMPLE"}" }},
        """)}, {"": "high"}),
    _case("no-name-key-url-with-password", {"main.tf": _module("", """
        { value = "postgres://app:hunter2@db.internal/app" },
        """)}, {"None": "high"}),
    _case("empty-name-ordinary-values", {"main.tf": _module("", """
        { name = "", value = "production" },
        { name = "", value = "admin" },
        { name = "", value = "" },
        """)}, {}),
    _case("named-mode-word", {"main.tf": _module("", """
        { name = "POSTGRES_HOST_AUTH_METHOD", value = "password" },
        { name = "SASL_MECHANISM", value = "PASSWORD" },
        """)}, {}),
]


@pytest.mark.parametrize(("files", "expected"), UNNAMED)
def test_entries_without_a_usable_name(tmp_path: Path, files: dict[str, str], expected: dict[str, str]) -> None:
    found = _check(tmp_path, files, expected)
    for name in expected:  # nothing to name the secret after: `ecsfix rewrite` must not try
        assert found[name]["fixable"] is False
        assert "an entry without a name is not moved automatically" in str(found[name]["message"])


# --------------------------------------------------------------------------- group 8: evidence beyond the entry

CREDENTIAL_NAMES = [
    # a name that conventionally holds a URL with credentials, from a variable this module does not set
    _case("database-url-unknown", {"main.tf": _module("""
        variable "database_url" { type = string }
        """, """
        { name = "DATABASE_URL", value = var.database_url },
        """)}, {"DATABASE_URL": "medium"}),
    _case("null-and-empty-defaults-are-not-values", {"main.tf": _module("""
        variable "redis_url" {
          type    = string
          default = null
        }
        variable "mongo_uri" { default = "" }
        """, """
        { name = "REDIS_URL", value = var.redis_url },
        { name = "MONGO_URI", value = "${var.mongo_uri}" },
        """)}, {"REDIS_URL": "medium", "MONGO_URI": "medium"}),
    _case("airflow-connections", {"main.tf": _module("""
        variable "sql_alchemy_conn" {}
        variable "broker" {}
        variable "conn_warehouse" {}
        """, """
        { name = "AIRFLOW__CORE__SQL_ALCHEMY_CONN", value = var.sql_alchemy_conn },
        { name = "AIRFLOW__CELERY__BROKER_URL", value = var.broker },
        { name = "AIRFLOW_CONN_WAREHOUSE", value = var.conn_warehouse },
        """)}, {"AIRFLOW__CORE__SQL_ALCHEMY_CONN": "medium", "AIRFLOW__CELERY__BROKER_URL": "medium",
                "AIRFLOW_CONN_WAREHOUSE": "medium"}),
    _case("tfvars-shows-credentials", {
        "main.tf": _module("""
            variable "database_url" { type = string }
            variable "redis_url" { type = string }
            """, """
            { name = "DATABASE_URL", value = var.database_url },
            { name = "REDIS_URL", value = var.redis_url },
            """),
        "terraform.tfvars": 'database_url = "postgres://app:EXAMPLE-pw@db.internal:5432/app"\n'
                            'redis_url    = "redis://cache.internal:6379/0"\n',
    }, {"DATABASE_URL": "high"}),
    _case("auto-tfvars-wins", {
        "main.tf": _module("""
            variable "database_url" { type = string }
            """, """
            { name = "DATABASE_URL", value = var.database_url },
            """),
        "terraform.tfvars": 'database_url = "postgres://db.internal:5432/app"\n',
        "prod.auto.tfvars.json": '{"database_url": "postgres://app:EXAMPLE-pw@db.internal:5432/app"}\n',
    }, {"DATABASE_URL": "high"}),
    _case("default-without-credentials", {"main.tf": _module("""
        variable "database_url" { default = "postgres://db.internal:5432/app" }
        """, """
        { name = "DATABASE_URL", value = var.database_url },
        { name = "REDIS_URL", value = "redis://cache:6379/0" },
        { name = "DB_HOST", value = var.db_host },
        { name = "DB_CONNECTION", value = var.db_driver },
        { name = "CACHE_URL", value = var.cache_url },
        """)}, {}),
    _case("default-with-credentials", {"main.tf": _module("""
        variable "database_url" { default = "postgres://app:EXAMPLE-pw@db.internal:5432/app" }
        """, """
        { name = "DATABASE_URL", value = var.database_url },
        """)}, {"DATABASE_URL": "high"}),
    _case("secret-named-null-default", {"main.tf": _module("""
        variable "smtp_password" {
          type    = string
          default = null
        }
        variable "oidc_client_secret" {
          description = "Client Secret"
          default     = ""
        }
        """, """
        { name = "SMTP_PASSWORD", value = var.smtp_password },
        { name = "APPLICANT_OIDC_CLIENT_SECRET", value = var.oidc_client_secret },
        { name = "SMTP_PASSWORD_EMPTY", value = "" },
        """)}, {"SMTP_PASSWORD": "high", "APPLICANT_OIDC_CLIENT_SECRET": "high"}),
]


@pytest.mark.parametrize(("files", "expected"), CREDENTIAL_NAMES)
def test_names_that_carry_credentials(tmp_path: Path, files: dict[str, str], expected: dict[str, str]) -> None:
    found = _check(tmp_path, files, expected)
    for name, severity in expected.items():
        if severity == "medium":
            assert "may embed credentials" in str(found[name]["message"])


SOURCES = [
    _case("description-says-sdk-key", {"main.tf": _module("""
        variable "flags_prod" {
          type        = string
          description = "LaunchDarkly server-side SDK key for production"
        }
        variable "flags_env" {
          type        = string
          description = "Name of the LaunchDarkly environment"
        }
        """, """
        { name = "FEATURE_FLAGS_PROD", value = var.flags_prod },
        { name = "FEATURE_FLAGS_ENV", value = var.flags_env },
        """)}, {"FEATURE_FLAGS_PROD": "high"}),
    _case("description-look-alikes", {"main.tf": _module("""
        variable "a" { description = "ARN of the Secrets Manager secret holding the DB password" }
        variable "b" { description = "Whether to enable token authentication" }
        variable "c" { description = "Minimum password length" }
        variable "d" { description = "Password rotation period in days" }
        variable "e" { description = "Extra arguments to pass to tailscale up" }
        """, """
        { name = "A", value = var.a },
        { name = "B", value = var.b },
        { name = "C", value = var.c },
        { name = "D", value = var.d },
        { name = "TS_EXTRA_ARGS", value = var.e },
        """)}, {}),
    _case("description-says-connection-string", {"main.tf": _module("""
        variable "atlas" { description = "MongoDB connection string" }
        """, """
        { name = "ATLAS_URI", value = var.atlas },
        """)}, {"ATLAS_URI": "medium"}),
    _case("map-of-secrets", {"main.tf": _module("""
        variable "secrets" { type = map(string) }
        variable "settings" { type = map(string) }
        """, """
        { name = "AIRFLOW__CELERY__RESULT_BACKEND", value = "db+${var.secrets["sql_conn"]}" },
        { name = "AIRFLOW__CORE__FERNET_KEY", value = var.secrets["fernet_key"] },
        { name = "AIRFLOW__CELERY__BROKER_URL", value = var.secrets["broker_url"] },
        { name = "AIRFLOW__WEBSERVER__BASE_URL", value = var.settings["base_url"] },
        { name = "AIRFLOW_ARN", value = var.secrets["arn"] },
        { name = "AIRFLOW_DB", value = var.secrets["db_password_arn"] },
        """)}, {"AIRFLOW__CELERY__RESULT_BACKEND": "high", "AIRFLOW__CORE__FERNET_KEY": "high",
                "AIRFLOW__CELERY__BROKER_URL": "high"}),
    _case("secret-named-variable-neutral-entry", {"main.tf": _module("""
        variable "payments_api_key" { type = string }
        variable "db" { type = object({ host = string, password = string }) }
        locals { signing = var.payments_api_key }
        """, """
        { name = "PAYMENTS", value = local.signing },
        { name = "PG_SECOND", value = var.db.password },
        { name = "PG_HOST", value = var.db.host },
        { name = "PAYMENTS_KEY_NAME", value = var.payments_api_key },
        """)}, {"PAYMENTS": "high", "PG_SECOND": "high"}),
    _case("credentials-by-definition", {"main.tf": _module("""
        resource "random_password" "db" { length = 32 }
        resource "aws_iam_access_key" "uploader" { user = "uploader" }
        data "aws_secretsmanager_secret_version" "app" { secret_id = "app" }
        """, """
        { name = "PGPASS_X", value = random_password.db.result },
        { name = "MONGODB_URI", value = jsondecode(data.aws_secretsmanager_secret_version.app.secret_string)["MONGODB_URI"] },
        { name = "S3_ACCESS_KEY", value = aws_iam_access_key.uploader.id },
        { name = "S3_SECRET_KEY", value = aws_iam_access_key.uploader.secret },
        { name = "UPLOADER_USER", value = aws_iam_access_key.uploader.user },
        { name = "SUFFIX", value = "${random_password.db.length}" },
        """)}, {"PGPASS_X": "high", "MONGODB_URI": "high", "S3_ACCESS_KEY": "high", "S3_SECRET_KEY": "high"}),
    _case("literal-text-that-reads-like-an-address", {"main.tf": _module("", """
        { name = "DB_VALUE", value = "random_password.db.result" },
        """)}, {}),
    _case("key-pair-names", {"main.tf": _module("", """
        { name = "LAYER0_AWS_SSH_KEY_PAIR", value = var.ssh_key_pair },
        { name = "BASTION_KEYPAIR", value = var.keypair },
        """)}, {}),
]


@pytest.mark.parametrize(("files", "expected"), SOURCES)
def test_where_the_value_comes_from(tmp_path: Path, files: dict[str, str], expected: dict[str, str]) -> None:
    found = _check(tmp_path, files, expected)
    for name in expected:  # the secret is what the reference brings: nothing committed to rotate
        assert "rotate" not in str(found[name]["message"]), found[name]["message"]


def test_tfvars_are_cache_dependencies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cached scan is redone when a terraform.tfvars appears, changes, or a *.auto.tfvars is added;
    the value set there is never printed nor stored."""
    (tmp_path / "main.tf").write_text(_module('variable "database_url" { type = string }\n',
                                              '{ name = "DATABASE_URL", value = var.database_url },'), encoding="utf-8")
    monkeypatch.setenv("ECSFIX_CACHE_DIR", str(tmp_path / ".cache"))

    def severity() -> str | None:
        run = run_main("scan", "--format", "json", ".", cwd=tmp_path)
        assert "EXAMPLE-pw" not in run.stdout + run.stderr
        found = ef001(run.json())
        return str(found["DATABASE_URL"]["severity"]) if found else None

    assert severity() == "medium"
    (tmp_path / "terraform.tfvars").write_text('database_url = "postgres://db.internal/app"\n', encoding="utf-8")
    assert severity() is None
    (tmp_path / "z.auto.tfvars").write_text('database_url = "postgres://app:EXAMPLE-pw@db/app"\n', encoding="utf-8")
    assert severity() == "high"
    (tmp_path / "z.auto.tfvars").write_text('database_url = "postgres://db/app"\n', encoding="utf-8")
    assert severity() is None
    for cached in (tmp_path / ".cache").rglob("*.json"):
        assert "EXAMPLE-pw" not in cached.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- helpers


def _check(root: Path, files: dict[str, str], expected: dict[str, str]) -> dict[str, dict[str, object]]:
    """Write the files, scan them, compare the EF001 findings; all findings by name (rule:name for
    the other rules) for further checks."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    doc = scan(root)
    assert {name: f["severity"] for name, f in ef001(doc).items()} == expected
    findings = doc["findings"]
    assert isinstance(findings, list)
    return {(str(f["name"]) if f["rule"] == "EF001" else f"{f['rule']}:{f['name']}"): f for f in findings}
