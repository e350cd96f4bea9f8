"""A labelled table of ECS environment entries written in every input form ecsfix reads.

`build(root)` writes one small Terraform module (or JSON file) per form below `root` and returns
the `Table`: one `Label` per environment entry -- file, line of the entry, name, and whether it is
a secret (an EF001 finding is expected) or a look-alike that must stay quiet.

Vendor-shaped tokens are assembled from pieces here, at test time, so that secret scanners of this
repository (GitHub push protection among them) have nothing to match; every one is fake.

Run `python -m tests.labelled DIR` to write the fixtures somewhere for a look.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# --------------------------------------------------------------------------- fake values
# All fake, all assembled: ecsfix:ignore EF001 test fixture values, never real secrets.

AWS_KEY_ID = "AKIA" + "IOSFODNN7" + "EXAMPLE"
AWS_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
GITHUB_TOKEN = "ghp_" + "1a2B3c4D5e6F7g8H9i0J" + "kLmNoPqRsTuVwX" + "yZ"
STRIPE_KEY = "sk_" + "live_" + "51HqLyjWDarjtT1zdp7dc" + "EXAMPLE"
SLACK_TOKEN = "xoxb-" + "123456789012-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx"
JWT = ".".join(
    [
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
        "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkphbmUifQ",
        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    ]
)
BEARER = "Bearer " + "c2VjcmV0LXRva2VuLXZhbHVl" + "LTEyMzQ1Njc4"
PEM = (
    "-----BEGIN " + "RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEA1c7+9z5Pad7OejecsQ0bu3aumWqAEXAMPLE\n"
    "-----END " + "RSA PRIVATE KEY-----"
)
DSN_WITH_PASSWORD = "postgres://user:pass@host/db"
DSN_WITH_PASSWORD_2 = "postgres://app:hunter2@db.internal:5432/app"
MYSQL_DSN = "mysql://report" + ":Tr0ub4dor-3@replica.internal:3306/reports"
HUNTER2 = "hunter2"
PASSPHRASE = "correct-horse-battery-staple"

# Look-alikes that must stay quiet.
GIT_SHA = "3f2a9c1e7b5d4a6f8e0c2b4d6f8a0c1e3b5d7f9a"
REDIS_URL = "redis://cache.internal:6379/0"
SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf"
CLIENT_ID = "0oa1b2c3d4e5f6g7h8i9"
UUID = "0b7f1c9e-3d2a-4f5b-8c6d-9e0a1b2c3d4e"

# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Label:
    form: str
    file: str  # relative to the scan root, with forward slashes
    line: int  # the line the entry starts on
    name: str
    secret: bool
    xfail: str | None = None  # a known, documented limitation (never used to weaken a label)
    group: str | None = None  # the detection issue group the entry was written for ("names", ...)

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.file, self.line, self.name)

    @property
    def id(self) -> str:
        return f"{self.form}:{self.name}@{self.line}"


@dataclass
class Table:
    labels: list[Label] = field(default_factory=list)
    secret_values: set[str] = field(default_factory=set)  # every secret literal written anywhere
    files: dict[str, str] = field(default_factory=dict)
    errors: set[tuple[str, int]] = field(default_factory=set)  # (file, line) of the input errors expected

    def per_form(self) -> Counter[str]:
        return Counter(label.form for label in self.labels)

    def write(self, root: Path) -> None:
        for rel, text in self.files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")


class Doc:
    """A file written line by line; `entry` records the label of the line it starts."""

    def __init__(self, table: Table, form: str, path: str, group: str | None = None):
        self.table = table
        self.form = form
        self.path = path
        self.group = group
        self.lines: list[str] = []
        table.files[path] = ""  # keep insertion order

    def add(self, text: str) -> Doc:
        self.lines.extend(textwrap.dedent(text).strip("\n").split("\n"))
        self._flush()
        return self

    def entry(self, text: str, name: str, secret: bool, *, literal: str | None = None,
              xfail: str | None = None, indent: int = 8) -> Doc:
        """One entry; a multi-line `text` is re-indented to `indent` spaces."""
        self.table.labels.append(Label(self.form, self.path, len(self.lines) + 1, name, secret, xfail, self.group))
        if secret and literal is not None:
            self.table.secret_values.add(literal)
        if "\n" in text.strip("\n"):
            text = textwrap.indent(textwrap.dedent(text).strip("\n"), " " * indent)
        self.lines.extend(text.strip("\n").split("\n"))
        self._flush()
        return self

    def quiet(self, syntax: str, indent: int, pairs: list[tuple[str, str]]) -> Doc:
        """Look-alike entries that must not be reported, one per line (each followed by a comma)."""
        pad = " " * indent
        for name, value in pairs:
            if syntax == "hcl":
                self.entry(f'{pad}{{ name = "{name}", value = {hcl(value)} }},', name, False)
            else:
                self.entry(f'{pad}{{ "name": "{name}", "value": {js_heredoc(value)} }},', name, False)
        return self

    def _flush(self) -> None:
        self.table.files[self.path] = "\n".join(self.lines) + "\n"


def hcl(value: str) -> str:
    """An HCL quoted string literal for `value`."""
    out = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("${", "$${")
    return f'"{out}"'


def js(value: str) -> str:
    """A JSON string literal for `value` (for heredocs and template files: `${` stays a placeholder)."""
    return json.dumps(value)


def js_heredoc(value: str) -> str:
    """A JSON string literal inside a Terraform heredoc or template: a literal `${` must be escaped."""
    return json.dumps(value).replace("${", "$${")


HEADER = """\
terraform {
  required_version = ">= 1.5"
}
"""

EXEC_ROLE = """\
resource "aws_iam_role" "exec" {
  name = "exec"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Action = "sts:AssumeRole", Effect = "Allow", Principal = { Service = "ecs-tasks.amazonaws.com" } }]
  })
}
"""


# --------------------------------------------------------------------------- forms


def jsonencode_single(t: Table) -> None:
    d = Doc(t, "jsonencode-single-line", "jsonencode_single/main.tf")
    d.add(HEADER).add("""
        variable "api_token" {
          type      = string
          sensitive = true
        }

        resource "aws_secretsmanager_secret" "db" {
          name_prefix = "api-db-"
        }

        resource "aws_ecs_task_definition" "api" {
          family                   = "api"
          requires_compatibilities = ["FARGATE"]
          network_mode             = "awsvpc"
          cpu                      = 512
          memory                   = 1024
          execution_role_arn       = aws_iam_role.exec.arn
          container_definitions = jsonencode([
            {
              name      = "api"
              image     = "ghcr.io/acme/api:1.4.2"
              cpu       = 256
              memory    = 512
              essential = true
              portMappings = [{ containerPort = 8080, protocol = "tcp" }]
              environment = [
    """)
    d.entry(f'        {{ name = "DB_PASSWORD", value = {hcl(HUNTER2)} }},', "DB_PASSWORD", True, literal=HUNTER2)
    d.entry('        { name = "PASSWORD_MIN_LENGTH", value = "12" },', "PASSWORD_MIN_LENGTH", False)
    d.entry('        { name = "LOG_LEVEL", value = "info" },', "LOG_LEVEL", False)
    d.entry('        { name = "PORT", value = 8080 },', "PORT", False)
    d.entry(f'        {{ name = "AWS_ACCESS_KEY_ID", value = {hcl(AWS_KEY_ID)} }},', "AWS_ACCESS_KEY_ID", True,
            literal=AWS_KEY_ID)
    d.entry(f'        {{ name = "AWS_SECRET_ACCESS_KEY", value = {hcl(AWS_SECRET_KEY)} }},', "AWS_SECRET_ACCESS_KEY",
            True, literal=AWS_SECRET_KEY)
    d.entry('        { name = "KEYBOARD_LAYOUT", value = "us" },', "KEYBOARD_LAYOUT", False)
    d.quiet("hcl", 8, [("PASSWORD_HASH_ROUNDS", "12"), ("API_KEY_HEADER", "X-Api-Key"), ("NODE_ENV", "production")])
    d.entry(f'        {{ name = "GIT_SHA", value = {hcl(GIT_SHA)} }},', "GIT_SHA", False)
    d.entry('        { name = "API_TOKEN", value = var.api_token },', "API_TOKEN", True)
    d.entry('        { name = "DB_SECRET_ARN", value = aws_secretsmanager_secret.db.arn },', "DB_SECRET_ARN", False)
    d.entry('        { "name" = "ENABLE_AUTH", "value" = "true" },', "ENABLE_AUTH", False)
    d.entry(f'        {{ name : "BOOTSTRAP_KEY_ID", value : {hcl(AWS_KEY_ID)} }},', "BOOTSTRAP_KEY_ID", True,
            literal=AWS_KEY_ID)
    d.add("""
              ]
            },
            {
              name      = "log-router"
              image     = "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0"
              essential = false
              environment = [
    """)
    d.entry(f'        {{ name = "GH_PACKAGES", value = {hcl(GITHUB_TOKEN)} }},', "GH_PACKAGES", True, literal=GITHUB_TOKEN)
    d.entry('        { name = "AWS_REGION", value = "eu-west-1" },', "AWS_REGION", False)
    d.entry(f'        {{ name = "REQUEST_ID_SEED", value = {hcl(UUID)} }},', "REQUEST_ID_SEED", False)
    d.quiet("hcl", 8, [("KMS_KEY_ID", "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")])
    d.add("""
              ]
            },
          ])
        }
    """).add(EXEC_ROLE)


def jsonencode_multiline(t: Table) -> None:
    d = Doc(t, "jsonencode-multi-line", "jsonencode_multiline/main.tf")
    d.add("""
        locals {
          oauth_secret = "EXAMPLE-oauth-client-secret-0000"
        }

        resource "aws_ecs_task_definition" "reports" {
          family             = "reports"
          cpu                = "1024"
          memory             = "2048"
          execution_role_arn = aws_iam_role.exec.arn
          container_definitions = jsonencode([
            {
              name   = "reports"
              image  = "acme/reports:2.0.1"
              cpu    = "512"
              memory = "1024"
              environment = [
    """)
    t.secret_values.add("EXAMPLE-oauth-client-secret-0000")
    d.entry(f"""
                {{
                  # the password of the reporting replica
                  value = {hcl(PASSPHRASE)}
                  name  = "REPORTING_DB_PASSWORD"
                }},
    """, "REPORTING_DB_PASSWORD", True, literal=PASSPHRASE)
    d.entry("""
                {
                  name = "TOKEN_TTL_SECONDS" // refresh hourly
                  /* a block comment between the keys */
                  value = "3600"
                },
    """, "TOKEN_TTL_SECONDS", False)
    d.entry(f"""
                {{
                  value = {hcl(DSN_WITH_PASSWORD)}
                  # value only: the name says nothing
                  name = "UPSTREAM"
                }},
    """, "UPSTREAM", True, literal=DSN_WITH_PASSWORD)
    d.entry("""
                {
                  name  = "SERVICE_NAME"
                  value = "disk-cleaner"
                },
    """, "SERVICE_NAME", False)
    d.entry(f"""
                {{
                  name  = "OAUTH_CLIENT_ID"
                  value = {hcl(CLIENT_ID)}
                }},
    """, "OAUTH_CLIENT_ID", False)
    d.entry("""
                {
                  value = local.oauth_secret
                  name  = "OAUTH_CLIENT_SECRET"
                },
    """, "OAUTH_CLIENT_SECRET", True)
    d.entry(f"""
                {{
                  name  = "CACHE_URL" # no credentials in it
                  value = {hcl(REDIS_URL)}
                }},
    """, "CACHE_URL", False)
    d.entry(f"""
                {{
                  name = "SESSION_SIGNING_KEY"

                  value = {hcl(PASSPHRASE + "-2")}
                }},
    """, "SESSION_SIGNING_KEY", True, literal=PASSPHRASE + "-2")
    d.add("""
              ]
            }
          ])
        }

        # JSON written as HCL: quoted keys, colons, comments inside
        resource "aws_ecs_task_definition" "legacy_reports" {
          family = "legacy-reports"
          container_definitions = jsonencode(
          [
            {
              "name": "legacy-reports",
              "essential": true,
              "environment": [
    """)
    d.entry("""
                {
                  "name": "REPORTS_DB_PASSWORD",
                  # still plaintext, whatever the syntax
                  "value": "${var.reports_db_password}"
                },
    """, "REPORTS_DB_PASSWORD", True)
    d.entry("""
                {
                  "name": "REPORTS_DB_HOST",
                  "value": "${aws_db_instance.reports.address}"
                }
    """, "REPORTS_DB_HOST", False)
    d.add("""
              ],
              "portMappings": [
                {
                  "containerPort": 80,
                  # dynamic host port
                  "hostPort": 0
                }
              ]
            }
          ])
        }
    """).add(EXEC_ROLE)


def heredoc_eof(t: Table) -> None:
    d = Doc(t, "heredoc-EOF", "heredoc_eof/main.tf")
    d.add("""
        variable "image" {
          type    = string
          default = "acme/worker:3.2.0"
        }

        variable "db_password" {
          type      = string
          sensitive = true
        }

        variable "api_token" {
          type      = string
          sensitive = true
        }

        variable "sentry_dsn" {
          type = string
        }

        variable "region" {
          type    = string
          default = "eu-west-1"
        }

        resource "aws_ecs_task_definition" "worker" {
          family                = "worker"
          cpu                   = 256
          memory                = 512
          execution_role_arn    = aws_iam_role.exec.arn
          container_definitions = <<EOF
        [
          {
            "name": "worker",
            "image": "${var.image}",
            "cpu": 256,
            "memory": 512,
            "memoryReservation": ${var.memory_reservation},
            "essential": true,
            "environment": [
    """)
    d.entry('      {"name": "DATABASE_URL", "value": "postgres://app:${var.db_password}@db.internal:5432/app"},',
            "DATABASE_URL", True)
    d.entry('      {"name": "API_TOKEN", "value": "${var.api_token}"},', "API_TOKEN", True)
    d.entry('      {"name": "SENTRY_DSN", "value": "${var.sentry_dsn}"},', "SENTRY_DSN", True)
    d.entry(f'      {{"name": "GITHUB_HOOK", "value": {js_heredoc(GITHUB_TOKEN)}}},', "GITHUB_HOOK", True,
            literal=GITHUB_TOKEN)
    d.entry('      {"name": "REGION", "value": "${var.region}"},', "REGION", False)
    d.entry('      {"name": "WORKERS", "value": "4"},', "WORKERS", False)
    d.quiet("json", 6, [("HTTP_PROXY", "http://proxy.internal:3128"), ("NO_PROXY", "169.254.169.254,localhost"),
                        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4317")])
    d.entry('      {"name": "DB_PASSWORD_FILE", "value": "/run/secrets/db_password"},', "DB_PASSWORD_FILE", False)
    d.entry(f'      {{"name": "CACHE", "value": {js_heredoc(REDIS_URL)}}}', "CACHE", False)
    d.add("""
            ]
          }
        ]
        EOF
        }
    """).add(EXEC_ROLE)


def heredoc_eot(t: Table) -> None:
    d = Doc(t, "heredoc-EOT", "heredoc_eot/main.tf")
    d.add("""
        variable "jwt_secret" {
          type      = string
          sensitive = true
        }

        resource "aws_ecs_task_definition" "payments" {
          family             = "payments"
          cpu                = "512"
          memory             = "1024"
          execution_role_arn = aws_iam_role.exec.arn
          container_definitions = <<-EOT
            [
              {
                "name": "payments",
                "image": "acme/payments:5.0.0",
                "cpu": "256",
                "memory": "512",
                "environment": [
    """)
    d.entry(f'          {{ "name": "PAYMENTS_PROVIDER", "value": {js_heredoc(STRIPE_KEY)} }},', "PAYMENTS_PROVIDER",
            True, literal=STRIPE_KEY)
    d.entry(f'          {{ "name": "SERVICE_IDENTITY", "value": {js_heredoc(JWT)} }},', "SERVICE_IDENTITY", True,
            literal=JWT)
    d.entry('          { "name": "JWT_SECRET", "value": "${var.jwt_secret}" },', "JWT_SECRET", True)
    d.entry(f'          {{ "name": "SMTP_PASS", "value": {js_heredoc(HUNTER2)} }},', "SMTP_PASS", True,
            literal=HUNTER2)
    d.entry('          { "name": "TOKEN_ENDPOINT", "value": "https://auth.example.com/oauth2/token" },',
            "TOKEN_ENDPOINT", False)
    d.entry('          { "name": "PASSWORD_RESET_URL", "value": "https://example.com/reset" },',
            "PASSWORD_RESET_URL", False)
    d.entry('          { "name": "APP_VERSION", "value": "1.2.3" },', "APP_VERSION", False)
    d.quiet("json", 10, [("IMAGE_DIGEST", "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
                         ("CONTENT_HASH", "d41d8cd98f00b204e9800998ecf8427e"), ("SECRET_ROTATION_DAYS", "30")])
    d.entry('          { "name": "REQUEST_TIMEOUT", "value": "30s" }', "REQUEST_TIMEOUT", False)
    d.add("""
                    ]
                  }
                ]
              EOT
        }
    """).add(EXEC_ROLE)


def file_json(t: Table) -> None:
    tf = Doc(t, "file()", "file_json/main.tf")
    tf.add("""
        resource "aws_ecs_task_definition" "notifier" {
          family                = "notifier"
          cpu                   = 256
          memory                = 512
          execution_role_arn    = aws_iam_role.exec.arn
          container_definitions = file("${path.module}/containers.json")
        }
    """).add(EXEC_ROLE)
    d = Doc(t, "file()", "file_json/containers.json")
    d.add("""
        [
          {
            "name": "notifier",
            "image": "acme/notifier:0.9.0",
            "cpu": 128,
            "memory": 256,
            "environment": [
    """)
    d.entry(f'      {{ "name": "SLACK_NOTIFIER", "value": {js(SLACK_TOKEN)} }},', "SLACK_NOTIFIER", True,
            literal=SLACK_TOKEN)
    d.entry('      { "name": "MASTER_KEY", "value": "EXAMPLE-master-key-0000" },', "MASTER_KEY", True,
            literal="EXAMPLE-master-key-0000")
    d.entry('      { "name": "SECRET_NAME", "value": "prod/notifier/db" },', "SECRET_NAME", False)
    d.entry('      { "name": "S3_BUCKET", "value": "acme-notifier-outbox" },', "S3_BUCKET", False)
    d.entry('      { "name": "AUTH_ISSUER", "value": "https://auth.example.com/" },', "AUTH_ISSUER", False)
    d.entry(f'      {{ "name": "DB_PASS", "value": {js(HUNTER2)} }},', "DB_PASS", True, literal=HUNTER2)
    d.entry('      { "name": "FEATURE_DIGEST", "value": "true" },', "FEATURE_DIGEST", False)
    d.quiet("json", 6, [("PRIVATE_KEY_FILE", "/run/secrets/key.pem"), ("SECRETS_BUCKET", "acme-secrets"),
                        ("TOKENIZER", "bpe")])
    d.entry('      {\n        "value": "60",\n        "name": "PASSWORD_MAX_AGE_DAYS"\n      }',
            "PASSWORD_MAX_AGE_DAYS", False)
    d.add("""
            ]
          }
        ]
    """)


def templatefile_form(t: Table) -> None:
    tf = Doc(t, "templatefile()", "templatefile/main.tf")
    tf.add(f"""
        variable "db_password" {{
          type      = string
          sensitive = true
        }}

        variable "signing_key" {{
          type    = string
          default = "EXAMPLE-webhook-signing-key"
        }}

        resource "aws_ecs_task_definition" "gateway" {{
          family             = "gateway"
          cpu                = 512
          memory             = 1024
          execution_role_arn = aws_iam_role.exec.arn
          container_definitions = templatefile("${{path.module}}/containers.json.tpl", {{
            image           = "acme/gateway:1.0.0"
            db_password     = var.db_password
            upstream        = {hcl(MYSQL_DSN)}
            log_level       = "debug"
            build_sha       = {hcl(GIT_SHA)}
            signing_key     = var.signing_key
            upstream_header = {hcl(BEARER)}
            client_id       = {hcl(CLIENT_ID)}
          }})
        }}
    """).add(EXEC_ROLE)
    t.secret_values.update({MYSQL_DSN, BEARER, "EXAMPLE-webhook-signing-key"})
    d = Doc(t, "templatefile()", "templatefile/containers.json.tpl")
    d.add("""
        [
          {
            "name": "gateway",
            "image": "${image}",
            "cpu": 256,
            "memory": 512,
            "environment": [
    """)
    d.entry('      { "name": "DB_PASSWORD", "value": "${db_password}" },', "DB_PASSWORD", True)
    d.entry('      { "name": "REPLICA", "value": "${upstream}" },', "REPLICA", True)
    d.entry('      { "name": "LOG_LEVEL", "value": "${log_level}" },', "LOG_LEVEL", False)
    d.entry('      { "name": "BUILD_SHA", "value": "${build_sha}" },', "BUILD_SHA", False)
    d.entry('      { "name": "WEBHOOK_SIGNING_KEY", "value": "${signing_key}" },', "WEBHOOK_SIGNING_KEY", True)
    d.entry('      { "name": "UPSTREAM_HEADER", "value": "${upstream_header}" },', "UPSTREAM_HEADER", True)
    d.entry('      { "name": "OAUTH_CLIENT_ID", "value": "${client_id}" },', "OAUTH_CLIENT_ID", False)
    d.quiet("json", 6, [("DB_PASSWORD_SECRET_NAME", "prod/gateway/db"), ("TOKEN_AUDIENCE", "api://default")])
    d.entry('      { "name": "PUBLIC_KEY_URL", "value": "https://auth.example.com/.well-known/jwks.json" }',
            "PUBLIC_KEY_URL", False)
    d.add("""
            ]
          }
        ]
    """)


def template_file_data(t: Table) -> None:
    tf = Doc(t, "data.template_file", "template_file/main.tf")
    tf.add("""
        variable "smtp_password" {
          type      = string
          sensitive = true
        }

        data "template_file" "mailer" {
          template = file("${path.module}/mailer.json.tpl")
          vars = {
            smtp_password = var.smtp_password
            smtp_host     = "smtp.example.com"
            tls_key       = var.tls_key
          }
        }

        variable "tls_key" {
          type    = string
    """)
    # a PEM block as a variable default: secret by value where the template uses it
    tf.add(f"""
          default = {hcl(PEM)}
        }}
    """)
    t.secret_values.add(PEM)
    tf.add("""
        data "template_file" "cron" {
          template = <<EOF
        [
          {
            "name": "cron",
            "image": "acme/cron:1.0.0",
            "memory": 128,
            "environment": [
    """)
    tf.entry('      {"name": "CRON_SCHEDULE", "value": "${schedule}"},', "CRON_SCHEDULE", False)
    tf.entry('      {"name": "HEALTHCHECK_TOKEN", "value": "${hc_token}"},', "HEALTHCHECK_TOKEN", True)
    tf.entry('      {"name": "MAX_TOKENS", "value": "1024"}', "MAX_TOKENS", False)
    tf.add("""
            ]
          }
        ]
        EOF
          vars = {
            schedule = "0 3 * * *"
            hc_token = "EXAMPLE-healthcheck-token"
          }
        }

        resource "aws_ecs_task_definition" "mailer" {
          family                = "mailer"
          execution_role_arn    = aws_iam_role.exec.arn
          container_definitions = data.template_file.mailer.rendered
        }

        resource "aws_ecs_task_definition" "cron" {
          family                = "cron"
          execution_role_arn    = aws_iam_role.exec.arn
          container_definitions = data.template_file.cron.rendered
        }
    """).add(EXEC_ROLE)
    t.secret_values.add("EXAMPLE-healthcheck-token")
    # Terraform 0.11 style, still accepted: interpolation-only strings around every expression
    tf.add("""
        variable "legacy_api_key" {
          type = string
        }

        data "template_file" "legacy" {
          template = "${file("${path.module}/legacy.json.tpl")}"
          vars = {
            api_key = "${var.legacy_api_key}"
            region  = "eu-west-1"
          }
        }

        resource "aws_ecs_task_definition" "legacy" {
          family                = "legacy"
          execution_role_arn    = "${aws_iam_role.exec.arn}"
          container_definitions = "${data.template_file.legacy.rendered}"
        }
    """)
    # a template_file with for_each, its instances indexed, and a Terraform 0.11 `vars` block
    tf.add("""
        variable "nodes" {
          type = map(object({ pk = string }))
        }

        data "template_file" "node" {
          for_each = var.nodes
          template = file("${path.module}/node.json.tpl")
          vars {
            private_keys = "${each.value.pk}"
            network      = "devnet"
          }
        }

        resource "aws_ecs_task_definition" "node" {
          for_each              = var.nodes
          family                = "node-${each.key}"
          execution_role_arn    = aws_iam_role.exec.arn
          container_definitions = data.template_file.node[each.key].rendered
        }
    """)
    node = Doc(t, "data.template_file", "template_file/node.json.tpl")
    node.add("""
        [
          {
            "name": "node",
            "image": "acme/node:1.0.0",
            "environment": [
    """)
    node.entry('      { "name": "PRIVATE_KEYS", "value": "${private_keys}" },', "PRIVATE_KEYS", True)
    node.entry('      { "name": "NETWORK", "value": "${network}" }', "NETWORK", False)
    node.add("""
            ]
          }
        ]
    """)
    legacy = Doc(t, "data.template_file", "template_file/legacy.json.tpl")
    legacy.add("""
        [
          {
            "name": "legacy",
            "image": "acme/legacy:0.11.14",
            "memory": "128",
            "environment": [
    """)
    legacy.entry('      { "name": "LEGACY_API_KEY", "value": "${api_key}" },', "LEGACY_API_KEY", True)
    legacy.entry('      { "name": "AWS_DEFAULT_REGION", "value": "${region}" }', "AWS_DEFAULT_REGION", False)
    legacy.add("""
            ]
          }
        ]
    """)
    d = Doc(t, "data.template_file", "template_file/mailer.json.tpl")
    d.add("""
        [
          {
            "name": "mailer",
            "image": "acme/mailer:4.1.0",
            "cpu": 128,
            "memory": 256,
            "environment": [
    """)
    d.entry('      { "name": "SMTP_PASSWORD", "value": "${smtp_password}" },', "SMTP_PASSWORD", True)
    d.entry('      { "name": "SMTP_HOST", "value": "${smtp_host}" },', "SMTP_HOST", False)
    d.quiet("json", 6, [("AUTH_TIMEOUT", "5s"), ("PASSPORT_STRATEGY", "local")])
    d.entry('      { "name": "TLS_MATERIAL", "value": "${tls_key}" },', "TLS_MATERIAL", True)
    d.entry('      { "name": "SMTP_PORT", "value": "587" }', "SMTP_PORT", False)
    d.add("""
            ]
          }
        ]
    """)


def locals_env(t: Table) -> None:
    d = Doc(t, "env list in locals", "locals_env/main.tf")
    d.add("""
        variable "secret_key_base" {
          type      = string
          sensitive = true
        }

        locals {
          common_env = [
    """)
    d.entry('    { name = "SECRET_KEY_BASE", value = var.secret_key_base },', "SECRET_KEY_BASE", True)
    d.entry('    { name = "RAILS_ENV", value = "production" },', "RAILS_ENV", False)
    d.entry(f'    {{ name = "DATABASE_URL", value = {hcl(DSN_WITH_PASSWORD_2)} }},', "DATABASE_URL", True,
            literal=DSN_WITH_PASSWORD_2)
    d.entry('    { name = "RAILS_LOG_TO_STDOUT", value = "1" },', "RAILS_LOG_TO_STDOUT", False)
    d.entry('    { name = "PASSENGER_COUNT", value = "4" },', "PASSENGER_COUNT", False)
    d.quiet("hcl", 4, [("TZ", "UTC"), ("SECRET_ID", "prod/web/db"), ("AUTHOR", "jane")])
    d.add("""
          ]
          worker_env = [
    """)
    d.entry(f'    {{ name = "BACKUP_BUCKET_CREDENTIALS", value = {hcl("EXAMPLE-backup-credentials")} }},',
            "BACKUP_BUCKET_CREDENTIALS", True, literal="EXAMPLE-backup-credentials")
    d.entry('    { name = "QUEUES", value = "default,mailers" },', "QUEUES", False)
    d.add("""
          ]
        }

        resource "aws_ecs_task_definition" "web" {
          family             = "web"
          cpu                = 512
          memory             = 1024
          execution_role_arn = aws_iam_role.exec.arn
          container_definitions = jsonencode([
            {
              name        = "web"
              image       = "acme/web:7.3.1"
              environment = local.common_env
            },
            {
              name        = "worker"
              image       = "acme/web:7.3.1"
              command     = ["bundle", "exec", "sidekiq"]
              environment = concat(local.worker_env, [
    """)
    d.entry('        { name = "SIDEKIQ_CONCURRENCY", value = "10" },', "SIDEKIQ_CONCURRENCY", False)
    d.entry(f'        {{ name = "SIDEKIQ_WEB_PASSWORD", value = {hcl(HUNTER2)} }},', "SIDEKIQ_WEB_PASSWORD", True,
            literal=HUNTER2)
    d.add("""
              ])
            },
          ])
        }
    """).add(EXEC_ROLE)


def local_definitions(t: Table) -> None:
    d = Doc(t, "definitions in a local", "local_defs/main.tf")
    d.add("""
        locals {
          # the whole document, already encoded
          search_definitions = jsonencode([
            {
              name   = "search"
              image  = "opensearchproject/opensearch:2.11.0"
              cpu    = 1024
              memory = 2048
              environment = [
    """)
    d.entry('          { name = "OPENSEARCH_INITIAL_ADMIN_PASSWORD", value = "EXAMPLE-Admin-Passw0rd" },',
            "OPENSEARCH_INITIAL_ADMIN_PASSWORD", True, literal="EXAMPLE-Admin-Passw0rd")
    d.entry('          { name = "DISCOVERY_TYPE", value = "single-node" },', "DISCOVERY_TYPE", False)
    d.quiet("hcl", 10, [("OPENSEARCH_JAVA_OPTS", "-Xms512m -Xmx512m"), ("MAX_LOGIN_ATTEMPTS", "5"),
                        ("ENCRYPTION_KEY_PATH", "/etc/keys/enc")])
    d.entry(f'          {{ name = "SNAPSHOT_TOKEN", value = {hcl(SLACK_TOKEN)} }},', "SNAPSHOT_TOKEN", True,
            literal=SLACK_TOKEN)
    d.add("""
              ]
            }
          ])
        }

        resource "aws_ecs_task_definition" "search" {
          family                = "search"
          execution_role_arn    = aws_iam_role.exec.arn
          container_definitions = local.search_definitions
        }
    """).add(EXEC_ROLE)


def jsonencode_local(t: Table) -> None:
    d = Doc(t, "jsonencode(local.x)", "jsonencode_local/main.tf")
    d.add("""
        variable "grafana_admin_password" {
          type      = string
          sensitive = true
        }

        locals {
          containers = [
            {
              name   = "grafana"
              image  = "grafana/grafana:10.2.0"
              cpu    = "256"
              memory = "512"
              environment = [
    """)
    d.entry('          { name = "GF_SECURITY_ADMIN_PASSWORD", value = var.grafana_admin_password },',
            "GF_SECURITY_ADMIN_PASSWORD", True)
    d.entry('          { name = "GF_SECURITY_ADMIN_USER", value = "admin" },', "GF_SECURITY_ADMIN_USER", False)
    d.quiet("hcl", 10, [("GF_AUTH_DISABLE_LOGIN_FORM", "false"), ("GF_SECURITY_COOKIE_SECURE", "true")])
    d.entry(f'          {{ name = "GF_AUTH_GENERIC_OAUTH_CLIENT_ID", value = {hcl(CLIENT_ID)} }},',
            "GF_AUTH_GENERIC_OAUTH_CLIENT_ID", False)
    d.entry('          { name = "GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET", value = "EXAMPLE-grafana-oauth" },',
            "GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET", True, literal="EXAMPLE-grafana-oauth")
    d.entry('          { name = "GF_SERVER_ROOT_URL", value = "https://grafana.example.com" },', "GF_SERVER_ROOT_URL",
            False)
    d.add("""
              ]
            }
          ]
        }

        resource "aws_ecs_task_definition" "grafana" {
          family                = "grafana"
          execution_role_arn    = aws_iam_role.exec.arn
          container_definitions = jsonencode(local.containers)
        }
    """).add(EXEC_ROLE)


def var_default(t: Table) -> None:
    d = Doc(t, "var default", "var_default/main.tf")
    d.add("""
        variable "environment" {
          description = "Environment of the exporter container"
          type        = list(object({ name = string, value = string }))
          default = [
    """)
    d.entry('    { name = "DATA_SOURCE_PASS", value = "EXAMPLE-exporter-pass" },', "DATA_SOURCE_PASS", True,
            literal="EXAMPLE-exporter-pass")
    d.entry('    { name = "DATA_SOURCE_USER", value = "exporter" },', "DATA_SOURCE_USER", False)
    d.entry('    { name = "SCRAPE_TIMEOUT", value = "10s" },', "SCRAPE_TIMEOUT", False)
    d.quiet("hcl", 4, [("DATA_SOURCE_URI", "db.internal:5432/app?sslmode=require"), ("PG_EXPORTER_AUTO_DISCOVER_DATABASES", "true")])
    d.add("""
          ]
        }

        variable "sidecar_definitions" {
          type = string
          default = <<EOT
        [
          {
            "name": "sidecar",
            "image": "acme/sidecar:1.0.0",
            "environment": [
    """)
    d.entry(f'      {{"name": "SIDECAR_TLS", "value": {js_heredoc(PEM)}}},', "SIDECAR_TLS", True, literal=PEM)
    d.entry('      {"name": "SIDECAR_MODE", "value": "proxy"}', "SIDECAR_MODE", False)
    d.add("""
            ]
          }
        ]
        EOT
        }

        resource "aws_ecs_task_definition" "exporter" {
          family             = "exporter"
          execution_role_arn = aws_iam_role.exec.arn
          container_definitions = jsonencode([
            {
              name        = "exporter"
              image       = "prometheuscommunity/postgres-exporter:v0.15.0"
              environment = var.environment
            }
          ])
        }

        resource "aws_ecs_task_definition" "sidecar" {
          family                = "sidecar"
          execution_role_arn    = aws_iam_role.exec.arn
          container_definitions = var.sidecar_definitions
        }
    """).add(EXEC_ROLE)


def tf_json(t: Table) -> None:
    path = "tf_json/main.tf.json"
    entries = [
        ("DATADOG_API_KEY", "EXAMPLE0dd0api0key0000000000000", True),
        ("DD_SITE", "datadoghq.eu", False),
        ("DD_APM_ENABLED", "true", False),
        ("UPSTREAM_AUTH", BEARER, True),
        ("DD_ENV", "prod", False),
        ("DD_TAGS", "env:prod,team:payments", False),
        ("DD_API_KEY_SECRET_ARN", SECRET_ARN, False),
    ]
    containers = [
        {
            "name": "agent",
            "image": "public.ecr.aws/datadog/agent:7",
            "cpu": 128,
            "memory": 256,
            "environment": [{"name": n, "value": v} for n, v, _ in entries],
        }
    ]
    doc = {
        "variable": {"region": {"default": "eu-west-1"}},
        "resource": {
            "aws_ecs_task_definition": {
                "datadog": {
                    "family": "datadog",
                    "cpu": "256",
                    "memory": "512",
                    "execution_role_arn": "arn:aws:iam::123456789012:role/datadog-execution",
                    "container_definitions": json.dumps(containers),
                }
            }
        },
    }
    text = json.dumps(doc, indent=2) + "\n"
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if '"container_definitions"' in ln)
    t.files[path] = text
    for name, value, secret in entries:
        t.labels.append(Label(".tf.json", path, line, name, secret))
        if secret:
            t.secret_values.add(value)


def taskdef_json(t: Table) -> None:
    d = Doc(t, "task-definition JSON", "taskdef_json/task-definition.json")
    d.add("""
        {
          "family": "legacy-api",
          "networkMode": "awsvpc",
          "requiresCompatibilities": ["FARGATE"],
          "cpu": "512",
          "memory": "1024",
          "executionRoleArn": "arn:aws:iam::123456789012:role/legacy-execution",
          "containerDefinitions": [
            {
              "name": "legacy-api",
              "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/legacy-api:2024.01",
              "cpu": 256,
              "memory": 512,
              "environment": [
    """)
    d.entry(f'        {{ "name": "DB_PASSWORD", "value": {js(HUNTER2)} }},', "DB_PASSWORD", True, literal=HUNTER2)
    d.entry(f'        {{ "name": "DB_SECRET_ARN", "value": {js(SECRET_ARN)} }},', "DB_SECRET_ARN", False)
    d.entry(f'        {{ "name": "ID_TOKEN", "value": {js(JWT)} }},', "ID_TOKEN", True, literal=JWT)
    d.entry('        { "name": "TOKEN_TTL_SECONDS", "value": "900" },', "TOKEN_TTL_SECONDS", False)
    d.quiet("json", 8, [("PG_CONN", "host=db.internal user=app dbname=app sslmode=require"),
                        ("SPRING_PROFILES_ACTIVE", "prod"), ("S3_ENDPOINT", "https://s3.eu-west-1.amazonaws.com")])
    d.entry(f'        {{ "name": "CONNECTION", "value": {js(DSN_WITH_PASSWORD)} }},', "CONNECTION", True,
            literal=DSN_WITH_PASSWORD)
    d.entry('        { "name": "JAVA_OPTS", "value": "-Xmx384m" }', "JAVA_OPTS", False)
    d.add("""
              ]
            }
          ]
        }
    """)


def count_form(t: Table) -> None:
    d = Doc(t, "count", "count/main.tf")
    d.add("""
        variable "shard_passwords" {
          type      = list(string)
          sensitive = true
        }

        resource "aws_ecs_task_definition" "shard" {
          count              = 3
          family             = "shard-${count.index}"
          cpu                = 256
          memory             = 512
          execution_role_arn = aws_iam_role.exec.arn
          container_definitions = jsonencode([
            {
              name  = "shard"
              image = "acme/shard:1.0.0"
              environment = [
    """)
    d.entry('        { name = "SHARD_INDEX", value = tostring(count.index) },', "SHARD_INDEX", False)
    d.entry('        { name = "SHARD_DB_PASSWORD", value = var.shard_passwords[count.index] },', "SHARD_DB_PASSWORD",
            True)
    d.entry(f'        {{ name = "SHARD_STRIPE", value = {hcl(STRIPE_KEY)} }},', "SHARD_STRIPE", True,
            literal=STRIPE_KEY)
    d.entry('        { name = "SHARD_COUNT", value = "3" },', "SHARD_COUNT", False)
    d.quiet("hcl", 8, [("SHARD_LEADER_URL", "http://shard-0.internal:8080"), ("LANG", "C.UTF-8")])
    d.add("""
              ]
            }
          ])
        }
    """).add(EXEC_ROLE)


def for_each_form(t: Table) -> None:
    d = Doc(t, "for_each", "for_each/main.tf")
    d.add("""
        variable "tenants" {
          type = map(object({ image = string, api_key = string, plan = string }))
        }

        resource "aws_ecs_task_definition" "tenant" {
          for_each           = var.tenants
          family             = "tenant-${each.key}"
          cpu                = "256"
          memory             = "512"
          execution_role_arn = aws_iam_role.exec.arn
          container_definitions = jsonencode([
            {
              name  = "app"
              image = each.value.image
              environment = [
    """)
    d.entry('        { name = "TENANT", value = each.key },', "TENANT", False)
    d.entry('        { name = "TENANT_API_KEY", value = each.value.api_key },', "TENANT_API_KEY", True)
    d.entry('        { name = "TENANT_PLAN", value = each.value.plan },', "TENANT_PLAN", False)
    d.quiet("hcl", 8, [("CORS_ORIGINS", "https://a.example.com,https://b.example.com"), ("GOMAXPROCS", "2")])
    d.entry(f'        {{ name = "TENANT_HOOK_AUTH", value = {hcl(BEARER)} }},', "TENANT_HOOK_AUTH", True, literal=BEARER)
    d.add("""
              ]
            }
          ])
        }
    """).add(EXEC_ROLE)


# --------------------------------------------------------------------------- detection groups
# Shapes seen in real repositories (issue 13), each in the form it was seen in.


def names_group(t: Table) -> None:
    """Password abbreviations, access key pairs under prefixes and in camelCase, and their look-alikes."""
    d = Doc(t, "jsonencode-multi-line", "names/main.tf", group="names")
    d.add("""
        variable "smtp_pw" {
          type      = string
          sensitive = true
        }

        variable "ldap_bind_passwrd" {
          type      = string
          sensitive = true
        }

        variable "s3_access_key_id" {
          type = string
        }

        variable "s3_secret_access_key" {
          type      = string
          sensitive = true
        }

        resource "aws_iam_access_key" "lock" {
          user = "delegations-runner"
        }

        resource "aws_ecs_task_definition" "mailer" {
          family             = "mailer"
          execution_role_arn = aws_iam_role.exec.arn
          container_definitions = jsonencode([
            {
              name  = "mailer"
              image = "acme/mailer:5.2.0"
              environment = [
    """)
    d.entry('        { name = "SMTP_PW", value = var.smtp_pw },', "SMTP_PW", True)
    d.entry('        { name = "LDAP_BIND_PASSWRD", value = var.ldap_bind_passwrd },', "LDAP_BIND_PASSWRD", True)
    d.entry('        { name = "PWD", value = "/srv/mailer" },', "PWD", False)
    d.entry('        { name = "PW_TEST_HTML_REPORT_OPEN", value = "never" },', "PW_TEST_HTML_REPORT_OPEN", False)
    d.entry('        { name = "AWS_S3_ACCESS_KEY_ID", value = var.s3_access_key_id },', "AWS_S3_ACCESS_KEY_ID", True)
    d.entry('        { name = "AWS_S3_SECRET_ACCESS_KEY", value = var.s3_secret_access_key },',
            "AWS_S3_SECRET_ACCESS_KEY", True)
    d.entry('        { name = "AWS_DYNAMODB_ACCESS_KEY_ID", value = "EXAMPLEDYNAMOKEYID01" },',
            "AWS_DYNAMODB_ACCESS_KEY_ID", True, literal="EXAMPLEDYNAMOKEYID01")
    d.entry('        { name = "AWS_DYNAMODB_REGION", value = "eu-west-1" },', "AWS_DYNAMODB_REGION", False)
    d.entry('        { name = "DelegationsRunner__LockAccessKeyId", value = aws_iam_access_key.lock.id },',
            "DelegationsRunner__LockAccessKeyId", True)
    d.entry('        { name = "DelegationsRunner__LockSecretAccessKey", value = aws_iam_access_key.lock.secret },',
            "DelegationsRunner__LockSecretAccessKey", True)
    d.entry('        { name = "DelegationsRunner__LockTableName", value = "delegation-locks" },',
            "DelegationsRunner__LockTableName", False)
    d.add("""
              ]
            },
            {
              name  = "uploader"
              image = "acme/uploader:1.9.0"
              environment = [
    """)
    d.entry('        { name = "ACCESS_KEY_ID", value = "uploads-reader" },', "ACCESS_KEY_ID", False)
    d.entry('        { name = "AWS_ACCESS_KEY_ID_PARAMETER", value = aws_ssm_parameter.uploads_key_id.name },',
            "AWS_ACCESS_KEY_ID_PARAMETER", False)
    d.entry('        { name = "SSH_KEY", value = "deployer-key" },', "SSH_KEY", False)
    d.entry('        { name = "GIT_SSH_PUBLIC_KEY", value = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEXAMPLE ci@acme" },',
            "GIT_SSH_PUBLIC_KEY", False)
    d.quiet("hcl", 8, [("OAUTH_CLIENT_ID", CLIENT_ID), ("PASSWORD_MIN_LENGTH", "12"), ("TOKEN_TTL_SECONDS", "900"),
                       ("DB_SECRET_ARN", SECRET_ARN)])
    d.entry('        { name = "ADMIN_PW", value = "EXAMPLE-admin-pw" },', "ADMIN_PW", True, literal="EXAMPLE-admin-pw")
    d.add("""
              ]
            },
          ])
        }
    """).add(EXEC_ROLE)


def typed_variables_group(t: Table) -> None:
    """Values from variables declared bool or number are never secrets, whatever the name."""
    d = Doc(t, "env list in locals", "typed_vars/main.tf", group="typed variables")
    d.add("""
        variable "write_git_creds" {
          description = "Write the Git credentials to ~/.git-credentials"
          type        = bool
        }

        variable "gh_token" {
          type      = string
          sensitive = true
        }

        variable "rate_tokens" {
          type = number
        }

        variable "otp" {
          type = object({
            secret_digits = number
            issuer        = string
            secret        = optional(string)
          })
        }

        variable "rotate_api_key" {
          type = "bool"
        }

        locals {
          atlantis_env = [
    """)
    d.entry('    { name = "ATLANTIS_WRITE_GIT_CREDS", value = var.write_git_creds },', "ATLANTIS_WRITE_GIT_CREDS", False)
    d.entry('    { name = "ATLANTIS_GH_TOKEN", value = var.gh_token },', "ATLANTIS_GH_TOKEN", True)
    d.entry('    { name = "ATLANTIS_HIDE_PREV_PLAN_COMMENTS", value = tostring(true) },',
            "ATLANTIS_HIDE_PREV_PLAN_COMMENTS", False)
    d.entry('    { name = "RATE_TOKENS", value = tostring(var.rate_tokens) },', "RATE_TOKENS", False)
    d.entry('    { name = "OTP_SECRET_DIGITS", value = "${var.otp.secret_digits}" },', "OTP_SECRET_DIGITS", False)
    d.entry('    { name = "OTP_SECRET", value = var.otp.secret },', "OTP_SECRET", True)
    d.entry('    { name = "API_KEY_ROTATE", value = var.rotate_api_key },', "API_KEY_ROTATE", False)
    d.entry('    { name = "GIT_CREDS_CACHE", value = false },', "GIT_CREDS_CACHE", False)
    d.add("""
          ]
        }

        resource "aws_ecs_task_definition" "atlantis" {
          family             = "atlantis"
          execution_role_arn = aws_iam_role.exec.arn
          container_definitions = jsonencode([
            {
              name        = "atlantis"
              image       = "ghcr.io/runatlantis/atlantis:v0.28.1"
              environment = local.atlantis_env
            }
          ])
        }
    """).add(EXEC_ROLE)


def template_file_resource_group(t: Table) -> None:
    """`resource "template_file"`: the template provider before it had data sources, read alike."""
    tf = Doc(t, "resource.template_file", "template_file_resource/main.tf", group="template_file resource")
    tf.add("""
        variable "mongo_root_password" {}

        variable "sentry_dsn" {}

        resource "template_file" "api" {
          template = "${file("${path.module}/api.json.tpl")}"

          vars {
            mongo_root_password = "${var.mongo_root_password}"
            mongo_host          = "mongo.internal"
            sentry_dsn          = "${var.sentry_dsn}"
            workers             = 4
          }
        }

        resource "aws_ecs_task_definition" "api" {
          family                = "api"
          execution_role_arn    = "${aws_iam_role.exec.arn}"
          container_definitions = "${template_file.api.rendered}"
        }

        resource "template_file" "worker" {
          template = <<EOF
        [
          {
            "name": "worker",
            "image": "acme/worker:0.9.2",
            "memory": 256,
            "environment": [
    """)
    tf.entry('      { "name": "QUEUE_PASSWORD", "value": "${queue_password}" },', "QUEUE_PASSWORD", True)
    tf.entry('      { "name": "QUEUE_HOST", "value": "${queue_host}" },', "QUEUE_HOST", False)
    tf.entry('      { "name": "QUEUE_TOKEN_TTL", "value": "300" }', "QUEUE_TOKEN_TTL", False)
    tf.add("""
            ]
          }
        ]
        EOF

          vars {
            queue_password = "EXAMPLE-queue-password"
            queue_host     = "mq.internal"
          }
        }

        resource "aws_ecs_task_definition" "worker" {
          family                = "worker"
          execution_role_arn    = "${aws_iam_role.exec.arn}"
          container_definitions = "${template_file.worker.rendered}"
        }
    """).add(EXEC_ROLE)
    t.secret_values.add("EXAMPLE-queue-password")
    d = Doc(t, "resource.template_file", "template_file_resource/api.json.tpl", group="template_file resource")
    d.add("""
        [
          {
            "name": "api",
            "image": "acme/api:0.11.0",
            "memory": 512,
            "environment": [
    """)
    d.entry('      { "name": "MONGO_ROOT_PASSWORD", "value": "${mongo_root_password}" },', "MONGO_ROOT_PASSWORD", True)
    d.entry('      { "name": "MONGO_HOST", "value": "${mongo_host}" },', "MONGO_HOST", False)
    d.entry('      { "name": "SENTRY_DSN", "value": "${sentry_dsn}" },', "SENTRY_DSN", True)
    d.entry('      { "name": "WEB_WORKERS", "value": "${workers}" },', "WEB_WORKERS", False)
    d.entry('      { "name": "MONGO_PASSWORD_FILE", "value": "/run/secrets/mongo" }', "MONGO_PASSWORD_FILE", False)
    d.add("""
            ]
          }
        ]
    """)


def broken_json_group(t: Table) -> None:
    """JSON with a literal line break inside a string: AWS rejects it, the value is in git all the
    same. The scan reports the error (file:line) and still reads the entries."""
    d = Doc(t, "heredoc-EOF", "broken_json/main.tf", group="broken JSON")
    d.add("""
        resource "aws_ecs_task_definition" "mongo" {
          family             = "mongo"
          execution_role_arn = aws_iam_role.exec.arn
          container_definitions = <<EOF
        [
          {
            "name": "mongo",
            "image": "mongo:7.0.5",
            "environment": [
    """)
    d.entry('      { "name": "MONGO_INITDB_ROOT_USERNAME", "value": "root" },', "MONGO_INITDB_ROOT_USERNAME", False)
    d.entry('      { "name": "MONGO_ROOT_PASSWORD", "value": "EXAMPLE-mongo-root-pw" },', "MONGO_ROOT_PASSWORD", True,
            literal="EXAMPLE-mongo-root-pw")
    d.entry('      { "name": "MOTD", "value": "Welcome to the reporting replica.', "MOTD", False)
    t.errors.add((d.path, len(d.lines)))
    d.add("""
        Please be gentle." },
    """)
    # a private key pasted with its line breaks
    pem_lines = PEM.split("\n")
    d.entry(f'      {{ "name": "MONGO_TLS", "value": "{pem_lines[0]}', "MONGO_TLS", True, literal=PEM)
    d.add("\n".join(pem_lines[1:]) + '" },')
    d.entry('      { "name": "MONGO_PORT", "value": "27017" }', "MONGO_PORT", False)
    d.add("""
            ]
          }
        ]
        EOF
        }

        resource "aws_ecs_task_definition" "reports" {
          family                = "reports"
          execution_role_arn    = aws_iam_role.exec.arn
          container_definitions = file("${path.module}/reports.json")
        }
    """).add(EXEC_ROLE)
    f = Doc(t, "file()", "broken_json/reports.json", group="broken JSON")
    f.add("""
        [
          {
            "name": "reports",
            "image": "acme/reports:3.1.0",
            "environment": [
    """)
    f.entry('      { "name": "REPORTS_SMTP_PASSWORD", "value": "EXAMPLE-smtp-pass" },', "REPORTS_SMTP_PASSWORD", True,
            literal="EXAMPLE-smtp-pass")
    f.entry('      { "name": "REPORTS_FOOTER", "value": "Acme Corp', "REPORTS_FOOTER", False)
    t.errors.add((f.path, len(f.lines)))
    f.add("""
        All rights reserved." },
    """)
    f.entry('      { "name": "REPORTS_SMTP_HOST", "value": "smtp.example.com" }', "REPORTS_SMTP_HOST", False)
    f.add("""
            ]
          }
        ]
    """)


def unnamed_group(t: Table) -> None:
    """Entries without a usable name are judged on their value; an empty name silences nothing."""
    d = Doc(t, "task-definition JSON", "unnamed/task-definition.json", group="no usable name")
    d.add("""
        {
          "family": "keycloak",
          "executionRoleArn": "arn:aws:iam::123456789012:role/keycloak-execution",
          "containerDefinitions": [
            {
              "name": "keycloak",
              "image": "quay.io/keycloak/keycloak:24.0",
              "environment": [
    """)
    d.entry('        { "name": "KEYCLOAK_ADMIN", "value": "admin" },', "KEYCLOAK_ADMIN", False)
    # default passwords are dictionary words: not recorded as literals (a substring check for "password"
    # in the output cannot tell the value from prose); the preview checks cover them
    d.entry('        { "name": "", "value": "password" },', "", True)
    d.entry('        { "name": "", "value": "admin" }', "", False)
    d.add("""
              ]
            },
            {
              "name": "keycloak-db",
              "image": "postgres:16",
              "environment": [
    """)
    d.entry('        { "name": " ", "value": "P@ssw0rd" },', " ", True, literal="P@ssw0rd")
    d.entry('        { "name": "POSTGRES_HOST_AUTH_METHOD", "value": "password" },', "POSTGRES_HOST_AUTH_METHOD", False)
    d.entry('        { "name": "", "value": "" }', "", False)
    d.add("""
              ]
            }
          ]
        }
    """)
    h = Doc(t, "jsonencode-single-line", "unnamed/main.tf", group="no usable name")
    h.add("""
        resource "aws_ecs_task_definition" "sync" {
          family             = "sync"
          execution_role_arn = aws_iam_role.exec.arn
          container_definitions = jsonencode([
            {
              name  = "sync"
              image = "acme/sync:2.2.0"
              environment = [
    """)
    h.entry('        { name = "", value = "changeme" },', "", True)
    h.entry('        { name = "SYNC_MODE", value = "secret" },', "SYNC_MODE", False)
    h.entry('        { name = "", value = "nightly" },', "", False)
    h.add("""
              ]
            }
          ])
        }
    """).add(EXEC_ROLE)


def evidence_group(t: Table) -> None:
    """What says secret beyond the entry's own name and value: a connection-string name whose
    variable is set elsewhere (medium; high when a terraform.tfvars shows credentials), a variable
    with a null or empty default, a variable's name or description, a credential by definition."""
    tf = Doc(t, "templatefile()", "evidence/main.tf", group="evidence")
    tf.add("""
        variable "database_url" {
          type = string
        }

        variable "redis_url" {
          type = string
        }

        variable "broker_url" {
          type        = string
          description = "Celery broker"
        }

        resource "aws_ecs_task_definition" "web" {
          family             = "web"
          execution_role_arn = aws_iam_role.exec.arn
          container_definitions = templatefile("${path.module}/web.json.tpl", {
            database_url = var.database_url
            redis_url    = var.redis_url
            broker_url   = var.broker_url
          })
        }
    """).add(EXEC_ROLE)
    t.files["evidence/terraform.tfvars"] = (
        'database_url = "postgres://web:EXAMPLE-tfvars-pw@db.internal:5432/web"\n'
        'redis_url    = "redis://cache.internal:6379/0"\n'
    )
    t.secret_values.add("EXAMPLE-tfvars-pw")
    tpl = Doc(t, "templatefile()", "evidence/web.json.tpl", group="evidence")
    tpl.add("""
        [
          {
            "name": "web",
            "image": "acme/web:8.0.0",
            "environment": [
    """)
    tpl.entry('      { "name": "DATABASE_URL", "value": "${database_url}" },', "DATABASE_URL", True)
    tpl.entry('      { "name": "REDIS_URL", "value": "${redis_url}" },', "REDIS_URL", False)
    tpl.entry('      { "name": "CELERY_BROKER_URL", "value": "${broker_url}" },', "CELERY_BROKER_URL", True)
    tpl.entry('      { "name": "ANALYTICS_DB_URL", "value": "postgres://analytics.internal:5432/events" }',
              "ANALYTICS_DB_URL", False)
    tpl.add("""
            ]
          }
        ]
    """)
    d = Doc(t, "jsonencode-multi-line", "evidence/worker.tf", group="evidence")
    d.add("""
        variable "flags_prod" {
          type        = string
          description = "LaunchDarkly server-side SDK key (production)"
        }

        variable "flags_env" {
          type        = string
          description = "Name of the LaunchDarkly environment"
        }

        variable "smtp_password" {
          type    = string
          default = null
        }

        variable "oidc_client_secret" {
          description = "Client Secret"
          default     = ""
        }

        variable "vite_pusher_app_key" {
          default = ""
        }

        variable "secrets" {
          type      = map(string)
          sensitive = true
        }

        variable "settings" {
          type = map(string)
        }

        resource "random_password" "seed" {
          length = 48
        }

        resource "aws_iam_access_key" "uploader" {
          user = "uploader"
        }

        data "aws_secretsmanager_secret_version" "app" {
          secret_id = "prod/app"
        }

        resource "aws_ecs_task_definition" "worker" {
          family             = "worker"
          execution_role_arn = aws_iam_role.exec.arn
          container_definitions = jsonencode([
            {
              name  = "worker"
              image = "acme/worker:8.0.0"
              environment = [
    """)
    d.entry('        { name = "FEATURE_FLAGS_PROD", value = var.flags_prod },', "FEATURE_FLAGS_PROD", True)
    d.entry('        { name = "FEATURE_FLAGS_ENV", value = var.flags_env },', "FEATURE_FLAGS_ENV", False)
    d.entry('        { name = "SMTP_PASSWORD", value = var.smtp_password },', "SMTP_PASSWORD", True)
    d.entry('        { name = "OIDC_CLIENT_SECRET", value = var.oidc_client_secret },', "OIDC_CLIENT_SECRET", True)
    d.entry('        { name = "VITE_PUSHER_APP_KEY", value = var.vite_pusher_app_key },', "VITE_PUSHER_APP_KEY", False)
    d.entry('        { name = "AIRFLOW__CORE__FERNET_KEY", value = var.secrets["fernet_key"] },',
            "AIRFLOW__CORE__FERNET_KEY", True)
    d.entry('        { name = "AIRFLOW__CELERY__RESULT_BACKEND", value = "db+${var.secrets["sql_conn"]}" },',
            "AIRFLOW__CELERY__RESULT_BACKEND", True)
    d.entry('        { name = "AIRFLOW__WEBSERVER__BASE_URL", value = var.settings["base_url"] },',
            "AIRFLOW__WEBSERVER__BASE_URL", False)
    d.entry('        { name = "WORKER_SEED", value = random_password.seed.result },', "WORKER_SEED", True)
    d.entry('        { name = "MONGODB_URI", value = jsondecode(data.aws_secretsmanager_secret_version.app.secret_string)'
            '["MONGODB_URI"] },', "MONGODB_URI", True)
    d.entry('        { name = "S3_ACCESS_KEY", value = aws_iam_access_key.uploader.id },', "S3_ACCESS_KEY", True)
    d.entry('        { name = "S3_SECRET_KEY", value = aws_iam_access_key.uploader.secret },', "S3_SECRET_KEY", True)
    d.entry('        { name = "S3_UPLOADER", value = aws_iam_access_key.uploader.user },', "S3_UPLOADER", False)
    d.entry('        { name = "DB_CONNECTION", value = var.settings["db_driver"] },', "DB_CONNECTION", False)
    d.entry('        { name = "CACHE_URL", value = var.settings["cache_url"] },', "CACHE_URL", False)
    d.add("""
              ]
            }
          ])
        }
    """)


