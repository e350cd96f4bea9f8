"""SPEC §5 property 5, proved with Terraform itself: `container_definitions` evaluated by
`terraform console` before and after `ecsfix rewrite` differs exactly by the moved entries.

For every fixture under tests/fixtures/rewrite/ (discovered, not listed) and every
`aws_ecs_task_definition` in it, a provider-less copy of the module before and after the rewrite
is evaluated (tests/console.py: references become fake ARNs; with count/for_each, every
instance). Per container: `environment` loses exactly the moved entries (the rest keeps its order and
values), `secrets` gains exactly `{name, valueFrom = "<fake arn of a generated secret>:NAME::"}`
per moved entry, after the ones it had; every other key, and the containers' number and order,
are unchanged. Task definitions without moved entries evaluate identically. A second test proves
the moved values reach the generated secret: `jsondecode(secret_string)[NAME]` after == the
entry's value before (a new variable set to the old literal, as the summary tells the user).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ecsfix.model import Block
from ecsfix.rewrite.engine import FileChange, Moved, RewriteResult, rewrite

from .console import (
    ConsoleError,
    Link,
    attribute_moved,
    compare_container_definitions,
    evaluate_locals,
    fake_references,
    find_resources,
    hcl_string,
    make_provider_less,
    per_instance,
    unquote_console_string,
)
from .tf import require_terraform

FIXTURES = Path(__file__).parent / "fixtures" / "rewrite"
TASK_DEFINITION = "aws_ecs_task_definition"
SECRET = "aws_secretsmanager_secret"
SECRET_VERSION = "aws_secretsmanager_secret_version"

# Fixtures the rewrite is expected to leave unchanged (none today). Each needs a comment saying
# why; every other fixture must be changed by the rewrite, or this test fails.
UNCHANGED: dict[str, str] = {}

FIXTURE_NAMES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir() and any(p.rglob("*.tf")))


@dataclass
class TaskDefinitionEval:
    address: str
    module: str  # directory relative to the fixture
    before: dict[str, Any]  # instance key ("" without count/for_each) -> decoded container definitions
    after: dict[str, Any]
    moved: list[Moved]


@dataclass
class FixtureEval:
    result: RewriteResult
    task_definitions: list[TaskDefinitionEval] = field(default_factory=list)
    new_secrets: set[str] = field(default_factory=set)
    # generated secret label -> instance key -> decoded secret_string
    secret_strings: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # comparison problems, all task definitions
    # (td address, instance) -> a Link per moved entry of that task definition (None: unattributed)
    links: dict[tuple[str, str], list[Link | None]] = field(default_factory=dict)


def _module_dirs(root: Path) -> list[Path]:
    return sorted({p.parent for p in root.rglob("*.tf") if ".terraform" not in p.parts})


def _per_instance(block: Block, attribute: str) -> str:
    count = block.attributes.get("count")
    for_each = block.attributes.get("for_each")
    return per_instance(
        block.attributes[attribute].value.span.text,
        count.value.span.text if count is not None else None,
        for_each.value.span.text if for_each is not None else None,
    )


def _definitions(module: Path, labels: list[str]) -> dict[str, str]:
    """`cd_<i>` = every instance's `container_definitions` of each task definition, faked."""
    blocks = {b.labels[1]: b for _, b in find_resources(module, TASK_DEFINITION) if len(b.labels) > 1}
    out = {}
    for i, label in enumerate(labels):
        block = blocks[label]
        value = _rendered_as_templatefile(module, block.attributes["container_definitions"].value.span.text)
        count = block.attributes.get("count")
        for_each = block.attributes.get("for_each")
        out[f"cd_{i}"] = per_instance(value, count.value.span.text if count is not None else None,
                                      for_each.value.span.text if for_each is not None else None)
    return out


_RENDERED = re.compile(r'^"?(?:\$\{)?data\.template_file\.([\w-]+)(?:\[[^\]]*\])?\.rendered\}?"?$')


