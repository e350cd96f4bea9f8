"""The progress bar of long runs: on stderr when it is a terminal, never on stdout, never with
--no-progress, CI=true or a piped stderr, and nothing imported for it on a run that shows none.

The runs here are short, so they lower the one-second delay with the documented test hook
`ECSFIX_PROGRESS_DELAY=0` (or raise it, to model a run that ends before the bar is due).
"""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ecsfix import progress

FIXTURES = Path(__file__).parent / "fixtures"
TREE = FIXTURES / "rewrite"  # ~30 module directories with findings
BAR_RE = re.compile(rb"\d+/\d+ \S* ?\d+ files \S+ \d+ findings")  # the bar: "3/30 · 12 files · 3 findings"


def bar_in(data: bytes) -> bool:
    return BAR_RE.search(re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", data)) is not None


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR", "ECSFIX_PROGRESS_DELAY")}
    env.update(TERM="xterm-256color", COLUMNS="120", ECSFIX_PROGRESS_DELAY="0")
    env.update(extra)
    return env


def _run(args: list[str], env: dict[str, str], tty_stderr: bool = True, cwd: Path | None = None) -> tuple[int, bytes, bytes]:
    """ecsfix's exit code, stdout (a pipe) and stderr (a pseudo-terminal, or a pipe)."""
    cmd = [sys.executable, "-m", "ecsfix", *args]
    if not tty_stderr:
        proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, check=False, timeout=300)
        return proc.returncode, proc.stdout, proc.stderr
    leader, follower = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:  # read while it runs: a full terminal buffer would block the child
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the last writer closed the terminal (Linux: EIO)
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=follower)
        os.close(follower)
        out, _ = proc.communicate(timeout=300)
        reader.join(timeout=30)
    finally:
        os.close(leader)
    return proc.returncode, out, b"".join(chunks)


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_bar_on_a_terminal_stderr_and_stdout_unchanged(fmt: str, jobs: str, tmp_path: Path) -> None:
    args = ["scan", "--no-cache", "--jobs", jobs, "--format", fmt, str(TREE)]
    code, out, err = _run(args, _env())
    assert code == 1
    assert bar_in(err) and b"directories" in err and b"scanning modules" in err
    assert not bar_in(out) and b"\x1b[" not in out and b"directories" not in out
    code_piped, out_piped, err_piped = _run(args, _env(), tty_stderr=False)
    assert (code_piped, out_piped) == (code, out)  # byte-identical report
    assert not bar_in(err_piped)  # a piped stderr gets no bar
    with_flag = _run([*args[:1], "--no-progress", *args[1:]], _env())
    assert with_flag[:2] == (code, out) and not bar_in(with_flag[2])


@pytest.mark.parametrize("env", [{"CI": "true"}, {"CI": "1"}, {"TERM": "dumb"}, {"ECSFIX_PROGRESS_DELAY": "60"}],
                         ids=["CI=true", "CI=1", "TERM=dumb", "short-run"])
def test_no_bar(env: dict[str, str]) -> None:
    code, out, err = _run(["scan", "--no-cache", "--format", "json", str(TREE)], _env(**env))
    assert code == 1 and out.startswith(b"{")
    assert not bar_in(err) and b"\x1b[" not in err


def test_the_bar_is_gone_before_the_report() -> None:
    """Transient: what is left on the terminal ends with the bar erased (no stale line)."""
    _, _, err = _run(["scan", "--no-cache", "--format", "json", str(TREE)], _env())
    assert bar_in(err)
    assert err.rstrip(b"\r\n").endswith(b"\x1b[2K")  # the last line cleared


def test_rewrite_shows_the_bar_too(tmp_path: Path) -> None:
    args = ["rewrite", str(TREE)]
    code, out, err = _run(args, _env())
    assert code == 1 and out.startswith(b"--- a/")
    assert bar_in(err) and b"\x1b[" not in out
    assert _run(args, _env(), tty_stderr=False)[:2] == (code, out)
    assert not bar_in(_run(["rewrite", "--no-progress", str(TREE)], _env())[2])
    assert not bar_in(_run(args, _env(CI="true"))[2])


