"""Terraform plan JSON: addresses, unknown and sensitive values, deleted resources, source locations.

The fixtures are real `terraform show -json` output, produced offline by
`tests/fixtures/plan/make_plans.py` from the configurations next to them (task definitions are
planned as `terraform_data` and renamed back). `test_committed_plans_match_terraform` regenerates
them with terraform, when it is installed, to prove they still are what terraform produces.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from ecsfix.cli import main
from ecsfix.model import Null, Other, Str
from ecsfix.plan import UNKNOWN, module_path
from ecsfix.scan import scan
from tests.labelled import run_ecsfix
from tests.tf import require_terraform

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "plan"
SERVICES = FIXTURES / "services" / "plan.json"
CLEAN = FIXTURES / "clean" / "plan.json"
LIFECYCLE = FIXTURES / "lifecycle" / "plan.json"
STATE = FIXTURES / "lifecycle" / "state.json"
EXAMPLE = REPO / "examples" / "plan" / "plan.json"
PLAN_FILES = (SERVICES, CLEAN, LIFECYCLE, STATE, EXAMPLE)
FORMATS = ("text", "json", "sarif", "github")


def load_make_plans() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_plans", FIXTURES / "make_plans.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_plans"] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


MAKE_PLANS = load_make_plans()


def rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def findings_of(path: Path, rule: str | None = None) -> set[tuple[str, str, str, str | None]]:
    result = scan([str(path)], root=str(REPO))
    assert not result.errors, [e.render() for e in result.errors]
    return {(f.rule, f.resource, f.container, f.name) for f in result.findings if rule in (None, f.rule)}


def run_cli(argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    monkeypatch.chdir(REPO)
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------- addresses


SERVICES_SECRETS = {
    ("EF001", 'module.svc["api"].aws_ecs_task_definition.this[0]', "api", "DB_PASSWORD"),
    ("EF001", 'module.svc["billing"].aws_ecs_task_definition.this[0]', "billing", "DB_PASSWORD"),
    ("EF001", "aws_ecs_task_definition.migrate[0]", "migrate", "DATABASE_URL"),
    ("EF002", "aws_ecs_task_definition.migrate[0]", "migrate", "command"),
    ("EF001", 'module.platform.module.jobs.aws_ecs_task_definition.cron["nightly-report"]', "nightly-report",
     "AWS_ACCESS_KEY_ID"),
    ("EF001", 'module.platform.module.jobs.aws_ecs_task_definition.cron["nightly-report"]', "nightly-report",
     "AWS_SECRET_ACCESS_KEY"),
}


def test_plan_findings_carry_full_addresses() -> None:
    """Module paths, `[0]` and `["key"]` instances, nested modules -- and none of the look-alikes
    (LOG_LEVEL, DB_PASSWORD_SECRET_ARN, TOKEN_TTL_SECONDS, CACHE_URL, REPORTS_BUCKET, GIT_SHA)."""
    assert findings_of(SERVICES, "EF001") | findings_of(SERVICES, "EF002") == SERVICES_SECRETS


def test_text_report_prints_addresses(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["scan", rel(SERVICES)], monkeypatch, capsys)
    assert code == 1
    for line in (
        'module.svc["api"].aws_ecs_task_definition.this[0]/api DB_PASSWORD=hu****** —',
        'module.platform.module.jobs.aws_ecs_task_definition.cron["nightly-report"]/nightly-report '
        "AWS_ACCESS_KEY_ID=AK****** —",
        "aws_ecs_task_definition.migrate[0]/migrate DATABASE_URL=po****** —",
        "aws_ecs_task_definition.worker/* — container definitions not statically analysable: unknown until apply",
    ):
        assert line in out


@pytest.mark.parametrize(
    ("address", "modules"),
    [
        ("aws_ecs_task_definition.api", []),
        ("aws_ecs_task_definition.api[0]", []),
        ('module.svc["api"].aws_ecs_task_definition.this[0]', ["svc"]),
        ("module.a.module.b[3].aws_ecs_task_definition.x", ["a", "b"]),
        ('module.a["x.y]"].module.b["q\\"uote"].aws_ecs_task_definition.x["k"]', ["a", "b"]),
        ("module.svc-v2.aws_ecs_task_definition.x", ["svc-v2"]),
    ],
)
def test_module_path(address: str, modules: list[str]) -> None:
    assert module_path(address) == modules


def test_entry_spans_point_into_the_escaped_container_json() -> None:
    result = scan([str(SERVICES)])
    entries = [f for f in result.findings if f.rule == "EF001"]
    assert entries
    for f in entries:
        # the span covers `{\"name\":...}` inside the JSON string: decoding it gives the entry
        entry = json.loads(json.loads(f'"{f.span.text}"'))
        assert entry["name"] == f.name
        assert f.line == 1  # `terraform show -json` writes one line


def address_above(lines: list[str], line_no: int) -> str:
    for j in range(line_no, 0, -1):
        text = lines[j - 1].strip()
        if text.startswith('"address": '):
            return str(json.loads(text[len('"address": '):].rstrip(",")))
    raise AssertionError(f"no address above line {line_no}")


def test_pretty_printed_plan_lines() -> None:
    """A plan piped through `jq .` has one attribute per line: a finding lands on the line of its
    resource's `container_definitions`, below that resource's `address`."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    found = [f for f in scan([str(EXAMPLE)]).findings if f.rule == "EF001"]
    assert {f.resource for f in found} == {'module.service["web"].aws_ecs_task_definition.this',
                                           'module.service["worker"].aws_ecs_task_definition.this'}
    for f in found:
        assert lines[f.line - 1].strip().startswith('"container_definitions": "')
        assert address_above(lines, f.line) == f.resource
        assert f.line > 1 and f.span.end_line == f.line


