"""The GitHub Actions examples in examples/ci pass actionlint, pin every action to a commit, and
run the ecsfix commands they document."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CI = Path(__file__).resolve().parent.parent / "examples" / "ci"
WORKFLOWS = sorted(CI.glob("*.yml"))


def _actionlint() -> str:
    found = shutil.which("actionlint") or shutil.which("actionlint", path=os.path.dirname(sys.executable))
    if found is None:
        if os.environ.get("ECSFIX_REQUIRE_ACTIONLINT") == "1":
            pytest.fail("actionlint is required (ECSFIX_REQUIRE_ACTIONLINT=1) but not installed")
        pytest.skip("actionlint not installed (pip install '.[test]' on Linux brings it)")
    return found


def test_three_workflows() -> None:
    assert [p.name for p in WORKFLOWS] == ["ecsfix-fix-pr.yml", "ecsfix-suggest.yml", "ecsfix.yml"]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint_accepts(workflow: Path) -> None:
    proc = subprocess.run([_actionlint(), "-no-color", str(workflow)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    """Guard: the check above can fail (an unknown input of a pinned action, a bad expression)."""
    broken = tmp_path / "broken.yml"
    text = (CI / "ecsfix-fix-pr.yml").read_text().replace("${{ runner.temp }}", "${{ runner.tmp }}")
    broken.write_text(text)
    proc = subprocess.run([_actionlint(), "-no-color", str(broken)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "runner.tmp" in proc.stdout


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actions_pinned_to_a_commit(workflow: Path) -> None:
    uses = re.findall(r"^\s*(?:-\s*)?uses:\s*(\S+)(.*)$", workflow.read_text(), re.M)
    assert uses
    for ref, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), ref
        assert re.search(r"#\s*v\d+\.\d+\.\d+", comment), f"{ref}: say which release the commit is"


def test_fix_pr_workflow_runs_rewrite_with_summary_as_body() -> None:
    text = (CI / "ecsfix-fix-pr.yml").read_text()
    assert 'ecsfix rewrite --write --summary "$RUNNER_TEMP/ecsfix-summary.md" .' in text
    assert "body-path: ${{ runner.temp }}/ecsfix-summary.md" in text
    assert "peter-evans/create-pull-request@" in text


def test_suggest_workflow_feeds_the_redacted_diff_to_reviewdog() -> None:
    text = (CI / "ecsfix-suggest.yml").read_text()
    assert "ecsfix rewrite --format diff ." in text and "--format patch" not in text
    assert "reviewdog -name=ecsfix -f=diff -f.diff.strip=1" in text
