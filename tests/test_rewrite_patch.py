"""`ecsfix rewrite --format patch`: the exact change, applied by `git apply` (and `patch -p1`) to the
same bytes `--write` writes; printed only into a file or a pipe, never onto a terminal.

Each case copies a rewrite fixture twice: one copy becomes a git repository and gets the patch
(`ecsfix rewrite --format patch > fix.patch`, then `git apply`), the other gets `--write`; the two
trees must then be byte-identical.
"""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from ecsfix.rewrite.changes import FileChange
from ecsfix.rewrite.patch import file_patch, patch_path, patch_root

FIXTURES = Path(__file__).parent / "fixtures"
GIT = shutil.which("git")
PATCH = shutil.which("patch")
needs_git = pytest.mark.skipif(GIT is None, reason="git not installed")


@dataclass(frozen=True)
class Case:
    fixture: str  # under tests/fixtures
    form: str
    secret: str  # a fake value the rewrite removes: in the patch, never in the diff
    args: tuple[str, ...] = ()
    no_final_newline: bool = False  # main.tf loses its final newline in the copy


CASES = [
    Case("rewrite/single_line", "inline jsonencode list", "hunter2"),
    Case("rewrite/heredoc_eof", "heredoc <<EOF", "hunter2"),
    Case("rewrite/file_json", "file() of a JSON file (two files change)", "hunter2-jwt"),
    Case("rewrite/templatefile_vars", "templatefile() (template and call change)", "hunter2-hook"),
    Case("rewrite/locals_env", "environment = local.x", "hunter2"),
    Case("rewrite_modules/cp_environment", "module call, environment list", "sk-hunter2-Str1pe"),
    Case("rewrite_modules/tam_service", "module call, map of containers", "tok-hunter2-Env9Qp"),
    Case("rewrite/variable_value", "--output-file: a new file", "", ("--output-file", "ecsfix_secrets.tf")),
    Case("rewrite/bom_no_newline", "BOM, no final newline", ""),
    Case("rewrite/single_line", "no final newline, the change at the end", "hunter2", no_final_newline=True),
    Case("rewrite/crlf", "CRLF line endings", "hunter2"),
]
IDS = [c.fixture.split("/")[-1] + ("-output-file" if c.args else "") + ("-no-newline" if c.no_final_newline else "")
       for c in CASES]


def _ecsfix(args: list[str], cwd: Path, **kw: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "ecsfix", *args], cwd=cwd, capture_output=True, check=False, **kw)  # type: ignore[call-overload, no-any-return]


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    assert GIT is not None
    return subprocess.run([GIT, *args], cwd=cwd, capture_output=True, check=False)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(root).parts and p.name != "fix.patch"}


def _copy(case: Case, dst: Path) -> Path:
    shutil.copytree(FIXTURES / case.fixture, dst)
    if case.no_final_newline:
        main = dst / "main.tf"
        main.write_bytes(main.read_bytes().rstrip(b"\n"))
    return dst


def _patched(case: Case, tmp_path: Path) -> tuple[Path, bytes]:
    """A git repository holding a copy of the fixture, and the patch ecsfix printed into a file there."""
    repo = _copy(case, tmp_path / "patched")
    assert _git(["init", "-q"], repo).returncode == 0
    with open(repo / "fix.patch", "wb") as out:
        proc = subprocess.run([sys.executable, "-m", "ecsfix", "rewrite", *case.args, "--format", "patch"],
                              cwd=repo, stdout=out, stderr=subprocess.PIPE, check=False)
    assert proc.returncode == 1, proc.stderr  # a change, as for the diff
    return repo, (repo / "fix.patch").read_bytes()


def _written(case: Case, tmp_path: Path) -> dict[str, bytes]:
    written = _copy(case, tmp_path / "written")
    proc = _ecsfix(["rewrite", *case.args, "--write"], written)
    assert proc.returncode == 0, proc.stderr
    return _tree(written)


@needs_git
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_git_apply_gives_what_write_writes(case: Case, tmp_path: Path) -> None:
    repo, patch = _patched(case, tmp_path)
    before = _tree(repo)
    check = _git(["apply", "--check", "fix.patch"], repo)
    assert check.returncode == 0, check.stderr
    assert _git(["apply", "fix.patch"], repo).returncode == 0
    after = _tree(repo)
    assert after != before
    assert after == _written(case, tmp_path)
    assert _ecsfix(["rewrite", *case.args, "--format", "patch"], repo).stdout == b""  # nothing left to change
    if case.secret:
        assert case.secret.encode() in patch  # the exact change: the removed value is in it


@pytest.mark.skipif(PATCH is None or GIT is None, reason="patch or git not installed")
@pytest.mark.parametrize("case", [c for c in CASES if c.fixture.endswith(("crlf", "bom_no_newline", "file_json")) or c.args or c.no_final_newline],
                         ids=lambda c: c.fixture.split("/")[-1])