_PROBE = (
    "import sys\n"
    "from ecsfix.cli import main\n"
    "code = main(['scan', '--no-cache', sys.argv[1]])\n"
    "print('rich' in sys.modules, 'ecsfix.progress' in sys.modules, file=sys.__stdout__)\n"
)


@pytest.mark.parametrize(("tty_stderr", "delay", "expected"), [
    (False, "0", b"False False"),  # stderr a pipe: not even the progress module
    (True, "60", b"False True"),  # a terminal, a run shorter than the delay: no rich
    (True, "0", b"True True"),  # the bar shown: rich imported then
])
def test_imports_only_what_is_shown(tty_stderr: bool, delay: str, expected: bytes) -> None:
    cmd = ["-c", _PROBE, str(FIXTURES / "rewrite" / "single_line")]
    env = _env(ECSFIX_PROGRESS_DELAY=delay)
    if tty_stderr:
        _, out, _ = _run_python(cmd, env)
    else:
        out = subprocess.run([sys.executable, *cmd], env=env, capture_output=True, check=False).stdout
    assert out.strip().splitlines()[-1] == expected


def _run_python(cmd: list[str], env: dict[str, str]) -> tuple[int, bytes, bytes]:
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, *cmd], env=env, stdout=subprocess.PIPE, stderr=follower, check=False,
                              timeout=120)
    finally:
        os.close(follower)
        os.close(leader)
    return proc.returncode, proc.stdout, b""


def test_wanted_and_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("ECSFIX_PROGRESS_DELAY", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setattr(sys, "stderr", type("Tty", (), {"isatty": staticmethod(lambda: True)})())
    assert progress.wanted(False)
    assert not progress.wanted(True)
    monkeypatch.setenv("CI", "false")
    assert progress.wanted(False)
    monkeypatch.setenv("CI", "true")
    assert not progress.wanted(False)
    assert progress.delay() == 1.0
    monkeypatch.setenv("ECSFIX_PROGRESS_DELAY", "nonsense")
    assert progress.delay() == 1.0


def test_bar_waits_for_the_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before the delay the callback only reads the clock: nothing drawn, nothing imported."""
    clock = [100.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock[0])
    monkeypatch.delenv("ECSFIX_PROGRESS_DELAY", raising=False)
    bar = progress.Bar()
    opened: list[tuple[object, ...]] = []
    monkeypatch.setattr(bar, "_open", lambda *a: opened.append(a))
    for n in range(1, 50):
        clock[0] += 0.01
        bar("reading directories", n, 100, n, 0)
    assert opened == []
    clock[0] += 1.0
    bar("scanning modules", 3, 10, 120, 7)
    assert opened == [("scanning modules", 3, 10, 120, 7)]
    bar.close()


@pytest.mark.parametrize("jobs", [1, 2])
def test_scan_tells_every_directory_and_module(jobs: int, tmp_path: Path) -> None:
    from ecsfix.cache import ScanCache
    from ecsfix.scan import scan

    for run in ("cold", "warm"):
        calls: list[tuple[str, int, int, int, int]] = []
        result = scan([str(TREE)], jobs=jobs, cache=ScanCache(str(tmp_path), "k"),
                      progress=lambda *a, calls=calls: calls.append(a))  # type: ignore[misc]
        reading = [c for c in calls if c[0] == "reading directories"]
        assert [c[1] for c in reading] == list(range(1, len(reading) + 1)) and reading[-1][1] == reading[-1][2]
        assert reading[-1][3] == result.files
        scanning = [c for c in calls if c[0] == "scanning modules"]
        if run == "cold":
            assert [c[1] for c in scanning] == list(range(1, len(scanning) + 1)) and scanning[-1][1] == scanning[-1][2]
            assert scanning[-1][4] >= len(result.findings) > 0  # a caller's duplicates are dropped later
        else:  # every module answered by the cache while reading: its findings counted there
            assert scanning == [] and reading[-1][4] >= len(result.findings)
