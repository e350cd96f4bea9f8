"""The command line: exit codes, options, config discovery, suppression comments, report shapes.

Most cases call `ecsfix.cli.main(argv)` in-process (fast, exceptions surface as test failures);
a few run `python -m ecsfix` in a fresh interpreter, as users and pre-commit do.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import jsonschema
import pytest

from ecsfix import __version__
from ecsfix.cli import main
from tests.labelled import run_ecsfix

LEAKY = """\
resource "aws_ecs_task_definition" "app" {
  family = "app"
  container_definitions = jsonencode([
    {
      name  = "app"
      image = "acme/app:1.0.0"
      environment = [
        { name = "DB_PASSWORD", value = "hunter2" },
        { name = "LOG_LEVEL", value = "info" },
      ]
    }
  ])
}
"""

CLEAN = """\
resource "aws_ecs_task_definition" "app" {
  family = "app"
  container_definitions = jsonencode([
    {
      name        = "app"
      image       = "acme/app:1.0.0"
      environment = [{ name = "LOG_LEVEL", value = "info" }, { name = "DB_PASSWORD_FILE", value = "/run/db" }]
    }
  ])
}
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def cli(argv: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    monkeypatch.chdir(cwd)
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    def _run(cwd: Path, *argv: str) -> tuple[int, str, str]:
        return cli(list(argv), cwd, monkeypatch, capsys)

    return _run


# --------------------------------------------------------------------------- exit codes


@pytest.mark.parametrize(
    ("argv", "files", "code"),
    [
        (["scan", "."], {"main.tf": CLEAN}, 0),
        (["scan"], {"main.tf": CLEAN}, 0),  # PATHS default to .
        (["scan", "."], {"README.md": "no terraform here\n"}, 0),
        (["scan", "."], {"main.tf": LEAKY}, 1),
        (["scan", "main.tf"], {"main.tf": LEAKY}, 1),
        (["scan", "--format", "json", "."], {"main.tf": LEAKY}, 1),
        (["scan", "--format", "sarif", "."], {"main.tf": LEAKY}, 1),
        (["scan", "--format", "github", "."], {"main.tf": LEAKY}, 1),
        (["scan", "."], {"main.tf": LEAKY, "bad/main.tf": 'resource "aws_ecs_task_definition" "x" {\n'}, 2),
        (["scan", "nope"], {}, 2),
        (["scan", "--format", "xml", "."], {"main.tf": LEAKY}, 2),
        (["scan", "--no-such-option"], {}, 2),
        (["rules"], {}, 0),
        (["rules", "extra"], {}, 2),
        (["explain", "EF001"], {}, 0),
        (["explain", "ef003"], {}, 0),
        (["explain", "EF999"], {}, 2),
        (["explain"], {}, 2),
        (["--version"], {}, 0),
        (["-V"], {}, 0),
        (["--help"], {}, 0),
        (["frobnicate"], {}, 2),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_exit_codes(tmp_path: Path, run, argv: list[str], files: dict[str, str], code: int) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path, files)
    got, out, err = run(tmp_path, *argv)
    assert got == code, out + err
    assert "Traceback" not in out + err


def test_version_fresh_interpreter(tmp_path: Path) -> None:
    r = run_ecsfix("--version", cwd=tmp_path)
    assert (r.code, r.stdout, r.stderr) == (0, f"ecsfix {__version__}\n", "")


def test_entry_point_exit_codes_in_a_fresh_interpreter(tmp_path: Path) -> None:
    write(tmp_path, {"leaky/main.tf": LEAKY, "clean/main.tf": CLEAN})
    assert run_ecsfix("scan", "clean", cwd=tmp_path).code == 0
    assert run_ecsfix("scan", "leaky", cwd=tmp_path).code == 1
    assert run_ecsfix("scan", "missing", cwd=tmp_path).code == 2
    assert run_ecsfix("explain", "EF404", cwd=tmp_path).code == 2


def test_rules_lists_every_rule(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    from ecsfix.rules import RULES

    code, out, _ = run(tmp_path, "rules")
    assert code == 0
    listed = [line.split()[0] for line in out.splitlines() if line.strip()]
    assert listed == list(RULES)
    assert re.search(r"^EF001\s+high\s+fixable\s+\S", out, re.M)
    assert re.search(r"^EF003\s+info\s+report-only\s+\S", out, re.M)


def test_explain_prints_the_rule_text(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(tmp_path, "explain", "EF001")
    assert code == 0
    assert out.startswith("EF001 PlaintextSecretInEnvironment (high, fixable by `ecsfix rewrite`)")
    assert "ecsfix:ignore EF001" in out
    code, _, err = run(tmp_path, "explain", "EF999")
    assert code == 2 and "unknown rule" in err and "EF001" in err


# --------------------------------------------------------------------------- text output


def test_text_lines_and_summary(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path, {"infra/main.tf": LEAKY})
    code, out, err = run(tmp_path, "scan", "infra")
    assert code == 1 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith(
        "infra/main.tf:8:9 EF001 [high] aws_ecs_task_definition.app/app DB_PASSWORD=hu****** — "
    )
    assert "ecsfix rewrite" in lines[0]  # says what to do next
    assert "1 finding (1 high) in 1 task definition, 1 file scanned" in lines
    assert lines[-1] == "Run 'ecsfix rewrite PATH' to preview the fix."


def test_text_summary_when_clean(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path, {"a/main.tf": CLEAN, "b/main.tf": CLEAN, "b/other.tf": "locals {}\n"})
    code, out, _ = run(tmp_path, "scan", ".")
    assert code == 0
    assert out == "No plaintext secrets found in 3 files (2 task definitions).\n"


def test_text_summary_counts_errors(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path, {"a/main.tf": CLEAN, "b/main.tf": 'resource "aws_ecs_task_definition" "x" {\n'})
    code, out, _ = run(tmp_path, "scan", ".")
    assert code == 2
    assert out.splitlines()[-1].endswith("; 1 error.")
    assert "b/main.tf:2: error: not valid HCL" in out


# --------------------------------------------------------------------------- JSON shape (SPEC §6)

FINDING = {
    "type": "object",
    "required": ["rule", "severity", "file", "line", "column", "resource", "container", "name", "reason",
                 "preview", "fixable", "message"],
    "properties": {
        "rule": {"type": "string", "pattern": r"^EF\d{3}$"},
        "severity": {"enum": ["critical", "high", "medium", "low", "info"]},
        "file": {"type": "string", "minLength": 1},
        "line": {"type": "integer", "minimum": 1},
        "column": {"type": "integer", "minimum": 1},
        "resource": {"type": "string", "minLength": 1},
        "container": {"type": "string", "minLength": 1},
        "name": {"type": ["string", "null"]},
        "reason": {"enum": ["name", "value", "both", None]},
        "preview": {"type": ["string", "null"]},
        "fixable": {"type": "boolean"},
        "message": {"type": "string", "minLength": 1},
    },
}
REPORT_SCHEMA = {
    "type": "object",
    "required": ["version", "tool", "findings", "errors", "summary"],
    "properties": {
        "version": {"const": 1},
        "tool": {
            "type": "object",
            "required": ["name", "version"],
            "properties": {"name": {"const": "ecsfix"}, "version": {"const": __version__}},
        },
        "findings": {"type": "array", "items": FINDING},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["file", "line", "message"],
                "properties": {
                    "file": {"type": "string", "minLength": 1},
                    "line": {"type": ["integer", "null"], "minimum": 1},
                    "message": {"type": "string", "minLength": 1},
                },
            },
        },
        "summary": {
            "type": "object",
            "required": ["files", "task_definitions", "findings", "errors"],
            "properties": {k: {"type": "integer", "minimum": 0}
                           for k in ("files", "task_definitions", "findings", "errors")},
        },
    },
}


def test_json_output_has_the_documented_shape(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path, {
        "infra/main.tf": LEAKY,
        "infra/dyn.tf": """\
            resource "aws_ecs_task_definition" "dyn" {
              family                = "dyn"
              container_definitions = var.container_definitions
            }
        """,
        "broken/main.tf": 'resource "aws_ecs_task_definition" "x" {\n',
    })
    code, out, err = run(tmp_path, "scan", "--format", "json", "infra", "broken")
    assert code == 2
    doc = json.loads(out)
    jsonschema.validate(doc, REPORT_SCHEMA)
    assert list(doc) == ["version", "tool", "findings", "errors", "summary"]
    (ef001,) = [f for f in doc["findings"] if f["rule"] == "EF001"]
    assert {k: ef001[k] for k in FINDING["required"]} == {
        "rule": "EF001", "severity": "high", "file": "infra/main.tf", "line": 8, "column": 9,
        "resource": "aws_ecs_task_definition.app", "container": "app", "name": "DB_PASSWORD",
        "reason": "name", "preview": "hu******", "fixable": True, "message": ef001["message"],
    }
    (ef003,) = [f for f in doc["findings"] if f["rule"] == "EF003"]
    assert ef003["severity"] == "info" and ef003["container"] == "*" and ef003["reason"] is None
    assert doc["errors"] == [{"file": "broken/main.tf", "line": 2, "message": doc["errors"][0]["message"]}]
    assert doc["summary"] == {"files": 3, "task_definitions": 2, "findings": 2, "errors": 1}
    assert err.strip() == f"broken/main.tf:2: error: {doc['errors'][0]['message']}"


def test_json_output_when_clean(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path, {"main.tf": CLEAN})
    code, out, _ = run(tmp_path, "scan", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    jsonschema.validate(doc, REPORT_SCHEMA)
    assert doc["findings"] == [] and doc["errors"] == []


def test_github_and_sarif_formats(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path, {"main.tf": LEAKY})
    code, out, _ = run(tmp_path, "scan", "--format", "github", ".")
    assert code == 1
    assert out.startswith("::error file=main.tf,line=8,col=9,")
    code, out, _ = run(tmp_path, "scan", "--format", "sarif", ".")
    assert code == 1
    sarif = json.loads(out)
    assert sarif["version"] == "2.1.0"
    (result,) = sarif["runs"][0]["results"]
    assert result["ruleId"] == "EF001"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 8


# --------------------------------------------------------------------------- --output


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_output_writes_the_report_to_a_file(tmp_path: Path, run, fmt: str) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path, {"main.tf": LEAKY})
    code, out, err = run(tmp_path, "scan", "--format", fmt, "--output", "report.out", ".")
    assert code == 1
    assert out == "" and err == ""
    report = (tmp_path / "report.out").read_text(encoding="utf-8")
    assert "DB_PASSWORD" in report or "EF001" in report
    if fmt in ("json", "sarif"):
        json.loads(report)
    _, direct, _ = run(tmp_path, "scan", "--format", fmt, ".")
    assert direct == report


def test_output_to_an_unwritable_place_is_a_usage_error(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path, {"main.tf": LEAKY})
    code, out, err = run(tmp_path, "scan", "-o", "no/such/dir/report.json", "--format", "json", ".")
    assert code == 2
    assert "no/such/dir/report.json: error: cannot write report" in err
    assert "Traceback" not in err


# --------------------------------------------------------------------------- --exclude


@pytest.mark.parametrize(
    ("patterns", "expected"),
    [
        ((), {"app/main.tf", "legacy/main.tf", "legacy/old/main.tf", "task.json"}),
        (("legacy",), {"app/main.tf", "task.json"}),
        (("legacy/**",), {"app/main.tf", "task.json"}),
        (("legacy/old",), {"app/main.tf", "legacy/main.tf", "task.json"}),
        (("*.json",), {"app/main.tf", "legacy/main.tf", "legacy/old/main.tf"}),
        (("legacy", "app/*.tf"), {"task.json"}),
    ],
)
def test_exclude(tmp_path: Path, run, patterns: tuple[str, ...], expected: set[str]) -> None:  # type: ignore[no-untyped-def]
    taskdef = json.dumps({"containerDefinitions": [
        {"name": "a", "environment": [{"name": "DB_PASSWORD", "value": "hunter2"}]}]})
    write(tmp_path, {"app/main.tf": LEAKY, "legacy/main.tf": LEAKY, "legacy/old/main.tf": LEAKY,
                     "task.json": taskdef, ".terraform/modules/x/main.tf": LEAKY, "node_modules/y/main.tf": LEAKY})
    argv = ["scan", "--format", "json", "."]
    for p in patterns:
        argv += ["--exclude", p]
    code, out, _ = run(tmp_path, *argv)
    files = {f["file"] for f in json.loads(out)["findings"]}
    assert files == expected
    assert code == (1 if expected else 0)


# --------------------------------------------------------------------------- config

CONFIGURABLE = """\
resource "aws_ecs_task_definition" "app" {
  family = "app"
  container_definitions = jsonencode([
    {
      name    = "app"
      image   = "acme/app:1.0.0"
      command = ["serve", "--password=hunter2"]
      environment = [
        { name = "DB_PASSWORD", value = "hunter2" },
        { name = "LICENSE", value = "EXAMPLE-license-0000" },
        { name = "DEMO_API_TOKEN", value = "public-demo" },
      ]
    }
  ])
}
"""


def findings_of(out: str) -> list[tuple[str, str | None, str]]:
    return [(f["rule"], f["name"], f["severity"]) for f in json.loads(out)["findings"]]


def test_defaults_without_config(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path, {"infra/app/main.tf": CONFIGURABLE})
    code, out, _ = run(tmp_path, "scan", "--format", "json", "infra/app")
    assert code == 1
    assert findings_of(out) == [
        ("EF002", "command", "high"),
        ("EF001", "DB_PASSWORD", "high"),
        ("EF001", "DEMO_API_TOKEN", "high"),
    ]


@pytest.mark.parametrize("where", ["pyproject.toml", ".ecsfix.toml"])
@pytest.mark.parametrize("scan_from", ["root", "subdir"])
def test_config_is_found_by_walking_up(tmp_path: Path, run, where: str, scan_from: str) -> None:  # type: ignore[no-untyped-def]
    body = """\
        extra-secret-names = ["LICENSE"]
        allowed-names = ["DEMO_*"]
        disable = ["EF002"]
        [severity]
        EF001 = "critical"
    """
    if where == "pyproject.toml":
        body = "[project]\nname = \"infra\"\n\n[tool.ecsfix]\n" + textwrap.dedent(body).replace(
            "[severity]", "[tool.ecsfix.severity]")
    write(tmp_path, {"infra/app/main.tf": CONFIGURABLE, where: body})
    cwd = tmp_path if scan_from == "root" else tmp_path / "infra"
    target = "infra/app" if scan_from == "root" else "app"
    code, out, _ = run(cwd, "scan", "--format", "json", target)
    assert code == 1
    assert findings_of(out) == [("EF001", "DB_PASSWORD", "critical"), ("EF001", "LICENSE", "critical")]


def test_nearest_config_wins_and_pyproject_without_table_is_skipped(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path, {
        "pyproject.toml": '[tool.ecsfix]\ndisable = ["EF001", "EF002"]\n',
        "infra/pyproject.toml": '[project]\nname = "infra"\n',  # no [tool.ecsfix]: keep walking
        "infra/app/main.tf": CONFIGURABLE,
    })
    code, out, _ = run(tmp_path, "scan", "--format", "json", "infra/app")
    assert (code, findings_of(out)) == (0, [])
    write(tmp_path, {"infra/.ecsfix.toml": 'disable = ["EF002"]\n'})
    code, out, _ = run(tmp_path, "scan", "--format", "json", "infra/app")
    assert code == 1
    assert [n for _, n, _ in findings_of(out)] == ["DB_PASSWORD", "DEMO_API_TOKEN"]


def test_severity_info_no_longer_fails_the_build(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path, {"main.tf": LEAKY, ".ecsfix.toml": '[severity]\nEF001 = "info"\n'})
    code, out, _ = run(tmp_path, "scan", "--format", "json", ".")
    assert code == 0
    assert findings_of(out) == [("EF001", "DB_PASSWORD", "info")]


def test_explicit_config_file(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path, {"main.tf": LEAKY, "conf/strict.toml": 'allowed-names = ["DB_PASSWORD"]\n'})
    code, out, _ = run(tmp_path, "scan", "--config", "conf/strict.toml", "--format", "json", ".")
    assert (code, findings_of(out)) == (0, [])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("disable = EF001\n", "invalid TOML"),
        ('disable = "EF001"\n', "must be a list of strings"),
        ('[severity]\nEF001 = "urgent"\n', "severity of EF001 must be one of"),
        ('extra-secret-names = ["(unclosed"]\n', "invalid regular expression"),
    ],
)
def test_invalid_config_is_a_usage_error(tmp_path: Path, run, text: str, message: str) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path, {"main.tf": LEAKY, ".ecsfix.toml": text})
    code, out, err = run(tmp_path, "scan", ".")
    assert code == 2
    assert out == ""
    assert message in err and ".ecsfix.toml" in err
    assert len(err.strip().splitlines()) == 1


