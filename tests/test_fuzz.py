"""Property and fuzz tests (hypothesis).

Valid task definitions, generated: jsonencode with single- and multi-line container objects and
entries, `#` / `//` comments between entries, existing `secrets` lists, heredoc JSON (`<<EOF` and
`<<-EOT`), secret-looking and neutral names, literal and `${var.x}` / `var.x` values. Properties:
* `scan` never raises, and every finding names an entry that exists;
* every `rewrite` result re-parses, a second rewrite of the written output changes nothing, and every
  byte outside the edited container objects is kept (new text only inside a container object or
  inserted right after the task-definition block);
* with terraform: a fmt-clean input stays fmt-clean (a subset: terraform is slow to start).

Garbage: random bytes, and valid files truncated anywhere, give exit code 0/1 when they happen to be
valid and otherwise exit code 2 with one single-line error naming the file, never a traceback.

Example counts: ECSFIX_FUZZ_EXAMPLES (default 150) per property; the counts actually run are printed
at the end of the module (`pytest -s tests/test_fuzz.py`) and written to $ECSFIX_FUZZ_REPORT if set.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecsfix.hclparse import parse_file
from ecsfix.model import SourceFile
from ecsfix.rewrite.engine import rewrite
from ecsfix.rewrite.safewrite import write_change
from ecsfix.scan import scan
from tests.labelled import run_main

EXAMPLES = int(os.environ.get("ECSFIX_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
RUN: Counter[str] = Counter()  # examples run per property, reported at the end of the module


@pytest.fixture(scope="module", autouse=True)
def report_counts() -> Iterator[None]:
    yield
    lines = [f"fuzz examples (ECSFIX_FUZZ_EXAMPLES={EXAMPLES}):"]
    lines += [f"  {name}: {n}" for name, n in sorted(RUN.items())]
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    if os.environ.get("ECSFIX_FUZZ_REPORT"):
        Path(os.environ["ECSFIX_FUZZ_REPORT"]).write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------- generators

SECRET_NAMES = ["DB_PASSWORD", "API_TOKEN", "STRIPE_SECRET_KEY", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN",
                "REDIS_AUTH", "JWT_SIGNING_KEY", "private_key", "Db-Password", "SMTP_PASS"]
NEUTRAL_NAMES = ["LOG_LEVEL", "PORT", "REGION", "QUEUE_NAME", "TZ", "FEATURE_FLAGS", "PASSWORD_MIN_LENGTH",
                 "TOKEN_TTL_SECONDS", "DB_HOST", "node_env"]
NAME = st.one_of(
    st.sampled_from(SECRET_NAMES + NEUTRAL_NAMES),
    st.from_regex(r"[A-Z][A-Z0-9_]{0,14}", fullmatch=True),
)
# Literal values: no quote, backslash, `$` or `%` (those would change what the HCL string means, and
# the generator writes only valid files); with spaces, unicode and look-alike secrets.
LITERAL = st.one_of(
    st.sampled_from(["hunter2", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "info",
                     "8080", "", "true", "sk_test_EXAMPLE", "changeme", "postgres://app@db:5432/app"]),
    st.text(st.characters(blacklist_characters='"\\$%{}\n\r\t', blacklist_categories=("Cs", "Cc")),
            max_size=24),
)
VAR = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)


@dataclass(frozen=True)
class Entry:
    name: str
    kind: str  # "literal", "interp" ("${var.x}"), "ref" (var.x)
    value: str

    def hcl_value(self) -> str:
        if self.kind == "ref":
            return f"var.{self.value}"
        if self.kind == "interp":
            return f'"${{var.{self.value}}}"'
        return json.dumps(self.value, ensure_ascii=False)

    def json_value(self) -> str:
        if self.kind == "literal":
            return self.value
        return f"${{var.{self.value}}}"  # in a heredoc, a template interpolation


ENTRY = st.one_of(
    st.builds(Entry, NAME, st.just("literal"), LITERAL),
    st.builds(Entry, NAME, st.sampled_from(["interp", "ref"]), VAR),
)


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    entries: tuple[Entry, ...]
    entry_styles: tuple[str, ...]  # "one-line" | "multi-line" per entry
    comments: tuple[str | None, ...]  # a comment line before each entry, or None
    one_line_object: bool
    secrets: tuple[str, ...] | None  # existing secrets list (names), None: no attribute
    environment_last: bool


@st.composite
def containers(draw: st.DrawFn, index: int) -> ContainerSpec:
    entries = draw(st.lists(ENTRY, min_size=0, max_size=6, unique_by=lambda e: e.name))
    n = len(entries)
    return ContainerSpec(
        name=draw(st.sampled_from(["app", "web", "worker", "side-car", "api"])) + str(index),
        entries=tuple(entries),
        entry_styles=tuple(draw(st.lists(st.sampled_from(["one-line", "multi-line"]), min_size=n, max_size=n))),
        comments=tuple(draw(st.lists(st.sampled_from([None, None, "# note", "// keep sorted", "# DB_PASSWORD: todo"]),
                                     min_size=n, max_size=n))),
        one_line_object=draw(st.booleans()) and n <= 2,
        secrets=draw(st.one_of(st.none(), st.lists(st.sampled_from(["OLD_SECRET", "SESSION_KEY", "X_API_KEY"]),
                                                   max_size=2, unique=True).map(tuple))),
        environment_last=draw(st.booleans()),
    )


def _hcl_entry(e: Entry, style: str, indent: str) -> str:
    if style == "one-line":
        return f'{indent}{{ name = "{e.name}", value = {e.hcl_value()} }},\n'
    return f'{indent}{{\n{indent}  name  = "{e.name}"\n{indent}  value = {e.hcl_value()}\n{indent}}},\n'


def _secret_arn(name: str) -> str:
    return f'"arn:aws:secretsmanager:eu-west-1:123456789012:secret:old:{name}::"'


def _jsonencode_container(c: ContainerSpec, indent: str) -> str:
    if c.one_line_object:
        env = ", ".join(f'{{ name = "{e.name}", value = {e.hcl_value()} }}' for e in c.entries)
        parts = [f'name = "{c.name}"', 'image = "acme/app:1.0"', f"environment = [{env}]"]
        if c.secrets is not None:
            parts.append("secrets = [" + ", ".join(
                f'{{ name = "{s}", valueFrom = {_secret_arn(s)} }}' for s in c.secrets) + "]")
        return f"{indent}{{ " + ", ".join(parts) + " },\n"
    inner = indent + "  "
    env = f"{inner}environment = [\n"
    for e, style, comment in zip(c.entries, c.entry_styles, c.comments, strict=True):
        if comment:
            env += f"{inner}  {comment}\n"
        env += _hcl_entry(e, style, inner + "  ")
    env += f"{inner}]\n"
    lines = [f'{inner}name  = "{c.name}"\n', f'{inner}image = "acme/app:1.0"\n']
    if c.secrets is not None:
        sec = f"{inner}secrets = [\n" + "".join(
            f'{inner}  {{ name = "{s}", valueFrom = {_secret_arn(s)} }},\n' for s in c.secrets) + f"{inner}]\n"
        lines.append(sec)
    lines.insert(len(lines) if c.environment_last else 1, env)
    return f"{indent}{{\n" + "".join(lines) + f"{indent}}},\n"


def _json_container(c: ContainerSpec) -> dict[str, object]:
    d: dict[str, object] = {"name": c.name, "image": "acme/app:1.0",
                            "environment": [{"name": e.name, "value": e.json_value()} for e in c.entries]}
    if c.secrets is not None:
        d["secrets"] = [{"name": s, "valueFrom": _secret_arn(s).strip('"')} for s in c.secrets]
    return d


@dataclass(frozen=True)
class Module:
    main_tf: str
    form: str
    names: frozenset[str]
    header: str  # comments before the first block
    kept_blocks: tuple[str, ...]  # blocks no rewrite has a reason to touch (variables)


@st.composite
def modules(draw: st.DrawFn) -> Module:
    n = draw(st.integers(1, 2))
    specs = [draw(containers(i)) for i in range(n)]
    form = draw(st.sampled_from(["jsonencode", "jsonencode", "jsonencode", "heredoc", "heredoc-indented", "locals"]))
    label = draw(st.sampled_from(["app", "api", "batch_job"]))
    local_block = ""
    if form == "jsonencode":
        body = "jsonencode([\n" + "".join(_jsonencode_container(c, "    ") for c in specs) + "  ])"
    elif form == "locals":
        local_block = "locals {\n  containers = [\n" + "".join(_jsonencode_container(c, "    ") for c in specs) + "  ]\n}\n\n"
        body = "jsonencode(local.containers)"
    else:
        doc = json.dumps([_json_container(c) for c in specs], indent=draw(st.sampled_from([None, 2])),
                         ensure_ascii=False)
        if form == "heredoc":
            body = "<<EOF\n" + doc + "\nEOF"
        else:
            body = "<<-EOT\n" + "".join("    " + ln + "\n" for ln in doc.splitlines()) + "  EOT"
    header = draw(st.sampled_from(["", "# ECS services\n\n", "// generated by hand\n"]))
    role = draw(st.booleans())
    td = (
        f'resource "aws_ecs_task_definition" "{label}" {{\n'
        f'  family                   = "{label}"\n'
        + ("  execution_role_arn       = aws_iam_role.exec.arn\n" if role else "")
        + '  requires_compatibilities = ["FARGATE"]\n'
        f"  container_definitions    = {body}\n"
        "}\n"
    )
    trailer = '\nresource "aws_iam_role" "exec" {\n  name = "exec"\n}\n'
    variables = sorted({e.value for c in specs for e in c.entries if e.kind != "literal"})
    decls = [f'variable "{v}" {{\n  type      = string\n  sensitive = true\n}}\n' for v in variables]
    names = frozenset(e.name for c in specs for e in c.entries)
    text = header + local_block + td + trailer + "".join("\n" + d for d in decls)
    if draw(st.integers(0, 9)) == 0:  # Windows line endings, sometimes with a byte-order mark
        text = text.replace("\n", "\r\n")
        header = header.replace("\n", "\r\n")
        decls = [d.replace("\n", "\r\n") for d in decls]
        if draw(st.booleans()):
            text, header = "\ufeff" + text, "\ufeff" + header
            form += "+bom"
        form += "+crlf"
    return Module(text, form, names, header, tuple(decls))


def _tmpdir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="ecsfix-fuzz-")


# --------------------------------------------------------------------------- scan and rewrite


def _changeable_regions(text: str, path: str) -> list[tuple[int, int]]:
    """Where original bytes may be replaced or removed: each task definition's `container_definitions`
    attribute (whole lines; its containers' `environment` and `secrets` live there). Everywhere else the
    rewrite may only insert (a `secrets` list, an `execution_role_arn`, new resources, a policy)."""
    result = scan([os.path.dirname(path)])
    regions: list[tuple[int, int]] = []
    for td in result.task_definitions:
        if td.block is None or td.block.span.file.path != path:
            continue
        attr = td.block.attributes.get("container_definitions")
        spans = [attr.span] if attr is not None else []
        spans += [c.span for c in td.containers if c.span.file.path == path]
        for span in spans:
            # whole lines: a diff may slide an edit's edge over identical characters around it
            regions.append((text.rfind("\n", 0, span.start) + 1, _line_end(text, span.end)))
    return regions


def _line_end(text: str, pos: int) -> int:
    nl = text.find("\n", pos)
    return len(text) if nl == -1 else nl + 1


def _within(a: int, b: int, regions: list[tuple[int, int]]) -> bool:
    return any(lo <= a and b <= hi for lo, hi in regions)


@FUZZ
@given(modules())
def test_scan_never_raises_and_names_real_entries(module: Module) -> None:
    RUN["scan"] += 1
    with _tmpdir() as d:
        Path(d, "main.tf").write_bytes(module.main_tf.encode("utf-8"))
        result = scan([d])
    assert not result.errors, [e.render() for e in result.errors]
    assert len(result.task_definitions) == 1
    for f in result.findings:
        if f.rule in ("EF001", "EF002") and f.name is not None:
            assert f.name in module.names, f
    leaked = json.dumps([f.message for f in result.findings])
    assert "hunter2" not in leaked and "AKIAIOSFODNN7EXAMPLE" not in leaked


@FUZZ
@given(modules())
def test_rewrite_reparses_is_idempotent_and_keeps_other_bytes(module: Module) -> None:
    RUN["rewrite"] += 1
    with _tmpdir() as d:
        path = os.path.join(d, "main.tf")
        Path(path).write_bytes(module.main_tf.encode("utf-8"))
        result = rewrite([d])
        assert not result.errors, result.errors
        if not result.changes:
            RUN[f"rewrite: nothing to change ({module.form})"] += 1
            return
        RUN[f"rewrite: changed ({module.form})"] += 1
        by_path = {c.path: c for c in result.changes}
        for other in result.changes:
            if other.path != path:
                RUN["rewrite: other files"] += 1
                assert other.created or other.path.endswith(".tf"), other.path
                if other.path.endswith(".tf"):
                    parse_file(SourceFile(path=other.path, display=other.display, text=other.new))
                write_change(other)
        if path not in by_path:
            again = rewrite([d])
            assert not again.errors and again.changes == [], again
            return
        change = by_path[path]
        assert change.original == module.main_tf
        parse_file(SourceFile(path=path, display="main.tf", text=change.new))  # raises if invalid

        regions = _changeable_regions(change.original, path)
        assert regions
        matcher = difflib.SequenceMatcher(None, change.original, change.new, autojunk=False)
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op in ("replace", "delete"):
                assert _within(i1, i2, regions), (
                    f"{op} outside container_definitions: original[{i1}:{i2}]={change.original[i1:i2]!r} "
                    f"-> {change.new[j1:j2]!r}")
        assert change.new.startswith(module.header)
        for block in module.kept_blocks:
            assert block in change.new, block

        write_change(change)
        again = rewrite([d])
        assert not again.errors, again.errors
        assert again.changes == [], again.changes[0].diff()
        moved = {(m.task_definition, m.container, m.name) for m in result.moved}
        after = scan([d])
        left = [f for f in after.findings if f.rule == "EF001" and (f.resource, f.container, f.name) in moved]
        assert not left, left


@pytest.mark.parametrize("form", ["jsonencode", "heredoc"])
def test_generator_produces_what_rewrite_changes(form: str) -> None:
    """Guard: the generated shapes reach the rewrite (else the property above proves little)."""
    spec = ContainerSpec("app0", (Entry("DB_PASSWORD", "literal", "hunter2"), Entry("PORT", "literal", "80")),
                         ("one-line", "multi-line"), (None, "# note"), False, None, True)
    if form == "jsonencode":
        body = "jsonencode([\n" + _jsonencode_container(spec, "    ") + "  ])"
    else:
        body = "<<EOF\n" + json.dumps([_json_container(spec)], indent=2) + "\nEOF"
    text = ('resource "aws_ecs_task_definition" "app" {\n  family = "app"\n'
            "  execution_role_arn = aws_iam_role.exec.arn\n"
            f"  container_definitions = {body}\n}}\n\nresource \"aws_iam_role\" \"exec\" {{\n  name = \"exec\"\n}}\n")
    with _tmpdir() as d:
        Path(d, "main.tf").write_text(text, encoding="utf-8")
        assert any(f.name == "DB_PASSWORD" for f in scan([d]).findings)
        result = rewrite([d])
    assert not result.errors
    if form == "jsonencode":
        assert len(result.changes) == 1
    else:
        assert result.changes or result.notes  # heredoc: rewritten, or left with a note


FMT_EXAMPLES = max(5, EXAMPLES // 10)


def test_fmt_clean_input_stays_fmt_clean() -> None:
    from .tf import require_terraform

    _fmt_property(require_terraform())


@settings(FUZZ, max_examples=FMT_EXAMPLES)
@given(module=modules())
def _fmt_property(terraform: str, module: Module) -> None:
    RUN["fmt"] += 1
    env = {**os.environ, "TF_CLI_CONFIG_FILE": os.devnull}

    def fmt_clean(text: str) -> bool:
        proc = subprocess.run([terraform, "fmt", "-check", "-"], input=text, capture_output=True, text=True,
                              env=env, timeout=60)
        return proc.returncode == 0

    with _tmpdir() as d:
        Path(d, "main.tf").write_bytes(module.main_tf.encode("utf-8"))
        result = rewrite([d])
    if not result.changes:
        return
    original = result.changes[0].original
    if not fmt_clean(original):
        proc = subprocess.run([terraform, "fmt", "-"], input=original, capture_output=True, text=True,
                              env=env, timeout=60)
        if proc.returncode != 0:
            return
        RUN["fmt: formatted first"] += 1
        with _tmpdir() as d:
            Path(d, "main.tf").write_text(proc.stdout, encoding="utf-8")
            result = rewrite([d])
        if not result.changes:
            return
    RUN["fmt: checked"] += 1
    assert fmt_clean(result.changes[0].new), result.changes[0].diff()


# --------------------------------------------------------------------------- garbage


def _scan_json(data: bytes, name: str = "main.tf") -> tuple[int, dict[str, object], str]:
    with _tmpdir() as d:
        Path(d, name).write_bytes(data)
        run = run_main("scan", "--format", "json", ".", cwd=d)
    assert "Traceback" not in run.stdout + run.stderr
    assert run.code in (0, 1, 2), run
    doc = json.loads(run.stdout)
    return run.code, doc, run.stderr


def _assert_clear_errors(code: int, doc: dict[str, object], stderr: str, name: str = "main.tf") -> None:
    errors = doc["errors"]
    assert isinstance(errors, list)
    if code == 2:
        assert errors, doc
    for e in errors:
        assert e["file"] == name, e
        assert "\n" not in e["message"] and "\r" not in e["message"], e
    for line in stderr.splitlines():
        if line.strip():
            assert line.startswith(f"{name}:") or line.startswith(f"{name}: error: "), line


TRIGGER = b'resource "aws_ecs_task_definition"'


def _block_close(raw: bytes | bytearray, start: int) -> int:
    """Offset of the `}` that closes the top-level block starting at `start` (alone on its line)."""
    m = re.compile(rb"\r?\n\}\r?\n").search(bytes(raw), start)
    assert m is not None
    return m.start() + m.group().index(b"}")


def _invalid(data: bytes) -> bool:
    """Whether `data` is not a valid HCL file: NUL bytes, not UTF-8, or python-hcl2 rejects it."""
    import hcl2

    if b"\x00" in data:
        return True
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    try:
        hcl2.loads(text.removeprefix("\ufeff"))  # a BOM is not HCL; ecsfix (and terraform) skip it
    except Exception:
        return True
    return False


@FUZZ
@given(st.one_of(st.binary(max_size=2048), st.binary(max_size=512).map(lambda b: TRIGGER + b" " + b)))
def test_random_bytes_give_one_clear_error_or_a_valid_scan(data: bytes) -> None:
    """Invalid bytes in a file ecsfix reads: exit code 2. ecsfix parses only modules that mention an
    ECS keyword (`aws_ecs_task_definition`, `container_definitions`, ...): garbage without one is
    skipped unparsed and the scan is clean (exit 0), so half the inputs carry that keyword."""
    RUN["garbage: random bytes"] += 1
    code, doc, stderr = _scan_json(data)
    RUN[f"garbage: random bytes -> exit {code}"] += 1
    _assert_clear_errors(code, doc, stderr)
    if data.startswith(TRIGGER) or b"\x00" in data[:8192]:
        if _invalid(data):
            assert code == 2, data


@FUZZ
@given(st.data())
def test_truncated_files_give_one_clear_error(data: st.DataObject) -> None:
    module = data.draw(modules())
    raw = module.main_tf.encode("utf-8")
    td_start = raw.index(b'resource "aws_ecs_task_definition"')
    td_end = _block_close(raw, td_start)  # the closing brace of the task definition
    # inside the block, after the keyword that makes ecsfix parse the file (a module without any ECS
    # keyword is skipped unparsed: see test_random_bytes_...): never valid HCL
    cut = data.draw(st.integers(td_start + len(TRIGGER), td_end - 1))
    RUN["garbage: truncated"] += 1
    code, doc, stderr = _scan_json(raw[:cut])
    assert code == 2, (raw[:cut][-80:], doc)
    _assert_clear_errors(code, doc, stderr)


@FUZZ
@given(st.data())
def test_mutated_files_never_crash(data: st.DataObject) -> None:
    """A valid file with a few bytes flipped, inserted or removed: a scan or one clear error; and
    exit code 2 whenever the task-definition block itself was broken. (ecsfix parses only the blocks
    it needs: a syntax error inside, say, a `variable` block is terraform's to report, not ecsfix's.)"""
    module = data.draw(modules())
    raw = bytearray(module.main_tf.encode("utf-8"))
    td_start = raw.index(TRIGGER)
    lo, hi = raw.index(b"{", td_start) + 1, _block_close(raw, td_start)  # the block's body
    inside = data.draw(st.booleans())
    if not inside:
        lo, hi = 0, len(raw)
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(lo, hi - 1))
        op = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        byte = data.draw(st.sampled_from(list(b'{}[]"=,#/*<\n\\$%') + [0xC3, 0xFF, 0x00]))
        if op == "insert":
            raw[pos:pos] = bytes([byte])
            hi += 1
        elif op == "flip":
            raw[pos] = byte
        elif hi - lo > 1:
            del raw[pos]
            hi -= 1
    RUN["garbage: mutated"] += 1
    code, doc, stderr = _scan_json(bytes(raw))
    RUN[f"garbage: mutated -> exit {code}"] += 1
    _assert_clear_errors(code, doc, stderr)
    if inside and _invalid(bytes(raw)):
        RUN["garbage: mutated, task definition broken"] += 1
        assert code == 2, bytes(raw)


@FUZZ
@given(st.binary(max_size=1024), st.sampled_from(["task-definition.json", "main.tf.json"]))
def test_random_json_files_give_one_clear_error_or_a_valid_scan(data: bytes, name: str) -> None:
    RUN["garbage: json files"] += 1
    with _tmpdir() as d:
        Path(d, name).write_bytes(data)
        run = run_main("scan", "--format", "json", name, cwd=d)
    assert "Traceback" not in run.stdout + run.stderr
    assert run.code in (0, 1, 2)
    _assert_clear_errors(run.code, json.loads(run.stdout), run.stderr, name)

