"""Calls of the common ECS modules (cloudposse ecs-container-definition, terraform-aws-modules ecs).

Fixtures in tests/fixtures/ecs_modules mark every entry that must be reported with a trailing
`# expect: EF001 <resource>/<container> <NAME>` comment on the line the finding points at; every
other entry (the look-alikes) must stay quiet.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ecsfix.catalogue import CATALOGUE, Row, lookup
from ecsfix.ecs_modules import CLOUDPOSSE, TAM_CONTAINER, TAM_ROOT, TAM_SERVICE, module_kind
from ecsfix.model import Other, Ref, Str, TaskDefinition
from ecsfix.prefilter import has_trigger
from ecsfix.scan import scan

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "ecs_modules"
EXPECT = re.compile(r"# expect: (EF\d{3}) (\S+)/(\S+) (\S+)\s*$")

Key = tuple[str, str, int, str, str, str]  # rule, file, line, resource, container, name


def expected(directory: Path) -> set[Key]:
    out: set[Key] = set()
    for path in sorted(directory.glob("*.tf")):
        for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            m = EXPECT.search(line)
            if m:
                rule, resource, container, name = m.groups()
                out.add((rule, path.relative_to(REPO).as_posix(), line_no, resource, container, name))
    return out


def reported(directory: Path, rules: tuple[str, ...] = ("EF001", "EF002")) -> set[Key]:
    result = scan([str(directory)], root=str(REPO))
    assert not result.errors, [e.render() for e in result.errors]
    return {(f.rule, f.file, f.line, f.resource, f.container, f.name or "") for f in result.findings if f.rule in rules}


CASES = ["cloudposse", "tam_service", "tam_container", "tam_root", "lookalikes", "catalogue", "uncatalogued"]


@pytest.mark.parametrize("case", CASES)
def test_findings_are_exactly_the_marked_entries(case: str) -> None:
    want = expected(FIXTURES / case)
    assert reported(FIXTURES / case) == want
    if case == "lookalikes":
        assert not want
    else:
        assert want


def test_every_fixture_marks_something_to_find() -> None:
    total = sum(len(expected(FIXTURES / case)) for case in CASES)
    assert total == 24


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("cloudposse/ecs-container-definition/aws", CLOUDPOSSE),
        ("registry.terraform.io/cloudposse/ecs-container-definition/aws", CLOUDPOSSE),
        ("git::https://github.com/cloudposse/terraform-aws-ecs-container-definition.git?ref=tags/0.58.1", CLOUDPOSSE),
        ("github.com/cloudposse/terraform-aws-ecs-container-definition?ref=0.61.1", CLOUDPOSSE),
        ("git@github.com:cloudposse/terraform-aws-ecs-container-definition.git", CLOUDPOSSE),
        ("terraform-aws-modules/ecs/aws", TAM_ROOT),
        ("terraform-aws-modules/ecs/aws//modules/service", TAM_SERVICE),
        ("terraform-aws-modules/ecs/aws//modules/container-definition", TAM_CONTAINER),
        ("git::ssh://git@github.com/terraform-aws-modules/terraform-aws-ecs.git//modules/service?ref=v5.11.0",
         TAM_SERVICE),
        ("github.com/terraform-aws-modules/terraform-aws-ecs//modules/container-definition?ref=v6.0.0", TAM_CONTAINER),
        ("terraform-aws-modules/ecs/aws//modules/cluster", None),
        ("terraform-aws-modules/ecs-service/aws", None),
        ("terraform-aws-modules/lambda/aws", None),
        ("cloudposse/ecs-alb-service-task/aws", None),
        ("./modules/ecs-container-definition", None),
        ("cn-terraform/ecs-fargate-task-definition/aws", None),  # in the catalogue, not rewritten
    ],
)
def test_module_kind(source: str, kind: str | None) -> None:
    assert module_kind(source) == kind


@pytest.mark.parametrize(
    ("source", "family"),
    [
        ("cloudposse/ecs-container-definition/aws", CLOUDPOSSE),
        ("terraform-aws-modules/ecs/aws//modules/service", TAM_SERVICE),
        ("cn-terraform/ecs-fargate-task-definition/aws", "cn-terraform ecs-fargate-task-definition"),
        ("registry.terraform.io/cn-terraform/ecs-fargate-task-definition/aws", "cn-terraform ecs-fargate-task-definition"),
        ("git::https://github.com/cn-terraform/terraform-aws-ecs-fargate.git?ref=2.0.52", "cn-terraform ecs-fargate"),
        ("cn-terraform/ecs-fargate/aws", "cn-terraform ecs-fargate"),
        ("umotif-public/ecs-fargate/aws", "umotif-public ecs-fargate"),
        ("github.com/umotif-public/terraform-aws-ecs-fargate-task-definition?ref=2.1.2",
         "umotif-public ecs-fargate-task-definition"),
        ("telia-oss/ecs-fargate/aws", "telia-oss ecs-fargate"),
        ("mongodb/ecs-task-definition/aws", "mongodb ecs-task-definition"),
        ("blinkist/airship-ecs-service/aws", "blinkist airship-ecs-service"),
        ("it-objects/terra3/aws//modules/container", "it-objects terra3 container"),
        ("github.com/it-objects/terraform-aws-terra3//modules/container?ref=v2.1.0", "it-objects terra3 container"),
        ("it-objects/terra3/aws", None),  # the root module takes its containers' outputs
        ("infrablocks/ecs-service/aws", "infrablocks ecs-service"),
        ("git::https://github.com/infrablocks/terraform-aws-ecs-service.git?ref=5.1.0", "infrablocks ecs-service"),
        ("cloudposse/ecs-alb-service-task/aws", "cloudposse ecs-alb-service-task"),
        ("cn-terraform/ecs-fargate-service/aws", None),  # takes a task definition ARN, no environment
        ("github.com/acme/terraform-aws-ecs-fargate", None),  # same repository name, another owner
        ("github.com/xtelia-oss/terraform-aws-ecs-fargate", None),
        ("blinkist/airship-ecs-service/aws//modules/ecs_container_definition", None),
    ],
)
def test_catalogue_lookup(source: str, family: str | None) -> None:
    row = lookup(source)
    assert (row.family if row is not None else None) == family


@pytest.mark.parametrize("row", CATALOGUE, ids=lambda r: r.family)
def test_every_source_form_of_every_row_passes_the_pre_filter(row: Row) -> None:
    """The pre-filter's short hints (prefilter.HINTS) must be in every source form of each row."""
    namespace, name, provider = row.registry.split("/")
    sub = f"//{row.subdir}" if row.subdir else ""
    for source in (row.registry + sub, f"git::https://github.com/{namespace}/terraform-{provider}-{name}.git{sub}"):
        assert lookup(source) is row
        assert has_trigger(f'module "x" {{\n  source = "{source}"\n}}\n'), source