# --------------------------------------------------------------------------- suppressions

SUPPRESSED = """\
resource "aws_ecs_task_definition" "app" {
  family = "app"
  container_definitions = jsonencode([
    {
      name  = "app"
      image = "acme/app:1.0.0"
      environment = [
        { name = "A_PASSWORD", value = "hunter2" }, # ecsfix:ignore EF001 test-only value, rotated
        # ecsfix:ignore EF001 only the local demo uses it
        { name = "B_PASSWORD", value = "hunter2" },
        { name = "C_PASSWORD", value = "hunter2" }, #tfsec:ignore:aws-ecs-no-plaintext-secrets
        { name = "D_PASSWORD", value = "hunter2" }, #trivy:ignore:AVD-AWS-0036
        #checkov:skip=CKV_AWS_999:demo value
        { name = "E_PASSWORD", value = "hunter2" },
        { name = "F_PASSWORD", value = "hunter2" }, // ecsfix:ignore EF001, EF002 both forms of comment
        {
          name  = "G_PASSWORD"
          value = "hunter2" # ecsfix:ignore EF001 on the value line of a multi-line entry
        },
        { name = "H_PASSWORD", value = "hunter2" }, # ecsfix:ignore EF002 another rule: still reported
        # ecsfix:ignore EF001 a comment separated by a blank line does not count

        { name = "I_PASSWORD", value = "hunter2" },
        { name = "J_PASSWORD", value = "hunter2" },
        # ecsfix:ignore EF001 suppresses the next entry only
        { name = "K_PASSWORD", value = "hunter2" },
        { name = "L_PASSWORD", value = "hunter2" },
      ]
    }
  ])
}
"""


def test_suppression_comments(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path, {"main.tf": SUPPRESSED})
    code, out, _ = run(tmp_path, "scan", "--format", "json", ".")
    assert code == 1
    assert [n for _, n, _ in findings_of(out)] == ["H_PASSWORD", "I_PASSWORD", "J_PASSWORD", "L_PASSWORD"]


def test_suppression_of_every_finding_exits_0(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path, {"main.tf": LEAKY.replace(
        '{ name = "DB_PASSWORD", value = "hunter2" },',
        '{ name = "DB_PASSWORD", value = "hunter2" }, # ecsfix:ignore EF001 fixture')})
    code, out, _ = run(tmp_path, "scan", ".")
    assert code == 0
    assert out.startswith("No plaintext secrets found")
