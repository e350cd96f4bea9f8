"""`--jobs N`: candidate modules are scanned in worker processes; the report is identical to
`--jobs 1`, byte for byte, in every format."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ecsfix.cli import main
from ecsfix.scan import scan

REPO = Path(__file__).resolve().parents[1]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small tree from the benchmark generator: every input form, leaks and look-alikes."""
    out = tmp_path_factory.mktemp("gen") / "tree"
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "generate.py"), "--out", str(out), "--files", "600"],
                   check=True, capture_output=True, timeout=120)
    return out


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
@pytest.mark.parametrize("where", ["examples", "generated"])
def test_jobs_2_prints_exactly_what_jobs_1_prints(where: str, fmt: str, generated: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    root = REPO / "examples" if where == "examples" else generated
    monkeypatch.chdir(root)
    one = run(capsys, "scan", "--no-cache", "--jobs", "1", "--format", fmt, ".")
    two = run(capsys, "scan", "--no-cache", "--jobs", "2", "--format", fmt, ".")
    assert one == two
    assert one[0] in (1, 2) and "EF001" in one[1]


def test_jobs_with_the_cache_cold_and_warm(generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(generated)
    monkeypatch.setenv("ECSFIX_CACHE_DIR", str(tmp_path / "cache"))
    expected = run(capsys, "scan", "--no-cache", "-j", "1", "--format", "json", ".")
    assert run(capsys, "scan", "-j", "2", "--format", "json", ".") == expected
    assert run(capsys, "scan", "-j", "1", "--format", "json", ".") == expected


def test_library_scan_in_parallel_finds_the_same(generated: Path) -> None:
    def key(result):  # type: ignore[no-untyped-def]
        return [(f.file, f.line, f.column, f.span.end_line, f.span.end_column, f.rule, f.message, f.preview)
                for f in result.findings]

    one, two = scan([str(generated)]), scan([str(generated)], jobs=2)
    assert key(one) == key(two) and len(one.findings) > 10
    assert [e.render() for e in one.errors] == [e.render() for e in two.errors]
    assert len(one.task_definitions) == len(two.task_definitions)


@pytest.mark.parametrize("value", ["0", "-1"])
def test_jobs_must_be_positive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                               value: str) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "scan", f"--jobs={value}", ".")
    assert code == 2 and "--jobs must be at least 1" in err