def test_catalogue_rows_are_reported_with_what_to_do_by_hand() -> None:
    """Rows the rewrite does not edit: not fixable, and the message names the module's own secrets
    input in the shape it takes."""
    result = scan([str(FIXTURES / "catalogue")])
    by_name = {f.name: f for f in result.findings if f.rule == "EF001"}
    assert not any(f.fixable for f in by_name.values())
    assert "move it to the module's `map_secrets` input by hand (NAME = <secret ARN>" in by_name["DB_PASSWORD"].message
    assert ("move it to the module's `task_container_secrets` input by hand ({ name, valueFrom = <secret ARN> }"
            in by_name["ATLANTIS_GH_TOKEN"].message)
    assert by_name["APPLICANT_OIDC_CLIENT_SECRET"].preview == "var.oidc_client_secret"
    assert {f.severity for f in by_name.values()} == {"high"}


def test_catalogue_execution_roles() -> None:
    tds = task_definitions("catalogue")
    reports = tds["module.reports"].execution_role  # mongodb: as given
    assert isinstance(reports, Str) and reports.value == "arn:aws:iam::123456789012:role/reports-exec"
    civic = tds["module.civic"].execution_role  # cn-terraform: created unless execution_role_arn is set
    assert isinstance(civic, Other) and "created by the module" in civic.kind
    assert [s.name for s in tds["module.checkout"].containers[0].secrets] == ["DB_PASSWORD"]  # a map input