def _rendered_as_templatefile(module: Path, text: str) -> str:
    """`data.template_file.x.rendered` (no provider here) as the `templatefile()` call it renders
    like (the data source repeats like the task definition: the rewrite checks that)."""
    m = _RENDERED.match(text.strip())
    if m is None:
        return text
    block = next(b for _, b in find_resources(module, "template_file", "data") if b.labels[1] == m.group(1))
    template = block.attributes["template"].value.span.text
    path = re.search(r'file\((.*)\)', template, re.S)
    assert path is not None, template
    vars_attr = block.attributes.get("vars")
    if vars_attr is not None:
        variables = vars_attr.value.span.text
    else:
        vblock = next((b for b in block.blocks if b.type == "vars"), None)
        items = vblock.attributes.values() if vblock is not None else []
        variables = "{\n" + "".join(f"{a.name} = {a.value.span.text}\n" for a in items) + "}"
    return f"templatefile({path.group(1)}, {variables})"


def _decode(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise AssertionError(f"container definitions evaluate to a string that is not JSON ({exc}): "
                             f"{value[:300]!r}") from None


def _instances(value: Any) -> dict[str, Any]:
    assert isinstance(value, dict), f"expected instance map, got {type(value).__name__}"
    return {key: _decode(v) for key, v in value.items()}


def _pairs(moved: list[Moved]) -> list[tuple[str, str]]:
    return [(m.container, m.name) for m in moved]


def evaluate_fixture(
    fixture: str, tmp: Path, corrupt: Callable[[FileChange], str] | None = None, fixtures: Path = FIXTURES
) -> FixtureEval:
    """Rewrite a copy of `fixture`, evaluate every task definition before and after (with
    `corrupt(change)` as the new text of each change when given) and compare."""
    terraform = require_terraform()
    work = tmp / "work"
    shutil.copytree(fixtures / fixture, work)
    result = rewrite([str(work)])
    assert not result.errors, result.errors
    out = FixtureEval(result)
    if not result.changes:
        return out
    before_root, after_root = tmp / "before", tmp / "after"
    shutil.copytree(work, before_root)
    shutil.copytree(work, after_root)
    for change in result.changes:
        rel = Path(change.path).resolve().relative_to(work.resolve())
        new = corrupt(change) if corrupt else change.new
        (after_root / rel).write_bytes(new.encode("utf-8"))
    moved_addresses = {m.task_definition for m in result.moved}
    seen: dict[str, str] = {}
    shared_secrets: set[str] = set()
    for module in _module_dirs(after_root):
        rel_module = module.relative_to(after_root)
        after_dir, before_dir = after_root / rel_module, before_root / rel_module
        labels = [b.labels[1] for _, b in find_resources(before_dir, TASK_DEFINITION) if len(b.labels) > 1]
        if not labels:
            continue
        for label in labels:
            address = f"{TASK_DEFINITION}.{label}"
            if address in moved_addresses and address in seen:
                pytest.fail(f"{address} is in both {seen[address]} and {rel_module}: moved entries are ambiguous")
            seen[address] = str(rel_module)
        # the rewrite's secrets: new ones, and those whose version it extended (a later run)
        old_versions = {b.labels[1]: b.span.text for _, b in find_resources(before_dir, SECRET_VERSION)}
        versions = {b.labels[1]: b for _, b in find_resources(after_dir, SECRET_VERSION)
                    if old_versions.get(b.labels[1]) != b.span.text}
        # a secret moved out of a local or a template file several task definitions read is theirs to share
        shared_secrets |= {m.group(1) for path in after_dir.glob("*.tf") for m in re.finditer(
            r'secrets moved out of (?!aws_ecs_task_definition\.)\S+ container environment\.\n(?:#[^\n]*\n)*resource "aws_secretsmanager_secret" '
            r'"([^"]+)"', path.read_text())}
        new_secrets = ({b.labels[1] for _, b in find_resources(after_dir, SECRET)}
                       - {b.labels[1] for _, b in find_resources(before_dir, SECRET)}) | set(versions)
        out.new_secrets |= new_secrets
        # expressions first: the provider-less copies have no resource blocks left
        before_expressions = _definitions(before_dir, labels)
        after_expressions = _definitions(after_dir, labels)
        for label, block in versions.items():
            # write-only `secret_string_wo` (Terraform >= 1.11) holds the same JSON
            attribute = next((a for a in ("secret_string", "secret_string_wo") if a in block.attributes), None)
            if attribute is not None:
                after_expressions[f"ss_{label}"] = _per_instance(block, attribute)
        make_provider_less(before_dir)  # every variable without a default gets a fake one
        before_values = evaluate_locals(terraform, before_dir, before_expressions)
        tds = []
        for i, label in enumerate(labels):
            address = f"{TASK_DEFINITION}.{label}"
            moved = [m for m in result.moved if m.task_definition == address]
            tds.append(TaskDefinitionEval(address, str(rel_module), _instances(before_values[f"cd_{i}"]), {}, moved))
        # after: a variable the rewrite introduced holds the literal it replaces (the user sets it)
        defaults: dict[str, Any] = {}
        for td in tds:
            first, _ = attribute_moved(td.before[min(td.before)] if td.before else [], _pairs(td.moved))
            defaults.update({m.variable: link.value for m, link in zip(td.moved, first, strict=True)
                             if m.variable and link is not None})
        make_provider_less(after_dir, defaults)
        after_values = evaluate_locals(terraform, after_dir, after_expressions)
        for i, td in enumerate(tds):
            td.after = _instances(after_values[f"cd_{i}"])
        for key, value in after_values.items():
            if key.startswith("ss_"):
                out.secret_strings[key[3:]] = _instances(value)
        for td in tds:
            where = f"{td.module}/{td.address}"
            if td.moved and not td.before:
                out.problems.append(f"{where}: no instance to evaluate (count 0 or an empty for_each with the "
                                    "fake variable values); give the fixture's variables defaults")
            if sorted(td.before) != sorted(td.after):
                out.problems.append(f"{where}: instances {sorted(td.before)} before, {sorted(td.after)} after")
                continue
            for instance in sorted(td.before):
                problems, links = compare_container_definitions(
                    td.before[instance], td.after[instance], _pairs(td.moved), new_secrets, instance
                )
                at = f"[{instance!r}]" if instance else ""
                out.problems += [f"{where}{at}: {p}" for p in problems]
                out.links[(td.address, instance)] = links
                used = {link.secret for link in links if link is not None} - shared_secrets
                if len(used) > 1:
                    out.problems.append(f"{where}{at}: moved entries point at several secrets {sorted(used)}")
        out.task_definitions += tds
    checked = {(td.address, m.container, m.name) for td in out.task_definitions for m in td.moved}
    unchecked = [m for m in result.moved if (m.task_definition, m.container, m.name) not in checked]
    if unchecked:
        out.problems.append(f"moved entries of task definitions this check did not find: {unchecked}")
    owner: dict[str, str] = {}
    for (address, _), links in out.links.items():
        for secret in {link.secret for link in links if link is not None} - shared_secrets:
            if owner.setdefault(secret, address) != address:
                out.problems.append(f"{owner[secret]} and {address} share the generated secret {secret}")
    return out


_CACHE: dict[str, FixtureEval] = {}


@pytest.fixture
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], FixtureEval]:
    def get(fixture: str) -> FixtureEval:
        if fixture not in _CACHE:
            _CACHE[fixture] = evaluate_fixture(fixture, tmp_path_factory.mktemp(fixture))
        return _CACHE[fixture]

    return get