# --------------------------------------------------------------------------- unknown, deleted, state


def test_unknown_until_apply_is_ef003_never_clean(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["scan", "--format", "json", rel(CLEAN)], monkeypatch, capsys)
    doc = json.loads(out)
    assert code == 0  # info findings never count
    infos = [f for f in doc["findings"] if f["rule"] == "EF003"]
    assert [(f["resource"], f["severity"]) for f in infos] == [("aws_ecs_task_definition.worker", "info")]
    assert UNKNOWN in infos[0]["message"]
    assert not [f for f in doc["findings"] if f["rule"] in ("EF001", "EF002")]
    assert doc["summary"]["task_definitions"] == 2


def test_unknown_alongside_findings_still_exits_1() -> None:
    result = scan([str(SERVICES)])
    assert ("EF003", "aws_ecs_task_definition.worker") in {(f.rule, f.resource) for f in result.findings}
    assert result.exit_code == 1


def test_absent_container_definitions_is_unknown_too(tmp_path: Path) -> None:
    """Older plans carry no `after_unknown`: an absent attribute is still not "clean"."""
    doc = json.loads(CLEAN.read_text(encoding="utf-8"))
    for rc in doc["resource_changes"]:
        rc["change"].pop("after_unknown", None)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    result = scan([str(path)])
    tds = {td.address: td for td in result.task_definitions}
    assert tds["aws_ecs_task_definition.worker"].unanalysable == UNKNOWN
    assert tds["aws_ecs_task_definition.web"].unanalysable is None


def test_roles_from_after() -> None:
    tds = {td.address: td for td in scan([str(SERVICES)]).task_definitions}
    api = tds['module.svc["api"].aws_ecs_task_definition.this[0]']
    assert isinstance(api.execution_role, Str) and api.execution_role.value == "arn:aws:iam::123456789012:role/api-exec"
    assert isinstance(api.task_role, Str) and api.task_role.value == "arn:aws:iam::123456789012:role/api-task"
    worker = tds["aws_ecs_task_definition.worker"]
    assert isinstance(worker.execution_role, Other) and worker.execution_role.kind == UNKNOWN  # set, unknown
    cron = tds['module.platform.module.jobs.aws_ecs_task_definition.cron["nightly-report"]']
    assert cron.execution_role is None and cron.task_role is None


def test_known_null_execution_role_is_kept(tmp_path: Path) -> None:
    doc = json.loads(LIFECYCLE.read_text(encoding="utf-8"))
    for rc in doc["resource_changes"]:
        if rc["change"]["after"]:
            rc["change"]["after"]["execution_role_arn"] = None
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert all(isinstance(td.execution_role, Null) for td in scan([str(path)]).task_definitions)


