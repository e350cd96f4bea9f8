"""Lists built with `concat()` and conditionals: every known piece is read, the rest is EF003.

`container_definitions = jsonencode(concat([{...}], local.sidecars))` and environments such as
`concat(var.extra, local.base, var.tls ? [{...}] : [], [{...}])` are how larger modules assemble
their containers; a secret in any literal piece must be reported, and a piece that cannot be
followed must be said (EF003), never read as "clean".
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.labelled import run_main

VARS = """
variable "extra_env" {
  type = list(object({ name = string, value = string }))
}
variable "sidecars" {
  type = any
}
variable "tls_enabled" {
  type    = bool
  default = false
}
variable "temporal" {
  type = object({ tls_key = string, namespace = string })
}
resource "random_password" "db" {
  length = 24
}
"""

# (case, HCL after VARS, expected EF001 names, expected number of EF003 findings)
CASES = [
    (
        "containers: concat of a literal list and a conditional local",
        """
        locals {
          sidecars = (var.tls_enabled ? [{
            name        = "proxy"
            image       = "envoyproxy/envoy:v1.29"
            environment = [{ name = "PROXY_ADMIN_TOKEN", value = "hunter2-proxy" }]
          }] : [])
        }
        resource "aws_ecs_task_definition" "app" {
          family = "app"
          container_definitions = jsonencode(concat([{
            name        = "app"
            image       = "acme/app:1.0.0"
            environment = [{ name = "DB_PASSWORD", value = random_password.db.result }]
          }], local.sidecars))
        }
        """,
        ["DB_PASSWORD", "PROXY_ADMIN_TOKEN"],
        0,
    ),
    (
        "containers: concat with a variable without default",
        """
        resource "aws_ecs_task_definition" "app" {
          family = "app"
          container_definitions = jsonencode(concat([{
            name        = "app"
            image       = "acme/app:1.0.0"
            environment = [{ name = "JWT_SECRET", value = random_password.db.result }]
          }], var.sidecars))
        }
        """,
        ["JWT_SECRET"],
        1,
    ),
    (
        "environment: a local concat of a variable, locals, conditionals and a literal list",
        """
        locals {
          base_env = [{ name = "NODE_ENV", value = "production" }]
          tls_env  = var.tls_enabled ? [{ name = "WORKFLOW_TEMPORAL_TLS_KEY", value = var.temporal.tls_key }] : []
          env = concat(
            var.extra_env,
            local.base_env,
            local.tls_env,
            var.tls_enabled ? [{ name = "TEMPORAL_NAMESPACE", value = var.temporal.namespace }] : [],
            [
              { name = "POSTGRES_PASSWORD", value = random_password.db.result },
              { name = "POSTGRES_PORT", value = "5432" },
            ]
          )
        }
        resource "aws_ecs_task_definition" "app" {
          family = "app"
          container_definitions = jsonencode(concat([{
            name        = "app"
            image       = "acme/app:1.0.0"
            environment = concat(local.env, [{ name = "SERVICE_TYPE", value = "MAIN_BACKEND" }])
          }], local.nothing))
        }
        locals {
          nothing = []
        }
        """,
        ["POSTGRES_PASSWORD", "WORKFLOW_TEMPORAL_TLS_KEY"],
        1,
    ),
    (
        "environment: a conditional between two locals",
        """
        locals {
          with_key    = [{ name = "LICENSE_KEY", value = "EXAMPLE-license-0001" }]
          without_key = [{ name = "LICENSE_MODE", value = "trial" }]
        }
        resource "aws_ecs_task_definition" "app" {
          family = "app"
          container_definitions = jsonencode([{
            name        = "app"
            image       = "acme/app:1.0.0"
            environment = var.tls_enabled ? local.with_key : local.without_key
          }])
        }
        """,
        ["LICENSE_KEY"],
        0,
    ),
    (
        "environment: a conditional with null, and look-alikes only",
        """
        resource "aws_ecs_task_definition" "app" {
          family = "app"
          container_definitions = jsonencode([{
            name        = "app"
            image       = "acme/app:1.0.0"
            environment = var.tls_enabled ? [
              { name = "TLS_KEY_PATH", value = "/etc/tls/key.pem" },
              { name = "TOKEN_TTL", value = "3600" },
            ] : null
          }])
        }
        """,
        [],
        0,
    ),
    (
        "containers: nested concat inside a conditional inside a concat",
        """
        locals {
          worker = { name = "worker", image = "acme/app:1.0.0",
                     environment = [{ name = "QUEUE_PASSWORD", value = "hunter2-queue" }] }
        }
        resource "aws_ecs_task_definition" "app" {
          family = "app"
          container_definitions = jsonencode(concat(
            [{ name = "app", image = "acme/app:1.0.0", environment = [{ name = "LOG_LEVEL", value = "info" }] }],
            var.tls_enabled ? concat([local.worker], []) : [],
          ))
        }
        """,
        ["QUEUE_PASSWORD"],
        0,
    ),
]


@pytest.mark.parametrize("case,hcl,names,ef003", CASES, ids=[c[0] for c in CASES])
def test_lists_built_from_pieces(tmp_path: Path, case: str, hcl: str, names: list[str], ef003: int) -> None:
    (tmp_path / "main.tf").write_text(VARS + textwrap.dedent(hcl), encoding="utf-8")
    run = run_main("scan", "--format", "json", "--no-cache", ".", cwd=tmp_path)
    doc = json.loads(run.stdout)
    assert doc["errors"] == []
    found = sorted(f["name"] for f in doc["findings"] if f["rule"] == "EF001")
    assert found == names
    assert len([f for f in doc["findings"] if f["rule"] == "EF003"]) == ef003, doc["findings"]


def test_an_entry_of_a_conditional_branch_is_reported_but_moved_by_hand(tmp_path: Path) -> None:
    """Moving it to `secrets` would make it unconditional: the finding says so and rewrite leaves it."""
    (tmp_path / "main.tf").write_text(VARS + textwrap.dedent("""
        resource "aws_iam_role" "exec" {
          name = "exec"
        }
        resource "aws_ecs_task_definition" "app" {
          family             = "app"
          execution_role_arn = aws_iam_role.exec.arn
          container_definitions = jsonencode([{
            name  = "app"
            image = "acme/app:1.0.0"
            environment = concat(
              [{ name = "DB_PASSWORD", value = random_password.db.result }],
              var.tls_enabled ? [{ name = "TLS_PRIVATE_KEY", value = var.temporal.tls_key }] : [],
            )
          }])
        }
    """), encoding="utf-8")
    run = run_main("scan", "--format", "json", "--no-cache", ".", cwd=tmp_path)
    findings = {f["name"]: f for f in json.loads(run.stdout)["findings"] if f["rule"] == "EF001"}
    assert sorted(findings) == ["DB_PASSWORD", "TLS_PRIVATE_KEY"]
    assert findings["TLS_PRIVATE_KEY"]["fixable"] is False
    assert "conditional branch" in findings["TLS_PRIVATE_KEY"]["message"]
    before = (tmp_path / "main.tf").read_text(encoding="utf-8")
    rewrite = run_main("rewrite", ".", cwd=tmp_path)
    note = next(line for line in rewrite.stderr.splitlines() if "TLS_PRIVATE_KEY" in line)
    assert "not rewritten" in note and "conditional branch" in note and note.endswith("move it to `secrets` by hand")
    assert '"TLS_PRIVATE_KEY", valueFrom' not in rewrite.stdout  # the conditional one stays
    assert '"DB_PASSWORD", valueFrom' in rewrite.stdout  # the unconditional one moves (partial move)
    assert (tmp_path / "main.tf").read_text(encoding="utf-8") == before  # a preview writes nothing