@pytest.mark.parametrize("fixture", FIXTURE_NAMES)
def test_container_definitions_differ_exactly_by_moved_entries(
    fixture: str, evaluated: Callable[[str], FixtureEval]
) -> None:
    ev = evaluated(fixture)
    if fixture in UNCHANGED:
        assert not ev.result.changes, f"{fixture} is listed as unchanged ({UNCHANGED[fixture]}) but was rewritten"
        return
    assert ev.result.changes, f"the rewrite changed nothing in {fixture}: {ev.result.notes}"
    assert ev.result.moved
    assert any(td.moved for td in ev.task_definitions)
    assert not ev.problems, "\n".join(ev.problems)


@pytest.mark.parametrize("fixture", FIXTURE_NAMES)
def test_moved_values_reach_the_generated_secret(fixture: str, evaluated: Callable[[str], FixtureEval]) -> None:
    ev = evaluated(fixture)
    if fixture in UNCHANGED:
        return
    assert ev.result.moved, f"the rewrite moved nothing in {fixture}: {ev.result.notes}"
    assert not value_problems(ev), "\n".join(value_problems(ev))


def value_problems(ev: FixtureEval) -> list[str]:
    """Every instance's moved value == the value the generated secret (instance) holds for it."""
    problems = []
    for td in ev.task_definitions:
        for instance in td.before:
            for m, link in zip(td.moved, ev.links.get((td.address, instance), []), strict=True):
                where = f"{td.address}{f'[{instance!r}]' if instance else ''}/{m.container}/{m.name}"
                if link is None:
                    problems.append(f"{where}: not attributed to an environment entry")
                    continue
                by_instance = ev.secret_strings.get(link.secret)
                if by_instance is None:
                    problems.append(f"{where}: no evaluated secret_string for {link.secret}")
                    continue
                stored = by_instance.get("" if link.index is None else link.index)
                key = link.key or m.name
                if not isinstance(stored, dict) or key not in stored:
                    problems.append(f"{where}: {link.secret}{'' if link.index is None else f'[{link.index}]'} "
                                    f"has no key {key}")
                    continue
                if stored[key] != link.value:
                    problems.append(f"{where}: the secret holds another value than the environment did "
                                    f"(container {link.container}, entry {link.position})")
    return problems