def test_deleted_task_definitions_are_skipped() -> None:
    doc = json.loads(LIFECYCLE.read_text(encoding="utf-8"))
    actions = {rc["address"]: rc["change"]["actions"] for rc in doc["resource_changes"]}
    assert actions == {
        "aws_ecs_task_definition.api": ["delete", "create"],  # replaced: the new revision counts
        "aws_ecs_task_definition.legacy": ["delete"],
        "aws_ecs_task_definition.mailer": ["no-op"],
    }
    assert MAKE_PLANS.LEGACY_API_TOKEN in LIFECYCLE.read_text(encoding="utf-8")  # in `before` and prior_state
    assert findings_of(LIFECYCLE) == {
        ("EF001", "aws_ecs_task_definition.api", "api", "DB_PASSWORD"),
        ("EF001", "aws_ecs_task_definition.mailer", "mailer", "SMTP_PASSWORD"),
    }


def test_state_json_values_are_read() -> None:
    """`terraform show -json` without a plan file prints the state: `values.root_module`."""
    assert findings_of(STATE) == {
        ("EF001", "aws_ecs_task_definition.api", "api", "DB_PASSWORD"),
        ("EF001", "aws_ecs_task_definition.legacy", "legacy", "LEGACY_API_TOKEN"),
        ("EF001", "aws_ecs_task_definition.mailer", "mailer", "SMTP_PASSWORD"),
    }


def test_planned_values_cover_resources_missing_from_resource_changes(tmp_path: Path) -> None:
    doc = json.loads(SERVICES.read_text(encoding="utf-8"))
    doc["resource_changes"] = [rc for rc in doc["resource_changes"] if "module.platform" not in rc["address"]]
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    got = {(f.rule, f.resource, f.name) for f in scan([str(path)]).findings if f.rule == "EF001"}
    assert ("EF001", 'module.platform.module.jobs.aws_ecs_task_definition.cron["nightly-report"]',
            "AWS_SECRET_ACCESS_KEY") in got
    addresses = [td.address for td in scan([str(path)]).task_definitions]
    assert len(addresses) == len(set(addresses)) == 5  # each resource once


# --------------------------------------------------------------------------- numbers, parse errors


def test_numeric_cpu_and_memory_parse() -> None:
    """Numbers stay numbers in plans (`"cpu":256`); Trivy silently reports nothing on them."""
    raw = json.loads(SERVICES.read_text(encoding="utf-8"))
    migrate = next(rc for rc in raw["resource_changes"] if rc["address"] == "aws_ecs_task_definition.migrate[0]")
    containers = json.loads(migrate["change"]["after"]["container_definitions"])
    assert containers[0]["cpu"] == 256 and containers[0]["memory"] == 512 and containers[0]["essential"] is True
    assert ("EF001", "aws_ecs_task_definition.migrate[0]", "migrate", "DATABASE_URL") in findings_of(SERVICES)


def test_unparseable_plan_is_an_error_with_its_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    cut = text.index('"resource_changes"')
    broken = tmp_path / "plan.json"
    broken.write_text(text[:cut] + '"resource_changes": [ {"address": }\n', encoding="utf-8")
    code, out, _ = run_cli(["scan", "--format", "json", str(broken)], monkeypatch, capsys)
    doc = json.loads(out)
    assert code == 2
    [error] = doc["errors"]
    assert error["line"] == text[:cut].count("\n") + 1
    assert "invalid JSON" in error["message"]


def test_invalid_container_json_names_the_address_not_the_value(tmp_path: Path) -> None:
    doc = json.loads(SERVICES.read_text(encoding="utf-8"))
    for rc in doc["resource_changes"]:
        if rc["address"] == 'module.svc["api"].aws_ecs_task_definition.this[0]':
            cd = rc["change"]["after"]["container_definitions"]
            cut = cd.index(MAKE_PLANS.DB_PASSWORD) + len(MAKE_PLANS.DB_PASSWORD)
            rc["change"]["after"]["container_definitions"] = cd[:cut]  # truncated after the secret
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    result = scan([str(path)])
    [error] = result.errors
    assert 'module.svc["api"].aws_ecs_task_definition.this[0]' in error.message
    assert "container_definitions is not valid JSON" in error.message
    assert error.line is not None and error.line > 1
    assert MAKE_PLANS.DB_PASSWORD[2:] not in error.render()


def test_binary_plan_file_says_to_run_terraform_show(tmp_path: Path) -> None:
    """`plan.out` is a zip archive: passed explicitly it is an error that says what to do."""
    plan_out = tmp_path / "plan.out"
    with zipfile.ZipFile(plan_out, "w") as zf:
        zf.writestr("tfplan", b"\x00\x01binary plan")
        zf.writestr("tfconfig/m-/main.tf", 'resource "aws_ecs_task_definition" "x" {}\n')
    run = run_ecsfix("scan", str(plan_out), cwd=tmp_path)
    assert run.code == 2
    output = run.stdout + run.stderr
    assert "binary file" in output
    assert "terraform show -json" in output
    assert "Traceback" not in output
    # next to other inputs, in a directory walk, it is not picked up at all
    assert run_ecsfix("scan", ".", cwd=tmp_path).code == 0