def concat_lists_group(t: Table) -> None:
    """Containers and environments assembled with `concat()` and `cond ? [...] : []`."""
    d = Doc(t, "env list in locals", "concat_lists/main.tf", group="concat lists")
    d.add("""
        variable "additional_env_vars" {
          type    = list(object({ name = string, value = string }))
          default = []
        }

        variable "tls_enabled" {
          type    = bool
          default = false
        }

        variable "temporal" {
          type = object({ tls_key = string, host = string })
        }

        resource "random_password" "db" {
          length = 32
        }

        locals {
          tls_env = var.tls_enabled ? [
    """)
    d.entry('    { name = "WORKFLOW_TEMPORAL_TLS_KEY", value = var.temporal.tls_key },', "WORKFLOW_TEMPORAL_TLS_KEY", True)
    d.entry('    { name = "WORKFLOW_TEMPORAL_TLS_CRT_PATH", value = "/etc/temporal/tls.crt" },',
            "WORKFLOW_TEMPORAL_TLS_CRT_PATH", False)
    d.add("""
          ] : []
          environment_variables = concat(
            var.additional_env_vars,
            local.tls_env,
            var.tls_enabled ? [
    """)
    d.entry('      { name = "WORKFLOW_TEMPORAL_HOST", value = var.temporal.host },', "WORKFLOW_TEMPORAL_HOST", False)
    d.add("""
            ] : [],
            [
    """)
    d.entry('      { name = "POSTGRES_PASSWORD", value = random_password.db.result },', "POSTGRES_PASSWORD", True)
    d.entry(f'      {{ name = "ENCRYPTION_KEY", value = {hcl("EXAMPLE-" + PASSPHRASE)} }},', "ENCRYPTION_KEY", True,
            literal="EXAMPLE-" + PASSPHRASE)
    d.entry('      { name = "POSTGRES_SSL_ENABLED", value = "true" },', "POSTGRES_SSL_ENABLED", False)
    d.add("""
            ]
          )
          sidecars = (var.tls_enabled ? [
            {
              name        = "fluentbit"
              image       = "amazon/aws-for-fluent-bit:2.32.0"
              environment = [
    """)
    d.entry(f'          {{ name = "FLB_HTTP_PASSWORD", value = {hcl(HUNTER2)} }},', "FLB_HTTP_PASSWORD", True,
            literal=HUNTER2)
    d.entry('          { name = "FLB_LOG_LEVEL", value = "info" },', "FLB_LOG_LEVEL", False)
    d.add("""
              ]
            }
          ] : [])
        }

        resource "aws_ecs_task_definition" "retool" {
          family             = "retool"
          execution_role_arn = aws_iam_role.exec.arn
          container_definitions = jsonencode(concat([
            {
              name  = "retool"
              image = "acme/retool:3.52.0"
              environment = concat(local.environment_variables, [
    """)
    d.entry('        { name = "SERVICE_TYPE", value = "MAIN_BACKEND" },', "SERVICE_TYPE", False)
    d.add("""
              ])
            }
          ], local.sidecars))
        }
    """).add(EXEC_ROLE)