# --------------------------------------------------------------------------- the checker catches wrong rewrites


def _replace(old: str, new: str) -> Callable[[FileChange], str]:
    def corrupt(change: FileChange) -> str:
        assert old in change.new, f"corruption target {old!r} not in the rewrite output"
        return change.new.replace(old, new, 1)

    return corrupt


@pytest.mark.parametrize(
    ("fixture", "corrupt", "expected"),
    [
        ("single_line", _replace('        { name = "LOG_LEVEL", value = "info" },\n', ""), "environment after"),
        ("single_line", _replace('{ name = "LOG_LEVEL", value = "info" }', '{ name = "LOG_LEVEL", value = "debug" }'),
         "different values"),
        ("single_line", _replace(":DB_PASSWORD::", ":DB_PASSWORD:AWSCURRENT:"), "secrets after"),
        ("single_line", _replace(":DB_PASSWORD::", ":DB_PASS::"), "secrets after"),
        ("single_line", _replace('image = "nginx:1.27"', 'image = "nginx:1.28"'), "keys other than"),
        ("existing_secrets", _replace("aws_ssm_parameter.api_token.arn", "aws_ssm_parameter.other.arn"), "secrets after"),
        ("inline_lists", _replace('name        = "side"', 'name        = "sidecar"'), "names/order changed"),
    ],
    ids=["dropped-kept-entry", "changed-kept-value", "wrong-version-stage", "wrong-json-key", "changed-image",
         "changed-existing-secret", "renamed-container"],
)
def test_checker_catches_a_wrong_rewrite(
    fixture: str, corrupt: Callable[[FileChange], str], expected: str, tmp_path: Path,
    evaluated: Callable[[str], FixtureEval],
) -> None:
    correct = evaluated(fixture)
    assert correct.result.changes and not correct.problems, correct.problems
    wrong = evaluate_fixture(fixture, tmp_path / "wrong", corrupt)
    assert wrong.problems, "the comparison accepted a corrupted rewrite"
    assert any(expected in p for p in wrong.problems), wrong.problems


COUNTED = """\
resource "aws_ecs_task_definition" "counted" {
  count              = 2
  family             = "c-${count.index}"
  execution_role_arn = aws_iam_role.exec.arn
  container_definitions = jsonencode([
    {
      name  = "c${count.index}"
      image = "x"
      environment = [
        { name = "DB_PASSWORD", value = "hunter2-${count.index}" },
        { name = "LOG_LEVEL", value = "info" },
      ]
    }
  ])
}
"""