# --------------------------------------------------------------------------- source locations


def block_line(path: Path, name: str) -> int:
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith(f'resource "aws_ecs_task_definition" "{name}"'):
            return i
    raise AssertionError(f"no block {name} in {path}")


def test_findings_say_where_the_module_defines_the_resource() -> None:
    result = scan([str(SERVICES)], root=str(REPO))
    base = FIXTURES / "services"
    expected = {
        'module.svc["api"].aws_ecs_task_definition.this[0]': base / "modules/svc/main.tf",
        'module.platform.module.jobs.aws_ecs_task_definition.cron["nightly-report"]': base / "modules/jobs/main.tf",
        "aws_ecs_task_definition.migrate[0]": base / "main.tf",  # the root module, next to the plan
    }
    names = {"this": "this", "cron": "cron", "migrate": "migrate"}
    for address, tf in expected.items():
        name = next(n for n in names if f".{n}" in address)
        where = f"(defined in {rel(tf)}:{block_line(tf, name)})"
        messages = [f.message for f in result.findings if f.resource == address]
        assert messages and all(m.endswith(where) for m in messages), (address, messages)


def test_no_source_location_without_the_configuration(tmp_path: Path) -> None:
    copy = tmp_path / "plan.json"
    copy.write_text(SERVICES.read_text(encoding="utf-8"), encoding="utf-8")
    result = scan([str(copy)])
    assert result.findings and not [f for f in result.findings if "defined in" in f.message]


def test_no_source_location_for_registry_modules(tmp_path: Path) -> None:
    doc = json.loads(SERVICES.read_text(encoding="utf-8"))
    doc["configuration"]["root_module"]["module_calls"]["svc"]["source"] = "acme/svc/aws"
    path = FIXTURES / "services" / "registry-plan.json.tmp"
    try:
        path.write_text(json.dumps(doc), encoding="utf-8")
        result = scan([str(path)])
    finally:
        path.unlink()
    svc = [f for f in result.findings if f.resource.startswith("module.svc")]
    jobs = [f for f in result.findings if f.resource.startswith("module.platform")]
    assert svc and not [f for f in svc if "defined in" in f.message]
    assert jobs and all("defined in" in f.message for f in jobs)


def test_plan_scan_imports_no_hcl_parser_without_configuration(tmp_path: Path) -> None:
    """A plan next to no Terraform files is read without importing python-hcl2 (start-up cost)."""
    copy = tmp_path / "plan.json"
    copy.write_text(SERVICES.read_text(encoding="utf-8"), encoding="utf-8")
    code = (
        "import sys\nfrom ecsfix.scan import scan\n"
        f"r = scan([{str(copy)!r}])\n"
        "assert r.findings, r\n"
        "print('hcl2' in sys.modules)\n"
    )
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- values never printed