def test_container_definitions_rendered_by_the_caller_for_a_module(tmp_path: Path) -> None:
    """infrablocks/ecs-service takes the task's container definitions as JSON: a template the
    caller renders (`data "template_file"`) is followed into the template's entries."""
    (tmp_path / "task.json.tpl").write_text(
        '[{"name": "ldap", "environment": [\n  {"name": "LDAP_BINDUSER_PWD", "value": "${pwd}"},\n'
        '  {"name": "LDAP_DOMAIN", "value": "example.com"}\n]}]\n', encoding="utf-8")
    (tmp_path / "main.tf").write_text(
        'data "template_file" "task" {\n  template = file("${path.module}/task.json.tpl")\n'
        '  vars = {\n    pwd = random_string.ldap.result\n  }\n}\n'
        'module "ldap" {\n  source = "infrablocks/ecs-service/aws"\n'
        '  service_task_container_definitions = data.template_file.task.rendered\n}\n', encoding="utf-8")
    result = scan([str(tmp_path)], root=str(tmp_path))
    assert [(f.file, f.line, f.resource, f.name, f.fixable) for f in result.findings] == [
        ("task.json.tpl", 2, "module.ldap", "LDAP_BINDUSER_PWD", False)]
    assert "`service_task_container_definitions` by hand" in result.findings[0].message


def test_modules_outside_the_catalogue_are_medium_and_say_so() -> None:
    result = scan([str(FIXTURES / "uncatalogued")])
    assert result.exit_code == 1
    got = sorted((f.name, f.severity, f.fixable) for f in result.findings)
    assert got == [("BILLING_API_TOKEN", "medium", False), ("ELASTIC_PASSWORD", "medium", False)]
    for f in result.findings:
        assert "module not in the catalogue" in f.message
        assert "by hand" in f.message


def test_a_configured_severity_below_medium_is_kept_for_modules_outside_the_catalogue(tmp_path: Path) -> None:
    from ecsfix.config import Config

    config = Config()
    config.severity["EF001"] = "low"
    result = scan([str(FIXTURES / "uncatalogued")], config=config)
    assert {f.severity for f in result.findings} == {"low"}


def task_definitions(case: str) -> dict[str, TaskDefinition]:
    return {td.address: td for td in scan([str(FIXTURES / case)]).task_definitions if td.kind == "module"}


def test_map_environment_entry_span_is_the_map_item() -> None:
    result = scan([str(FIXTURES / "cloudposse")])
    by_name = {f.name: f for f in result.findings if f.rule == "EF001"}
    assert by_name["AWS_ACCESS_KEY_ID"].span.text == 'AWS_ACCESS_KEY_ID     = "AKIAIOSFODNN7EXAMPLE"'
    assert by_name["STRIPE_API_KEY"].span.text == '"STRIPE_API_KEY"      = var.stripe_api_key'
    assert by_name["STRIPE_API_KEY"].preview == "var.stripe_api_key"  # the reference, not a value
    assert by_name["DB_PASSWORD"].span.text == '{ name = "DB_PASSWORD", value = var.db_password }'


def test_container_names_and_secrets() -> None:
    tds = task_definitions("tam_service")
    orders = tds["module.orders"]
    assert [c.name for c in orders.containers] == ["orders", "envoy-proxy"]  # map key, else `name`
    assert [s.name for s in orders.containers[0].secrets] == ["API_TOKEN"]
    cloudposse = task_definitions("cloudposse")
    worker = cloudposse["module.worker_container"]
    assert [c.name for c in worker.containers] == ["worker"]
    assert [s.name for s in worker.containers[0].secrets] == ["DB_PASSWORD"]  # map_secrets
    api = cloudposse["module.api_container"]
    assert [s.name for s in api.containers[0].secrets] == ["JWT_SIGNING_KEY"]


def test_execution_roles() -> None:
    service = task_definitions("tam_service")
    created = service["module.orders"].execution_role
    assert isinstance(created, Other) and "create_task_exec_iam_role defaults to true" in created.kind
    assert "task_exec_secret_arns" in created.kind
    given = service["module.legacy"].execution_role  # create_task_exec_iam_role = false
    assert isinstance(given, Str) and given.value == "arn:aws:iam::123456789012:role/legacy-exec"
    cloudposse = task_definitions("cloudposse")
    consumer = cloudposse["module.api_container"].execution_role  # from the task definition using the output
    assert isinstance(consumer, Ref) and consumer.source == "aws_iam_role.exec.arn"
    unused = task_definitions("lookalikes")["module.api_container"].execution_role
    assert isinstance(unused, Other) and "output is used" in unused.kind
    container = task_definitions("tam_container")["module.nginx"]
    assert isinstance(container.execution_role, Str) and container.execution_role.value.endswith("role/nginx-exec")
    assert isinstance(container.task_role, Str) and container.task_role.value.endswith("role/nginx-task")
    root = task_definitions("tam_root")['module.ecs.module.service["frontend"]']
    assert isinstance(root.execution_role, Other)


