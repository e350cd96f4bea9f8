"""The catalogue of published ECS modules whose inputs are container definitions in all but name.

One row per module: where it is published, how its inputs map onto an ECS container (the
environment and secrets inputs and their shape, the other plaintext fields, the container's name),
and who owns the task execution role. `ecs_modules.py` turns a call of any row into the same
model as an `aws_ecs_task_definition`; the rewrite reads the same rows. Adding a module is one row
here and a fixture in tests/fixtures/ecs_modules/ (plus a lookup case in the tests, and a hint in
`prefilter.HINTS` if none of those is in its sources yet).

Every row was checked against the module's own `variables.tf` and where it uses each input:

* cloudposse `ecs-container-definition`: one container per call (`container_name`);
  `environment` (list of `{name, value}`) and `map_environment` (map; the module prefers it when
  both are set); `secrets` / `map_secrets` likewise. The task definition is wherever the module's
  JSON output is used, and so is its execution role.
* terraform-aws-modules `ecs`: `//modules/service` takes `container_definitions = { key = {
  name, environment, secrets, ... } }` (the container is named `name`, else the map key) and creates
  the execution role unless `create_task_exec_iam_role = false`, granting it the ARNs in
  `task_exec_secret_arns`; `//modules/container-definition` is one container per call (`name`);
  the root module takes `services = { svc = { container_definitions = {...} } }`.
* cn-terraform `ecs-fargate-task-definition` and `ecs-fargate` (which calls it): cloudposse's inputs
  under the same names (`map_secrets` only in the former); the execution role is created by the
  module unless `execution_role_arn` is given (always, for `ecs-fargate`). cn-terraform
  `ecs-fargate-service` takes a task definition ARN, no environment: it has no row.
* umotif-public `ecs-fargate` and `ecs-fargate-task-definition`, telia-oss `ecs-fargate`:
  `task_container_environment` (map), `task_container_secrets` (list), `task_container_command`;
  the module creates the execution role (telia-oss grants it the secrets in `task_container_secrets`).
* mongodb `ecs-task-definition`: the ECS field names as inputs (`name`, `environment` as a list,
  `secrets`, `command`, `entryPoint`, `dockerLabels`, `healthCheck`, `repositoryCredentials`), and
  `execution_role_arn` / `task_role_arn` as given (no role is created).
* it-objects `terra3` `//modules/container`: one container per call (`name`), cloudposse's
  `environment`/`map_environment`/`secrets`/`map_secrets`; terra3 builds the task definition from
  its output, so the execution role is the consumer's.
* infrablocks `ecs-service` (`service_task_container_definitions`) and cloudposse
  `ecs-alb-service-task` (`container_definition_json`): the whole container definitions as JSON,
  usually a rendered template or `jsonencode([...])` written by the caller (another module's output
  is that module's call, read on its own); the execution role is created by the module unless
  `task_execution_role_arn` / `task_exec_role_arn` is given.
* blinkist `airship-ecs-service`: `container_envvars` (map), `container_secrets` (map of name to
  SSM/Secrets Manager ARN), `container_command`, `container_docker_labels`; the module creates the
  execution role (with read access to the secrets when `container_secrets_enabled = true`).

This module is data and the source matcher; the pre-filter's text tests (`prefilter.py`, imported
at start-up) hold the short source hints that every row's sources contain (a test checks it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# The four kinds the rewrite (`rewrite/forms/module_inputs.py`) knows by name; `module_kind` returns them.
CLOUDPOSSE = "cloudposse ecs-container-definition"
TAM_ROOT = "terraform-aws-modules ecs"
TAM_SERVICE = "terraform-aws-modules ecs service"
TAM_CONTAINER = "terraform-aws-modules ecs container-definition"

LIST = "list"  # a list of {name, value} (environment) or {name, valueFrom} (secrets) objects
MAP = "map"  # a map of name -> value (environment) or name -> ARN (secrets)

# Container fields other than environment and secrets, by the ECS name `extract.container_of` reads.
_FIELDS = {
    "command": "command",
    "entrypoint": "entryPoint",
    "entryPoint": "entryPoint",
    "docker_labels": "dockerLabels",
    "dockerLabels": "dockerLabels",
    "healthcheck": "healthCheck",
    "health_check": "healthCheck",
    "healthCheck": "healthCheck",
    "repository_credentials": "repositoryCredentials",
    "repositoryCredentials": "repositoryCredentials",
}


@dataclass(frozen=True)
class Input:
    name: str
    shape: str  # LIST or MAP


@dataclass(frozen=True)
class Row:
    """One published module (or one subdirectory of it)."""

    family: str  # shown in messages; for the four rewritten kinds, the kind itself
    registry: str  # "namespace/name/provider" as on the Terraform registry
    subdir: str = ""  # "modules/service" of `//modules/service`
    # "container": one container per call, the inputs are its fields; "service": a
    # `container_definitions` map of container objects; "services": a `services` map of those;
    # "definitions": one input (`definitions_input`) is the task's container definitions, as JSON.
    shape: str = "container"
    definitions_input: str | None = None
    name_input: str | None = None  # the input naming the container ("container" shape)
    environment: tuple[Input, ...] = ()  # read in this order; entries of every one are scanned
    # Where `secrets` go. The first that the call sets wins, else the first; the rewrite moves
    # entries there (a MAP input takes `NAME = "arn"` items, a LIST input `{ name, valueFrom }`).
    secrets: tuple[Input, ...] = ()
    fields: dict[str, str] = field(default_factory=lambda: dict(_FIELDS))  # input -> ECS field
    # Who owns the execution role: "consumer" (the task definition using the module's output),
    # "input" (the `role_input` as given), "created" (by the module), "created-unless-input"
    # (by the module unless `role_input` is set), "terraform-aws-modules" (its own rules).
    execution_role: str = "consumer"
    role_input: str | None = None
    task_role_input: str | None = None
    how_granted: str = ""  # how the created role gets read access to secrets, for messages
    rewritable: bool = False  # `ecsfix rewrite` moves this module's inputs (rewrite/forms/module_inputs.py)
    any_owner: bool = False  # match git sources of forks (same repository name, any owner)

    @property
    def kind(self) -> str | None:
        """The rewrite's name for this module, when it rewrites it."""
        return self.family if self.rewritable else None

    def git_suffix(self) -> str:
        namespace, name, provider = self.registry.split("/")
        repo = f"terraform-{provider}-{name}"
        return repo if self.any_owner else f"{namespace}/{repo}"