FORMS = (
    jsonencode_single,
    jsonencode_multiline,
    heredoc_eof,
    heredoc_eot,
    file_json,
    templatefile_form,
    template_file_data,
    locals_env,
    local_definitions,
    jsonencode_local,
    var_default,
    tf_json,
    taskdef_json,
    count_form,
    for_each_form,
    names_group,
    typed_variables_group,
    template_file_resource_group,
    broken_json_group,
    unnamed_group,
    evidence_group,
    concat_lists_group,
)


def table() -> Table:
    t = Table()
    for form in FORMS:
        form(t)
    return t


def build(root: Path) -> Table:
    t = table()
    t.write(root)
    return t


# --------------------------------------------------------------------------- running ecsfix


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, object]:
        data: dict[str, object] = json.loads(self.stdout)
        return data


def run_ecsfix(*args: str, cwd: Path | str) -> Run:
    """`python -m ecsfix ARGS` in a fresh interpreter, as a user would run it."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "ECSFIX_CACHE_DIR")}
    proc = subprocess.run(
        [sys.executable, "-m", "ecsfix", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def run_main(*args: str, cwd: Path | str) -> Run:
    """`ecsfix.cli.main(ARGS)` in this interpreter (fast; an exception fails the calling test)."""
    import contextlib
    import io

    from ecsfix.cli import main

    out, err = io.StringIO(), io.StringIO()
    before = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        os.chdir(before)
    return Run(code, out.getvalue(), err.getvalue())


if __name__ == "__main__":  # python -m tests.labelled DIR
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "labelled-fixtures")
    tab = build(out)
    for form, n in tab.per_form().items():
        print(f"{n:3}  {form}")
    print(f"{len(tab.labels)} entries, {sum(lbl.secret for lbl in tab.labels)} secret, written to {out}")