def test_unresolved_inputs_are_ef003_not_clean() -> None:
    result = scan([str(FIXTURES / "unresolved")])
    assert result.exit_code == 0
    infos = sorted((f.rule, f.severity, f.resource, f.message.split(";")[0]) for f in result.findings)
    assert infos == [
        ("EF003", "info", "module.api_container",
         "not statically analysable: environment of container api: var.environment has no default value in this module"),
        ("EF003", "info", "module.api_container",
         "not statically analysable: map_environment of container api is a for expression"),
        ("EF003", "info", "module.orders",
         "container definitions not statically analysable: container_definitions of module.orders is a for expression"),
    ]


def test_git_sourced_container_definition_module_is_found(tmp_path: Path) -> None:
    """No other trigger string in the directory: the module source alone must get it parsed."""
    (tmp_path / "main.tf").write_text(
        'module "app" {\n'
        '  source = "github.com/terraform-aws-modules/terraform-aws-ecs//modules/container-definition?ref=v6.0.0"\n'
        '  name   = "app"\n'
        '  environment = [{ name = "REDIS_PASSWORD", value = "hunter2" }]\n'
        "}\n",
        encoding="utf-8",
    )
    result = scan([str(tmp_path)])
    assert [(f.rule, f.resource, f.container, f.name, f.line) for f in result.findings] == [
        ("EF001", "module.app", "app", "REDIS_PASSWORD", 4)
    ]


def test_calls_without_container_definitions_are_no_task_definitions(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'module "svc" {\n'
        '  source                 = "terraform-aws-modules/ecs/aws//modules/service"\n'
        "  create_task_definition = false\n"
        '  task_definition_arn    = "arn:aws:ecs:eu-west-1:123456789012:task-definition/svc:3"\n'
        "}\n"
        'module "cluster" {\n'
        '  source       = "terraform-aws-modules/ecs/aws"\n'
        '  cluster_name = "prod"\n'
        "}\n",
        encoding="utf-8",
    )
    result = scan([str(tmp_path)])
    assert not result.task_definitions and not result.findings and not result.errors


@pytest.mark.parametrize(
    ("source", "ef003"),
    [
        ("cloudposse/ecs-container-definition/aws", False),  # scanned itself: its findings cover it
        ("./modules/container", True),  # a module ecsfix does not read: say so
    ],
)
def test_task_definition_built_from_a_module_output(tmp_path: Path, source: str, ef003: bool) -> None:
    (tmp_path / "main.tf").write_text(
        'module "app_container" {\n'
        f'  source          = "{source}"\n'
        '  container_name  = "app"\n'
        '  container_image = "example/app:1"\n'
        '  environment = [\n'
        '    { name = "LOG_LEVEL", value = "info" },\n'
        '  ]\n'
        '}\n\n'
        'resource "aws_ecs_task_definition" "app" {\n'
        '  family                = "app"\n'
        '  container_definitions = module.app_container.json_map_encoded_list\n'
        '}\n'
    )
    result = scan([str(tmp_path)])
    assert [f.rule for f in result.findings if f.rule == "EF003"] == (["EF003"] if ef003 else [])


def test_merged_map_environment_reads_every_literal_map_and_reports_the_rest(tmp_path: Path) -> None:
    """cloudposse `map_environment = merge({...}, local.x, var.y)`: the pattern of a real module call
    that leaked a connection string; each known map is read, each unknown part is an EF003."""
    (tmp_path / "main.tf").write_text(
        'locals {\n  shared = { SENTRY_DSN_TOKEN = "hunter2hunter2", LOG_LEVEL = "info" }\n}\n'
        'module "consumer" {\n  source = "cloudposse/ecs-container-definition/aws"\n  container_name = "consumer"\n'
        '  map_environment = merge(\n    {\n      NODE_OPTIONS = "--max_old_space_size=200"\n'
        '      POSTGRES_URL = "postgres://app:hunter2@db.internal:5432/app"\n    },\n'
        '    local.shared,\n    var.consumer_environment,\n  )\n}\n', encoding="utf-8")
    result = scan([str(tmp_path)])
    got = sorted((f.rule, f.name or "", f.line) for f in result.findings)
    assert got == [("EF001", "POSTGRES_URL", 10), ("EF001", "SENTRY_DSN_TOKEN", 2), ("EF003", "", 4)]
    (info,) = [f for f in result.findings if f.rule == "EF003"]
    assert "part of map_environment (merge) of container consumer is var.consumer_environment" in info.message
    assert "hunter2" not in " ".join(f.message + (f.preview or "") for f in result.findings)