def _inline_fixture(tmp_path: Path, text: str) -> Path:
    fixtures = tmp_path / "fixtures"
    (fixtures / "inline").mkdir(parents=True)
    (fixtures / "inline" / "main.tf").write_text(text)
    return fixtures


def test_checker_follows_count_instances(tmp_path: Path) -> None:
    fixtures = _inline_fixture(tmp_path, COUNTED)
    correct = evaluate_fixture("inline", tmp_path / "correct", fixtures=fixtures)
    assert correct.result.moved and not correct.problems and not value_problems(correct), correct.problems
    assert sorted(correct.task_definitions[0].after) == ["0", "1"]
    # every instance pointing at the first instance's secret: instance 1 reads instance 0's value
    to_first = _replace("counted_secrets[count.index].arn}:", "counted_secrets[0].arn}:")
    wrong = evaluate_fixture("inline", tmp_path / "wrong", to_first, fixtures=fixtures)
    assert [p.split(":")[0] for p in wrong.problems] == ["./aws_ecs_task_definition.counted['1']"], wrong.problems
    assert value_problems(wrong) == [
        "aws_ecs_task_definition.counted['1']/*/DB_PASSWORD: the secret holds another value than the environment did "
        "(container 0, entry 0)"
    ]


def test_checker_refuses_to_pass_on_zero_instances(tmp_path: Path) -> None:
    text = COUNTED.replace("count              = 2", "count              = var.enabled ? 2 : 0")
    text += 'variable "enabled" {\n  type    = bool\n  default = false\n}\n'
    ev = evaluate_fixture("inline", tmp_path, fixtures=_inline_fixture(tmp_path, text))
    assert ev.result.moved
    assert any("no instance to evaluate" in p for p in ev.problems), ev.problems


def test_checker_rejects_a_secret_the_rewrite_did_not_generate(tmp_path: Path) -> None:
    to_legacy = _replace("${aws_secretsmanager_secret.app_secrets.arn}:", "${aws_secretsmanager_secret.legacy.arn}:")
    ev = evaluate_fixture("single_line", tmp_path, to_legacy)
    assert any("not a secret the rewrite generated" in p for p in ev.problems), ev.problems


SAME_NAME_TWO_CONTAINERS = """\
resource "aws_ecs_task_definition" "app" {
  family             = "app"
  execution_role_arn = aws_iam_role.exec.arn
  container_definitions = jsonencode([
    {
      name  = "api"
      image = "x"
      environment = [
        { name = "DB_PASSWORD", value = "hunter2-api" },
      ]
    },
    {
      name  = "worker"
      image = "x"
      environment = [
        { name = "DB_PASSWORD", value = "hunter2-worker" },
      ]
    }
  ])
}
"""


# Was an engine bug: two moved entries with one name shared one JSON key of the generated secret.
def test_same_name_in_two_containers_keeps_both_values(tmp_path: Path) -> None:
    ev = evaluate_fixture("inline", tmp_path, fixtures=_inline_fixture(tmp_path, SAME_NAME_TWO_CONTAINERS))
    assert len(ev.result.moved) == 2 and not ev.problems, ev.problems
    assert value_problems(ev) == []


HEREDOC_JSONENCODE_VALUE = """\
variable "db_password" {
  type    = string
  default = "hunter2"
}

resource "aws_ecs_task_definition" "h" {
  family             = "h"
  execution_role_arn = aws_iam_role.exec.arn
  container_definitions = <<EOT
[
  {
    "name": "h",
    "image": "x",
    "environment": [
      {"name": "DB_PASSWORD", "value": ${jsonencode(var.db_password)}},
      {"name": "MODE", "value": "prod"}
    ]
  }
]
EOT
}
"""


