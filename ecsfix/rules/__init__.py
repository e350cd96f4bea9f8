"""Rule metadata: stable ids, severities, fixability and the text `ecsfix explain` prints.

The checks themselves live one per module next to this file; this registry is what reporters,
`ecsfix rules` and `ecsfix explain` read.
"""

from __future__ import annotations

from dataclasses import dataclass

DOCS = "https://github.com/ecsfix/ecsfix#rules"


@dataclass(frozen=True)
class Rule:
    id: str
    name: str  # PascalCase, for SARIF `rules[].name`
    severity: str
    fixable: bool
    summary: str
    explain: str

    @property
    def help_uri(self) -> str:
        return f"{DOCS}-{self.id.lower()}"


_RULES = [
    Rule(
        "EF001",
        "PlaintextSecretInEnvironment",
        "high",
        True,
        "secret-like value passed in a container `environment` entry",
        """\
Every value in a container definition's `environment` list is plaintext: anyone who can call
ecs:DescribeTaskDefinition sees it, and so do the console, Terraform state and CI logs. Values
that are passwords, API keys, tokens, DSNs with credentials or AWS keys belong in the `secrets`
list, where ECS fetches them from AWS Secrets Manager (or SSM Parameter Store) when the task
starts, through the task execution role.

ecsfix flags an entry by its name (word tokens such as PASSWORD, PWD, PW, SECRET, TOKEN,
API_KEY, AWS_SECRET_ACCESS_KEY; AWS access key ids under any prefix; an access key id next to
its secret access key) or by its value (AWS access key ids, private keys, JWTs, URLs with a
password, vendor token shapes, high-entropy strings; an entry without a name on its value
alone). When neither says enough, where the value comes from may: a variable, local or map named
or described as a secret (`var.secrets["api_key"]`, description "server-side SDK key"), or a
credential by definition (random_password.x.result, aws_iam_access_key.x.secret, a Secrets
Manager secret_string). A variable without a default, or with a null or "" default, is set
elsewhere: a secret name passing it is flagged. Names that conventionally hold a URL with
credentials (DATABASE_URL, REDIS_URL, MONGO_URI, CELERY_BROKER_URL) passing such a variable are
flagged medium ("may embed credentials"), high when terraform.tfvars or *.auto.tfvars next to
the module set it with credentials, and not at all when they set it without.

Not flagged: names that point to a secret rather than hold one (DB_SECRET_ARN,
TOKEN_TTL_SECONDS, PASSWORD_FILE), SSH_KEY key-pair names and public keys, keys under
browser-bundle prefixes (VITE_, NEXT_PUBLIC_), booleans, numbers and variables declared bool or
number, whatever the name.

Entries are read wherever a container's environment is written: task definitions in every form,
and the inputs of the ECS modules in ecsfix's catalogue (cloudposse, terraform-aws-modules,
cn-terraform, umotif-public, telia-oss, mongodb, blinkist airship, it-objects terra3: `environment`,
`map_environment`, `task_container_environment`, `container_envvars`, ...; infrablocks ecs-service
and cloudposse ecs-alb-service-task: the container definitions JSON they take). A registry or git
module outside the catalogue is read by its input names (an `environment`/`env_vars`-like input
written as a list of {name, value} or a map): such findings are `medium` at most and say "module
not in the catalogue". Only calls of cloudposse ecs-container-definition and terraform-aws-modules
ecs are rewritten; for the others the message names the module's own secrets input to move the
entry to by hand.

Calls of your own local modules are followed as Terraform evaluates them: the child's variables
take the call's arguments, so a container definition rendered by the caller, an environment list
passed in, or a password the child puts in its own entry is found, at the entry, with the
argument that carried it named (`via module.api.db_password at envs/prod/main.tf:41`). Such a
finding is fixed by hand: make the child take a secret ARN (its `secrets`) and pass the ARN.

Before:
    environment = [
      { name = "DB_PASSWORD", value = var.db_password },
    ]
After (`ecsfix rewrite --write`):
    secrets = [
      { name = "DB_PASSWORD", valueFrom = "${aws_secretsmanager_secret.app_secrets.arn}:DB_PASSWORD::" },
    ]
plus the aws_secretsmanager_secret, its version and an aws_iam_role_policy on the execution role.
A literal value is never copied: it becomes a sensitive variable, and it must be rotated because
it is in git history.

Suppress one entry with a comment on it or on the line above:
    # ecsfix:ignore EF001 value is a public demo key""",
    ),
    Rule(
        "EF002",
        "PlaintextSecretInContainerField",
        "high",
        False,
        "secret-like literal in `command`, `entryPoint`, `dockerLabels` or `healthCheck.command`",
        """\
Container fields other than `environment` are plaintext too. A password passed as a command-line
flag (`--password=hunter2`), an API key in a Docker label or a token in a health check command is
visible to everyone who can describe the task definition, and often in process listings.

Fix: move the value to `secrets` (it then arrives as an environment variable) and read it from
the environment in the command, e.g. `["sh", "-c", "exec app --password \\"$DB_PASSWORD\\""]`.
ecsfix does not rewrite these automatically: the command has to change too.""",
    ),
    Rule(
        "EF003",
        "NotStaticallyAnalysable",
        "info",
        False,
        "container definitions cannot be analysed statically (scan a plan instead)",
        """\
Some container definitions are only known when Terraform plans: built with `for` expressions,
`merge`/`concat`, module outputs or values unknown until apply. ecsfix says so instead of
calling them clean. Scan a plan to see the resolved definitions:

    terraform plan -out plan.out && terraform show -json plan.out > plan.json
    ecsfix scan plan.json

This finding is informational: it is shown but never changes the exit code.""",
    ),
    Rule(
        "EF101",
        "SecretsWithoutExecutionRole",
        "high",
        True,
        "container uses `secrets`/`repositoryCredentials` but the task definition has no `execution_role_arn`",
        """\
ECS pulls `secrets` and private registry credentials with the task *execution* role before the
container starts. Without `execution_role_arn` the task fails with
`ResourceInitializationError: unable to pull secrets or registry auth`. A task role
(`task_role_arn`) does not help: it is the role of the application, not of the agent.

Fix: set `execution_role_arn` to a role that trusts ecs-tasks.amazonaws.com, has
AmazonECSTaskExecutionRolePolicy attached, and may read the referenced secrets.""",
    ),
    Rule(
        "EF102",
        "ExecutionRoleCannotReadSecret",
        "high",
        True,
        "execution role has no statement granting `secretsmanager:GetSecretValue` / `ssm:GetParameters` on a referenced secret",
        """\
The execution role must be allowed `secretsmanager:GetSecretValue` on each Secrets Manager
secret (its ARN, without the `:json-key::` suffix) and `ssm:GetParameters` on each SSM
parameter that a container's `secrets` reference. AmazonECSTaskExecutionRolePolicy grants ECR
and CloudWatch Logs access only, not secrets. Otherwise tasks fail at start with
`ResourceInitializationError ... AccessDeniedException`.

Fix:
    resource "aws_iam_role_policy" "app_secrets" {
      role = aws_iam_role.exec.id
      policy = jsonencode({
        Version   = "2012-10-17"
        Statement = [{ Effect = "Allow", Action = ["secretsmanager:GetSecretValue"],
                       Resource = [aws_secretsmanager_secret.app.arn] }]
      })
    }

ecsfix reads the policies attached to the role in the same module (`aws_iam_role_policy`,
attachments of `aws_iam_policy`, `inline_policy` blocks, `managed_policy_arns`, policy
documents as `jsonencode`, heredoc, file or `data "aws_iam_policy_document"`) and evaluates them
as IAM does: wildcards in actions and resources, an explicit Deny overriding any Allow. A role
defined elsewhere (a variable, a data source, a literal ARN) cannot be verified: that is shown
as an info finding ("cannot verify"), which never changes the exit code.""",
    ),
    Rule(
        "EF103",
        "MalformedValueFrom",
        "high",
        True,
        "malformed `valueFrom` (JSON key without both trailing colons, stage and version both set, SSM name/ARN errors)",
        """\
A Secrets Manager `valueFrom` that selects a JSON key must keep every colon:
`<secret-arn>:<json-key>:<version-stage>:<version-id>`, e.g. `...:secret:prod/db-AbCdEf:password::`.
`<arn>:password` (no trailing colons) fails at task start with
`InvalidParameter ... GetSecretValueInput.VersionId`. Version stage and version id are mutually
exclusive. An SSM parameter is referenced by its full ARN or, in the same Region, by its name
(`/app/db/password`), not by a fragment of an ARN.

Fix: append the missing colons (`:password::`).""",
    ),
    Rule(
        "EF104",
        "ExecutionRoleCannotDecrypt",
        "high",
        True,
        "secret encrypted with a customer managed KMS key but the execution role has no `kms:Decrypt`",
        """\
A secret encrypted with a customer managed KMS key (`kms_key_id`) can only be read by a role
that may also `kms:Decrypt` with that key. The AWS managed key `aws/secretsmanager` needs no
extra permission. Otherwise tasks fail at start with `ResourceInitializationError ...
AccessDeniedException`.

Fix: add `kms:Decrypt` on the key's ARN to the execution role's policy.""",
    ),
    Rule(
        "EF105",
        "NoNetworkPathToSecretsManager",
        "medium",
        False,
        "service runs in subnets without public IP and the configuration has no Secrets Manager/SSM VPC endpoint nor NAT gateway",
        """\
Tasks in private subnets (`assign_public_ip = false`) reach Secrets Manager only through a NAT
gateway or a `com.amazonaws.<region>.secretsmanager` interface VPC endpoint (`ssm` for
Parameter Store, `kms` for customer managed keys). Without either, tasks fail at start with
`ResourceInitializationError ... dial tcp ...:443: i/o timeout` or `context deadline exceeded`.
Services whose tasks run on EC2 instances (`launch_type = "EC2"`, an Auto Scaling group capacity
provider, an EC2-only task definition) are not checked: there the container agent fetches the
secrets over the instance's network.

The warning is about this configuration only: when the subnets come from a variable and the NAT
gateway or endpoints are managed in another configuration, suppress it where it is reported
(the `assign_public_ip` line, or `network_configuration` when that is not set):
`# ecsfix:ignore EF105 NAT in the network stack`.

Fix:
    resource "aws_vpc_endpoint" "secretsmanager" {
      vpc_id              = aws_vpc.main.id
      service_name        = "com.amazonaws.${data.aws_region.current.name}.secretsmanager"
      vpc_endpoint_type   = "Interface"
      subnet_ids          = aws_subnet.private[*].id
      security_group_ids  = [aws_security_group.endpoints.id]
      private_dns_enabled = true
    }""",
    ),
]

RULES: dict[str, Rule] = {r.id: r for r in _RULES}


def get(rule_id: str) -> Rule | None:
    return RULES.get(rule_id.upper())
