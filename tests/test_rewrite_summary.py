"""`ecsfix rewrite --summary`: the pull request body. Snapshots hold every section; no value leaks.

The fixture (tests/fixtures/rewrite_summary) has a committed literal (a new variable, to rotate), a
value from a variable (moved, not to rotate), an entry in a conditional branch (left, with why), a
JSON-key `valueFrom` without its trailing colons (a readiness fix) and a module that does not parse
(an error, and nothing written there; written by the test, as tests/fixtures/bad holds the
fixtures that do not parse).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ecsfix.cli import main

FIXTURE = Path(__file__).parent / "fixtures" / "rewrite_summary"
SNAPSHOTS = Path(__file__).parent / "snapshots" / "rewrite_summary"
BROKEN = 'resource "aws_ecs_task_definition" "x" {\n  family = "x"\n  container_definitions = jsonencode([{ name = "x" }]\n'
VALUES = ("sk_live_hunter2hunter2hunter2", "hunter2-debug-token", "hunter2")


def _summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *options: str) -> tuple[str, int]:
    shutil.copytree(FIXTURE, tmp_path / "infra" / "service")
    (tmp_path / "infra" / "broken").mkdir()
    (tmp_path / "infra" / "broken" / "main.tf").write_text(BROKEN)
    monkeypatch.chdir(tmp_path)  # paths in the summary are relative, as in CI
    code = main(["rewrite", *options, "--summary", "summary.md", "infra/service", "infra/broken"])
    return (tmp_path / "summary.md").read_text(encoding="utf-8"), code


@pytest.mark.parametrize(("options", "name"), [
    pytest.param((), "default.md", id="default"),
    pytest.param(("--literal-values", "keep"), "keep.md", id="literal-values-keep"),
    pytest.param(("--write",), "write.md", id="write"),
])
def test_summary_snapshot(options: tuple[str, ...], name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str], snapshot) -> None:  # type: ignore[no-untyped-def]
    text, code = _summary(tmp_path, monkeypatch, *options)
    assert code == 2  # the broken module is an error, whatever else moved
    out = capsys.readouterr()
    for value in VALUES:
        assert value not in text and value not in out.out and value not in out.err
    snapshot.snapshot_dir = SNAPSHOTS
    snapshot.assert_match(text, name)


def test_summary_sections(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text, _ = _summary(tmp_path, monkeypatch)
    sections = [line for line in text.splitlines() if line.startswith("#")]
    assert sections == [
        "## ecsfix: secrets out of container environments",
        "### Before merging",
        "### Moved to `secrets` (AWS Secrets Manager)",
        "### Deploy-readiness fixes",
        "### Left for a manual change",
        "### Files ecsfix could not read",
    ]
    before = text.split("### Before merging")[1].split("###")[0]
    # the literal: a variable to set and a value to rotate; the variable's value: neither
    assert "`var.billing_stripe_secret_key`" in before and "`STRIPE_SECRET_KEY` in" in before
    assert "`DB_PASSWORD` in" not in before
    table = text.split("| Entry |")[1].split("###")[0]
    assert "`STRIPE_SECRET_KEY`" in table and "`DB_PASSWORD`" in table and "DEBUG_API_TOKEN" not in table
    assert "`infra/service/main.tf:43`" in table  # where the entry was written
    left = text.split("### Left for a manual change")[1]
    assert "DEBUG_API_TOKEN" in left and "conditional branch" in left
    assert "`infra/broken/main.tf:4`: error: not valid HCL" in text


def test_summary_keep_lists_committed_values_to_rotate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text, _ = _summary(tmp_path, monkeypatch, "--literal-values", "keep")
    before = text.split("### Before merging")[1].split("###")[0]
    assert "var." not in before  # no new variable: the literal was copied into the secret version
    assert "**Rotate**" in before and "`STRIPE_SECRET_KEY` in" in before
    assert "### Warnings" in text


def test_summary_nothing_to_move(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "main.tf").write_text('resource "aws_ecs_task_definition" "x" {\n  family = "x"\n'
                                      '  container_definitions = jsonencode([{ name = "x", environment = '
                                      '[{ name = "LOG_LEVEL", value = "info" }] }])\n}\n')
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--summary", "summary.md", "."]) == 0
    text = (tmp_path / "summary.md").read_text()
    assert "Nothing to move" in text and "### Before merging" not in text


def test_broken_module_is_an_error_and_not_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A module with a file that does not parse is reported (exit 2) and left whole, while the
    other module in the same run is rewritten."""
    shutil.copytree(FIXTURE, tmp_path / "infra" / "service")
    service = tmp_path / "infra" / "service" / "main.tf"
    before = service.read_bytes()
    (tmp_path / "infra" / "service" / "broken.tf").write_text('locals {\n  x = [\n')
    other = tmp_path / "other"
    other.mkdir()
    (other / "main.tf").write_text((FIXTURE / "main.tf").read_text())
    assert main(["rewrite", "--write", str(tmp_path / "infra" / "service"), str(other)]) == 2
    err = capsys.readouterr().err
    assert "broken.tf:3: error:" in err or "broken.tf:2: error:" in err
    assert "not rewritten: a file of this module could not be read" in err
    assert service.read_bytes() == before
    assert b"STRIPE_SECRET_KEY" in (other / "main.tf").read_bytes()
    assert b"sk_live_" not in (other / "main.tf").read_bytes()  # the other module was rewritten


def test_every_planner_says_where_each_moved_entry_was_written() -> None:
    """The summary's "Written at" column and its rotate list need `Moved.where` from every planner:
    the examples hold one case of each form."""
    import re

    from ecsfix.rewrite.engine import rewrite

    examples = Path(__file__).parent.parent / "examples"
    result = rewrite([str(examples)], options=None)
    assert len({m.task_definition for m in result.moved}) >= 10
    for m in result.moved:
        assert re.fullmatch(r".+:\d+", m.where), m
        assert Path(m.where.rsplit(":", 1)[0]).is_file(), m


def test_unreadable_heredoc_is_an_error_but_the_module_is_rewritten(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Invalid JSON in one task definition's heredoc (scan's error, exit 2) does not keep another
    task definition of the same module from being rewritten; only a file that does not parse does."""
    text = (FIXTURE / "main.tf").read_text() + (
        '\nresource "aws_ecs_task_definition" "templated" {\n  family                = "templated"\n'
        '  container_definitions = <<EOF\n[{ %{ if true }"name": "x"%{ endif } }]\nEOF\n}\n')
    (tmp_path / "main.tf").write_text(text)
    assert main(["rewrite", "--write", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "main.tf:" in err and "invalid JSON" in err and "a file of this module could not be read" not in err
    assert b"sk_live_" not in (tmp_path / "main.tf").read_bytes()