# Was an engine bug: an unquoted `${jsonencode(X)}` JSON value moved as `jsonencode(X)`.
def test_heredoc_jsonencode_value_moves_unencoded(tmp_path: Path) -> None:
    ev = evaluate_fixture("inline", tmp_path, fixtures=_inline_fixture(tmp_path, HEREDOC_JSONENCODE_VALUE))
    assert len(ev.result.moved) == 1 and not ev.problems, ev.problems
    assert value_problems(ev) == []


def test_checker_catches_a_wrong_secret_value(tmp_path: Path) -> None:
    ev = evaluate_fixture("variable_value", tmp_path, _replace("DB_PASSWORD = var.db_password", 'DB_PASSWORD = "x"'))
    assert not ev.problems  # container definitions are fine ...
    assert value_problems(ev) == [  # ... the value is not
        "aws_ecs_task_definition.svc/svc/DB_PASSWORD: the secret holds another value than the environment did "
        "(container 0, entry 0)"
    ]


# --------------------------------------------------------------------------- helper units (no terraform)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("aws_iam_role.exec.arn", '"arn:aws:fake:::aws_iam_role.exec.arn"'),
        ('"${aws_secretsmanager_secret.a.arn}:K::"', '"${"arn:aws:fake:::aws_secretsmanager_secret.a.arn"}:K::"'),
        ("data.aws_region.current.name", '"arn:aws:fake:::data.aws_region.current.name"'),
        ("module.db.endpoint", '"arn:aws:fake:::module.db.endpoint"'),
        ('aws_ssm_parameter.p["a"].arn', '"arn:aws:fake:::aws_ssm_parameter.p[${"a"}].arn"'),
        ("aws_x.s[count.index].arn", '"arn:aws:fake:::aws_x.s[${count.index}].arn"'),
        ("aws_subnet.x[*].id", '["arn:aws:fake:::aws_subnet.x[*].id"]'),
        ('"aws_iam_role.exec.arn is text"', '"aws_iam_role.exec.arn is text"'),
        ("var.a.b + local.c[0]", "var.a.b + local.c[0]"),
        ('join(",", [for c in var.cs : c.name])', 'join(",", [for c in var.cs : c.name])'),
        ('"x-${count.index}"', '"x-${count.index}"'),  # only per_instance() gives count.index a value
        ("each.value.image", "each.value.image"),
        ("path.module", "path.module"),
        ("1.5e3 + 2", "1.5e3 + 2"),
        ('"$${aws_x.y.z}"', '"$${aws_x.y.z}"'),
        ("<<EOF\n[{\"a\": \"${aws_x.y.arn}\", \"b\": \"aws_x.y.arn\"}]\nEOF\n",
         "<<EOF\n[{\"a\": \"${\"arn:aws:fake:::aws_x.y.arn\"}\", \"b\": \"aws_x.y.arn\"}]\nEOF\n"),
        ("# aws_x.y.z in a comment\nvar.a", "# aws_x.y.z in a comment\nvar.a"),
        ("provider::aws::arn_parse(var.a)", "provider::aws::arn_parse(var.a)"),
    ],
)
def test_fake_references(source: str, expected: str) -> None:
    assert fake_references(source) == expected


def test_fake_references_count_and_each() -> None:
    assert fake_references('"${each.key}-${each.value.x}"', each_key="k", each_value="v") == '"${k}-${v.x}"'
    assert fake_references("aws_s.s[each.key].arn", each_key="k") == '"arn:aws:fake:::aws_s.s[${k}].arn"'
    assert fake_references('"c${count.index}"', count_index="i") == '"c${i}"'
    assert per_instance("x", count="2") == "{ for __ecsfix_i in try(range(2), [0]) : tostring(__ecsfix_i) => x\n}"
    assert per_instance("<<EOF\nx\nEOF\n") == '{ "" = <<EOF\nx\nEOF\n}'


def test_console_string_round_trip() -> None:
    assert unquote_console_string('"a\\"b\\\\c${d}\\u00e9é"\n') == 'a"b\\c${d}éé'
    assert hcl_string('a"b${c}%{d}\n') == '"a\\"b$${c}%%{d}\\n"'
    with pytest.raises(ConsoleError):
        unquote_console_string("(sensitive value)")