_CLOUDPOSSE_ENV = (Input("environment", LIST), Input("map_environment", MAP))
_CLOUDPOSSE_SECRETS = (Input("map_secrets", MAP), Input("secrets", LIST))
_TASK_CONTAINER = {"task_container_command": "command", "task_container_entrypoint": "entryPoint",
                   "task_container_health_check": "healthCheck"}

CATALOGUE: tuple[Row, ...] = (
    Row(CLOUDPOSSE, "cloudposse/ecs-container-definition/aws", name_input="container_name",
        environment=_CLOUDPOSSE_ENV, secrets=_CLOUDPOSSE_SECRETS, rewritable=True, any_owner=True),
    Row(TAM_ROOT, "terraform-aws-modules/ecs/aws", shape="services", execution_role="terraform-aws-modules",
        environment=(Input("environment", LIST),), secrets=(Input("secrets", LIST),), rewritable=True),
    Row(TAM_SERVICE, "terraform-aws-modules/ecs/aws", subdir="modules/service", shape="service",
        execution_role="terraform-aws-modules", environment=(Input("environment", LIST),),
        secrets=(Input("secrets", LIST),), rewritable=True),
    Row(TAM_CONTAINER, "terraform-aws-modules/ecs/aws", subdir="modules/container-definition", name_input="name",
        environment=(Input("environment", LIST),), secrets=(Input("secrets", LIST),), rewritable=True),
    Row("cn-terraform ecs-fargate-task-definition", "cn-terraform/ecs-fargate-task-definition/aws",
        name_input="container_name", environment=_CLOUDPOSSE_ENV, secrets=_CLOUDPOSSE_SECRETS,
        execution_role="created-unless-input", role_input="execution_role_arn", task_role_input="task_role_arn",
        how_granted="through ecs_task_execution_role_custom_policies"),
    Row("cn-terraform ecs-fargate", "cn-terraform/ecs-fargate/aws", name_input="container_name",
        environment=_CLOUDPOSSE_ENV, secrets=(Input("secrets", LIST),), execution_role="created",
        how_granted="through ecs_task_execution_role_custom_policies"),
    Row("umotif-public ecs-fargate", "umotif-public/ecs-fargate/aws", name_input="container_name",
        environment=(Input("task_container_environment", MAP),), secrets=(Input("task_container_secrets", LIST),),
        fields=_TASK_CONTAINER, execution_role="created"),
    Row("umotif-public ecs-fargate-task-definition", "umotif-public/ecs-fargate-task-definition/aws",
        name_input="container_name", environment=(Input("task_container_environment", MAP),),
        secrets=(Input("task_container_secrets", LIST),), fields=_TASK_CONTAINER, execution_role="created"),
    Row("telia-oss ecs-fargate", "telia-oss/ecs-fargate/aws", name_input="container_name",
        environment=(Input("task_container_environment", MAP),), secrets=(Input("task_container_secrets", LIST),),
        fields=_TASK_CONTAINER, execution_role="created", how_granted="for the secrets in task_container_secrets"),
    Row("mongodb ecs-task-definition", "mongodb/ecs-task-definition/aws", name_input="name",
        environment=(Input("environment", LIST),), secrets=(Input("secrets", LIST),), execution_role="input",
        role_input="execution_role_arn", task_role_input="task_role_arn"),
    Row("blinkist airship-ecs-service", "blinkist/airship-ecs-service/aws", name_input="container_name",
        environment=(Input("container_envvars", MAP),), secrets=(Input("container_secrets", MAP),),
        fields={"container_command": "command", "container_docker_labels": "dockerLabels"},
        execution_role="created", how_granted="when container_secrets_enabled = true"),
    Row("infrablocks ecs-service", "infrablocks/ecs-service/aws", shape="definitions",
        definitions_input="service_task_container_definitions", execution_role="created-unless-input",
        role_input="task_execution_role_arn", task_role_input="task_role_arn"),
    Row("cloudposse ecs-alb-service-task", "cloudposse/ecs-alb-service-task/aws", shape="definitions",
        definitions_input="container_definition_json", execution_role="created-unless-input",
        role_input="task_exec_role_arn", task_role_input="task_role_arn"),
    Row("it-objects terra3 container", "it-objects/terra3/aws", subdir="modules/container", name_input="name",
        environment=_CLOUDPOSSE_ENV, secrets=_CLOUDPOSSE_SECRETS),
)

