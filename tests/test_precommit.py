"""The pre-commit hooks in .pre-commit-hooks.yaml, run for real by `pre-commit try-repo`.

A copy of this checkout (package, templates, hook manifest) is committed to a throwaway git repository,
so the test sees the current working tree whatever the state of the real repository's git index.
pre-commit then builds the hook environment with pip, which needs PyPI (or a configured mirror): this
is the one test that uses the network. It takes 20-60 s, most of it the first `pip install`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).parents[1]

LEAKY = """\
resource "aws_ecs_task_definition" "app" {
  family             = "app"
  execution_role_arn = aws_iam_role.exec.arn
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

resource "aws_iam_role" "exec" {
  name = "exec"
}
"""

UNRELATED_JSON = '{"name": "web", "version": "1.0.0"}\n'  # package.json: must not trip the hook

GIT_ENV = {
    "GIT_AUTHOR_NAME": "ecsfix tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "ecsfix tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}
COPY_IGNORE = shutil.ignore_patterns(
    ".git", "__pycache__", "*.egg-info", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis",
    "build", "dist", "tests", "benchmarks", "examples", ".venv*", "*.sarif",
)


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, check=True, capture_output=True)


def _commit_all(cwd: Path, message: str) -> None:
    _git(cwd, "add", "-A")
    _git(cwd, "commit", "-q", "--no-verify", "-m", message)


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("git") is None:
        pytest.fail("git is required for the pre-commit test")
    dst = tmp_path_factory.mktemp("hook-repo") / "ecsfix"
    shutil.copytree(REPO, dst, ignore=COPY_IGNORE, symlinks=True)
    _git(dst, "init", "-q", "-b", "main")
    _commit_all(dst, "ecsfix snapshot for the pre-commit test")
    return dst


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def _try_repo(hook_repo: Path, home: Path, project: Path, *hook: str) -> subprocess.CompletedProcess[str]:
    """`pre-commit try-repo` on every file: one hook, or all of them (sorted by id: ecsfix-rewrite runs
    before ecsfix-scan, as a fixer listed first in a config would).

    try-repo installs the hook environment into a throwaway store on every call (PRE_COMMIT_HOME only
    holds its log), so the test makes two calls, not one per hook and state."""
    env = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1"}
    env.pop("PRE_COMMIT", None)
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), *hook, "--all-files", "--color", "never",
         "--verbose"],
        cwd=project, env=env, capture_output=True, text=True, timeout=600,
    )


def _status(output: str, hook_name_start: str) -> str:
    """'Passed' or 'Failed' for the hook whose status line starts with `hook_name_start`."""
    for line in output.splitlines():
        if line.startswith(hook_name_start) and line.rstrip().endswith(("Passed", "Failed")):
            return line.rstrip().rsplit(".", 1)[-1]
    raise AssertionError(f"no status line for {hook_name_start!r} in:\n{output}")


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "infra-repo"
    (project / "services/app").mkdir(parents=True)
    (project / "services/app/main.tf").write_text(LEAKY, encoding="utf-8")
    (project / "package.json").write_text(UNRELATED_JSON, encoding="utf-8")
    (project / "README.md").write_text("# infra\n", encoding="utf-8")
    _git(project, "init", "-q", "-b", "main")
    _commit_all(project, "a task definition with a plaintext secret")
    return project


def test_manifest_declares_both_hooks() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    assert set(hooks) == {"ecsfix-scan", "ecsfix-rewrite"}
    assert hooks["ecsfix-scan"]["entry"].split()[:2] == ["ecsfix", "scan"]
    assert hooks["ecsfix-rewrite"]["entry"].split() == ["ecsfix", "rewrite", "--write"]
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["name"] and hook["description"]


def test_scan_hook_fails_on_a_leak_and_passes_after_the_rewrite_hook(
    hook_repo: Path, pre_commit_home: Path, tmp_path: Path
) -> None:
    project = _project(tmp_path)

    leak = _try_repo(hook_repo, pre_commit_home, project, "ecsfix-scan")
    out = leak.stdout + leak.stderr
    assert leak.returncode == 1, out
    assert _status(out, "ecsfix scan") == "Failed"
    assert "services/app/main.tf:9:9 EF001" in out
    assert "DB_PASSWORD" in out and "hunter2" not in out  # the value never reaches the log
    assert "package.json" not in out  # unrelated JSON is not passed to ecsfix
    assert "id: ecsfix-rewrite" not in out
    assert (project / "services/app/main.tf").read_text(encoding="utf-8") == LEAKY  # scan never writes

    fix = _try_repo(hook_repo, pre_commit_home, project)
    out = fix.stdout + fix.stderr
    assert fix.returncode == 1, out  # a fixer that changed files fails the commit, as pre-commit fixers do
    assert _status(out, "ecsfix rewrite") == "Failed"
    assert "files were modified by this hook" in out
    assert "rewrote services/app/main.tf" in out
    fixed = (project / "services/app/main.tf").read_text(encoding="utf-8")
    assert "hunter2" not in fixed and "aws_secretsmanager_secret" in fixed
    assert _status(out, "ecsfix scan") == "Passed"  # ran after the fixer, on the rewritten file
    assert "1 task definition" in out
