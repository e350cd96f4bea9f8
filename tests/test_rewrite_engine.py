"""The rewrite engine's promises (SPEC §5.x): never an exception, conflicts resolved before any
edit, partial moves, scan and rewrite agree, `--check` exits 1 only for changes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ecsfix.cli import main
from ecsfix.rewrite import planning
from ecsfix.rewrite.engine import rewrite
from ecsfix.rewrite.forms.inline import Inline

TD = """resource "aws_ecs_task_definition" "{label}" {{
  family                = "{label}"
  execution_role_arn    = aws_iam_role.exec.arn
  container_definitions = jsonencode([
    {{
      name  = "app"
      image = "nginx"
{body}
    }},
  ])
}}
"""

TWO_ENTRIES = """      environment = [
        { name = "DB_PASSWORD", value = var.db_password },
        { name = "LOG_LEVEL", value = "info" },
      ]"""


def td(label: str, body: str = TWO_ENTRIES) -> str:
    return TD.format(label=label, body=body)


def _two_modules(tmp_path: Path) -> tuple[Path, Path]:
    first = tmp_path / "first"
    second = tmp_path / "first" / "second"
    second.mkdir(parents=True)
    (first / "main.tf").write_text(td("broken") + "\n" + td("ok"))
    (second / "main.tf").write_text(td("other"))
    return first, second


def _break_one(monkeypatch: pytest.MonkeyPatch, label: str, exc: Exception) -> None:
    """A bug in a form, for one task definition only (its message holds a value: it must not show)."""
    original = Inline.expression

    def expression(self: Inline, at):  # type: ignore[no-untyped-def]
        if self.td.address.endswith("." + label):
            raise exc
        return original(self, at)

    monkeypatch.setattr(Inline, "expression", expression)


# --------------------------------------------------------------------------- 1. never an exception


@pytest.mark.parametrize("exc", [AssertionError("hunter2"), KeyError("hunter2"), RecursionError("hunter2")],
                         ids=lambda e: type(e).__name__)
def test_a_failing_unit_is_one_error_line_and_the_rest_is_fixed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exc: Exception
) -> None:
    first, second = _two_modules(tmp_path)
    _break_one(monkeypatch, "broken", exc)
    result = rewrite([str(tmp_path)])
    assert len(result.errors) == 1, result.errors
    error = result.errors[0]
    assert re.fullmatch(
        re.escape(f"{first / 'main.tf'}: error: ecsfix could not plan a rewrite for aws_ecs_task_definition.broken (")
        + type(exc).__name__ + r" at \w+\.py:\d+\); nothing written for it",
        error,
    ), error
    assert "hunter2" not in error
    moved = {(m.task_definition, m.name) for m in result.moved}
    assert moved == {("aws_ecs_task_definition.ok", "DB_PASSWORD"), ("aws_ecs_task_definition.other", "DB_PASSWORD")}
    new = {c.path: c.new for c in result.changes}
    broken_part = new[str(first / "main.tf")].split('resource "aws_ecs_task_definition" "ok"')[0]
    assert broken_part == td("broken") + "\n"  # nothing written for it, not even its secret
    assert str(second / "main.tf") in new


def test_the_cli_prints_one_line_exits_2_and_writes_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = _two_modules(tmp_path)
    _break_one(monkeypatch, "broken", AssertionError("hunter2"))
    assert main(["rewrite", "--write", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "hunter2" not in err
    assert err.count("ecsfix could not plan a rewrite for aws_ecs_task_definition.broken") == 1
    text = (first / "main.tf").read_text()
    assert text.startswith(td("broken"))
    assert "ok_secrets" in text and "broken_secrets" not in text
    assert "other_secrets" in (second / "main.tf").read_text()


def test_a_failing_planner_costs_only_its_own_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _two_modules(tmp_path)

    def deploy_plan(mr):  # type: ignore[no-untyped-def]
        raise IndexError("hunter2")

    monkeypatch.setattr(planning, "PLANNERS", (*planning.PLANNERS[:1], ("deploy", deploy_plan), *planning.PLANNERS[2:]))
    result = rewrite([str(tmp_path)])
    assert len(result.moved) == 3
    assert len(result.errors) == 2 and all(
        "could not plan a rewrite for the deploy findings of this module (IndexError" in e for e in result.errors
    ), result.errors


def test_a_dropped_unit_gives_back_the_role_it_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # no execution role: the EF001 unit asks for the created role first and fails after taking its
    # edits; planned again without it, the deploy fix (EF101) creates the role and sets it
    body = '      secrets = [\n        { name = "API_TOKEN", valueFrom = aws_secretsmanager_secret.api.arn },\n      ]\n' \
        + TWO_ENTRIES
    (tmp_path / "main.tf").write_text(td("app", body).replace("  execution_role_arn    = aws_iam_role.exec.arn\n", ""))
    from ecsfix.rewrite.forms import task_definition

    def generate(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("x")

    monkeypatch.setattr(task_definition, "_generate", generate)
    result = rewrite([str(tmp_path)])
    assert len(result.errors) == 1 and result.moved == []
    new = result.changes[0].new
    assert 'resource "aws_iam_role" "app_execution"' in new
    assert "execution_role_arn = aws_iam_role.app_execution.arn" in new


# --------------------------------------------------------------------------- 2. conflicts before any edit

SHARED_LOCAL = """locals {
  container_common = {
    image = "nginx"
    environment = [
      { name = "DB_PASSWORD", value = var.db_password },
      { name = "LOG_LEVEL", value = "info" },
    ]
  }
}
"""


def merged(label: str) -> str:
    return f"""
