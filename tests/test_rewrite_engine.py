"""The rewrite engine's promises (SPEC §5.x): never an exception, conflicts resolved before any
edit, partial moves, scan and rewrite agree, `--check` exits 1 only for changes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ecsfix.cli import main
from ecsfix.rewrite import engine
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

    monkeypatch.setattr(engine, "PLANNERS", (*engine.PLANNERS[:1], ("deploy", deploy_plan), *engine.PLANNERS[2:]))
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
