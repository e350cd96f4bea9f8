"""SARIF as GitHub code scanning consumes it, end to end through `ecsfix scan --format sarif`:
stable `partialFingerprints` (an alert survives unrelated edits above it, and different findings
never share one), precise regions (the region's text is exactly the flagged entry), rule help for
every rule a result references, and schema validity. Unit tests of the fingerprint key itself are
in tests/test_report.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.labelled import run_main

SARIF_SCHEMA = Path(__file__).parents[2] / "shared/schemas/sarif-schema-2.1.0.json"
FP = "ecsfix/v1"

MAIN_TF = """\
resource "aws_ecs_task_definition" "app" {
  family             = "app"
  execution_role_arn = aws_iam_role.exec.arn
  container_definitions = jsonencode([
    {
      name  = "api"
      image = "acme/api:1.0.0"
      environment = [
        { name = "DB_PASSWORD", value = "hunter2" },
        { name = "API_TOKEN", value = var.api_token },
        { name = "LOG_LEVEL", value = "info" },
      ]
    },
    {
      name  = "worker"
      image = "acme/worker:1.0.0"
      environment = [
        { name = "DB_PASSWORD", value = "hunter2" },
      ]
    },
  ])
}

resource "aws_iam_role" "exec" {
  name = "exec"
}
"""

HEREDOC_TF = """\
resource "aws_ecs_task_definition" "batch" {
  family                = "batch"
  container_definitions = <<EOF
[
  {
    "name": "batch",
    "image": "acme/batch:1.0.0",
    "environment": [
      {"name": "STRIPE_SECRET_KEY", "value": "sk_test_EXAMPLE"},
      {"name": "REGION", "value": "eu-west-1"}
    ]
  }
]
EOF
}
"""

TASKDEF_JSON = """\
{
  "family": "cron",
  "containerDefinitions": [
    {
      "name": "cron",
      "image": "acme/cron:1.0.0",
      "environment": [
        {"name": "AWS_SECRET_ACCESS_KEY", "value": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
      ]
    }
  ]
}
"""

ABOVE_TF = """\
# A block comment added above everything.
# Two lines of it.

variable "api_token" {
  type      = string
  sensitive = true
}

"""
ABOVE_JSON_ENTRY = '        {"name": "TZ", "value": "UTC"},\n'


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")


def _sarif(root: Path) -> dict[str, Any]:
    run = run_main("scan", "--format", "sarif", "--output", "ecsfix.sarif", "infra", cwd=root)
    assert run.code == 1, run.stdout + run.stderr
    return json.loads((root / "ecsfix.sarif").read_text(encoding="utf-8"))


def _results(doc: dict[str, Any]) -> list[dict[str, Any]]:
    (run,) = doc["runs"]
    return run["results"]


def _by_identity(doc: dict[str, Any]) -> dict[tuple[str, str, str, str, str], tuple[str, dict[str, int]]]:
    """(rule, uri, resource, container, name) -> (fingerprint, region); a duplicate identity fails."""
    out: dict[tuple[str, str, str, str, str], tuple[str, dict[str, int]]] = {}
    for r in _results(doc):
        loc = r["locations"][0]["physicalLocation"]
        p = r["properties"]
        key = (r["ruleId"], loc["artifactLocation"]["uri"], p["resource"], p["container"], p.get("name", ""))
        assert key not in out, key
        out[key] = (r["partialFingerprints"][FP], loc["region"])
    return out


def _region_text(root: Path, uri: str, region: dict[str, int]) -> str:
    lines = (root / uri).read_text(encoding="utf-8").splitlines(keepends=True)
    if region["startLine"] == region["endLine"]:
        return lines[region["startLine"] - 1][region["startColumn"] - 1 : region["endColumn"] - 1]
    first = lines[region["startLine"] - 1][region["startColumn"] - 1 :]
    middle = lines[region["startLine"] : region["endLine"] - 1]
    last = lines[region["endLine"] - 1][: region["endColumn"] - 1]
    return first + "".join(middle) + last


FILES = {
    "infra/app/main.tf": MAIN_TF,
    "infra/batch/main.tf": HEREDOC_TF,
    "infra/cron/task-definition.json": TASKDEF_JSON,
}


@pytest.fixture
def before(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    root = tmp_path / "before"
    _write(root, FILES)
    return root, _sarif(root)


def _moved_copy(tmp_path: Path) -> Path:
    """The same findings with lines inserted above each of them (a comment and a variable above the
    resource, an unrelated entry above the flagged JSON entry)."""
    root = tmp_path / "after"
    _write(root, {
        "infra/app/main.tf": ABOVE_TF + MAIN_TF,
        "infra/batch/main.tf": "# batch jobs\n\n" + HEREDOC_TF,
        "infra/cron/task-definition.json": TASKDEF_JSON.replace(
            '      "environment": [\n', '      "environment": [\n' + ABOVE_JSON_ENTRY
        ),
    })
    return root


def test_fingerprints_survive_lines_moving_above(before: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    _, doc_before = before
    after = _moved_copy(tmp_path)
    old, new = _by_identity(doc_before), _by_identity(_sarif(after))
    assert old.keys() == new.keys()
    assert len(old) >= 5  # both DB_PASSWORDs, API_TOKEN, the heredoc and the task-definition JSON
    moved = 0
    for key, (fingerprint, region) in old.items():
        assert new[key][0] == fingerprint, key
        moved += new[key][1]["startLine"] != region["startLine"]
    assert moved == len(old)  # every region really moved, so the test shows what it claims


def test_fingerprint_survives_a_changed_value(before: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    """Rotating the leaked value without moving it is the same alert, not a fixed one and a new one."""
    _, doc_before = before
    root = tmp_path / "rotated"
    _write(root, {**FILES, "infra/app/main.tf": MAIN_TF.replace('"hunter2"', '"hunter3"')})
    assert {k: v[0] for k, v in _by_identity(_sarif(root)).items()} == {
        k: v[0] for k, v in _by_identity(doc_before).items()
    }


def test_different_findings_have_different_fingerprints(before: tuple[Path, dict[str, Any]]) -> None:
    _, doc = before
    prints = [r["partialFingerprints"][FP] for r in _results(doc)]
    assert len(prints) == len(set(prints))
    # the same variable name in two containers of one task definition: two alerts
    same_name = [r for r in _results(doc) if r["properties"].get("name") == "DB_PASSWORD"]
    assert {r["properties"]["container"] for r in same_name} == {"api", "worker"}
    assert len({r["partialFingerprints"][FP] for r in same_name}) == 2


def test_fingerprint_changes_when_the_finding_changes(before: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    """Renaming the variable or the resource is a different alert (the old one closes as fixed)."""
    _, doc_before = before
    old = {k: v[0] for k, v in _by_identity(doc_before).items()}
    root = tmp_path / "renamed"
    renamed = MAIN_TF.replace('"DB_PASSWORD", value = "hunter2" },\n        { name = "API_TOKEN"',
                              '"DB_PASS", value = "hunter2" },\n        { name = "API_TOKEN"')
    renamed = renamed.replace('"aws_ecs_task_definition" "app"', '"aws_ecs_task_definition" "api"')
    _write(root, {**FILES, "infra/app/main.tf": renamed})
    new = {k: v[0] for k, v in _by_identity(_sarif(root)).items()}
    app_old = {fp for k, fp in old.items() if k[1] == "infra/app/main.tf"}
    app_new = {fp for k, fp in new.items() if k[1] == "infra/app/main.tf"}
    assert app_old and app_new and not app_old & app_new
    others_old = {fp for k, fp in old.items() if k[1] != "infra/app/main.tf"}
    assert others_old <= set(new.values())


def test_identical_entries_twice_keep_their_fingerprints_when_lines_move(tmp_path: Path) -> None:
    twice = MAIN_TF.replace(
        '        { name = "LOG_LEVEL", value = "info" },\n',
        '        { name = "LOG_LEVEL", value = "info" },\n        { name = "DB_PASSWORD", value = "hunter2" },\n',
        1,
    )
    a, b = tmp_path / "a", tmp_path / "b"
    _write(a, {"infra/main.tf": twice})
    _write(b, {"infra/main.tf": ABOVE_TF + twice})
    pa = [r["partialFingerprints"][FP] for r in _results(_sarif(a))]
    pb = [r["partialFingerprints"][FP] for r in _results(_sarif(b))]
    assert len(pa) == len(set(pa))
    assert pa == pb


def test_regions_cover_exactly_the_flagged_entry(before: tuple[Path, dict[str, Any]]) -> None:
    root, doc = before
    texts = {}
    for r in _results(doc):
        if r["ruleId"] != "EF001":
            continue
        loc = r["locations"][0]["physicalLocation"]
        region = loc["region"]
        assert {"startLine", "startColumn", "endLine", "endColumn"} <= region.keys()
        texts[(loc["artifactLocation"]["uri"], r["properties"]["container"], r["properties"]["name"])] = _region_text(
            root, loc["artifactLocation"]["uri"], region
        )
    assert texts[("infra/app/main.tf", "api", "DB_PASSWORD")] == '{ name = "DB_PASSWORD", value = "hunter2" }'
    assert texts[("infra/app/main.tf", "api", "API_TOKEN")] == '{ name = "API_TOKEN", value = var.api_token }'
    assert texts[("infra/app/main.tf", "worker", "DB_PASSWORD")] == '{ name = "DB_PASSWORD", value = "hunter2" }'
    assert texts[("infra/batch/main.tf", "batch", "STRIPE_SECRET_KEY")] == (
        '{"name": "STRIPE_SECRET_KEY", "value": "sk_test_EXAMPLE"}'
    )
    assert texts[("infra/cron/task-definition.json", "cron", "AWS_SECRET_ACCESS_KEY")].startswith(
        '{"name": "AWS_SECRET_ACCESS_KEY", "value": '
    )


def test_results_reference_rules_with_help(before: tuple[Path, dict[str, Any]]) -> None:
    _, doc = before
    (run,) = doc["runs"]
    rules = run["tool"]["driver"]["rules"]
    for r in run["results"]:
        rule = rules[r["ruleIndex"]]
        assert rule["id"] == r["ruleId"]
        assert rule["help"]["text"].strip() and rule["help"]["markdown"].strip()
        assert rule["helpUri"].startswith("https://")
        assert rule["shortDescription"]["text"].strip() and rule["fullDescription"]["text"].strip()
        assert "security" in rule["properties"]["tags"]


def test_sarif_is_deterministic(before: tuple[Path, dict[str, Any]]) -> None:
    root, doc = before
    assert _sarif(root) == doc


def test_no_secret_value_in_the_sarif(before: tuple[Path, dict[str, Any]]) -> None:
    _, doc = before
    (run,) = doc["runs"]
    text = json.dumps([run["results"], run["invocations"]])  # the rules' help has its own examples
    for value in ("hunter2", "sk_test_EXAMPLE", "wJalrXUtnFEMI"):
        assert value not in text


@pytest.mark.skipif(not SARIF_SCHEMA.is_file(), reason=f"SARIF 2.1.0 schema not found at {SARIF_SCHEMA}")
def test_sarif_validates_against_the_schema(before: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    import jsonschema

    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft4Validator(schema)
    for doc in (before[1], _sarif(_moved_copy(tmp_path))):
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
