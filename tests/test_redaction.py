"""Values are never printed: every output format, over every fixture directory, shows at most a
two-character preview of each secret value -- never the value, never a 4+ character piece of it.

Secret values are collected three ways: the labelled table's own list, the literal values behind
each EF001/EF002 finding of a library scan, and `name`/`value` pairs in the fixture text whose
verdict is secret (this catches values in files that do not even parse).

A piece of a value that legitimately occurs elsewhere (in a name, a path, the fixture's other
text, or ecsfix's own vocabulary: rule texts, SARIF boilerplate, "Bearer credential") is not a
leak, so each piece is checked only when it does not occur in that baseline.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ecsfix.cli import main
from ecsfix.jsonscan import LENIENT_NOTE
from ecsfix.model import Lst, Obj, ScanResult, Str
from ecsfix.rules import RULES
from ecsfix.rules.values import view, view_expr
from ecsfix.scan import scan
from ecsfix.secrets import classify, name_is_secret
from tests import labelled

REPO = Path(__file__).resolve().parents[1]
FORMATS = ("text", "json", "sarif", "github")
MIN_PIECE = 4
_DIGEST = re.compile(r"\b[0-9a-f]{64}\b")


def fixture_dirs() -> list[Path]:
    out: list[Path] = []
    for base in (REPO / "tests" / "fixtures", REPO / "examples"):
        if base.is_dir():
            out += sorted(d for d in base.iterdir() if d.is_dir() and not d.name.startswith("."))  # not a cache
    return out


# --------------------------------------------------------------------------- collecting values

_HCL_PAIR = re.compile(
    r'name\s*[=:]\s*"(?P<n>[^"\\]*)"\s*,?\s*value\s*[=:]\s*"(?P<v>(?:[^"\\]|\\.)*)"'
    r'|value\s*[=:]\s*"(?P<v2>(?:[^"\\]|\\.)*)"\s*,?\s*name\s*[=:]\s*"(?P<n2>[^"\\]*)"'
)
_JSON_PAIR = re.compile(
    r'"name"\s*:\s*"(?P<n>[^"\\]*)"\s*,\s*"value"\s*:\s*"(?P<v>(?:[^"\\]|\\.)*)"'
    r'|"value"\s*:\s*"(?P<v2>(?:[^"\\]|\\.)*)"\s*,\s*"name"\s*:\s*"(?P<n2>[^"\\]*)"'
)


def _unescape(raw: str) -> str:
    try:
        return str(json.loads(f'"{raw}"'))
    except ValueError:
        return raw


def values_in_text(text: str) -> set[str]:
    """`name`/`value` pairs written in a file whose verdict is secret (by name or by value)."""
    found: set[str] = set()
    for rx in (_HCL_PAIR, _JSON_PAIR):
        for m in rx.finditer(text):
            name = m.group("n") or m.group("n2")
            value = _unescape(m.group("v") if m.group("v") is not None else m.group("v2") or "")
            if "${" in value or not value:
                continue
            if classify(name, value) is not None:
                found.add(value)
    for blob in re.findall(r'"(\[\{\\"name\\".*?)"\s*[,}\n]', text):  # JSON inside a JSON string
        found |= values_in_text(_unescape(blob))
    return found


def values_in_findings(result: ScanResult) -> set[str]:
    """The literal value behind every EF001/EF002 finding of a scan."""
    spans = {(f.span.file.path, f.span.start, f.span.end) for f in result.findings if f.rule in ("EF001", "EF002")}
    found: set[str] = set()

    def hit(span: object) -> bool:
        return (span.file.path, span.start, span.end) in spans  # type: ignore[attr-defined]

    for td in result.task_definitions:
        for c in td.containers:
            for entry in c.environment:
                seen = view(entry.value)
                if hit(entry.span) and seen.literal and seen.text:
                    resolved = entry.value.resolved if entry.value is not None else None
                    if isinstance(resolved, Str) and resolved.is_template:
                        # the literal pieces; `${...}` are references, which may be shown
                        found.update(p for p in resolved.parts if isinstance(p, str) and p.strip())
                    else:
                        found.add(seen.text)
            for _, value in c.plaintext_fields:
                items = value.items if isinstance(value, Lst) else []
                for arg in items:
                    if isinstance(arg, Str) and arg.value and hit(arg.span):
                        found.add(arg.value)
                if isinstance(value, Obj):
                    for item in value.items:
                        seen = view_expr(item.value)
                        if hit(item.span) and seen.literal and seen.text:
                            found.add(seen.text)
    return found


def pieces(value: str) -> Iterator[str]:
    """Every substring of 4+ characters (the preview shows 2)."""
    n = len(value)
    for size in range(MIN_PIECE, n + 1):
        for start in range(0, n - size + 1):
            yield value[start : start + size]


# --------------------------------------------------------------------------- baseline

_VOCABULARY: str | None = None


def vocabulary() -> str:
    """What ecsfix prints whatever the values: rule texts, every format's boilerplate, the kind of
    every detected value (`value contains a Bearer credential`)."""
    global _VOCABULARY
    if _VOCABULARY is None:
        parts = [f"{r.id} {r.name} {r.summary} {r.explain} {r.help_uri}" for r in RULES.values()]
        parts.append(LENIENT_NOTE)  # said after the error of a JSON document read leniently
        for value in labelled.table().secret_values:
            verdict = classify(None, value)
            if verdict is not None:
                parts.append(verdict.why)
        _VOCABULARY = "\n".join(parts)
    return _VOCABULARY


def baseline(root: Path, secrets: set[str], boilerplate: str) -> str:
    texts = []
    for path in sorted(root.rglob("*")):
        texts.append(str(path.relative_to(root)))
        if path.is_file() and not path.is_symlink():
            try:
                text = path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            for value in sorted(secrets, key=len, reverse=True):
                for form in {value, json.dumps(value)[1:-1], json.dumps(json.dumps(value))[3:-3]}:
                    text = text.replace(form, "\x00")
            texts.append(text)
    kinds = [v.why for v in (classify(None, value) for value in secrets) if v is not None]
    # why a name is secret quotes its token (`name contains the token PRIVATE_KEY`): words of the
    # file, printed whatever the value (a PEM value holds " PRIVATE KEY" too)
    names = {m.group("n") or m.group("n2") for t in texts for rx in (_HCL_PAIR, _JSON_PAIR) for m in rx.finditer(t)}
    kinds += [why for why in (name_is_secret(n) for n in sorted(n for n in names if n)) if why]
    return "\n".join(texts + kinds) + "\n" + vocabulary() + "\n" + boilerplate


def leaks(output: str, secrets: set[str], base: str) -> list[str]:
    """Secret pieces found in `output` that the baseline does not explain (never the piece itself in
    the assertion message: a failing test must not print the secret either)."""
    out: list[str] = []
    for value in sorted(secrets):
        data = value.encode("utf-8")
        if any(h(data).hexdigest() in output for h in (hashlib.md5, hashlib.sha1, hashlib.sha256)):
            out.append(f"a hash of a value starting {value[:2]!r}")
    # SARIF partialFingerprints are sha256 digests (of rule|file|resource|container|name, checked
    # above not to be a value's digest): random hex, where any 4 characters may occur by chance.
    output = _DIGEST.sub("<digest>", output)
    for value in sorted(secrets):
        if len(value) < MIN_PIECE:
            continue
        if value in output and value not in base:
            out.append(f"a whole value starting {value[:2]!r} ({len(value)} chars)")
            continue
        for piece in pieces(value):
            if piece in output and piece not in base:
                out.append(f"a {len(piece)}-character piece of a value starting {value[:2]!r}")
                break
    return out


# --------------------------------------------------------------------------- running


def run_all_formats(root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                    cache: Path) -> dict[str, str]:
    monkeypatch.chdir(root)
    monkeypatch.setenv("ECSFIX_CACHE_DIR", str(cache))
    outputs: dict[str, str] = {}
    for fmt in FORMATS:
        main(["scan", "--format", fmt, "."])
        out, err = capsys.readouterr()
        outputs[fmt] = out + "\n" + err
    return outputs


@pytest.fixture(scope="module")
def boilerplate(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Every format's fixed text, from a run over a fixture with no secret values at all."""
    root = tmp_path_factory.mktemp("boilerplate")
    (root / "main.tf").write_text(
        'resource "aws_ecs_task_definition" "app" {\n  family = "app"\n'
        "  container_definitions = jsonencode([{ name = \"app\", environment = [\n"
        '    { name = "DB_PASSWORD", value = var.db_password },\n'
        "    { name = \"API_TOKEN\", value = local.t },\n  ] }])\n}\n"
        "locals {\n  t = var.x\n}\n", encoding="utf-8")
    import subprocess
    import sys

    text = []
    for fmt in FORMATS:
        proc = subprocess.run([sys.executable, "-m", "ecsfix", "scan", "--format", fmt, "."], cwd=root,
                              capture_output=True, text=True)
        text.append(proc.stdout + proc.stderr)
    return "\n".join(text)