_ROT = {**{c: chr((ord(c) - 97 + 7) % 26 + 97) for c in "abcdefghijklmnopqrstuvwxyz"},
        **{c: chr((ord(c) - 65 + 7) % 26 + 65) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
        **{c: str((int(c) + 3) % 10) for c in "0123456789"}}


def mutate(value: str) -> str:
    """Same shape, same first four characters, different everything else. Four, not two: the kind
    of a value may hang on a prefix the rule text names anyway (`AKIA`: an AWS access key id)."""
    return value[:4] + "".join(_ROT.get(c, c) for c in value[4:])


def escaped_forms(value: str) -> list[str]:
    """How a value appears in plan text: raw, as a JSON string, as a JSON string inside one."""
    def go(s: str) -> str:
        return json.dumps(s)[1:-1].replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    once = go(value)
    return [go(once), once, value]


def scan_outputs(paths: list[Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                 root: Path) -> dict[str, str]:
    monkeypatch.chdir(root)
    outputs = {}
    for fmt in FORMATS:
        main(["scan", "--format", fmt, *[str(p.relative_to(root)) for p in paths]])
        out, err = capsys.readouterr()
        outputs[fmt] = out + err
    return outputs


def test_fixture_secret_values_are_in_the_plans() -> None:
    """The trap is real: sensitive values are plaintext in `after` (and in `variables`)."""
    text = "".join(p.read_text(encoding="utf-8") for p in PLAN_FILES)
    for value in MAKE_PLANS.SECRET_VALUES:
        assert any(form in text for form in escaped_forms(value)), value
    after_sensitive = [rc["change"]["after_sensitive"] for rc in json.loads(SERVICES.read_text())["resource_changes"]
                       if rc["type"] == "aws_ecs_task_definition"]
    assert sum(s.get("container_definitions") is True for s in after_sensitive) == 5  # worker: unknown and sensitive


def test_sensitive_values_never_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Every format over every plan fixture: no value, and nothing of it beyond the two-character
    preview -- no 4-character piece of its start, and scanning copies in which every secret value
    keeps its first four characters and its shape but changes in all others gives byte-identical
    output."""
    original = scan_outputs(list(PLAN_FILES), monkeypatch, capsys, REPO)
    empty = tmp_path / "empty"
    empty.mkdir()
    # what every report says whatever it scans (SARIF embeds the rule help, whose examples use `hunter2`)
    vocabulary = scan_outputs([empty], monkeypatch, capsys, tmp_path)
    for fmt, text in original.items():
        for value in MAKE_PLANS.SECRET_VALUES:
            assert value[2:] not in text, (fmt, value[:2])
            for form in escaped_forms(value):
                assert form[2:] not in text, (fmt, value[:2])
            for start in (1, 2, 3):  # the pieces the mutation below keeps
                piece = value[start : start + 4]
                assert piece in vocabulary[fmt] or piece not in text, (fmt, value[:2], start)
    assert "EF001" in original["text"] and "hu******" in original["text"]

    copies = []
    for path in PLAN_FILES:
        text = path.read_text(encoding="utf-8")
        for value in MAKE_PLANS.SECRET_VALUES:
            for form, mutated in zip(escaped_forms(value), escaped_forms(mutate(value)), strict=True):
                text = text.replace(form, mutated)
        target = tmp_path / path.relative_to(REPO)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        copies.append(target)
    for value in MAKE_PLANS.SECRET_VALUES:
        assert not any(value[2:] in c.read_text(encoding="utf-8") for c in copies)
    # the copies lack the configurations next to the plans: compare without source locations
    strip = re.compile(r" \(defined in [^)]*\)")
    mutated = scan_outputs(copies, monkeypatch, capsys, tmp_path)
    for fmt in FORMATS:
        assert strip.sub("", mutated[fmt]) == strip.sub("", original[fmt]), fmt


# --------------------------------------------------------------------------- the fixtures themselves


def semantic(doc: dict[str, object]) -> list[tuple[object, ...]]:
    changes = doc.get("resource_changes") or []
    out = []
    for rc in changes:  # type: ignore[attr-defined]
        c = rc["change"]
        out.append((rc["address"], c["actions"], c["before"], c["after"], c.get("after_unknown"),
                    c.get("after_sensitive")))
    values = doc.get("values")
    if isinstance(values, dict):
        out.append(("values", json.dumps(values, sort_keys=True)))
    return out


def test_committed_plans_match_terraform() -> None:
    """Regenerate every plan with terraform and compare what ecsfix reads from it."""
    require_terraform()
    for case in MAKE_PLANS.CASES:
        for name, text in MAKE_PLANS.generate(case).items():
            committed = json.loads((case.directory / name).read_text(encoding="utf-8"))
            assert semantic(json.loads(text)) == semantic(committed), (case.name, name)


def test_a_plan_larger_than_the_hcl_cap_is_scanned(tmp_path: Path) -> None:
    """Plans of big configurations pass 5 MiB; the JSON cap is 64 MiB."""
    from ecsfix.sources import MAX_FILE_BYTES, MAX_JSON_BYTES

    doc = json.loads(SERVICES.read_text())
    doc["ecsfix_test_padding"] = ["x" * 1000] * (MAX_FILE_BYTES // 1000 + 10)
    big = tmp_path / "plan.json"
    big.write_text(json.dumps(doc))
    assert MAX_FILE_BYTES < big.stat().st_size < MAX_JSON_BYTES
    small = scan([str(SERVICES)])
    large = scan([str(big)])
    assert not large.errors
    assert [(f.rule, f.resource, f.name) for f in large.findings] == [(f.rule, f.resource, f.name) for f in small.findings]
    assert any(f.rule == "EF001" for f in large.findings)
