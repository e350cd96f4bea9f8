"""Issue 2 acceptance: EF001 over a labelled table of environment entries in every input form.

`tests/labelled.py` writes one module per form (jsonencode, heredocs, file(), templatefile(),
data "template_file", locals, variable defaults, .tf.json, raw task-definition JSON, count,
for_each) and labels each entry secret or not. One real `python -m ecsfix scan --format json` run
over all of them must report exactly the secret entries -- same file, line and name, rule EF001.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests import labelled
from tests.labelled import Label, run_ecsfix, run_main

TABLE = labelled.table()

# Every form the issue lists, with the table's name for it.
REQUIRED_FORMS = {
    "jsonencode-single-line",
    "jsonencode-multi-line",
    "heredoc-EOF",
    "heredoc-EOT",
    "file()",
    "templatefile()",
    "data.template_file",
    "resource.template_file",
    "env list in locals",
    "definitions in a local",
    "jsonencode(local.x)",
    "var default",
    ".tf.json",
    "task-definition JSON",
    "count",
    "for_each",
}


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("labelled")
    labelled.build(root)
    run = run_ecsfix("scan", "--format", "json", ".", cwd=root)
    assert "Traceback" not in run.stderr
    doc = run.json()
    return {"code": run.code, "doc": doc, "root": root}


def ef001(scanned: dict[str, object]) -> dict[tuple[str, int, str], dict[str, object]]:
    doc = scanned["doc"]
    assert isinstance(doc, dict)
    out: dict[tuple[str, int, str], dict[str, object]] = {}
    for f in doc["findings"]:
        if f["rule"] == "EF001":
            out[(f["file"], f["line"], f["name"])] = f
    return out


def _param(label: Label) -> object:
    marks = [pytest.mark.xfail(reason=label.xfail, strict=True)] if label.xfail else []
    return pytest.param(label, id=label.id, marks=marks)


# --------------------------------------------------------------------------- the table itself


def test_table_covers_every_form_and_trap() -> None:
    forms = TABLE.per_form()
    assert set(forms) == REQUIRED_FORMS
    assert all(n >= 3 for n in forms.values()), forms
    assert len(TABLE.labels) >= 80
    secret = sum(lbl.secret for lbl in TABLE.labels)
    assert 0.25 <= secret / len(TABLE.labels) <= 0.45  # about a third
    assert len({lbl.key for lbl in TABLE.labels}) == len(TABLE.labels), "two labels on one key"
    quiet_names = {lbl.name for lbl in TABLE.labels if not lbl.secret}
    for trap in ("PASSWORD_MIN_LENGTH", "DB_SECRET_ARN", "TOKEN_TTL_SECONDS", "DB_PASSWORD_FILE", "OAUTH_CLIENT_ID",
                 "GIT_SHA", "CACHE_URL", "SERVICE_NAME", "KEYBOARD_LAYOUT"):
        assert trap in quiet_names
    text = "".join(TABLE.files.values())
    for value in (labelled.GIT_SHA, labelled.REDIS_URL, "disk-cleaner"):
        assert value in text
    for value in (labelled.DSN_WITH_PASSWORD, labelled.AWS_KEY_ID, labelled.GITHUB_TOKEN, labelled.STRIPE_KEY,
                  labelled.JWT, labelled.BEARER, labelled.PEM):
        assert value in TABLE.secret_values


def test_each_label_sits_on_its_entry() -> None:
    """Guards the table builder: a label's line holds (or opens) the entry it names."""
    for label in TABLE.labels:
        lines = TABLE.files[label.file].splitlines()
        window = "\n".join(lines[label.line - 1 : label.line + 5])
        assert label.name in window, label
        assert lines[label.line - 1].lstrip().startswith(("{", '"container_definitions"')), label


# --------------------------------------------------------------------------- the scan


@pytest.mark.parametrize("label", [_param(lbl) for lbl in TABLE.labels])
def test_label(scanned: dict[str, object], label: Label) -> None:
    found = ef001(scanned)
    if label.secret:
        assert label.key in found, f"missed: {label}"
        assert found[label.key]["rule"] == "EF001"
    else:
        assert label.key not in found, f"false positive: {label} ({found[label.key]['message']})"