def test_patch_p1_gives_what_write_writes(case: Case, tmp_path: Path) -> None:
    repo, _ = _patched(case, tmp_path)
    proc = subprocess.run([PATCH, "-p1", "--batch", "--binary", "-i", "fix.patch"], cwd=repo, capture_output=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _tree(repo) == _written(case, tmp_path)


def test_crlf_and_missing_newline_are_kept_in_the_patch(tmp_path: Path) -> None:
    _, crlf = _patched(CASES[-1], tmp_path / "crlf")
    assert b"+      secrets = [\r\n" in crlf and b"\n+\r\n" in crlf
    _, bare = _patched(next(c for c in CASES if c.no_final_newline), tmp_path / "bare")
    assert bare.endswith(b"\n }\n\\ No newline at end of file\n")  # the last line, unchanged and bare


@needs_git
@pytest.mark.parametrize(("old", "new", "markers"), [
    ("a\nb", "a\nc", 2),  # last line changed, neither side ends in a newline
    ("a\nb", "a\nb\n", 1),  # a final newline added
    ("a\nb\n", "a\nb", 1),  # and taken away
    ("x\r\ny", "x\r\nz\r\n", 1),  # CRLF lines, the last one bare
    ("p\rq\x0cr\u2028s\n", "p\rq\x0cr\u2028t\n", 0),  # a lone CR, a form feed, U+2028: inside a line
    ("", "new\n", 0),  # an empty file gets its first line
])
def test_git_applies_every_line_ending(old: str, new: str, markers: int, tmp_path: Path) -> None:
    (tmp_path / "f.tf").write_bytes(old.encode())
    assert _git(["init", "-q"], tmp_path).returncode == 0
    patch = file_patch(FileChange(str(tmp_path / "f.tf"), "f.tf", old, new), "f.tf")
    assert patch.count("\\ No newline at end of file\n") == markers
    (tmp_path / "fix.patch").write_bytes(patch.encode())
    applied = _git(["apply", "fix.patch"], tmp_path)
    assert applied.returncode == 0, applied.stderr
    assert (tmp_path / "f.tf").read_bytes() == new.encode()


def test_new_file_is_created_from_dev_null(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.args)
    _, patch = _patched(case, tmp_path)
    text = patch.decode()
    assert ("diff --git a/ecsfix_secrets.tf b/ecsfix_secrets.tf\nnew file mode 100644\n"
            "--- /dev/null\n+++ b/ecsfix_secrets.tf\n@@ -0,0 +1,") in text
    assert "diff --git a/main.tf b/main.tf\n--- a/main.tf\n+++ b/main.tf\n@@ " in text


@needs_git
def test_paths_are_relative_to_the_git_work_tree(tmp_path: Path) -> None:
    """Run from a sub-directory (or given an absolute path), the patch still names files from the
    repository's top: `git apply` there (or anywhere inside it) applies it."""
    case = CASES[0]
    repo = tmp_path / "repo"
    _copy(case, repo / "infra" / "app")
    assert _git(["init", "-q"], repo).returncode == 0
    (repo / "docs").mkdir()
    proc = _ecsfix(["rewrite", "--format", "patch", str(repo / "infra" / "app")], repo / "docs")
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith(b"diff --git a/infra/app/main.tf b/infra/app/main.tf\n")
    (repo / "fix.patch").write_bytes(proc.stdout)
    assert _git(["apply", "fix.patch"], repo).returncode == 0
    assert _tree(repo) == {f"infra/app/{k}": v for k, v in _written(case, tmp_path).items()}


def test_a_file_outside_the_root_is_refused(tmp_path: Path) -> None:
    """Outside git, the root is the current directory: a path outside it cannot be in the patch."""
    _copy(CASES[0], tmp_path / "elsewhere")
    here = tmp_path / "here"
    here.mkdir()
    if patch_root(str(here)) != os.path.realpath(here):
        pytest.skip("the temporary directory is inside a git work tree")
    proc = _ecsfix(["rewrite", "--format", "patch", "../elsewhere"], here)
    assert proc.returncode == 2
    assert proc.stdout == b""
    err = proc.stderr.decode()
    assert err.count("\n") == 1 and "main.tf: error: --format patch: the file is outside" in err
    assert "hunter2" not in err


@pytest.mark.parametrize(("name", "header"), [
    ("my app/main.tf", "diff --git a/my app/main.tf b/my app/main.tf\n--- a/my app/main.tf\t\n+++ b/my app/main.tf\t\n"),
    ('q"uote/main.tf', 'diff --git "a/q\\"uote/main.tf" "b/q\\"uote/main.tf"\n--- "a/q\\"uote/main.tf"\n'),
    ("café/main.tf", 'diff --git "a/caf\\303\\251/main.tf" "b/caf\\303\\251/main.tf"\n'),
])
def test_paths_are_written_as_git_writes_them(name: str, header: str, tmp_path: Path) -> None:
    change = FileChange(str(tmp_path / name), name, "a\n", "b\n")
    assert file_patch(change, name).startswith(header)


@needs_git
def test_git_applies_a_patch_with_a_space_and_non_ascii_in_its_path(tmp_path: Path) -> None:
    case = CASES[0]
    repo = tmp_path / "repo"
    _copy(case, repo / "my café app")
    assert _git(["init", "-q"], repo).returncode == 0
    proc = _ecsfix(["rewrite", "--format", "patch"], repo)
    assert proc.returncode == 1, proc.stderr
    (repo / "fix.patch").write_bytes(proc.stdout)
    applied = _git(["apply", "fix.patch"], repo)
    assert applied.returncode == 0, applied.stderr
    assert _tree(repo) == {f"my café app/{k}": v for k, v in _written(case, tmp_path).items()}


def test_patch_path_is_none_outside_the_root(tmp_path: Path) -> None:
    root = os.path.realpath(tmp_path / "root")
    assert patch_path(str(tmp_path / "root" / "a" / "main.tf"), root) == "a/main.tf"
    assert patch_path(str(tmp_path / "other" / "main.tf"), root) is None
    assert patch_path(root, root) is None


def _run_on_a_terminal(args: list[str], cwd: Path) -> tuple[int, bytes, bytes]:
    """ecsfix with a pseudo-terminal as stdout: its exit code, what reached the terminal, stderr."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "ecsfix", *args], cwd=cwd, stdout=follower,
                                stderr=subprocess.PIPE)
        os.close(follower)
        shown = b""
        while True:
            ready, _, _ = select.select([leader], [], [], 30)
            if not ready:
                break
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed (Linux: EIO)
                break
            if not chunk:
                break
            shown += chunk
        _, err = proc.communicate(timeout=60)
        return proc.returncode, shown, err
    finally:
        os.close(leader)


def test_refused_on_a_terminal(tmp_path: Path) -> None:
    directory = _copy(CASES[0], tmp_path / "app")
    before = _tree(directory)
    code, shown, err = _run_on_a_terminal(["rewrite", "--format", "patch"], directory)
    assert code == 2
    assert shown == b""  # nothing at all on the terminal, let alone the secret
    text = err.decode()
    assert text.count("\n") == 1 and "--format patch holds the removed secret values" in text
    assert "hunter2" not in text
    assert _tree(directory) == before
    # the default diff may go to a terminal: it is redacted
    code, shown, _ = _run_on_a_terminal(["rewrite"], directory)
    assert code == 1 and b"DB_PASSWORD" in shown and b"hunter2" not in shown


@pytest.mark.parametrize("case", [c for c in CASES if c.secret], ids=lambda c: c.fixture.split("/")[-1])
def test_default_diff_stays_redacted(case: Case, tmp_path: Path) -> None:
    directory = _copy(case, tmp_path / "app")
    proc = _ecsfix(["rewrite", *case.args], directory)
    assert proc.returncode == 1
    assert proc.stdout.startswith(b"--- a/")
    assert case.secret.encode() not in proc.stdout + proc.stderr
    patch = _ecsfix(["rewrite", *case.args, "--format", "patch"], directory)
    assert case.secret.encode() in patch.stdout  # the same run, as a patch: exact


@pytest.mark.parametrize("flag", ["--write", "--check"])
def test_write_and_check_exclude_patch(flag: str, tmp_path: Path) -> None:
    directory = _copy(CASES[0], tmp_path / "app")
    before = _tree(directory)
    proc = _ecsfix(["rewrite", flag, "--format", "patch"], directory)
    assert proc.returncode == 2
    assert proc.stdout == b"" and f"error: --format patch prints the change; {flag} does not" in proc.stderr.decode()
    assert _tree(directory) == before


def test_summary_is_written_beside_the_patch(tmp_path: Path) -> None:
    directory = _copy(CASES[0], tmp_path / "app")
    summary = tmp_path / "summary.md"
    proc = _ecsfix(["rewrite", "--format", "patch", "--summary", str(summary)], directory)
    assert proc.returncode == 1 and proc.stdout.startswith(b"diff --git a/main.tf b/main.tf\n")
    text = summary.read_text()
    assert "DB_PASSWORD" in text and "hunter2" not in text


def test_nothing_to_change_prints_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "clean"
    directory.mkdir()
    (directory / "main.tf").write_text('variable "x" {}\n')
    proc = _ecsfix(["rewrite", "--format", "patch"], directory)
    assert (proc.returncode, proc.stdout) == (0, b"")


def test_help_warns_that_the_patch_holds_the_values() -> None:
    proc = _ecsfix(["rewrite", "--help"], Path.cwd(), env=dict(os.environ, COLUMNS="200", TERM="dumb"))
    out = " ".join(proc.stdout.decode().split())
    assert "the patch holds the removed secret values" in out
