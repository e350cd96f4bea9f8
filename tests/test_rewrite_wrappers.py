"""`ecsfix rewrite` of calls of your own local ECS wrapper modules (rewrite/forms/wrapper_calls.py).

The caller writes the entries in the call's arguments; the child puts that input into a container's
environment. Entries move into the secrets input the child takes (read from the child's code), the
values into a secret generated next to the call. Fixtures in tests/fixtures/rewrite_wrappers (a
caller under envs/, its wrapper under modules/), one real-world shape each, every file fmt-clean.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from ecsfix.cli import main
from ecsfix.hclparse import parse_file
from ecsfix.model import SourceFile
from ecsfix.rewrite.engine import RewriteResult, rewrite, write_change
from ecsfix.scan import scan

from .tf import require_terraform

FIXTURES = Path(__file__).parent / "fixtures" / "rewrite_wrappers"
SNAPSHOTS = Path(__file__).parent / "snapshots" / "rewrite_wrappers"


@dataclass(frozen=True)
class Case:
    fixture: str
    caller: str  # the caller's directory in the fixture
    moved: tuple[str, ...]
    literals: tuple[str, ...]  # fake secret literals that must leave every file
    kept: tuple[str, ...] = ()  # entries that stay in the environment
    notes: tuple[str, ...] = ()  # substrings of the notes left for a human
    policy: str | None = None  # the generated policy's `role`, when one is generated


CASES = [
    Case("list_role_in_caller", "envs/prod", ("DB_PASSWORD", "PARTNER_API_TOKEN"), ('"hunter2"',), ("LOG_LEVEL",),
         policy="aws_iam_role.exec.id"),
    Case("map_two_calls", "envs/qa", ("STRIPE_SECRET_KEY", "BROKER_PASSWORD"), ('"sk-hunter2-Str1pe"', '"hunter2-mq"'),
         ("ENVIRONMENT", "LOG_LEVEL"), policy='regex("[^/]+$", module.ecs_task_execution_iam.execution_role_arn)'),
    Case("child_role_output", "envs/prod", ("SENTRY_AUTH_TOKEN",), ('"sntrys-hunter2-B1ll"',), ("REGION",),
         policy="module.billing[count.index].execution_role_name"),
    Case("child_grants", "envs/prod", ("BROKER_PASSWORD",), (), ("QUEUE_NAME",)),
    Case("child_grants_as_given", "envs/prod", ("SESSION_SECRET",), ('"hunter2-s3ss10n"',), ("PORT",),
         ("module.web: the execution role aws_iam_role.exec is created in ../../modules/svc (its policy "
          "aws_iam_role_policy.secrets grants the valueFrom ARNs as given, which the `:KEY::` ending of the moved "
          "entries does not match) and no output returns "
          "it: grant it secretsmanager:GetSecretValue on aws_secretsmanager_secret.web_secrets.arn there",)),
]
IDS = [c.fixture for c in CASES]
BY_NAME = {c.fixture: c for c in CASES}


def _copy(case: Case, tmp_path: Path) -> Path:
    dst = tmp_path / case.fixture
    shutil.copytree(FIXTURES / case.fixture, dst)
    return dst


def _run(directory: Path) -> RewriteResult:
    result = rewrite([str(directory)])
    assert not result.errors, result.errors
    return result


def _changes(case: Case, tmp_path: Path) -> tuple[Path, RewriteResult]:
    root = _copy(case, tmp_path)
    result = _run(root / case.caller)
    assert result.changes, result.notes
    return root, result


def _fmt_check(text: str) -> int:
    tf = require_terraform()
    env = dict(os.environ, TF_CLI_CONFIG_FILE="/dev/null")
    return subprocess.run([tf, "fmt", "-check", "-"], input=text.encode(), env=env, capture_output=True,
                          check=False).returncode


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_diff_snapshot(case: Case, tmp_path: Path, snapshot) -> None:  # type: ignore[no-untyped-def]
    snapshot.snapshot_dir = SNAPSHOTS
    _, result = _changes(case, tmp_path)
    diffs = []
    for change in sorted(result.changes, key=lambda c: c.path):
        change.display = f"{case.fixture}/{case.caller}/{os.path.basename(change.path)}"
        diffs.append(change.diff())
    snapshot.assert_match("".join(diffs).encode(), f"{case.fixture}.diff")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_moved_notes_and_grant(case: Case, tmp_path: Path) -> None:
    _, result = _changes(case, tmp_path)
    assert sorted(m.name for m in result.moved) == sorted(case.moved)
    for note in case.notes:
        assert any(note in n for n in result.notes), result.notes
    assert len(result.notes) == len(case.notes), result.notes
    new = "".join(c.new for c in result.changes)
    assert all(c.path.endswith(os.path.join(case.caller, "main.tf")) for c in result.changes)  # the child is untouched
    if case.policy:
        assert f"role = {case.policy}\n" in new.replace("  role =", " role =").replace("  role", "role")
    else:
        assert "aws_iam_role_policy" not in new


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_output_parses_and_stays_fmt_clean(case: Case, tmp_path: Path) -> None:
    _, result = _changes(case, tmp_path)
    for change in result.changes:
        blocks = parse_file(SourceFile(path=change.path, display=change.display, text=change.new))
        assert {"aws_secretsmanager_secret", "aws_secretsmanager_secret_version"} <= {
            b.labels[0] for b in blocks if b.type == "resource"}
        assert _fmt_check(change.original) == 0, "fixture must start fmt-clean"
        assert _fmt_check(change.new) == 0, change.new


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_rescan_is_clean_and_reads_the_moved_entries_as_secrets(case: Case, tmp_path: Path) -> None:
    root, result = _changes(case, tmp_path)
    for change in result.changes:
        write_change(change)
    after = scan([str(root / case.caller)])
    assert not after.errors
    assert not {f.name for f in after.findings if f.rule == "EF001"} & set(case.moved)
    # evaluated through the call again: the child's container reads them from its secrets input
    child = scan([str(root / case.caller)]).task_definitions
    env = {e.name for td in child for c in td.containers for e in c.environment}
    assert not env & set(case.moved)
    again = _run(root / case.caller)
    assert again.changes == [] and again.moved == []  # idempotent


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_kept_entries_stay_and_literals_go(case: Case, tmp_path: Path) -> None:
    root, result = _changes(case, tmp_path)
    originals = "".join(c.original for c in result.changes)
    for literal in case.literals:
        assert literal in originals  # guard: the fixture really holds it
    for change in result.changes:
        write_change(change)
    text = (root / case.caller / "main.tf").read_text()
    for literal in case.literals:
        assert literal.strip('"') not in text
    for name in case.kept:
        assert name in text


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_no_value_in_any_rewrite_output(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    root = _copy(case, tmp_path)
    monkeypatch.chdir(root)
    outputs = []
    for args in (["rewrite", case.caller], ["rewrite", "--format", "json", case.caller],
                 ["rewrite", "--check", case.caller], ["rewrite", "--summary", "s.md", case.caller]):
        main(args)
        out, err = capsys.readouterr()
        outputs.append(out + err)
    outputs.append((root / "s.md").read_text())
    for output in outputs:
        for literal in case.literals:
            assert literal.strip('"') not in output
        assert "hunter2" not in output.replace("hu******", "")


def test_scan_fixable_agrees_with_the_rewrite(tmp_path: Path) -> None:
    for case in CASES + [Case("no_secrets_input", "envs/prod", (), ())]:
        root = _copy(case, tmp_path)
        findings = [f for f in scan([str(root / case.caller)]).findings if f.rule == "EF001"]
        moved = {(m.task_definition, m.container, m.name) for m in _run(root / case.caller).moved}
        assert findings
        for f in findings:
            assert f.fixable == ((f.resource, f.container, f.name) in moved), f.message
            assert ("run `ecsfix rewrite` to preview the fix" in f.message) == f.fixable


def test_no_secrets_input_names_the_input_to_add(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _copy(Case("no_secrets_input", "envs/prod", (), ()), tmp_path)
    result = _run(root / "envs" / "prod")
    why = ('module.app (../../modules/app) has no secrets input: add a variable "secrets" (map of name => secret '
           "ARN) that feeds the container's secrets, then re-run")
    assert result.changes == [] and result.moved == []
    assert result.notes == [f"{root / 'envs' / 'prod' / 'main.tf'}:1: module.app: not rewritten: {why}; "
                            "move the entries by hand"]
    main(["scan", "--format", "json", "--no-cache", str(root / "envs" / "prod")])
    finding = json.loads(capsys.readouterr().out)["findings"][0]
    assert finding["fixable"] is False and f"(ecsfix rewrite leaves it: {why})" in finding["message"]


# --------------------------------------------------------------------------- shapes, one file pair each

SERVICE = """\
variable "name" {{
  type = string
}}
variable "environment" {{
  type    = list(object({{ name = string, value = string }}))
  default = []
}}
{secrets_variable}
variable "execution_role_arn" {{
  type    = string
  default = null
}}
{extra}
resource "aws_ecs_task_definition" "this" {{
  family             = var.name
  execution_role_arn = {role}
  container_definitions = jsonencode([{{
    name        = var.name
    image       = "nginx"
    environment = var.environment
{secrets_line}  }}])
}}
"""
LIST_SECRETS = 'variable "secrets" {\n  type    = list(any)\n  default = []\n}\n'


def _pair(tmp_path: Path, call: str, *, secrets_variable: str = LIST_SECRETS,
          secrets_line: str = "    secrets     = var.secrets\n", role: str = "var.execution_role_arn",
          extra: str = "") -> Path:
    (tmp_path / "modules" / "svc").mkdir(parents=True)
    (tmp_path / "modules" / "svc" / "main.tf").write_text(SERVICE.format(
        secrets_variable=secrets_variable, secrets_line=secrets_line, role=role, extra=extra))
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.tf").write_text(
        'resource "aws_iam_role" "exec" {\n  name = "exec"\n  assume_role_policy = "{}"\n}\n\n'
        'module "api" {\n  source = "../modules/svc"\n  name   = "api"\n' + call + "}\n")
    return tmp_path / "app"


ENV = '  environment = [\n    { name = "DB_PASSWORD", value = "hunter2" },\n  ]\n'
ROLE = "  execution_role_arn = aws_iam_role.exec.arn\n"
SHAPES = [
    # (id, call arguments, child overrides, moved?, note substring)
    ("for-name-valuefrom-list", ROLE + ENV, {"secrets_line": (
        "    secrets     = [for s in var.secrets : { name = s.name, valueFrom = s.valueFrom }]\n")}, True, None),
    ("for-over-map-named-task_secrets", ROLE + ENV.replace("environment", "environment"), {
        "secrets_variable": 'variable "task_secrets" {\n  type    = map(string)\n  default = {}\n}\n',
        "secrets_line": "    secrets     = [for k, v in var.task_secrets : { name = k, valueFrom = v }]\n"}, True, None),
    ("secrets-named-but-unused", ROLE + ENV, {"secrets_line": ""}, False, "has no secrets input"),
    ("a-for-that-reshapes-valuefrom", ROLE + ENV, {"secrets_line": (
        "    secrets     = [for k, v in var.secrets : { name = k, valueFrom = v.arn }]\n")}, False,
     "has no secrets input"),
    ("existing-secrets-is-a-reference", ROLE + ENV + "  secrets = local.shared_secrets\n", {}, True, None),
    ("existing-secrets-of-the-wrong-shape", ROLE + ENV + '  secrets = { A = "arn:x" }\n', {}, False,
     "the call's secrets is not the list ../modules/svc reads"),
    ("the-same-name-already-in-secrets", ROLE + ENV + '  secrets = [{ name = "DB_PASSWORD", valueFrom = "arn:x" }]\n',
     {}, False, "DB_PASSWORD: the call's secrets already has an entry of that name"),
    ("role-variable-not-passed", ENV, {}, False,
     "the call does not pass execution_role_arn, the execution role of ../modules/svc's task definition"),
    ("no-role-in-the-child", ENV, {"role": "null"}, False, "has no execution_role_arn: give it one (EF101)"),
    ("role-inside-an-object-the-call-passes", '  cluster = module.cluster\n' + ENV,
     {"role": "var.cluster.task_execution_role.arn", "extra": 'variable "cluster" {\n  type = any\n}\n'}, True, None),
    ("role-inside-an-object-written-in-the-call", '  cluster = { role = "x" }\n' + ENV,
     {"role": "var.cluster.role", "extra": 'variable "cluster" {\n  type = any\n}\n'}, True,
     "(var.cluster.role) is not one ecsfix follows: grant it secretsmanager:GetSecretValue"),
    ("role-literal-arn-in-the-child", ENV, {"role": '"arn:aws:iam::123456789012:role/svc-exec"'}, True, None),
    ("entry-in-a-concat", ROLE + '  environment = concat([{ name = "DB_PASSWORD", value = "hunter2" }], [])\n', {},
     False, "it is not an item of a literal list or map argument of the call"),
]


@pytest.mark.parametrize("call,child,moves,note", [s[1:] for s in SHAPES], ids=[s[0] for s in SHAPES])
def test_shapes(tmp_path: Path, call: str, child: dict[str, str], moves: bool, note: str | None) -> None:
    app = _pair(tmp_path, call, **child)
    result = _run(app)
    assert [m.name for m in result.moved] == (["DB_PASSWORD"] if moves else [])
    if note:
        assert any(note in n for n in result.notes), result.notes
        if moves:  # the entries move; the note names the grant to add by hand
            assert "aws_iam_role_policy" not in "".join(c.new for c in result.changes)
    else:
        assert result.notes == []
    findings = [f for f in scan([str(app)]).findings if f.rule == "EF001"]
    assert [f.fixable for f in findings] == [moves]  # scan says what the rewrite does
    for change in result.changes:
        write_change(change)
    if moves:
        assert not [f for f in scan([str(app)]).findings if f.rule == "EF001"]
        assert _run(app).changes == []
    assert all("hunter2" not in n for n in result.notes)
    if call.startswith("  cluster = module.cluster"):
        assert 'role = regex("[^/]+$", module.cluster.task_execution_role.arn)' in main_tf(app)


def main_tf(app: Path) -> str:
    return (app / "main.tf").read_text()


def test_entries_in_a_local_the_call_passes(tmp_path: Path) -> None:
    """`environment = local.api_env`: the entry leaves the local (read by this call alone)."""
    app = _pair(tmp_path, ROLE + "  environment = local.api_env\n")
    locals_tf = app / "locals.tf"
    locals_tf.write_text('locals {\n  api_env = [\n    { name = "DB_PASSWORD", value = "hunter2" },\n'
                         '    { name = "PORT", value = "8080" },\n  ]\n}\n')
    [finding] = [f for f in scan([str(app)]).findings if f.rule == "EF001"]
    assert finding.fixable
    result = _run(app)
    assert [m.name for m in result.moved] == ["DB_PASSWORD"] and result.notes == []
    for change in result.changes:
        write_change(change)
    assert locals_tf.read_text() == 'locals {\n  api_env = [\n    { name = "PORT", value = "8080" },\n  ]\n}\n'
    assert '  environment        = local.api_env\n  secrets = [\n    { name = "DB_PASSWORD", valueFrom = ' in main_tf(app)
    assert not [f for f in scan([str(app)]).findings if f.rule == "EF001"]


def test_entries_in_a_local_several_places_read_are_left(tmp_path: Path) -> None:
    app = _pair(tmp_path, ROLE + "  environment = local.common_env\n")
    (app / "main.tf").write_text(main_tf(app) + '\nmodule "worker" {\n  source = "../modules/svc"\n  name   = "worker"\n'
                                 + ROLE + "  environment = local.common_env\n}\n")
    (app / "locals.tf").write_text('locals {\n  common_env = [{ name = "DB_PASSWORD", value = "hunter2" }]\n}\n')
    findings = [f for f in scan([str(app)]).findings if f.rule == "EF001"]
    assert sorted(f.resource for f in findings) == ["module.api", "module.worker"]
    why = "it is written in local.common_env, which 2 places read (moving it there would move it for all)"
    assert all(not f.fixable and why in f.message for f in findings)
    result = _run(app)
    assert result.changes == [] and len(result.notes) == 2 and all(why in n for n in result.notes)


def test_entries_in_a_template_the_call_renders_keep_the_by_hand_hint(tmp_path: Path) -> None:
    app = _pair(tmp_path, ROLE + '  environment = jsondecode(templatefile("${path.module}/env.json.tpl", {}))\n')
    (app / "env.json.tpl").write_text('[{"name": "DB_PASSWORD", "value": "hunter2"}]\n')
    findings = [f for f in scan([str(app)]).findings if f.rule == "EF001"]
    assert findings and all(not f.fixable and "builds this environment from module.api's inputs" in f.message
                            for f in findings)
    assert _run(app).changes == []


def test_a_later_run_extends_the_generated_secret(tmp_path: Path) -> None:
    app = _pair(tmp_path, ROLE + ENV)
    for change in _run(app).changes:
        write_change(change)
    main_tf = app / "main.tf"
    text = main_tf.read_text()
    emptied = re.search(r"  environment *= \[\]\n", text)
    assert emptied  # kept empty, so that the child's default does not come back
    main_tf.write_text(text.replace(
        emptied.group(0), '  environment = [\n    { name = "API_TOKEN", value = "tok-hunter2-Qx" },\n  ]\n'))
    result = _run(app)
    assert [m.name for m in result.moved] == ["API_TOKEN"]
    for change in result.changes:
        write_change(change)
    new = main_tf.read_text()
    assert new.count('resource "aws_secretsmanager_secret" ') == 1 and new.count("aws_iam_role_policy") == 1
    assert re.search(r"API_TOKEN += var.api_api_token\n", new) and "tok-hunter2" not in new
    assert '{ name = "API_TOKEN", valueFrom = "${aws_secretsmanager_secret.api_secrets.arn}:API_TOKEN::" }' in new


def test_a_wrapper_around_a_catalogued_container_module(tmp_path: Path) -> None:
    """The wrapper passes its inputs to cloudposse's container definition: `map_secrets = var.secrets`
    makes `secrets` a map input of the wrapper."""
    (tmp_path / "modules" / "svc").mkdir(parents=True)
    (tmp_path / "modules" / "svc" / "main.tf").write_text(
        'variable "environment" {\n  type    = list(any)\n  default = []\n}\n'
        'variable "secrets" {\n  type    = map(string)\n  default = {}\n}\n'
        'variable "execution_role_arn" {\n  type = string\n}\n'
        'module "container" {\n  source          = "cloudposse/ecs-container-definition/aws"\n'
        '  version         = "0.61.1"\n  container_name  = "app"\n  container_image = "nginx"\n'
        "  environment     = var.environment\n  map_secrets     = var.secrets\n}\n"
        'resource "aws_ecs_task_definition" "this" {\n  family                = "app"\n'
        "  execution_role_arn    = var.execution_role_arn\n"
        "  container_definitions = module.container.json_map_encoded_list\n}\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.tf").write_text(
        'module "api" {\n  source             = "../modules/svc"\n'
        '  execution_role_arn = "arn:aws:iam::123456789012:role/api-exec"\n' + ENV + "}\n")
    app = tmp_path / "app"
    [finding] = [f for f in scan([str(app)]).findings if f.rule == "EF001"]
    assert finding.fixable, finding.message
    result = _run(app)
    assert [m.name for m in result.moved] == ["DB_PASSWORD"]
    new = result.changes[0].new
    assert '  secrets = {\n    DB_PASSWORD = "${aws_secretsmanager_secret.api_secrets.arn}:DB_PASSWORD::"\n  }\n' in new
    assert 'role = "api-exec"' in new


def test_a_wrapper_that_passes_the_entries_on_to_its_own_wrapper_is_left(tmp_path: Path) -> None:
    _pair(tmp_path / "x", "")  # modules/svc under x/: the inner wrapper
    shutil.move(str(tmp_path / "x" / "modules"), str(tmp_path / "modules"))
    (tmp_path / "modules" / "outer").mkdir()
    (tmp_path / "modules" / "outer" / "main.tf").write_text(
        'variable "environment" {\n  type = list(any)\n}\n'
        'module "svc" {\n  source             = "../svc"\n  name               = "api"\n'
        '  execution_role_arn = "arn:aws:iam::123456789012:role/x"\n  environment        = var.environment\n}\n')
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.tf").write_text('module "api" {\n  source = "../modules/outer"\n' + ENV + "}\n")
    [finding] = [f for f in scan([str(tmp_path / "app")]).findings if f.rule == "EF001"]
    why = "the entries reach a task definition through module.api.module.svc (a module the wrapper calls in turn)"
    assert not finding.fixable and why in finding.message
    result = _run(tmp_path / "app")
    assert result.changes == [] and any(why in n for n in result.notes)