def test_no_finding_outside_the_table(scanned: dict[str, object]) -> None:
    keys = {lbl.key for lbl in TABLE.labels}
    stray = [k for k in ef001(scanned) if k not in keys]
    assert stray == []


def test_precision_and_recall(scanned: dict[str, object], capsys: pytest.CaptureFixture[str]) -> None:
    found = set(ef001(scanned))
    counted = [lbl for lbl in TABLE.labels if not lbl.xfail]
    tp = sum(1 for lbl in counted if lbl.secret and lbl.key in found)
    fp = sum(1 for lbl in counted if not lbl.secret and lbl.key in found)
    fn = sum(1 for lbl in counted if lbl.secret and lbl.key not in found)
    fp += len(found - {lbl.key for lbl in TABLE.labels})
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    everything = [lbl for lbl in TABLE.labels]
    all_tp = sum(1 for lbl in everything if lbl.secret and lbl.key in found)
    all_secret = sum(lbl.secret for lbl in everything)
    with capsys.disabled():
        print(
            f"\nlabelled table: {len(TABLE.labels)} entries ({all_secret} secret) in {len(TABLE.per_form())} forms; "
            f"precision {precision:.3f} recall {recall:.3f} "
            f"(including known limitations: recall {all_tp / all_secret:.3f})"
        )
    assert (precision, recall) == (1.0, 1.0)


def test_scan_reports_only_the_planted_errors_and_exits_2(scanned: dict[str, object]) -> None:
    """The only input errors are the JSON documents written with a line break inside a string
    (read leniently all the same: their entries are in the table)."""
    doc = scanned["doc"]
    assert isinstance(doc, dict)
    assert TABLE.errors
    assert {(e["file"], e["line"]) for e in doc["errors"]} == TABLE.errors
    assert all("line break inside a string" in e["message"] for e in doc["errors"])
    assert scanned["code"] == 2


def test_value_only_secrets_say_value(scanned: dict[str, object]) -> None:
    """Secrets whose names say nothing are found by their value, and the finding says so."""
    found = ef001(scanned)
    for key in [
        ("jsonencode_multiline/main.tf", None, "UPSTREAM"),
        ("jsonencode_single/main.tf", None, "GH_PACKAGES"),
        ("jsonencode_single/main.tf", None, "BOOTSTRAP_KEY_ID"),
        ("heredoc_eot/main.tf", None, "PAYMENTS_PROVIDER"),
        ("heredoc_eot/main.tf", None, "SERVICE_IDENTITY"),
        ("templatefile/containers.json.tpl", None, "UPSTREAM_HEADER"),
        ("var_default/main.tf", None, "SIDECAR_TLS"),
    ]:
        (hit,) = [f for (file, _, name), f in found.items() if file == key[0] and name == key[2]]
        assert hit["reason"] == "value", hit


def test_previews_never_carry_more_than_two_characters(scanned: dict[str, object]) -> None:
    for f in ef001(scanned).values():
        preview = str(f["preview"])
        assert re.fullmatch(r'.{2}\*{6}|\*{6}|""|[\w.\[\]"()-]+', preview), preview  # a redacted literal or a reference
        if preview.endswith("******"):
            assert not any(preview[:2] + v[2:3] in preview for v in TABLE.secret_values if len(v) > 3)


# --------------------------------------------------------------------------- dynamic forms