resource "aws_ecs_task_definition" "{label}" {{
  family                = "{label}"
  execution_role_arn    = aws_iam_role.exec.arn
  container_definitions = jsonencode([merge(local.container_common, {{ name = "{label}" }})])
}}
"""


def test_merged_containers_over_one_shared_local_get_a_note_each_and_the_rest_moves(tmp_path: Path) -> None:
    """`merge(local.container_common, {...})` in three task definitions: the entry lives in text they
    share; each gets a note (never the internal error), the other task definition still moves."""
    text = SHARED_LOCAL + merged("web") + merged("worker") + merged("cron") + "\n" + td("alone")
    (tmp_path / "main.tf").write_text(text)
    result = rewrite([str(tmp_path)])
    assert result.errors == []
    assert [(m.task_definition, m.name) for m in result.moved] == [("aws_ecs_task_definition.alone", "DB_PASSWORD")]
    noted = [n.split(": not rewritten: ")[0].rsplit(" ", 1)[1] for n in result.notes
             if "local.container_common" in n]
    assert noted == ["aws_ecs_task_definition.web", "aws_ecs_task_definition.worker", "aws_ecs_task_definition.cron"]
    new = result.changes[0].new
    assert new.startswith(SHARED_LOCAL + merged("web") + merged("worker") + merged("cron"))
    assert "web_secrets" not in new and "alone_secrets" in new


def _overlapping(monkeypatch: pytest.MonkeyPatch, labels: tuple[str, ...]) -> None:
    """Make the plans of the task definitions `labels` all edit the same text (the first line of
    their file), as two planners that both move one shared entry would."""
    from ecsfix.rewrite.edits import Edit
    from ecsfix.rewrite.forms import task_definition

    original = task_definition.plan_task_definition

    def plan_task_definition(mr, td, *args):  # type: ignore[no-untyped-def]
        plan = original(mr, td, *args)
        if td.address.rsplit(".", 1)[1] in labels:
            plan.add(td.span.file, Edit(0, 6, "locals"))
        return plan

    monkeypatch.setattr(task_definition, "plan_task_definition", plan_task_definition)


def test_plans_that_overlap_are_dropped_with_a_note_and_the_rest_moves(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = SHARED_LOCAL + td("web") + "\n" + td("worker") + "\n" + td("alone")
    (tmp_path / "main.tf").write_text(text)
    _overlapping(monkeypatch, ("web", "worker"))
    result = rewrite([str(tmp_path)])
    assert result.errors == []
    assert [(m.task_definition, m.name) for m in result.moved] == [("aws_ecs_task_definition.alone", "DB_PASSWORD")]
    shown = tmp_path / "main.tf"
    conflicts = [n for n in result.notes if "its edits overlap" in n]
    assert [c.split(": not rewritten: ")[0].rsplit(" ", 1)[1] for c in conflicts] == [
        "aws_ecs_task_definition.web", "aws_ecs_task_definition.worker"]
    assert f"overlap those planned for aws_ecs_task_definition.worker at {shown}:1" in conflicts[0]
    new = result.changes[0].new
    assert "web_secrets" not in new and "worker_secrets" not in new and "alone_secrets" in new


def test_the_cli_never_reaches_the_overlap_internal_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    text = SHARED_LOCAL + td("web") + "\n" + td("worker")
    (tmp_path / "main.tf").write_text(text)
    _overlapping(monkeypatch, ("web", "worker"))
    code = main(["rewrite", "--write", str(tmp_path)])
    err = capsys.readouterr().err
    assert "internal error" not in err and "its edits overlap" in err
    assert code == 0  # nothing it could change; the notes are scan's to fail on
    assert (tmp_path / "main.tf").read_text() == text


def test_a_plan_overlapping_itself_is_an_error_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, _ = _two_modules(tmp_path)
    from ecsfix.rewrite.edits import Edit
    from ecsfix.rewrite.forms import task_definition

    original = task_definition.plan_task_definition

    def plan_task_definition(mr, td, *args):  # type: ignore[no-untyped-def]
        plan = original(mr, td, *args)
        if td.address.endswith(".broken"):
            plan.add(td.span.file, Edit(td.span.start, td.span.start + 10, "x"))
            plan.add(td.span.file, Edit(td.span.start + 5, td.span.start + 12, "y"))
        return plan

    monkeypatch.setattr(task_definition, "plan_task_definition", plan_task_definition)
    result = rewrite([str(tmp_path)])
    assert result.errors == [
        f"{first / 'main.tf'}: error: ecsfix could not plan a rewrite for aws_ecs_task_definition.broken "
        f"(overlapping edits in its own plan at {first / 'main.tf'}:1); nothing written for it"
    ]
    assert len(result.moved) == 2


# --------------------------------------------------------------------------- 3. partial moves

ODD_ENTRIES = [
    # (id, the odd entry (stays), the note's reason)
    ("extra_keys", '{ name = "DB_PASSWORD", value = var.db_password, name1 = "x" }',
     "the entry DB_PASSWORD has keys other than name and value; move it by hand"),
    ("no_value", '{ name = "DB_PASSWORD" }', "DB_PASSWORD has no value; move it by hand"),
    ("secret_mixed_with_references", '{ name = "DATABASE_URL", value = "postgres://admin:hunter2@${var.host}/db" }',
     "the value of DATABASE_URL mixes a committed secret with references"),
]


@pytest.mark.parametrize("odd,why", [c[1:] for c in ODD_ENTRIES], ids=[c[0] for c in ODD_ENTRIES])
def test_one_odd_entry_stays_and_the_others_move(tmp_path: Path, odd: str, why: str) -> None:
    body = f"""      environment = [
        {odd},
        {{ name = "API_TOKEN", value = var.api_token }},
        {{ name = "LOG_LEVEL", value = "info" }},
      ]"""
    (tmp_path / "main.tf").write_text(td("app", body) + "\n" + td("next"))
    result = rewrite([str(tmp_path)])
    assert result.errors == []
    assert [(m.task_definition, m.name) for m in result.moved] == [
        ("aws_ecs_task_definition.app", "API_TOKEN"), ("aws_ecs_task_definition.next", "DB_PASSWORD")]
    assert [n for n in result.notes if why in n] == [
        f"{tmp_path / 'main.tf'}:1: aws_ecs_task_definition.app container app: not rewritten: " + n.split(
            "not rewritten: ", 1)[1] for n in result.notes if why in n]
    assert len([n for n in result.notes if why in n]) == 1
    new = result.changes[0].new
    assert odd in new and '{ name = "LOG_LEVEL", value = "info" }' in new
    assert '{ name = "API_TOKEN", valueFrom = "${aws_secretsmanager_secret.app_secrets.arn}:API_TOKEN::" }' in new
    again = tmp_path / "again"
    again.mkdir()
    (again / "main.tf").write_text(new)
    second = rewrite([str(again)])
    assert second.changes == [] and second.moved == []  # the odd entry is still only a note


# --------------------------------------------------------------------------- 5. --check


@pytest.mark.parametrize("args", [["--check"], []], ids=["check", "diff"])
def test_check_exits_1_only_when_write_would_change_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    only_notes = tmp_path / "only_notes"
    only_notes.mkdir()
    (only_notes / "main.tf").write_text(td("app", '      environment = [\n        { name = "DB_PASSWORD" },\n'
                                               '        { name = "API_TOKEN", value = var.api_token, name1 = "x" },\n      ]'))
    assert main(["rewrite", *args, str(only_notes)]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("not rewritten") == 2  # listed, exit code unchanged
    if args:
        assert "0 entries in 0 files need a rewrite; 2 left for a manual fix" in captured.out
    assert main(["scan", "--no-cache", str(only_notes)]) == 1  # scan is the command that fails on them
    capsys.readouterr()
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "main.tf").write_text(td("app"))
    assert main(["rewrite", *args, str(mixed)]) == 1
    assert main(["rewrite", "--write", str(mixed)]) == 0
    assert main(["rewrite", *args, str(mixed)]) == 0


# --------------------------------------------------------------------------- shapes left with a note


NOTE_SHAPES = [
    # (id, container body, extra Terraform, the note's reason)
    ("environment_from_variable", "      environment = var.environment",
     'variable "environment" {\n  default = [{ name = "DB_PASSWORD", value = "hunter2" }]\n}\n',
     "environment is not a literal list"),
    ("secrets_from_variable",
     '      secrets     = var.secrets\n      environment = [\n        { name = "DB_PASSWORD", value = var.db_password },\n      ]',
     "", "secrets that is not a literal list"),
    ("environment_from_two_lists",
     '      environment = concat([\n        { name = "DB_PASSWORD", value = var.db_password },\n      ], '
     '[\n        { name = "API_TOKEN", value = var.api_token },\n      ])', "", "environment is not a literal list"),
]


@pytest.mark.parametrize("body,extra,why", [s[1:] for s in NOTE_SHAPES], ids=[s[0] for s in NOTE_SHAPES])
def test_shapes_the_planner_does_not_understand_are_notes(tmp_path: Path, body: str, extra: str, why: str) -> None:
    (tmp_path / "main.tf").write_text(td("app", body) + extra)
    result = rewrite([str(tmp_path)])
    assert result.errors == [] and result.changes == []
    assert any(why in n and n.startswith(f"{tmp_path / 'main.tf'}:1: aws_ecs_task_definition.app") for n in result.notes), \
        result.notes
    assert all("hunter2" not in n for n in result.notes)


# --------------------------------------------------------------------------- 4. scan and rewrite agree

REPO = Path(__file__).resolve().parents[1]
ROOTS = sorted(p for base in (REPO / "tests" / "fixtures", REPO / "examples") for p in base.iterdir() if p.is_dir())


@pytest.mark.parametrize("root", ROOTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixable_is_exactly_what_the_rewrite_moves(root: Path) -> None:
    from ecsfix.discover import discover
    from ecsfix.scan import scan

    for files in discover([str(root)], ()).modules.values():  # one module at a time: addresses repeat
        _agree(scan(files).findings, rewrite(files).moved)


def _agree(found: list, moved_entries: list) -> None:  # type: ignore[type-arg]
    findings = [f for f in found if f.rule == "EF001"]
    moved = {(m.task_definition, m.container, m.name) for m in moved_entries}
    for f in findings:
        key = (f.resource, f.container, f.name)
        if f.fixable:
            assert key in moved, f"{f.file}:{f.line} {key}: fixable, but the rewrite leaves it"
            assert "run `ecsfix rewrite` to preview the fix" in f.message
        else:
            assert key not in moved, f"{f.file}:{f.line} {key}: not fixable, but the rewrite moves it"
            assert "by hand" in f.message or "configuration that produces this plan" in f.message, f.message
            assert "run `ecsfix rewrite` to preview" not in f.message
    assert not moved - {(f.resource, f.container, f.name) for f in findings}, "moved without a finding"


def test_the_walk_covers_both_decisions() -> None:
    from ecsfix.scan import scan

    findings = [f for root in ROOTS for f in scan([str(root)]).findings if f.rule == "EF001"]
    assert sum(f.fixable for f in findings) > 50 and sum(not f.fixable for f in findings) > 5


# --------------------------------------------------------------------------- the trial's crash shapes

ROLE = '  execution_role_arn    = aws_iam_role.exec.arn\n'
TRIAL_SHAPES = {
    # container_definitions = local.X holding templatefile(): an AssertionError once
    "local_holding_templatefile": {
        "main.tf": 'locals {\n  api_td = templatefile("${path.module}/api.json.tpl", { db_password = var.db_password })\n}\n\n'
                   'resource "aws_ecs_task_definition" "api" {\n  family                = "api"\n' + ROLE
                   + '  container_definitions = local.api_td\n}\n',
        "api.json.tpl": '[{"name": "api", "image": "app:1", "environment": [{"name": "DB_PASSWORD", "value": "${db_password}"}]}]\n',
    },
    # three task definitions merging one shared local: "internal error: overlapping rewrite edits" once
    "merge_over_a_shared_local": {"main.tf": SHARED_LOCAL + merged("api") + merged("worker") + merged("cron")},
    # one entry with extra keys blocked its container once
    "heredoc_extra_keys": {
        "main.tf": 'resource "aws_ecs_task_definition" "api" {\n  family                = "api"\n' + ROLE
                   + '  container_definitions = <<JSON\n[\n  {\n    "name": "api",\n    "image": "app:1",\n'
                   '    "environment": [\n      {"name": "API_TOKEN", "value": "${var.api_token}", "name1": "OTHER"},\n'
                   '      {"name": "DB_PASSWORD", "value": "${var.db_password}"}\n    ]\n  }\n]\nJSON\n}\n',
    },
    "template_file_data_source": {
        "main.tf": 'data "template_file" "api" {\n  template = file("${path.module}/task.json.tpl")\n'
                   '  vars = {\n    db_password = var.db_password\n  }\n}\n\n'
                   'resource "aws_ecs_task_definition" "api" {\n  family                = "api"\n' + ROLE
                   + '  container_definitions = data.template_file.api.rendered\n}\n',
        "task.json.tpl": '[{"name": "api", "image": "app:1", "environment": [{"name": "DB_PASSWORD", "value": "${db_password}"}]}]\n',
    },
    "hyphen_placeholder": {
        "main.tf": 'resource "aws_ecs_task_definition" "api" {\n  family                = "api"\n' + ROLE
                   + '  container_definitions = templatefile("${path.module}/task.json.tpl", { db-password = var.db_password })\n}\n',
        "task.json.tpl": '[{"name": "api", "image": "app:1", "environment": [{"name": "DB_PASSWORD", "value": "${db-password}"}]}]\n',
    },
    "concat_in_a_local": {
        "main.tf": 'locals {\n  common_env = concat(var.extra_env, [\n    { name = "DB_PASSWORD", value = var.db_password },\n'
                   '    { name = "LOG_LEVEL", value = "info" },\n  ])\n}\n\n'
                   + td("api", '      environment = concat(local.common_env, [{ name = "ROLE", value = "api" }])'),
    },
}


@pytest.mark.parametrize("shape", sorted(TRIAL_SHAPES))
def test_trial_shapes_never_crash_and_scan_agrees(
    tmp_path: Path, shape: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from ecsfix.scan import scan

    for name, text in TRIAL_SHAPES[shape].items():
        (tmp_path / name).write_text(text)
    result = rewrite([str(tmp_path)])  # never raises
    assert not any("internal error" in e for e in result.errors), result.errors
    _agree(scan([str(tmp_path)]).findings, result.moved)
    code = main(["rewrite", "--check", str(tmp_path)])
    err = capsys.readouterr().err
    assert "Traceback" not in err and code in (0, 1, 2)
    assert code == 2 or not result.errors


def test_heredoc_extra_keys_moves_the_normal_entry(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(TRIAL_SHAPES["heredoc_extra_keys"]["main.tf"])
    result = rewrite([str(tmp_path)])
    assert [m.name for m in result.moved] == ["DB_PASSWORD"]
    assert any("the entry API_TOKEN has keys other than name and value; move it by hand" in n for n in result.notes)
