"""Reporters: exact layout of every format, SARIF validity, fingerprints, escaping, redaction.

Findings are built by hand over small sources; spans are located by searching the source, as the
rules would produce them.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ecsfix.model import Finding, InputError, ScanResult, SourceFile, Span, TaskDefinition
from ecsfix.report import FORMATS, affected_task_definitions, render, repo_path
from ecsfix.report.github import escape_data, escape_property
from ecsfix.report.sarif import fingerprints, help_markdown
from ecsfix.rules import RULES

REPO = Path(__file__).parents[1]
SARIF_SCHEMA = REPO.parent / "shared/schemas/sarif-schema-2.1.0.json"
SNAPSHOTS = Path(__file__).parent / "snapshots" / "report"
VERSION = "0.1.0"

FAKE_SECRET = "hunter2-EXAMPLE"  # fake: ecsfix:ignore EF001 test fixture, never a real secret

MAIN_TF = f"""\
resource "aws_ecs_task_definition" "app" {{
  family = "app"
  container_definitions = jsonencode([
    {{
      name  = "api"
      image = "example/api:1.0"
      environment = [
        {{ name = "DB_PASSWORD", value = "{FAKE_SECRET}" }},
        {{ name = "API_TOKEN", value = var.api_token }},
        {{ name = "LOG_LEVEL", value = "info" }},
      ]
    }},
  ])
}}
"""

WORKER_TF = """\
resource "aws_ecs_task_definition" "worker" {
  family                = "worker"
  container_definitions = local.containers
}
"""

TEMPLATE = """\
[
  {
    "name": "web",
    "environment": [
      { "name": "STRIPE_KEY", "value": "${stripe_key}" }
    ]
  }
]
"""


def source(display: str, text: str) -> SourceFile:
    return SourceFile(path=display, display=display, text=text)


def span_of(file: SourceFile, needle: str, occurrence: int = 0) -> Span:
    start = -1
    for _ in range(occurrence + 1):
        start = file.text.index(needle, start + 1)
    return Span(file, start, start + len(needle))


def finding(
    file: SourceFile,
    needle: str,
    *,
    rule: str = "EF001",
    severity: str = "high",
    resource: str = "aws_ecs_task_definition.app",
    container: str = "api",
    name: str | None = "DB_PASSWORD",
    reason: str | None = "name",
    preview: str | None = "hu******",
    fixable: bool = True,
    message: str = "name says secret (PASSWORD); move it to `secrets` (ecsfix rewrite)",
) -> Finding:
    return Finding(
        rule=rule,
        severity=severity,
        span=span_of(file, needle),
        resource=resource,
        container=container,
        name=name,
        reason=reason,
        preview=preview,
        fixable=fixable,
        message=message,
    )


def task_definition(file: SourceFile, address: str) -> TaskDefinition:
    return TaskDefinition(
        address=address, kind="resource", form="jsonencode", span=Span(file, 0, len(file.text))
    )


@pytest.fixture
def sample() -> ScanResult:
    """Three files, two task definitions, one of each kind of finding, one input error."""
    main = source("infra/app/main.tf", MAIN_TF)
    worker = source("infra/worker/main.tf", WORKER_TF)
    template = source("infra/app/templates/web.json.tpl", TEMPLATE)
    findings = [
        finding(
            main,
            '{ name = "API_TOKEN", value = var.api_token }',
            name="API_TOKEN",
            preview="var.api_token",
            message="name says secret (TOKEN); move it to `secrets` (ecsfix rewrite)",
        ),
        finding(main, f'{{ name = "DB_PASSWORD", value = "{FAKE_SECRET}" }}'),
        finding(
            worker,
            "local.containers",
            rule="EF003",
            severity="info",
            resource="aws_ecs_task_definition.worker",
            container="*",
            name=None,
            reason=None,
            preview=None,
            fixable=False,
            message="container definitions built by `merge` are not statically analysable: scan a plan",
        ),
        finding(
            template,
            '{ "name": "STRIPE_KEY", "value": "${stripe_key}" }',
            container="web",
            name="STRIPE_KEY",
            reason="both",
            preview="sk******",
            message="value looks like a Stripe secret key; move it to `secrets` (ecsfix rewrite)",
        ),
    ]
    return ScanResult(
        findings=findings,
        errors=[InputError("infra/broken/main.tf", 7, "unclosed `{`: fix the syntax and scan again")],
        task_definitions=[
            task_definition(main, "aws_ecs_task_definition.app"),
            task_definition(worker, "aws_ecs_task_definition.worker"),
        ],
        files=10,
    )


@pytest.fixture
def one() -> ScanResult:
    main = source("infra/app/main.tf", MAIN_TF)
    return ScanResult(
        findings=[finding(main, f'{{ name = "DB_PASSWORD", value = "{FAKE_SECRET}" }}')],
        task_definitions=[task_definition(main, "aws_ecs_task_definition.app")],
        files=1,
    )


# --------------------------------------------------------------------------- dispatch


def test_formats_and_unknown_format(one: ScanResult) -> None:
    assert FORMATS == ("text", "json", "sarif", "github")
    for fmt in FORMATS:
        assert render(one, fmt, tool_version=VERSION).endswith("\n")
    with pytest.raises(ValueError, match="unknown output format 'xml'"):
        render(one, "xml", tool_version=VERSION)


def test_format_modules_are_imported_only_when_used() -> None:
    code = (
        "import sys; import ecsfix.report as r;"
        "assert not [m for m in sys.modules if m.startswith('ecsfix.report.')], sorted(sys.modules);"
        "from ecsfix.model import ScanResult;"
        "[r.render(ScanResult(), f, tool_version='0') for f in r.FORMATS];"
        "heavy = {'jsonschema', 'typer', 'hcl2', 'jinja2'} & set(sys.modules);"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


# --------------------------------------------------------------------------- text


def test_text_snapshot(snapshot, sample: ScanResult) -> None:
    snapshot.snapshot_dir = SNAPSHOTS
    snapshot.assert_match(render(sample, "text", tool_version=VERSION), "sample.txt")


def test_text_snapshot_nothing_found(snapshot) -> None:
    snapshot.snapshot_dir = SNAPSHOTS
    main = source("infra/app/main.tf", MAIN_TF)
    result = ScanResult(task_definitions=[task_definition(main, "aws_ecs_task_definition.app")], files=4)
    snapshot.assert_match(render(result, "text", tool_version=VERSION), "clean.txt")


def test_text_layout(one: ScanResult) -> None:
    assert render(one, "text", tool_version=VERSION).splitlines() == [
        "infra/app/main.tf:8:9 EF001 [high] aws_ecs_task_definition.app/api DB_PASSWORD=hu****** — "
        "name says secret (PASSWORD); move it to `secrets` (ecsfix rewrite)",
        "",
        "1 finding (1 high) in 1 task definition, 1 file scanned",
        "Run 'ecsfix rewrite PATH' to preview the fix.",
    ]


def test_text_groups_files_sorted_and_findings_by_position(sample: ScanResult) -> None:
    lines = render(sample, "text", tool_version=VERSION).splitlines()
    blocks = [b.splitlines() for b in "\n".join(lines).split("\n\n")]
    assert [b[0].split(":")[0] for b in blocks[:3]] == [
        "infra/app/main.tf",
        "infra/app/templates/web.json.tpl",
        "infra/worker/main.tf",
    ]
    assert [line.split(" ")[0] for line in blocks[0]] == ["infra/app/main.tf:8:9", "infra/app/main.tf:9:9"]
    assert blocks[3] == ["infra/broken/main.tf:7: error: unclosed `{`: fix the syntax and scan again"]
    assert blocks[4] == [
        "4 findings (3 high, 1 info) in 2 task definitions, 10 files scanned; 1 error",
        "Run 'ecsfix rewrite PATH' to preview the fix.",
    ]


@pytest.mark.parametrize(
    ("name", "preview", "subject"),
    [
        ("DB_PASSWORD", "hu******", " DB_PASSWORD=hu****** "),
        ("DB_PASSWORD", None, " DB_PASSWORD "),
        (None, "hu******", " hu****** "),
        (None, None, " "),
    ],
    ids=["name-and-preview", "name-only", "preview-only", "neither"],
)
def test_text_subject(name: str | None, preview: str | None, subject: str) -> None:
    main = source("main.tf", MAIN_TF)
    result = ScanResult(
        findings=[finding(main, "environment", name=name, preview=preview, message="m")], files=1
    )
    first = render(result, "text", tool_version=VERSION).splitlines()[0]
    assert first == f"main.tf:7:7 EF001 [high] aws_ecs_task_definition.app/api{subject}— m"


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (ScanResult(files=1), ["No plaintext secrets found in 1 file (0 task definitions)."]),
        (
            ScanResult(files=3, errors=[InputError("a.tf", None, "x"), InputError("b.tf", 2, "y")]),
            ["No plaintext secrets found in 3 files (0 task definitions); 2 errors."],
        ),
    ],
    ids=["clean", "clean-with-errors"],
)
def test_text_summary_without_findings(result: ScanResult, expected: list[str]) -> None:
    assert render(result, "text", tool_version=VERSION).splitlines()[-len(expected) :] == expected


def test_text_no_fix_hint_when_nothing_is_fixable() -> None:
    main = source("main.tf", MAIN_TF)
    result = ScanResult(
        findings=[finding(main, "environment", rule="EF003", severity="info", fixable=False)], files=2
    )
    assert render(result, "text", tool_version=VERSION).splitlines()[-1] == (
        "1 finding (1 info) in 1 task definition, 2 files scanned"
    )


def test_text_color_marks_rule_and_severity(one: ScanResult) -> None:
    colored = render(one, "text", tool_version=VERSION, color=True)
    assert "\x1b[1mEF001\x1b[0m" in colored
    assert "\x1b[31m[high]\x1b[0m" in colored
    assert re.sub(r"\x1b\[[0-9;]*m", "", colored) == render(one, "text", tool_version=VERSION)
    assert "\x1b" not in render(one, "text", tool_version=VERSION)


def test_text_escapes_control_characters_from_the_input() -> None:
    main = source("main.tf", MAIN_TF)
    result = ScanResult(
        findings=[finding(main, "environment", name="EVIL\x1b[2J\nNAME", message="m")], files=1
    )
    out = render(result, "text", tool_version=VERSION, color=True)
    assert "\x1b[2J" not in out
    assert "EVIL\\x1b[2J\\x0aNAME=hu******" in out


def test_affected_task_definitions_are_counted_per_module() -> None:
    # The same address in two module directories is two task definitions; a finding in a
    # template below a module belongs to that module's task definition.
    a = source("svc/a/main.tf", WORKER_TF)
    b = source("svc/b/main.tf", WORKER_TF)
    tpl = source("svc/a/templates/x.json.tpl", TEMPLATE)
    address = "aws_ecs_task_definition.worker"
    result = ScanResult(
        findings=[
            finding(a, "local.containers", resource=address),
            finding(tpl, "STRIPE_KEY", resource=address),
            finding(b, "local.containers", resource=address),
        ],
        task_definitions=[task_definition(a, address), task_definition(b, address)],
        files=3,
    )
    assert affected_task_definitions(result) == 2


# --------------------------------------------------------------------------- json

SPEC_FINDING_KEYS = [
    "rule",
    "severity",
    "file",
    "line",
    "column",
    "resource",
    "container",
    "name",
    "reason",
    "preview",
    "fixable",
    "message",
]


def test_json_snapshot(snapshot, sample: ScanResult) -> None:
    snapshot.snapshot_dir = SNAPSHOTS
    snapshot.assert_match(render(sample, "json", tool_version=VERSION), "sample.json")


def test_json_structure(sample: ScanResult) -> None:
    out = render(sample, "json", tool_version=VERSION)
    assert out.endswith("}\n") and out.startswith('{\n  "version": 1,')
    doc = json.loads(out)
    assert list(doc) == ["version", "tool", "findings", "errors", "summary"]
    assert doc["tool"] == {"name": "ecsfix", "version": VERSION}
    for item in doc["findings"]:
        # the documented keys first, in order; additions only after them
        assert list(item)[: len(SPEC_FINDING_KEYS)] == SPEC_FINDING_KEYS
        assert list(item)[len(SPEC_FINDING_KEYS) :] == ["end_line", "end_column"]
    assert [(f["file"], f["line"], f["column"], f["rule"]) for f in doc["findings"]] == [
        ("infra/app/main.tf", 8, 9, "EF001"),
        ("infra/app/main.tf", 9, 9, "EF001"),
        ("infra/app/templates/web.json.tpl", 5, 7, "EF001"),
        ("infra/worker/main.tf", 3, 27, "EF003"),
    ]
    first = doc["findings"][0]
    assert first == {
        "rule": "EF001",
        "severity": "high",
        "file": "infra/app/main.tf",
        "line": 8,
        "column": 9,
        "resource": "aws_ecs_task_definition.app",
        "container": "api",
        "name": "DB_PASSWORD",
        "reason": "name",
        "preview": "hu******",
        "fixable": True,
        "message": "name says secret (PASSWORD); move it to `secrets` (ecsfix rewrite)",
        "end_line": 8,
        "end_column": 60,
    }
    ef003 = doc["findings"][3]
    assert (ef003["name"], ef003["reason"], ef003["preview"], ef003["fixable"]) == (None, None, None, False)
    assert doc["errors"] == [
        {"file": "infra/broken/main.tf", "line": 7, "message": "unclosed `{`: fix the syntax and scan again"}
    ]
    assert list(doc["summary"]) == ["files", "task_definitions", "findings", "errors"]
    assert doc["summary"] == {"files": 10, "task_definitions": 2, "findings": 4, "errors": 1}


def test_json_empty() -> None:
    doc = json.loads(render(ScanResult(files=3), "json", tool_version=VERSION))
    assert doc["findings"] == [] and doc["errors"] == []
    assert doc["summary"] == {"files": 3, "task_definitions": 0, "findings": 0, "errors": 0}


# --------------------------------------------------------------------------- sarif


def sarif(result: ScanResult, root: str | None = None) -> dict:
    return json.loads(render(result, "sarif", tool_version=VERSION, root=root))


@pytest.mark.skipif(not SARIF_SCHEMA.is_file(), reason=f"SARIF 2.1.0 schema not found at {SARIF_SCHEMA}")
def test_sarif_validates_against_the_schema(sample: ScanResult, tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft4Validator(schema)
    for result, root in [(sample, None), (sample, str(tmp_path)), (ScanResult(files=1), None)]:
        errors = sorted(validator.iter_errors(sarif(result, root)), key=lambda e: list(e.path))
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


def test_sarif_run(sample: ScanResult) -> None:
    doc = sarif(sample)
    assert doc["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert doc["version"] == "2.1.0"
    (run,) = doc["runs"]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("ecsfix", VERSION)
    assert driver["informationUri"].startswith("https://")
    assert [r["id"] for r in driver["rules"]] == list(RULES)
    assert run["columnKind"] == "unicodeCodePoints"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["description"]["text"]
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False
    assert invocation["toolExecutionNotifications"] == [
        {
            "level": "error",
            "message": {"text": "unclosed `{`: fix the syntax and scan again"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": "infra/broken/main.tf", "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": 7},
                    }
                }
            ],
        }
    ]


def test_sarif_execution_successful_without_errors(one: ScanResult) -> None:
    (invocation,) = sarif(one)["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is True
    assert invocation["toolExecutionNotifications"] == []


@pytest.mark.parametrize(
    ("rule_id", "level", "security_severity"),
    [("EF001", "error", "8.0"), ("EF003", "note", None), ("EF105", "warning", "5.5")],
)
def test_sarif_rule_descriptor(rule_id: str, level: str, security_severity: str | None) -> None:
    rules = {r["id"]: r for r in sarif(ScanResult())["runs"][0]["tool"]["driver"]["rules"]}
    descriptor = rules[rule_id]
    rule = RULES[rule_id]
    assert descriptor["name"] == rule.name
    assert descriptor["shortDescription"] == {"text": rule.summary}
    assert descriptor["fullDescription"]["text"]
    assert descriptor["help"]["text"] == rule.explain
    assert descriptor["help"]["markdown"].endswith(f"({rule.help_uri})")
    assert descriptor["helpUri"] == rule.help_uri
    assert descriptor["defaultConfiguration"] == {"level": level}
    assert descriptor["properties"]["tags"] == ["security"]
    assert descriptor["properties"].get("security-severity") == security_severity


def test_sarif_help_markdown_fences_examples() -> None:
    md = help_markdown(RULES["EF003"])
    assert "calling them clean. Scan a plan to see the resolved definitions:\n\n```\nterraform plan" in md
    assert "ecsfix scan plan.json\n```\n\nThis finding is informational" in md


def test_sarif_results(sample: ScanResult) -> None:
    run = sarif(sample)["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    results = run["results"]
    assert [r["ruleId"] for r in results] == ["EF001", "EF001", "EF001", "EF003"]
    for r in results:
        assert rule_ids[r["ruleIndex"]] == r["ruleId"]
    first = results[0]
    assert first["level"] == "error"
    assert first["message"] == {"text": "name says secret (PASSWORD); move it to `secrets` (ecsfix rewrite)"}
    assert first["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "infra/app/main.tf", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 8, "startColumn": 9, "endLine": 8, "endColumn": 60},
    }
    assert first["locations"][0]["logicalLocations"] == [
        {"fullyQualifiedName": "aws_ecs_task_definition.app", "kind": "resource"}
    ]
    assert results[3]["level"] == "note"
    assert set(first["partialFingerprints"]) == {"ecsfix/v1"}


def test_sarif_paths_relative_to_root(tmp_path: Path) -> None:
    inside = tmp_path / "infra dir" / "main.tf"
    outside = tmp_path.parent / "elsewhere.tf"
    results = []
    for path in (inside, outside):
        file = SourceFile(path=str(path), display=str(path), text=MAIN_TF)
        results.append(finding(file, "environment"))
    doc = sarif(ScanResult(findings=results, files=2), root=str(tmp_path))
    run = doc["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.resolve().as_uri() + "/"
    locations = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run["results"]]
    # below the root: relative, percent-encoded, under %SRCROOT%; outside it: an absolute file URI
    assert sorted(locations, key=lambda loc: loc["uri"]) == sorted(
        [{"uri": "infra%20dir/main.tf", "uriBaseId": "%SRCROOT%"}, {"uri": outside.as_uri()}],
        key=lambda loc: loc["uri"],
    )


def test_repo_path() -> None:
    assert repo_path("infra/main.tf", None, None) == "infra/main.tf"
    assert repo_path("../x/main.tf", "/repo/x/main.tf", "/repo") == "x/main.tf"
    assert repo_path("/other/main.tf", "/other/main.tf", "/repo") == "/other/main.tf"


def _moved(lines_above: int, name: str = "DB_PASSWORD") -> Finding:
    main = source("infra/app/main.tf", "\n" * lines_above + MAIN_TF)
    return finding(main, f'{{ name = "DB_PASSWORD", value = "{FAKE_SECRET}" }}', name=name)


def _fingerprint(f: Finding) -> str:
    doc = sarif(ScanResult(findings=[f], files=1))
    return doc["runs"][0]["results"][0]["partialFingerprints"]["ecsfix/v1"]


def test_fingerprint_survives_line_moves() -> None:
    before, after = _moved(0), _moved(5)
    assert before.line + 5 == after.line
    assert _fingerprint(before) == _fingerprint(after)
    expected = "|".join(["EF001", "infra/app/main.tf", "aws_ecs_task_definition.app", "api", "DB_PASSWORD"])
    assert _fingerprint(before) == hashlib.sha256(expected.encode()).hexdigest()


def test_fingerprint_differs_for_different_names_and_duplicates() -> None:
    assert _fingerprint(_moved(0)) != _fingerprint(_moved(0, name="DB_PASS"))
    main = source("main.tf", MAIN_TF)
    twice = [finding(main, "environment"), finding(main, "value")]  # same key, two places
    prints = fingerprints(twice, None)
    assert len(set(prints)) == 2
    # the first keeps the plain key, so adding a duplicate below does not move an existing alert
    assert prints[0] == fingerprints(twice[:1], None)[0]


def test_sarif_describes_unknown_rules() -> None:
    main = source("main.tf", MAIN_TF)
    run = sarif(ScanResult(findings=[finding(main, "environment", rule="EF999")], files=1))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert rules[run["results"][0]["ruleIndex"]] == {"id": "EF999"}


# --------------------------------------------------------------------------- github


def test_github_annotations(sample: ScanResult) -> None:
    assert render(sample, "github", tool_version=VERSION).splitlines() == [
        "::error file=infra/app/main.tf,line=8,col=9,endLine=8,endColumn=60,title=ecsfix EF001::"
        "name says secret (PASSWORD); move it to `secrets` (ecsfix rewrite)",
        "::error file=infra/app/main.tf,line=9,col=9,endLine=9,endColumn=54,title=ecsfix EF001::"
        "name says secret (TOKEN); move it to `secrets` (ecsfix rewrite)",
        "::error file=infra/app/templates/web.json.tpl,line=5,col=7,endLine=5,endColumn=57,title=ecsfix EF001::"
        "value looks like a Stripe secret key; move it to `secrets` (ecsfix rewrite)",
        "::notice file=infra/worker/main.tf,line=3,col=27,endLine=3,endColumn=43,title=ecsfix EF003::"
        "container definitions built by `merge` are not statically analysable: scan a plan",
        "::error file=infra/broken/main.tf,line=7::unclosed `{`: fix the syntax and scan again",
        "4 findings (3 high, 1 info) in 2 task definitions, 10 files scanned; 1 error",
        "Run 'ecsfix rewrite PATH' to preview the fix.",
    ]


@pytest.mark.parametrize(
    ("severity", "command"),
    [("critical", "error"), ("high", "error"), ("medium", "warning"), ("low", "notice"), ("info", "notice")],
)
def test_github_severity_to_command(severity: str, command: str) -> None:
    main = source("main.tf", MAIN_TF)
    result = ScanResult(findings=[finding(main, "environment", severity=severity)], files=1)
    assert render(result, "github", tool_version=VERSION).startswith(f"::{command} file=main.tf,")


def test_github_escaping() -> None:
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_data("a: b, c") == "a: b, c"
    assert escape_property("dir,x/a:b%.tf\n") == "dir%2Cx/a%3Ab%25.tf%0A"
    main = source("we,ird:dir/main.tf", MAIN_TF)
    result = ScanResult(findings=[finding(main, "environment", message="50% of\nit")], files=1)
    first = render(result, "github", tool_version=VERSION).splitlines()[0]
    assert first == (
        "::error file=we%2Cird%3Adir/main.tf,line=7,col=7,endLine=7,endColumn=18,title=ecsfix EF001::50%25 of%0Ait"
    )


def test_github_error_without_line() -> None:
    result = ScanResult(
        errors=[InputError("plan.json", None, "not a plan: run `terraform show -json`")], files=1
    )
    assert render(result, "github", tool_version=VERSION).splitlines()[0] == (
        "::error file=plan.json::not a plan: run `terraform show -json`"
    )


# --------------------------------------------------------------------------- redaction


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("color", [False, True], ids=["plain", "color"])
def test_secret_values_never_reach_any_output(
    sample: ScanResult, fmt: str, color: bool, tmp_path: Path
) -> None:
    # The secret sits in the source text and inside every finding's span; only the redacted
    # preview may be shown.
    assert all(FAKE_SECRET in f.span.file.text for f in sample.findings[:2])
    for root in (None, str(tmp_path)):
        out = render(sample, fmt, tool_version=VERSION, color=color, root=root)
        assert FAKE_SECRET not in out
        assert FAKE_SECRET[2:] not in out  # nor any longer prefix than the preview's