DYNAMIC = {
    "for expression": """
        variable "containers" {
          type = list(object({ name = string, image = string }))
        }
        resource "aws_ecs_task_definition" "app" {
          family                = "app"
          container_definitions = jsonencode([for c in var.containers : { name = c.name, image = c.image }])
        }
    """,
    "environment from a for expression": """
        variable "env" {
          type = map(string)
        }
        resource "aws_ecs_task_definition" "app" {
          family = "app"
          container_definitions = jsonencode([
            {
              name        = "app"
              image       = "acme/app:1.0.0"
              environment = [for k, v in var.env : { name = k, value = v }]
            }
          ])
        }
    """,
    "merge with an unknown": """
        variable "overrides" {
          type = any
        }
        locals {
          base = { name = "app", image = "acme/app:1.0.0" }
        }
        resource "aws_ecs_task_definition" "app" {
          family                = "app"
          container_definitions = jsonencode([merge(local.base, var.overrides)])
        }
    """,
    "concat with an unknown": """
        variable "extra_env" {
          type = list(object({ name = string, value = string }))
        }
        resource "aws_ecs_task_definition" "app" {
          family = "app"
          container_definitions = jsonencode([
            {
              name        = "app"
              image       = "acme/app:1.0.0"
              environment = concat(var.extra_env, [{ name = "LOG_LEVEL", value = "info" }])
            }
          ])
        }
    """,
    "module output": """
        module "definitions" {
          source = "./definitions"
        }
        resource "aws_ecs_task_definition" "app" {
          family                = "app"
          container_definitions = module.definitions.json
        }
    """,
    "variable without default": """
        variable "container_definitions" {
          type = string
        }
        resource "aws_ecs_task_definition" "app" {
          family                = "app"
          container_definitions = var.container_definitions
        }
    """,
    "template directives": """
        resource "aws_ecs_task_definition" "app" {
          family                = "app"
          container_definitions = <<EOF
        [
          {
            "name": "app",
            "environment": [
              %{ for k, v in var.env }{"name": "${k}", "value": "${v}"}%{ endfor }
            ]
          }
        ]
        EOF
        }
    """,
}


@pytest.mark.parametrize("case", DYNAMIC, ids=list(DYNAMIC))
def test_dynamic_forms_are_reported_as_not_analysable(tmp_path: Path, case: str) -> None:
    import textwrap

    (tmp_path / "main.tf").write_text(textwrap.dedent(DYNAMIC[case]).lstrip(), encoding="utf-8")
    run = run_main("scan", "--format", "json", ".", cwd=tmp_path)
    doc = run.json()
    assert run.code == 0, run.stdout
    rules = [f["rule"] for f in doc["findings"]]
    assert rules and set(rules) == {"EF003"}, rules
    for f in doc["findings"]:
        assert f["severity"] == "info"
        assert "not statically analysable" in f["message"]
        assert "terraform show -json" in f["message"]
        assert f["file"] == "main.tf"
    assert doc["errors"] == []
    text = run_main("scan", ".", cwd=tmp_path)
    assert text.code == 0 and "EF003" in text.stdout


# --------------------------------------------------------------------------- numbers vs strings


def _numbers_vs_strings(kind: str, cpu: str, memory: str) -> dict[str, str]:
    env_hcl = f'{{ name = "DB_PASSWORD", value = {labelled.hcl(labelled.HUNTER2)} }},\n' \
              '        { name = "LOG_LEVEL", value = "info" },'
    env_json = f'{{ "name": "DB_PASSWORD", "value": {labelled.js(labelled.HUNTER2)} }},\n' \
               '        { "name": "LOG_LEVEL", "value": "info" }'
    head = f'resource "aws_ecs_task_definition" "app" {{\n  family = "app"\n  cpu    = {cpu}\n  memory = {memory}\n'
    containers_json = (
        f'[\n  {{\n    "name": "app",\n    "cpu": {cpu},\n    "memory": {memory},\n    "environment": [\n'
        f"        {env_json}\n    ]\n  }}\n]\n"
    )
    if kind == "jsonencode":
        return {"main.tf": head + "  container_definitions = jsonencode([\n    {\n      name = \"app\"\n"
                f"      cpu = {cpu}\n      memory = {memory}\n      environment = [\n        {env_hcl}\n"
                "      ]\n    }\n  ])\n}\n"}
    if kind == "heredoc":
        return {"main.tf": head + "  container_definitions = <<EOF\n" + containers_json + "EOF\n}\n"}
    if kind == "file":
        return {"main.tf": head + '  container_definitions = file("${path.module}/c.json")\n}\n',
                "c.json": containers_json}
    if kind == "templatefile":
        return {"main.tf": head + '  container_definitions = templatefile("${path.module}/c.json.tpl", {})\n}\n',
                "c.json.tpl": containers_json}
    if kind == "taskdef-json":
        return {"td.json": f'{{\n"family": "app", "cpu": {cpu}, "memory": {memory},\n"containerDefinitions": '
                + containers_json + "}\n"}
    if kind == "tf.json":
        doc = {"resource": {"aws_ecs_task_definition": {"app": {
            "family": "app", "cpu": json.loads(cpu), "memory": json.loads(memory),
            "container_definitions": json.dumps(json.loads(containers_json))}}}}
        return {"main.tf.json": json.dumps(doc, indent=2)}
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["jsonencode", "heredoc", "file", "templatefile", "taskdef-json", "tf.json"])
def test_numeric_and_string_cpu_memory_give_identical_findings(tmp_path: Path, kind: str) -> None:
    results = []
    for variant, (cpu, memory) in {"numbers": ("256", "512"), "strings": ('"256"', '"512"')}.items():
        d = tmp_path / variant
        d.mkdir()
        for name, text in _numbers_vs_strings(kind, cpu, memory).items():
            (d / name).write_text(text, encoding="utf-8")
        run = run_main("scan", "--format", "json", ".", cwd=d)
        doc = run.json()
        assert doc["errors"] == [], doc["errors"]
        # in .tf.json the definitions are one escaped string: quoting "256" shifts later columns
        results.append([(f["rule"], f["file"], f["line"], f["column"] if kind != "tf.json" else 0, f["name"],
                         f["reason"], f["preview"]) for f in doc["findings"]])
    numbers, strings = results
    assert numbers == strings
    assert [(r[0], r[4]) for r in numbers] == [("EF001", "DB_PASSWORD")]