@pytest.mark.parametrize("directory", fixture_dirs(), ids=lambda d: str(d.relative_to(REPO)))
def test_no_secret_value_in_any_output(directory: Path, tmp_path: Path, boilerplate: str,
                                       monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    result = scan([str(directory)], root=str(directory))
    secrets = values_in_findings(result)
    for path in directory.rglob("*"):
        if path.is_file():
            try:
                secrets |= values_in_text(path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, OSError):
                pass
    outputs = run_all_formats(directory, monkeypatch, capsys, tmp_path / "cache")
    base = baseline(directory, secrets, boilerplate)
    for fmt, output in outputs.items():
        assert leaks(output, secrets, base) == [], fmt
    assert not list(directory.rglob(".ecsfix_cache")), "a scan must not write a cache into the fixtures"
    for cached in (tmp_path / "cache").rglob("*"):
        if cached.is_file():
            assert leaks(cached.read_bytes().decode("utf-8", "replace"), secrets, base) == [], cached


def test_no_secret_value_in_any_output_of_the_labelled_table(
    tmp_path: Path, boilerplate: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "labelled"
    table = labelled.build(root)
    secrets = set(table.secret_values)
    secrets |= values_in_findings(scan([str(root)], root=str(root)))
    for text in table.files.values():
        secrets |= values_in_text(text)
    assert len(secrets) >= 20
    outputs = run_all_formats(root, monkeypatch, capsys, tmp_path / "cache")
    assert "EF001" in outputs["text"] and "hu******" in outputs["text"]
    base = baseline(root, secrets, boilerplate)
    for fmt, output in outputs.items():
        assert leaks(output, secrets, base) == [], fmt


def test_bad_inputs_are_covered() -> None:
    """The parse-error fixtures hold values this test must know about, or it checks nothing there."""
    bad = REPO / "tests" / "fixtures" / "bad"
    found: set[str] = set()
    for path in bad.rglob("*"):
        if path.is_file():
            found |= values_in_text(path.read_text(encoding="utf-8"))
    assert {"hunter2-EXAMPLE-heredoc", "hunter2-EXAMPLE-file-json", "hunter2-EXAMPLE-good"} <= found


# --------------------------------------------------------------------------- the checker itself


def test_the_leak_check_catches_leaks() -> None:
    value = "sk_" + "live_" + "EXAMPLEabcdef0123456789"
    base = "no value here"
    assert leaks(f"preview {value[:2]}****** only", {value}, base) == []
    assert leaks(f"DB={value}", {value}, base)
    assert leaks(f"DB={value[5:11]}...", {value}, base)  # a 6-character piece
    assert leaks("x" + value[-4:], {value}, base)
    assert leaks("x" + value[-4:], {value}, base + value[-4:]) == []  # explained by the baseline
    assert leaks(hashlib.sha256(value.encode()).hexdigest(), {value}, base)
    assert values_in_text('{ name = "DB_PASSWORD", value = "hunter2" },') == {"hunter2"}
    assert values_in_text('{"value": "hunter2",\n "name": "API_TOKEN"}') == {"hunter2"}
    assert values_in_text('{ name = "LOG_LEVEL", value = "info" }') == set()


# --------------------------------------------------------------------------- rewrite: raw task-definition JSON

_TASKDEF_VALUES = {
    "multi": "hunter2-EXAMPLE-multi-line",
    "oneline": "hunter2-EXAMPLE-one-line",
    "minified": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "refused": "hunter2-EXAMPLE-refused",
}


def _taskdef_fixture(root: Path) -> None:
    v = _TASKDEF_VALUES
    (root / "multi").mkdir(parents=True)
    (root / "multi" / "task-definition.json").write_text(
        '{\n  "family": "api",\n  "executionRoleArn": "arn:aws:iam::123456789012:role/exec",\n'
        '  "containerDefinitions": [\n    {\n      "name": "api",\n      "environment": [\n'
        '        {\n          "name": "DB_PASSWORD",\n          "value": "@multi@"\n        },\n'
        '        { "name": "API_TOKEN", "value": "@oneline@" },\n'
        '        { "name": "PORT", "value": "8080" }\n      ],\n'
        '      "secrets": [\n        { "name": "SMTP_PASSWORD", "valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/smtp" }\n'
        '      ]\n    },\n    {\n      "name": "sidecar",\n      "environment": [\n'
        '        { "name": "SMTP_PASSWORD", "value": "@refused@" }\n      ],\n'
        '      "secrets": [\n        { "name": "SMTP_PASSWORD", "valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/smtp" }\n'
        '      ]\n    }\n  ]\n}\n'.replace("@multi@", v["multi"]).replace("@oneline@", v["oneline"])
        .replace("@refused@", v["refused"]), encoding="utf-8")
    (root / "minified").mkdir()
    (root / "minified" / "taskdef.json").write_text(
        '{"family":"job","containerDefinitions":[{"name":"job","environment":[{"name":"AWS_SECRET_ACCESS_KEY",'
        '"value":"@v@"},{"name":"AWS_REGION","value":"eu-west-1"}]}]}'.replace("@v@", v["minified"]), encoding="utf-8")


@pytest.mark.parametrize("args", [(), ("--format", "json"), ("--check",), ("--write",),
                                  ("--secret-name", "prod/api"), ("--secret-arn", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/api-AbCdEf")])
def test_no_secret_value_in_any_rewrite_output_of_task_definition_json(args: tuple[str, ...], tmp_path: Path,
                                                                       boilerplate: str) -> None:
    import subprocess
    import sys

    root = tmp_path / "repo"
    _taskdef_fixture(root)
    secrets = set(_TASKDEF_VALUES.values())
    for path in root.rglob("*.json"):
        secrets |= values_in_text(path.read_text(encoding="utf-8"))
    assert set(_TASKDEF_VALUES.values()) <= secrets  # the collector sees every shape
    summary = tmp_path / "summary.md"
    proc = subprocess.run([sys.executable, "-m", "ecsfix", "rewrite", *args, "--summary", str(summary), "."],
                          cwd=root, capture_output=True, text=True)
    assert proc.returncode in (0, 1), proc.stderr
    output = proc.stdout + "\n" + proc.stderr + "\n" + summary.read_text(encoding="utf-8")
    assert "not rewritten" in proc.stderr and "SMTP_PASSWORD" in proc.stderr  # the refused entry's note
    if not args or args[0] in ("--format", "--secret-name", "--secret-arn"):
        assert "-" in proc.stdout and "DB_PASSWORD" in proc.stdout  # a diff was printed
    base = baseline(root, secrets, boilerplate)
    assert leaks(output, secrets, base) == []
    if args == ("--write",):
        text = "".join(path.read_text(encoding="utf-8") for path in sorted(root.rglob("*.json")))
        assert _TASKDEF_VALUES["multi"] not in text and _TASKDEF_VALUES["minified"] not in text
        assert _TASKDEF_VALUES["refused"] in text  # left in place, with its note


def test_removed_json_values_are_redacted_in_the_diff() -> None:
    from ecsfix.rewrite.changes import redact_values

    line = '-        { "name": "DB_PASSWORD", "value": "hunter2-EXAMPLE-x" },\n'
    assert "hunter2-EXAMPLE-x" not in redact_values(line)
    compact = '-{"environment":[{"name":"A","value":"hunter2-EXAMPLE-y"},{"name":"B","value":"eu-west-1"}]}'
    kept = '{"environment":[{"name":"B","value":"eu-west-1"}]}'
    out = redact_values(compact, kept)
    assert "hunter2-EXAMPLE-y" not in out and '"value":"eu-west-1"' in out  # a value still in the file stays


# --------------------------------------------------------------------------- rewrite: local wrapper calls

WRAPPER_CALLS = REPO / "tests" / "fixtures" / "rewrite_wrappers"


# every fixture with a committed literal (child_grants moves `each.value.*` references only)
@pytest.mark.parametrize("case", sorted(d.name for d in WRAPPER_CALLS.iterdir() if d.is_dir() and d.name != "child_grants"))
def test_no_secret_value_in_any_rewrite_output_of_a_wrapper_call(
        case: str, tmp_path: Path, boilerplate: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The entries leave a call of a local wrapper module (rewrite/forms/wrapper_calls.py): the diff,
    json, --check and --summary outputs redact the removed values (an emptied one-line map too)."""
    root = tmp_path / case
    shutil.copytree(WRAPPER_CALLS / case, root)
    secrets = values_in_findings(scan([str(root)], root=str(root)))
    for path in root.rglob("*.tf"):
        secrets |= values_in_text(path.read_text(encoding="utf-8"))
    secrets |= {m.group(1) for path in root.rglob("*.tf")
                for m in re.finditer(r'[A-Z_]*(?:PASSWORD|SECRET|TOKEN)[A-Z_]* *= *"(?!arn:)([^"$]{4,})"', path.read_text())}
    assert secrets
    base = baseline(root, secrets, boilerplate)
    monkeypatch.chdir(root)
    monkeypatch.setenv("ECSFIX_CACHE_DIR", str(tmp_path / "cache"))
    outputs = []
    for args in (["rewrite", "envs"], ["rewrite", "--format", "json", "envs"], ["rewrite", "--check", "envs"],
                 ["rewrite", "--summary", str(tmp_path / "summary.md"), "envs"]):
        main(args)
        out, err = capsys.readouterr()
        outputs.append(out + "\n" + err)
    outputs.append((tmp_path / "summary.md").read_text(encoding="utf-8"))
    for output in outputs:
        assert leaks(output, secrets, base) == []


@pytest.mark.parametrize("directory", [d for d in fixture_dirs() if d.name.startswith("rewrite") or d.parent.name == "examples"],
                         ids=lambda d: str(d.relative_to(REPO)))
def test_rewrite_format_patch_keeps_values_off_stderr_and_terminals(directory: Path, boilerplate: str) -> None:
    """`rewrite --format patch` holds the values on stdout, by design, into a file or pipe only: its
    notes, warnings and errors (stderr) never do, and on a terminal it prints nothing at all."""
    import subprocess
    import sys

    secrets: set[str] = set()
    for path in directory.rglob("*"):
        if path.is_file():
            try:
                secrets |= values_in_text(path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, OSError):
                pass
    proc = subprocess.run([sys.executable, "-m", "ecsfix", "rewrite", "--format", "patch", "."], cwd=directory,
                          capture_output=True, text=True)
    base = baseline(directory, secrets, boilerplate)
    assert leaks(proc.stderr, secrets, base) == []
    if proc.returncode == 1:
        assert proc.stdout.startswith("diff --git ")


# --------------------------------------------------------------------------- rewrite: .tf.json task definitions


def test_escaped_json_values_are_redacted_in_the_diff() -> None:
    """Inside a `.tf.json` string the inner JSON's quotes are escaped (`\\"value\\":\\"...\\"`):
    a removed value is still redacted, an escaped quote inside it does not end it early, a value
    still in the file and a bare reference stay."""
    from ecsfix.rewrite.changes import redact_values

    line = ('-  "container_definitions": "[{\\"name\\":\\"A\\",\\"value\\":\\"hunter2-EXAMPLE-z\\"},'
            '{\\"name\\":\\"B\\",\\"value\\":\\"hun\\\\\\"ter2-EXAMPLE-q\\"},{\\"name\\":\\"C\\",\\"value\\":\\"eu-west-1\\"},'
            '{\\"name\\":\\"D\\",\\"value\\":\\"${var.d}\\"}]"\n')
    out = redact_values(line, '{\\"name\\":\\"C\\",\\"value\\":\\"eu-west-1\\"}')
    assert "hunter2-EXAMPLE-z" not in out and "EXAMPLE-q" not in out and "ter2" not in out
    assert '\\"value\\":\\"eu-west-1\\"' in out and '\\"value\\":\\"${var.d}\\"' in out


@pytest.mark.parametrize("args", [(), ("--format", "json"), ("--check",), ("--write",)])
def test_no_secret_value_in_any_rewrite_output_of_tf_json(args: tuple[str, ...], tmp_path: Path,
                                                          boilerplate: str) -> None:
    import subprocess
    import sys

    values = {"one": "hunter2-EXAMPLE-tfjson", "two": "AKIAIOSFODNN7EXAMPLE"}
    cd = json.dumps([{"name": "app", "image": "nginx", "environment": [
        {"name": "DB_PASSWORD", "value": values["one"]}, {"name": "AWS_ACCESS_KEY_ID", "value": values["two"]},
        {"name": "LOG_LEVEL", "value": "info"}]}], separators=(",", ":"))
    root = tmp_path / "repo"
    root.mkdir()
    (root / "main.tf.json").write_text(json.dumps({"resource": {"aws_ecs_task_definition": {"app": {
        "family": "app", "execution_role_arn": "arn:aws:iam::123456789012:role/app-execution",
        "container_definitions": cd}}}}, indent=2) + "\n", encoding="utf-8")
    secrets = set(values.values())
    summary = tmp_path / "summary.md"
    proc = subprocess.run([sys.executable, "-m", "ecsfix", "rewrite", *args, "--summary", str(summary), "."],
                          cwd=root, capture_output=True, text=True)
    assert proc.returncode in (0, 1), proc.stderr
    if not args:
        assert "DB_PASSWORD" in proc.stdout and "-  " in proc.stdout  # a diff was printed
    output = proc.stdout + "\n" + proc.stderr + "\n" + summary.read_text(encoding="utf-8")
    assert leaks(output, secrets, baseline(root, secrets, boilerplate)) == []
    if args == ("--write",):
        text = (root / "main.tf.json").read_text(encoding="utf-8") + (root / "ecsfix_secrets.tf.json").read_text()
        assert not any(v in text for v in secrets)