_SUBDIR_RE = re.compile(r"(?<!:)//")  # `//` of a module subdirectory, not of `https://`
_REGISTRY_HOST_RE = re.compile(r"^(?:registry\.terraform\.io|registry\.opentofu\.org)/")


def split_source(source: str) -> tuple[str, str, str]:
    """A module source as (registry address or "", git location or "", subdirectory), lower-case."""
    base = source.strip().partition("?")[0]
    parts = _SUBDIR_RE.split(base, maxsplit=1)
    location = parts[0].lower()
    sub = parts[1].strip("/").lower() if len(parts) > 1 else ""
    if location.startswith("git::"):
        location = location[len("git::"):]
    location = location.removesuffix("/").removesuffix(".git")
    return _REGISTRY_HOST_RE.sub("", location), location, sub


def lookup(source: str) -> Row | None:
    """The catalogue row a module `source` names (registry address or git URL), or None."""
    registry, location, sub = split_source(source)
    for row in CATALOGUE:
        if row.subdir == sub and (registry == row.registry or _git_match(location, row)):
            return row
    return None


def _git_match(location: str, row: Row) -> bool:
    suffix = row.git_suffix()
    if not location.endswith(suffix):
        return False
    # `github.com/acme/terraform-aws-ecs-fargate` is not telia-oss's; a fork keeps the repository name
    return row.any_owner or len(location) == len(suffix) or location[-len(suffix) - 1] in "/:"


def module_kind(source: str) -> str | None:
    """Which of the modules `ecsfix rewrite` rewrites a `source` names, or None."""
    row = lookup(source)
    return row.kind if row is not None else None


def is_local(source: str) -> bool:
    return source.startswith(("./", "../"))