def test_environment_built_with_concat_reads_every_literal_list(tmp_path: Path) -> None:
    from ecsfix.scan import scan

    (tmp_path / "main.tf").write_text(
        'resource "aws_ecs_task_definition" "app" {\n'
        '  family             = "app"\n'
        '  execution_role_arn = aws_iam_role.exec.arn\n'
        '  container_definitions = jsonencode([{\n'
        '    name  = "app"\n'
        '    image = "nginx"\n'
        '    environment = concat([\n'
        '      { name = "DB_PASSWORD", value = var.db_password },\n'
        '      { name = "LOG_LEVEL", value = "info" },\n'
        '    ], var.extra_env, [{ name = "SENTRY_AUTH_TOKEN", value = "hunter2-sentry" }])\n'
        '  }])\n'
        '}\n'
    )
    result = scan([str(tmp_path)])
    assert sorted(f.name or "" for f in result.findings if f.rule == "EF001") == ["DB_PASSWORD", "SENTRY_AUTH_TOKEN"]
    ef003 = [f for f in result.findings if f.rule == "EF003"]
    assert len(ef003) == 1 and "var.extra_env has no default value" in ef003[0].message


def test_a_name_that_says_secret_with_a_value_that_points_to_it_is_not_a_leak(tmp_path: Path) -> None:
    """`DB_PASSWORD = aws_secretsmanager_secret.db.arn` hands the container an ARN; moving it to
    `secrets` would hand it the password instead. A real value reference is still a leak, and
    AWS Security Hub's ECS.8 names stay flagged whatever they hold."""
    (tmp_path / "main.tf").write_text(
        'resource "aws_ecs_task_definition" "a" {\n  family = "a"\n  container_definitions = jsonencode([{\n'
        '    name = "a"\n    environment = [\n'
        '      { name = "DB_PASSWORD", value = aws_secretsmanager_secret.db.arn },\n'
        '      { name = "API_TOKEN", value = "${aws_ssm_parameter.token.name}" },\n'
        '      { name = "JWT_SECRET", value = local.jwt_secret_arn },\n'
        '      { name = "AWS_ACCESS_KEY_ID", value = aws_iam_access_key.ci.id },\n'
        '      { name = "SMTP_PASSWORD", value = random_password.smtp.result },\n'
        '      { name = "REDIS_AUTH_TOKEN", value = local.redis_token },\n'
        '    ]\n  }])\n}\n'
        'locals {\n  jwt_secret_arn = aws_secretsmanager_secret.jwt.arn\n  redis_token = var.redis_auth_token\n}\n',
        encoding="utf-8")
    run = run_main("scan", "--format", "json", "--no-cache", ".", cwd=tmp_path)
    names = sorted(f["name"] for f in json.loads(run.stdout)["findings"] if f["rule"] == "EF001")
    assert names == ["AWS_ACCESS_KEY_ID", "REDIS_AUTH_TOKEN", "SMTP_PASSWORD"]
