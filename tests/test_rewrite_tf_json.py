"""`.tf.json` task definitions (rewrite/forms/tf_json.py): the entries move inside the escaped
`container_definitions` string, byte-preserving outside the edit, and the generated resources go to
a sibling `ecsfix_secrets.tf.json` in Terraform's JSON syntax.

Fixtures are built here, one per realistic shape: the inner JSON is written with `json.dumps`
(compact or pretty) and embedded as a JSON string, as CDKTF and hand-written `.tf.json` files do.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ecsfix.rewrite.engine import rewrite, write_change
from ecsfix.scan import scan

SNAPSHOTS = Path(__file__).parent / "snapshots" / "rewrite_tf_json"
ROLE_ARN = "arn:aws:iam::123456789012:role/app-execution"
ROLE_TF = 'resource "aws_iam_role" "exec" {\n  name               = "app-exec"\n  assume_role_policy = "{}"\n}\n'
VAR_TF = 'variable "db_password" {\n  type      = string\n  sensitive = true\n}\n'


def _containers(*containers: dict[str, object], pretty: bool) -> str:
    return json.dumps(list(containers), indent=2) if pretty else json.dumps(list(containers), separators=(",", ":"))


def _tf_json(cd: str, role: str | None = ROLE_ARN, extra: dict[str, object] | None = None) -> str:
    body: dict[str, object] = {"family": "app"}
    if role is not None:
        body["execution_role_arn"] = role
    body["container_definitions"] = cd
    body.update(extra or {})
    return json.dumps({"resource": {"aws_ecs_task_definition": {"app": body}}}, indent=2) + "\n"


def _env(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"name": n, "value": v} for n, v in pairs]


@dataclass
class Case:
    name: str
    files: dict[str, str]
    moved: set[str]
    kept: set[str] = field(default_factory=set)  # flagged-or-not entries that stay in environment
    literals: tuple[str, ...] = ()  # committed values that must leave the file
    role: str = "app-execution"  # the generated policy's role


CASES = [
    Case("one_line", {"main.tf.json": _tf_json(_containers(
        {"name": "app", "image": "nginx", "environment": _env(("DB_PASSWORD", "hunter2"), ("LOG_LEVEL", "info"))},
        pretty=False))}, {"DB_PASSWORD"}, {"LOG_LEVEL"}, ("hunter2",)),
    Case("pretty", {"main.tf.json": _tf_json(_containers(
        {"name": "app", "image": "nginx", "environment": _env(("LOG_LEVEL", "info"), ("API_TOKEN", "hunter2-token"))},
        pretty=True))}, {"API_TOKEN"}, {"LOG_LEVEL"}, ("hunter2-token",)),
    Case("pretty_all_moved", {"main.tf.json": _tf_json(_containers(
        {"name": "app", "image": "nginx", "environment": _env(("API_TOKEN", "hunter2-token"))}, pretty=True))},
        {"API_TOKEN"}, set(), ("hunter2-token",)),
    Case("two_containers", {"main.tf.json": _tf_json(_containers(
        {"name": "app", "image": "nginx", "environment": _env(("DB_PASSWORD", "hunter2"))},
        {"name": "worker", "image": "busybox", "environment": _env(("DB_PASSWORD", "hunter3"), ("QUEUE", "jobs"))},
        pretty=False))}, {"DB_PASSWORD"}, {"QUEUE"}, ("hunter2", "hunter3")),
    Case("existing_secrets", {"main.tf.json": _tf_json(_containers(
        {"name": "app", "image": "nginx", "environment": _env(("DB_PASSWORD", "hunter2")),
         "secrets": [{"name": "SMTP_PASSWORD", "valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/smtp"}]},
        pretty=True))}, {"DB_PASSWORD"}, set(), ("hunter2",)),
    Case("role_reference", {"main.tf.json": _tf_json(_containers(
        {"name": "app", "image": "nginx", "environment": _env(("DB_PASSWORD", "hunter2"))}, pretty=False),
        role="${aws_iam_role.exec.arn}"), "iam.tf": ROLE_TF}, {"DB_PASSWORD"}, set(), ("hunter2",),
        role="${aws_iam_role.exec.id}"),
    Case("variable_value", {"main.tf.json": _tf_json(_containers(
        {"name": "app", "image": "nginx", "environment": _env(("DB_PASSWORD", "${var.db_password}"))},
        pretty=False)), "variables.tf": VAR_TF}, {"DB_PASSWORD"}),
]

def _generated_stack() -> str:
    """The shape a generator writes (one .tf.json for the whole stack): the execution role in the
    same file, a database password passed as `${random_password.x.result}`."""
    doc = json.loads(_tf_json(_containers(
        {"environment": _env(("LOG_LEVEL", "info"), ("DB_PASSWORD", "${random_password.db.result}")),
         "image": "api:prod", "name": "api"}, pretty=False), role="${aws_iam_role.exec.arn}"))
    doc["resource"]["aws_iam_role"] = {"exec": {"assume_role_policy": json.dumps(
        {"Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow",
                        "Principal": {"Service": "ecs-tasks.amazonaws.com"}}], "Version": "2012-10-17"},
        separators=(",", ":")), "name": "api-exec"}}
    doc["resource"]["random_password"] = {"db": {"length": 32, "special": False}}
    return json.dumps(doc, indent=2) + "\n"


CASES.append(Case("generated_stack", {"main.tf.json": _generated_stack()}, {"DB_PASSWORD"}, {"LOG_LEVEL"},
                  role="${aws_iam_role.exec.id}"))
IDS = [c.name for c in CASES]


def _write(case: Case, root: Path) -> Path:
    root.mkdir(parents=True)
    for name, text in case.files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def _rewritten(case: Case, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = _write(case, tmp_path / case.name)
    result = rewrite([str(root)])
    assert result.errors == []
    assert {m.name for m in result.moved} == case.moved
    for change in result.changes:
        write_change(change)
    return root, {c.display: c.new for c in result.changes}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_entries_move_and_the_result_parses(case: Case, tmp_path: Path) -> None:
    root, _ = _rewritten(case, tmp_path)
    main = json.loads((root / "main.tf.json").read_text())
    cd = json.loads(main["resource"]["aws_ecs_task_definition"]["app"]["container_definitions"])
    env = {e["name"] for c in cd for e in c.get("environment", [])}
    secrets = {s["name"]: s["valueFrom"] for c in cd for s in c.get("secrets", [])}
    assert not env & case.moved and case.kept <= env
    for name in case.moved:
        assert secrets[name].startswith("${aws_secretsmanager_secret.app_secrets.arn}:" + name)
        assert secrets[name].endswith("::")
    text = (root / "main.tf.json").read_text()
    for literal in case.literals:
        assert literal not in text


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_only_the_string_changes(case: Case, tmp_path: Path) -> None:
    """Every byte outside `container_definitions` stays; inside, the untouched containers too."""
    root, _ = _rewritten(case, tmp_path)
    old = case.files["main.tf.json"]
    new = (root / "main.tf.json").read_text()
    m = re.search(r'"container_definitions": "((?:[^"\\]|\\.)*)"', old)
    assert m is not None
    start = m.start(1)
    assert new[:start] == old[:start]
    tail = old[m.end(1) :]  # the string's closing quote and what follows
    assert new.endswith(tail)
    assert "\n" not in new[start:len(new) - len(tail)]  # still one JSON string on one line
    if case.name == "two_containers":  # the worker's own JSON is copied as written, but for its entry
        assert '{\\"name\\":\\"QUEUE\\",\\"value\\":\\"jobs\\"}' in new


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_generated_file_is_terraform_json(case: Case, tmp_path: Path) -> None:
    root, _ = _rewritten(case, tmp_path)
    doc = json.loads((root / "ecsfix_secrets.tf.json").read_text())
    resources = doc["resource"]
    assert set(resources) == {"aws_secretsmanager_secret", "aws_secretsmanager_secret_version", "aws_iam_role_policy"}
    version = resources["aws_secretsmanager_secret_version"]["app_secrets"]
    assert version["secret_id"] == "${aws_secretsmanager_secret.app_secrets.id}"
    assert version["secret_string"].startswith("${jsonencode({") and version["secret_string"].endswith("})}")
    policy = resources["aws_iam_role_policy"]["app_secrets"]
    assert policy["role"] == case.role
    assert "aws_secretsmanager_secret.app_secrets.arn" in policy["policy"]
    literal = bool(case.literals)
    assert bool(doc.get("variable")) is literal
    for var in doc.get("variable", {}).values():
        assert var["sensitive"] is True and "default" not in var
    if not literal:  # the reference moves into the secret
        assert "var.db_password" in version["secret_string"] or "random_password.db.result" in version["secret_string"]
    for value in case.literals:
        assert value not in json.dumps(doc)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_rescan_and_second_run(case: Case, tmp_path: Path) -> None:
    root, _ = _rewritten(case, tmp_path)
    after = scan([str(root)])
    assert not {f.name for f in after.findings if f.rule == "EF001"} & case.moved
    # the grant in ecsfix_secrets.tf.json is read like HCL (tfjson_blocks): no EF102 for the moved entries
    assert [f.message for f in after.findings
            if f.rule == "EF102" and f.name in case.moved] == []
    again = rewrite([str(root)])
    assert again.changes == [] and again.moved == []


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_diff_snapshot(case: Case, tmp_path: Path, snapshot) -> None:  # type: ignore[no-untyped-def]
    snapshot.snapshot_dir = SNAPSHOTS
    root = _write(case, tmp_path / case.name)
    result = rewrite([str(root)])
    diff = ""
    for change in sorted(result.changes, key=lambda c: c.display):
        change.display = f"{case.name}/{os.path.basename(change.path)}"
        diff += change.diff()
    for literal in case.literals:
        assert literal not in diff
    snapshot.assert_match(diff.encode(), f"{case.name}.diff")


def test_scan_says_fixable(tmp_path: Path) -> None:
    root = _write(CASES[0], tmp_path / "s")
    proc = subprocess.run([sys.executable, "-m", "ecsfix", "scan", "--no-cache", str(root)],
                          capture_output=True, text=True, check=False)
    assert "EF001" in proc.stdout and "written as tf.json" not in proc.stdout
    assert "by hand" not in proc.stdout


def test_a_later_run_extends_the_generated_file(tmp_path: Path) -> None:
    root, _ = _rewritten(CASES[0], tmp_path)
    main = root / "main.tf.json"
    text = main.read_text()
    main.write_text(text.replace('{\\"name\\":\\"LOG_LEVEL\\"', '{\\"name\\":\\"API_KEY\\",\\"value\\":\\"hunter2-key\\"},'
                                 '{\\"name\\":\\"LOG_LEVEL\\"'))
    result = rewrite([str(root)])
    assert [m.name for m in result.moved] == ["API_KEY"]
    for change in result.changes:
        write_change(change)
    doc = json.loads((root / "ecsfix_secrets.tf.json").read_text())
    assert list(doc["resource"]["aws_secretsmanager_secret"]) == ["app_secrets"]  # the same secret
    assert doc["resource"]["aws_secretsmanager_secret_version"]["app_secrets"]["secret_string"] == \
        "${jsonencode({DB_PASSWORD = var.app_db_password, API_KEY = var.app_api_key})}"
    assert set(doc["variable"]) == {"app_db_password", "app_api_key"}
    assert rewrite([str(root)]).changes == []


@pytest.mark.parametrize(("files", "note"), [
    ({"main.tf.json": _tf_json('${jsonencode([{name = "app", environment = [{name = "DB_PASSWORD", '
                               'value = "hunter2"}]}])}')}, None),
    ({"main.tf.json": _tf_json(_containers({"name": "app", "environment": _env(("DB_PASSWORD", "hunter2"))},
                                           pretty=False), role=None)}, "no execution role"),
    ({"main.tf.json": _tf_json(_containers({"name": "app", "environment": _env(("DB_PASSWORD", "hunter2"))},
                                           pretty=False), extra={"count": 2})}, "with count"),
], ids=["jsonencode_string", "no_role", "count"])
def test_refusals_leave_the_file_with_a_note(files: dict[str, str], note: str | None, tmp_path: Path) -> None:
    root = _write(Case("x", files, set()), tmp_path / "r")
    result = rewrite([str(root)])
    assert result.changes == [] and result.moved == []
    if note is not None:
        assert any(note in n and "aws_ecs_task_definition.app" in n for n in result.notes), result.notes
    assert not any("hunter2" in n for n in result.notes + result.errors)


def test_ssm_backend_refuses_with_a_note(tmp_path: Path) -> None:
    from ecsfix.rewrite.plan import Options

    root = _write(CASES[0], tmp_path / "ssm")
    result = rewrite([str(root)], options=Options(backend="ssm"))
    assert result.changes == [] and any("--backend ssm" in n for n in result.notes)


def test_output_file_that_is_tf_json_is_honoured(tmp_path: Path) -> None:
    from ecsfix.rewrite.plan import Options

    root = _write(CASES[0], tmp_path / "out")
    result = rewrite([str(root)], options=Options(output_file="secrets.tf.json"))
    assert {os.path.basename(c.path) for c in result.changes} == {"main.tf.json", "secrets.tf.json"}
    other = rewrite([str(_write(CASES[0], tmp_path / "out2"))], options=Options(output_file="secrets.tf"))
    assert {os.path.basename(c.path) for c in other.changes} == {"main.tf.json", "ecsfix_secrets.tf.json"}
    assert any("secrets.tf is not a .tf.json file" in w for w in other.warnings)


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
@pytest.mark.parametrize("case", [CASES[0], CASES[1]], ids=["one_line", "pretty"])
def test_format_patch_applies(case: Case, tmp_path: Path) -> None:
    repo = _write(case, tmp_path / "patched")
    written = _write(case, tmp_path / "written")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    with open(tmp_path / "fix.patch", "wb") as out:
        proc = subprocess.run([sys.executable, "-m", "ecsfix", "rewrite", "--format", "patch", "."], cwd=repo,
                              stdout=out, stderr=subprocess.PIPE, check=False)
    assert proc.returncode == 1, proc.stderr
    check = subprocess.run(["git", "apply", str(tmp_path / "fix.patch")], cwd=repo, capture_output=True, check=False)
    assert check.returncode == 0, check.stderr
    proc = subprocess.run([sys.executable, "-m", "ecsfix", "rewrite", "--write", "."], cwd=written,
                          capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr

    def tree(root: Path) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in root.iterdir() if p.is_file()}

    assert tree(repo) == tree(written)


def test_the_example_is_rewritten(tmp_path: Path) -> None:
    example = tmp_path / "tf-json"
    shutil.copytree(Path(__file__).parents[1] / "examples" / "tf-json", example)
    result = rewrite([str(example)])
    assert [m.name for m in result.moved] == ["DATADOG_API_KEY"] and result.notes == []
    assert {os.path.basename(c.path) for c in result.changes} == {"main.tf.json", "ecsfix_secrets.tf.json"}
    policy = json.loads(next(c.new for c in result.changes if c.path.endswith("ecsfix_secrets.tf.json")))
    assert policy["resource"]["aws_iam_role_policy"]["exporter_secrets"]["role"] == "exporter-execution"
