"""Deploy-readiness rules EF101-EF105: will the `secrets` wiring work when tasks start?

Three tables:
* every fixture under tests/fixtures/deploy/ -> the exact findings (rule, severity, line, message);
* single edits of the fully correct fixture (the seed's gRPC server), each breaking one thing;
* the building blocks in ecsfix.iam: valueFrom parsing, IAM resource and action matching.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecsfix.iam import (
    LIKELY,
    NO,
    OPAQUE,
    SUFFIX,
    YES,
    IamModel,
    Sym,
    Text,
    action_level,
    match_level,
    parse_value_from,
    show,
)
from ecsfix.model import ScanResult
from ecsfix.scan import scan
from tests.tf import require_terraform

FIXTURES = Path(__file__).parent / "fixtures" / "deploy"
EXAMPLE = Path(__file__).parents[1] / "examples" / "deploy-readiness"


def scan_dir(path: Path) -> ScanResult:
    return scan([str(path)], root=str(path))


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    hits = [i for i, line in enumerate(lines, 1) if needle in line]
    assert len(hits) == 1, f"{needle!r} must occur on exactly one line of {path}, found {hits}"
    return hits[0]


Expected = tuple[str, str, str, str]  # rule, severity, text on the expected line, message fragment

# fixture -> findings, in report order (file, line, column, rule)
CASES: dict[str, list[Expected]] = {
    "grpc-server-ok": [],
    "missing-execution-role": [
        ("EF101", "high", "secrets = [", "has no `execution_role_arn`; `task_role_arn` is set, but ECS pulls secrets "
                                         "with the execution role"),
        ("EF101", "high", "repositoryCredentials = {", "uses `repositoryCredentials`"),
    ],
    "task-role-only": [
        ("EF102", "high", 'name = "DB_PASSWORD"', "the task role aws_iam_role.task allows it, but ECS pulls secrets "
                                                  "with the execution role: move the statement there"),
    ],
    "no-get-secret-value": [
        ("EF102", "high", 'name = "ALGOLIA_API_KEY"', "has no statement allowing `secretsmanager:GetSecretValue` on "
                                                      "aws_secretsmanager_secret.api.arn"),
    ],
    "wrong-resource": [
        ("EF102", "high", 'name = "DB_PASSWORD"', "allows it only on aws_secretsmanager_secret.legacy.arn"),
    ],
    "deny-overrides": [
        ("EF102", "high", 'name = "CLICKHOUSE_PASSWORD"', "denies `secretsmanager:GetSecretValue` on "
                                                          "aws_secretsmanager_secret.db.arn"),
    ],
    "role-outside-module": [
        ("EF102", "info", "execution_role_arn = var.execution_role_arn",
         "cannot verify: execution role defined outside this module (the role comes from the variable "
         "var.execution_role_arn)"),
    ],
    "wildcard-ok": [],
    "templatefile-ok": [],
    "policy-document-ok": [],
    "attachment-ok": [],
    "inline-policy-ok": [],
    "json-key-without-colons": [
        ("EF103", "high", 'name = "DB_PASSWORD"', "write `${aws_secretsmanager_secret.db.arn}:password::`"),
        ("EF103", "high", 'name = "SEARCH_API_KEY"',
         "write `arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/catalog/search-AbCdEf:api_key::`"),
    ],
    "stage-and-version": [
        ("EF103", "high", 'name = "JWT_SIGNING_KEY"', "sets both a version stage and a version id"),
    ],
    "ssm-fragment": [
        ("EF103", "high", 'name = "MAPS_API_KEY"', "is a fragment of an SSM parameter ARN: write "
                                                   "`arn:aws:ssm:<region>:<account-id>:parameter/geo/maps-api-key` or, "
                                                   "in the same Region, the name `/geo/maps-api-key`"),
        ("EF103", "high", 'name = "DB_PASSWORD"', "is not a complete SSM parameter ARN"),
        ("EF103", "high", 'name = "TILE_TOKEN"', "write `/geo/tile-token` (SSM)"),
    ],
    "policy-grants-json-key": [
        ("EF103", "high", 'Resource = ["${aws_secretsmanager_secret.db.arn}:password::"]',
         "matches no secret: write `${aws_secretsmanager_secret.db.arn}`"),
        ("EF102", "high", 'name = "DB_PASSWORD"', "has no statement allowing `secretsmanager:GetSecretValue`"),
    ],
    "kms-without-decrypt": [
        ("EF104", "high", 'name = "PSP_API_KEY"', "aws_secretsmanager_secret.psp is encrypted with the customer managed "
                                                  "key aws_kms_key.payments and the execution role "
                                                  "aws_iam_role.execution has no `kms:Decrypt` on it: add { Effect = "
                                                  '"Allow", Action = ["kms:Decrypt"], Resource = '
                                                  "[aws_kms_key.payments.arn] }"),
    ],
    "kms-key-policy-ok": [],
    "private-service-no-endpoint": [
        ("EF105", "medium", "assign_public_ip = false", "`assign_public_ip` = false"),
        ("EF105", "medium", "network_configuration { # assign_public_ip is not set", "`assign_public_ip` is not set"),
    ],
    "ssm-endpoint-missing": [
        ("EF105", "medium", "assign_public_ip = false", 'resource "aws_vpc_endpoint" "ssm"'),
    ],
    "endpoint-present-ok": [],
    "nat-gateway-ok": [],
    "vpc-module-nat-ok": [],
    "taskdef-json": [
        ("EF101", "high", '"secrets": [', "has no `executionRoleArn`; `taskRoleArn` is set"),
        ("EF103", "high", '"name": "DB_PASS"', "prod/project/db-AbCdEf:password::`"),
    ],
}


def fixture_file(name: str) -> Path:
    files = sorted(p for p in (FIXTURES / name).iterdir() if p.suffix in (".tf", ".json"))
    assert len(files) == 1, files
    return files[0]


def test_every_fixture_has_a_row() -> None:
    assert sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_fixture_findings(name: str) -> None:
    result = scan_dir(FIXTURES / name)
    assert result.errors == []
    path = fixture_file(name)
    got = [(f.rule, f.severity, f.line) for f in result.findings]
    want = [(rule, sev, line_of(path, needle)) for rule, sev, needle, _ in CASES[name]]
    assert sorted(got) == sorted(want), "\n".join(f"{f.line} {f.rule} {f.message}" for f in result.findings)
    by_line = {(f.rule, f.line): f for f in result.findings}
    for (rule, _, _, fragment), (_, _, line) in zip(CASES[name], want, strict=True):
        assert fragment in by_line[(rule, line)].message
    counted = [f for f in result.findings if f.counts]
    assert result.exit_code == (1 if counted else 0)


def test_finding_columns_point_at_the_entry() -> None:
    result = scan_dir(FIXTURES / "task-role-only")
    (finding,) = result.findings
    assert finding.span.text.startswith('{ name = "DB_PASSWORD"')
    assert finding.resource == "aws_ecs_task_definition.orders" and finding.container == "orders"
    assert finding.name == "DB_PASSWORD" and finding.fixable


def test_policy_finding_names_the_policy_resource() -> None:
    result = scan_dir(FIXTURES / "policy-grants-json-key")
    ef103 = next(f for f in result.findings if f.rule == "EF103")
    assert ef103.resource == "aws_iam_role_policy.execution_secrets"
    assert ef103.span.text == '"${aws_secretsmanager_secret.db.arn}:password::"'


def test_example_shows_every_deploy_failure() -> None:
    result = scan_dir(EXAMPLE)
    assert result.errors == []
    assert sorted(f.rule for f in result.findings) == ["EF102", "EF103", "EF104", "EF105"]
    ef104 = next(f for f in result.findings if f.rule == "EF104")
    assert "the task role aws_iam_role.task has it" in ef104.message


# --------------------------------------------------------------------------- one edit, one failure

GRPC = FIXTURES / "grpc-server-ok" / "main.tf"
ENDPOINT_BLOCK = GRPC.read_text(encoding="utf-8").split('resource "aws_vpc_endpoint" "secretsmanager" {')[1].split("}\n", 1)[0]

# (id, [(old, new)], [(rule, severity, text on the expected line, message fragment)])
EDITS: list[tuple[str, list[tuple[str, str]], list[Expected]]] = [
    ("no execution role", [("  execution_role_arn       = aws_iam_role.execution.arn\n", "")],
     [("EF101", "high", "secrets = [", "(DB_HOST, DB_NAME, DB_PASS, DB_PORT, ...)")]),
    ("execution role null", [("execution_role_arn       = aws_iam_role.execution.arn", "execution_role_arn       = null")],
     [("EF101", "high", "secrets = [", "set `execution_role_arn`")]),
    ("describe instead of get", [('Action = ["secretsmanager:GetSecretValue"]', 'Action = ["secretsmanager:DescribeSecret"]')],
     [("EF102", "high", 'name = "DB_HOST"', "has no statement allowing `secretsmanager:GetSecretValue`")]),
    ("granted on the task role", [("role = aws_iam_role.execution.id", "role = aws_iam_role.task.id")],
     [("EF102", "high", 'name = "DB_HOST"', "the task role aws_iam_role.task allows it"),
      ("EF104", "high", 'name = "DB_HOST"', "the task role aws_iam_role.task has it, but ECS decrypts with the execution role")]),
    ("granted on an unrelated resource", [("Resource = [aws_secretsmanager_secret.db.arn]", 'Resource = ["arn:aws:s3:::bucket"]')],
     [("EF102", "high", 'name = "DB_HOST"', 'allows it only on "arn:aws:s3:::bucket"')]),
    ("role from a data source", [("execution_role_arn       = aws_iam_role.execution.arn",
                                  "execution_role_arn       = data.aws_iam_role.execution.arn")],
     [("EF102", "info", "execution_role_arn       = data.aws_iam_role.execution.arn",
       "the role comes from the data source data.aws_iam_role.execution")]),
    ("json key without colons", [(':password::"', ':password"')],
     [("EF103", "high", 'name = "DB_PASS"', "write `${aws_secretsmanager_secret.db.arn}:password::`")]),
    ("no kms:Decrypt", [('      { Effect = "Allow", Action = ["kms:Decrypt"], Resource = [aws_kms_key.secrets.arn] },\n', "")],
     [("EF104", "high", 'name = "DB_HOST"', "customer managed key aws_kms_key.secrets")]),
    ("kms:Decrypt on the key id", [("Resource = [aws_kms_key.secrets.arn]", "Resource = [aws_kms_key.secrets.key_id]")],
     [("EF104", "high", 'name = "DB_HOST"', "has no `kms:Decrypt` on it")]),
    ("kms:* on every key", [('Action = ["kms:Decrypt"], Resource = [aws_kms_key.secrets.arn]', 'Action = "kms:*", Resource = "*"')],
     []),
    ("AWS managed key", [("kms_key_id  = aws_kms_key.secrets.arn", 'kms_key_id  = "alias/aws/secretsmanager"'),
                         ('      { Effect = "Allow", Action = ["kms:Decrypt"], Resource = [aws_kms_key.secrets.arn] },\n', "")],
     []),
    ("no endpoint", [(ENDPOINT_BLOCK, "\n  vpc_id = var.vpc_id\n  service_name = \"com.amazonaws.eu-west-1.s3\"\n")],
     [("EF105", "medium", "assign_public_ip = false", 'Add resource "aws_vpc_endpoint" "secretsmanager"')]),
    ("no endpoint, suppressed", [(ENDPOINT_BLOCK, "\n  vpc_id = var.vpc_id\n  service_name = \"com.amazonaws.eu-west-1.s3\"\n"),
                                 ("assign_public_ip = false", "assign_public_ip = false # ecsfix:ignore EF105 NAT lives in the network stack")],
     []),
    ("no endpoint, public IP", [(ENDPOINT_BLOCK, "\n  vpc_id = var.vpc_id\n  service_name = \"com.amazonaws.eu-west-1.s3\"\n"),
                                ("assign_public_ip = false", "assign_public_ip = true")],
     []),
    # EC2 tasks: the container agent fetches secrets over the instance's network (no task public IP)
    ("no endpoint, EC2 launch type", [(ENDPOINT_BLOCK, "\n  vpc_id = var.vpc_id\n  service_name = \"com.amazonaws.eu-west-1.s3\"\n"),
                                      ('launch_type     = "FARGATE"', 'launch_type     = "EC2"')],
     []),
    ("no endpoint, EC2 capacity provider", [(ENDPOINT_BLOCK, "\n  vpc_id = var.vpc_id\n  service_name = \"com.amazonaws.eu-west-1.s3\"\n"),
                                            ('launch_type     = "FARGATE"',
                                             "capacity_provider_strategy {\n    capacity_provider = aws_ecs_capacity_provider.asg.name\n"
                                             "    weight            = 1\n  }")],
     []),
    ("no endpoint, Fargate Spot capacity provider", [(ENDPOINT_BLOCK, "\n  vpc_id = var.vpc_id\n  service_name = \"com.amazonaws.eu-west-1.s3\"\n"),
                                                     ('launch_type     = "FARGATE"',
                                                      'capacity_provider_strategy {\n    capacity_provider = "FARGATE_SPOT"\n'
                                                      "    weight            = 1\n  }")],
     [("EF105", "medium", "assign_public_ip = false", 'Add resource "aws_vpc_endpoint" "secretsmanager"')]),
    ("endpoint for another service only", [(".secretsmanager\"", ".ssm\"")],
     [("EF105", "medium", "assign_public_ip = false", "com.amazonaws.<region>.secretsmanager interface VPC endpoint")]),
    ("policy names the json key", [("Resource = [aws_secretsmanager_secret.db.arn]",
                                    'Resource = ["${aws_secretsmanager_secret.db.arn}:password::"]')],
     [("EF103", "high", ':password::"]', "carries the `:json-key:stage:version` suffix"),
      ("EF102", "high", 'name = "DB_HOST"', "has no statement allowing")]),
    ("deny guardrail", [('      { Effect = "Allow", Action = ["kms:Decrypt"]',
                         '      { Effect = "Deny", Action = "secretsmanager:*", Resource = "*" },\n'
                         '      { Effect = "Allow", Action = ["kms:Decrypt"]')],
     [("EF102", "high", 'name = "DB_HOST"', "an explicit Deny overrides every Allow")]),
    ("conditional deny is not evaluated", [('      { Effect = "Allow", Action = ["kms:Decrypt"]',
                                            '      { Effect = "Deny", Action = "secretsmanager:*", Resource = "*", '
                                            'Condition = { Bool = { "aws:SecureTransport" = "false" } } },\n'
                                            '      { Effect = "Allow", Action = ["kms:Decrypt"]')],
     []),
    ("grant through a local", [("Resource = [aws_secretsmanager_secret.db.arn]", "Resource = [local.db_secret_arn]"),
                               ('data "aws_region" "current" {}', 'data "aws_region" "current" {}\n\nlocals {\n'
                                                                  "  db_secret_arn = aws_secretsmanager_secret.db.arn\n}")],
     []),
    ("grant through a variable without default", [("Resource = [aws_secretsmanager_secret.db.arn]", "Resource = [var.db_secret_arn]")],
     [("EF102", "info", 'name = "DB_HOST"', "names resources that are not known statically")]),
]


@pytest.mark.parametrize(("edits", "expected"), [(e, x) for _, e, x in EDITS], ids=[i for i, _, _ in EDITS])
def test_one_edit_breaks_one_thing(tmp_path: Path, edits: list[tuple[str, str]], expected: list[Expected]) -> None:
    text = GRPC.read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "main.tf"
    path.write_text(text, encoding="utf-8")
    result = scan_dir(tmp_path)
    assert result.errors == []
    got = sorted((f.rule, f.severity, f.line) for f in result.findings)
    want = sorted((rule, sev, line_of(path, needle)) for rule, sev, needle, _ in expected)
    assert got == want, "\n".join(f"{f.line} {f.rule} {f.message}" for f in result.findings)
    for rule, _, needle, fragment in expected:
        finding = next(f for f in result.findings if f.rule == rule and f.line == line_of(path, needle))
        assert fragment in finding.message, finding.message


def test_template_valuefrom_is_reported_as_written(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "templatefile-ok", tmp_path / "m")
    template = tmp_path / "m" / "containers.json.tpl"
    template.write_text(template.read_text(encoding="utf-8").replace(':password::"', ':password"'), encoding="utf-8")
    result = scan_dir(tmp_path / "m")
    (finding,) = result.findings
    assert (finding.rule, finding.file, finding.line) == ("EF103", "containers.json.tpl", line_of(template, "DB_PASSWORD"))
    assert finding.message.endswith("write `${db_secret_arn}:password::`")


def test_template_policy_on_another_secret_is_found(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "templatefile-ok", tmp_path / "m")
    main = tmp_path / "m" / "main.tf"
    text = main.read_text(encoding="utf-8")
    old = "\n    secret_arn = aws_secretsmanager_secret.db.arn"
    assert text.count(old) == 1
    text = text.replace(old, '\n    secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/wiki/search-*"')
    main.write_text(text, encoding="utf-8")
    result = scan_dir(tmp_path / "m")
    (finding,) = result.findings
    assert finding.rule == "EF102" and finding.name == "DB_PASSWORD"
    assert 'allows it only on "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/wiki/search-*"' in finding.message


def test_tf_json_strings_are_templates(tmp_path: Path) -> None:
    """In `.tf.json`, `"${aws_iam_role.execution.arn}"` is a reference, also inside the JSON string
    of `container_definitions`."""
    main = (FIXTURES / "json-key-without-colons" / "main.tf").read_text(encoding="utf-8")
    main = main[: main.index('resource "aws_ecs_task_definition"')]
    (tmp_path / "main.tf").write_text(main, encoding="utf-8")
    containers = ('[{\\"name\\":\\"catalog\\",\\"image\\":\\"catalog:7\\",\\"secrets\\":['
                  '{\\"name\\":\\"DB_PASSWORD\\",\\"valueFrom\\":\\"${aws_secretsmanager_secret.db.arn}:password\\"},'
                  '{\\"name\\":\\"DB_USER\\",\\"valueFrom\\":\\"${aws_secretsmanager_secret.db.arn}:username::\\"}]}]')
    (tmp_path / "ecs.tf.json").write_text(
        '{"resource": {"aws_ecs_task_definition": {"catalog": {\n'
        '  "family": "catalog",\n'
        '  "execution_role_arn": "${aws_iam_role.execution.arn}",\n'
        f'  "container_definitions": "{containers}"\n'
        "}}}}\n", encoding="utf-8")
    result = scan_dir(tmp_path)
    assert result.errors == []
    assert [(f.rule, f.name) for f in result.findings] == [("EF103", "DB_PASSWORD")]
    assert result.findings[0].message.endswith("write `${aws_secretsmanager_secret.db.arn}:password::`")
    # the role is the module's: without its policy, reading the secret is a certain failure
    (tmp_path / "main.tf").write_text(main[: main.index('resource "aws_iam_role_policy"')], encoding="utf-8")
    result = scan_dir(tmp_path)
    ef102 = [f for f in result.findings if f.rule == "EF102"]
    assert [(f.severity, f.name) for f in ef102] == [("high", "DB_PASSWORD")]
    assert "execution role aws_iam_role.execution has no statement" in ef102[0].message


# --------------------------------------------------------------------------- valueFrom

ARN = Sym("aws_secretsmanager_secret.db.arn")
SM = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf"


@pytest.mark.parametrize(
    ("written", "service", "resource", "problem", "fix"),
    [
        ((ARN, ":password::"), "secretsmanager", (ARN,), None, None),
        ((ARN,), "secretsmanager", (ARN,), None, None),
        ((ARN, "::AWSPREVIOUS:"), "secretsmanager", (ARN,), None, None),
        ((ARN, ":::a1b2c3d4-EXAMPLE"), "secretsmanager", (ARN,), None, None),
        ((ARN, ":password"), "secretsmanager", (ARN,), "without both trailing colons",
         "`${aws_secretsmanager_secret.db.arn}:password::`"),
        ((ARN, ":password:AWSCURRENT"), "secretsmanager", (ARN,), "without the trailing colon",
         "`${aws_secretsmanager_secret.db.arn}:password:AWSCURRENT:`"),
        ((ARN, ":k:AWSCURRENT:a1b2"), "secretsmanager", (ARN,), "mutually exclusive", ":k::a1b2` (version id)"),
        ((ARN, ":a:b:c:d"), "secretsmanager", (ARN,), "4 `:` fields", "`${aws_secretsmanager_secret.db.arn}:a::`"),
        ((Sym("aws_secretsmanager_secret.db.id"), ":password"), "secretsmanager", (Sym("aws_secretsmanager_secret.db.id"),),
         "without both trailing colons", None),
        ((Sym("aws_db_instance.db.master_user_secret[0].secret_arn"), ":password"), "secretsmanager", None,
         "without both trailing colons", None),
        ((Sym("var.db_secret_arn"),), None, (Sym("var.db_secret_arn"),), None, None),
        ((Sym("var.db_secret_arn"), ":password::"), "secretsmanager", (Sym("var.db_secret_arn"),), None, None),
        ((Sym("var.db_secret_arn"), ":password"), "secretsmanager", None, "without both trailing colons", None),
        ((SM,), "secretsmanager", (SM,), None, None),
        ((SM + ":password::",), "secretsmanager", (SM,), None, None),
        ((SM + ":password",), "secretsmanager", (SM,), "without both trailing colons", f"`{SM}:password::`"),
        (("arn:aws:secretsmanager:", Sym("var.region"), ":123456789012:secret:prod/db-AbCdEf:password"), "secretsmanager",
         None, "without both trailing colons", ":secret:prod/db-AbCdEf:password::`"),
        (("arn:aws:secretsmanager:secret:prod/db",), "secretsmanager", None, "not a complete Secrets Manager ARN", None),
        (("arn:aws:secretsmanager:::secret:prod/db",), "secretsmanager", None, "not a complete Secrets Manager ARN", None),
        (("prod/db:password::",), "secretsmanager", None, "not an ARN", None),
        (("arn:aws:ssm:eu-west-1:123456789012:parameter/app/db",), "ssm", None, None, None),
        (("arn:aws:ssm:eu-west-1:123456789012:parameter/", Sym("var.name")), "ssm", None, None, None),
        (("/app/db",), "ssm", ("/app/db",), None, None),
        (("app_db",), "ssm", ("app_db",), None, None),
        (("app/db",), "ssm", None, "must start with `/`", "`/app/db` (SSM)"),
        (("parameter/app/db",), "ssm", ("/app/db",), "fragment of an SSM parameter ARN", "the name `/app/db`"),
        (("arn:aws:ssm:parameter/app/db",), "ssm", None, "not a complete SSM parameter ARN", "the name `/app/db`"),
        (("arn:aws:ssm:eu-west-1:123456789012:app/db",), "ssm", None, "not a complete SSM parameter ARN", None),
        ((Sym("aws_ssm_parameter.db.arn"),), "ssm", (Sym("aws_ssm_parameter.db.arn"),), None, None),
        ((Sym("aws_ssm_parameter.db.name"),), "ssm", (Sym("aws_ssm_parameter.db.name"),), None, None),
        ((Sym("aws_ssm_parameter.db.arn"), ":x::"), "ssm", None, "after an SSM parameter reference", None),
        (("arn:aws:s3:::bucket/key",), None, None, "neither a Secrets Manager secret ARN nor an SSM parameter", None),
        ((), None, None, "empty", None),
    ],
    ids=lambda v: show(v) if isinstance(v, tuple) else None,
)
def test_parse_value_from(written: Text, service: str | None, resource: Text | None, problem: str | None,
                          fix: str | None) -> None:
    vf = parse_value_from(written)
    assert vf.service == service
    if resource is not None:
        assert vf.resource == resource
    if problem is None:
        assert vf.problem is None, vf.problem
    else:
        assert vf.problem is not None and problem in vf.problem
    if fix is not None:
        assert vf.fix is not None and fix in vf.fix


@pytest.mark.parametrize(
    ("written", "iam_resource"),
    [
        (("/app/db",), "arn:<partition>:ssm:<region>:<account>:parameter/app/db"),
        (("app_db",), "arn:<partition>:ssm:<region>:<account>:parameter/app_db"),
        ((Sym("aws_ssm_parameter.db.name"),), "${aws_ssm_parameter.db.arn}"),
        (("arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db:password::",),
         "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-<suffix>"),
        ((SM + ":password::",), SM),
    ],
)
def test_iam_resource_is_what_iam_authorizes(written: Text, iam_resource: str) -> None:
    assert show(parse_value_from(written).iam_resource()) == iam_resource


# --------------------------------------------------------------------------- matching

PARTIAL = ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-", SUFFIX)


@pytest.mark.parametrize(
    ("pattern", "target", "level"),
    [
        (("*",), (ARN,), YES),
        ((ARN,), (ARN,), YES),
        ((Sym("aws_secretsmanager_secret.db.id"),), (ARN,), YES),  # a secret's id is its ARN
        ((ARN, "*"), (ARN,), YES),
        ((ARN, ":*"), (ARN,), NO),
        ((ARN, ":password::"), (ARN,), NO),
        ((Sym("aws_secretsmanager_secret.other.arn"),), (ARN,), NO),
        ((Sym("aws_secretsmanager_secret.db[*].arn"),), (Sym("aws_secretsmanager_secret.db[0].arn"),), YES),
        ((Sym("aws_secretsmanager_secret.db[0].arn"),), (Sym("aws_secretsmanager_secret.db[1].arn"),), NO),
        ((Sym("aws_secretsmanager_secret.db[count.index].arn"),), (Sym("aws_secretsmanager_secret.db[1].arn"),), YES),
        ((Sym("var.secret_arn"),), (ARN,), OPAQUE),
        ((Sym("var.secret_arn"),), (Sym("var.secret_arn"),), YES),
        (("arn:aws:secretsmanager:*:*:secret:*",), (ARN,), LIKELY),
        (("arn:aws:secretsmanager:eu-west-1:123456789012:secret:*",), (ARN,), LIKELY),
        (("arn:aws:ssm:*:*:parameter/*",), (ARN,), NO),
        (("arn:aws:secretsmanager:*:*:secret:*",), (Sym("var.secret_arn"),), OPAQUE),
        (("*",), (Sym("var.secret_arn"),), YES),
        (("arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-*",), (SM,), YES),
        (("arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-??????",), (SM,), YES),
        (("arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/api-*",), (SM,), NO),
        (("arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db",), PARTIAL, NO),  # the suffix is missing
        (("arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db*",), PARTIAL, YES),
        (("arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-*",), (SM,), NO),
        ((ARN,), (SM,), LIKELY),  # the module's secret may be that ARN
        (("arn:aws:ssm:*:*:parameter/app/*",), parse_value_from(("/app/db",)).iam_resource(), LIKELY),
        (("arn:aws:ssm:*:*:parameter/other/*",), parse_value_from(("/app/db",)).iam_resource(), NO),
        ((Sym("aws_ssm_parameter.db.arn"),), parse_value_from((Sym("aws_ssm_parameter.db.name"),)).iam_resource(), YES),
        ((Sym("aws_ssm_parameter.db.name"),), (Sym("aws_ssm_parameter.db.arn"),), NO),  # IAM wants the ARN
        ((Sym("aws_kms_key.k.key_id"),), (Sym("aws_kms_key.k.arn"),), NO),
        ((Sym("aws_kms_key.k.arn"),), (Sym("aws_kms_key.k.arn"),), YES),
    ],
    ids=lambda v: show(v) if isinstance(v, tuple) else None,
)
def test_resource_match(pattern: Text, target: Text, level: int) -> None:
    model = IamModel(None, None)
    assert match_level(model.tokens(pattern, "p"), model.tokens(target, "t")) == level


@pytest.mark.parametrize(
    ("pattern", "level"),
    [
        ("secretsmanager:GetSecretValue", YES),
        ("SecretsManager:getsecretvalue", YES),  # actions are case-insensitive
        ("secretsmanager:Get*", YES),
        ("secretsmanager:*", YES),
        ("*", YES),
        ("secretsmanager:Get?ecretValue", YES),
        ("secretsmanager:DescribeSecret", NO),
        ("ssm:GetParameters", NO),
        ("kms:*", NO),
    ],
)
def test_action_match(pattern: str, level: int) -> None:
    assert action_level((pattern,), "secretsmanager:GetSecretValue") == level


def test_opaque_action_cannot_be_decided() -> None:
    assert action_level((Sym("var.actions"),), "secretsmanager:GetSecretValue") == OPAQUE


# --------------------------------------------------------------------------- HashiCorp's parser agrees


def test_fixtures_and_example_are_valid_terraform() -> None:
    terraform = require_terraform()
    for target in (FIXTURES, EXAMPLE):
        proc = subprocess.run([terraform, "fmt", "-check", "-recursive", "-diff", str(target)],
                              capture_output=True, text=True, env={"TF_CLI_CONFIG_FILE": "/dev/null",
                                                                   "PATH": str(Path(terraform).parent)})
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_scan_of_all_fixtures_runs_without_errors() -> None:
    result = scan_dir(FIXTURES)
    assert result.errors == []
    assert {f.rule for f in result.findings} == {"EF101", "EF102", "EF103", "EF104", "EF105"}
    assert not any(f.rule.startswith("EF00") for f in result.findings)


# --------------------------------------------------------------------------- never crash

PIECES = st.one_of(
    st.sampled_from(["arn:", "aws", ":", "::", "secretsmanager", "ssm", "secret:", "parameter/", "/", "prod/db",
                     "-AbCdEf", "*", "?", "password", "AWSCURRENT", "", "${", "}"]),
    st.sampled_from([ARN, Sym("var.x"), Sym("aws_ssm_parameter.p.name"), Sym("aws_kms_key.k.arn"),
                     Sym("aws_secretsmanager_secret.db[*].arn"), Sym("local.y[0]"), SUFFIX]),
)


@given(st.lists(PIECES, max_size=12))
def test_value_from_parsing_never_crashes(pieces: list) -> None:  # type: ignore[type-arg]
    text = tuple(pieces)
    vf = parse_value_from(text)
    if vf.problem is not None:
        assert vf.fix is None or vf.fix.count("`") % 2 == 0
    show(vf.iam_resource())


@given(st.lists(PIECES, max_size=10), st.lists(PIECES, max_size=10))
def test_matching_never_crashes_and_is_reflexive_on_literals(pattern: list, target: list) -> None:  # type: ignore[type-arg]
    model = IamModel(None, None)
    level = match_level(model.tokens(tuple(pattern), "p"), model.tokens(tuple(target), "t"))
    assert level in (NO, OPAQUE, LIKELY, YES)
    literal_target = "".join(p for p in target if isinstance(p, str)).replace("*", "").replace("?", "")
    assert match_level(model.tokens((literal_target,), "p"), model.tokens((literal_target,), "t")) == YES
