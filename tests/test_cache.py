"""The content-hash cache (`.ecsfix_cache/`): a warm run prints exactly what a cold run prints,
any change to a file a module's scan read invalidates it, and nothing secret is ever stored."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ecsfix.cli import main
from tests import labelled

REPO = Path(__file__).resolve().parents[1]

TD_FILE = """\
resource "aws_ecs_task_definition" "app" {
  family                = "app"
  container_definitions = file("${path.module}/containers.json")
}
"""
CONTAINERS = '[{"name": "app", "image": "acme/app:1", "environment": [{"name": "DB_PASSWORD", "value": "hunter2"}]}]\n'
CONTAINERS_CLEAN = '[{"name": "app", "image": "acme/app:1", "environment": [{"name": "LOG_LEVEL", "value": "info"}]}]\n'
LEAKY = """\
resource "aws_ecs_task_definition" "app" {
  family = "app"
  container_definitions = jsonencode([{
    name = "app", image = "acme/app:1",
    environment = [{ name = "API_TOKEN", value = "AKIAIOSFODNN7EXAMPLE" }, { name = "LOG_LEVEL", value = "info" }]
  }])
}
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of examples/ plus a file() module, scanned from its own directory, cache at its root.
    (Without examples/plan: plan JSON is not cached, its scan parses the module it came from.)"""
    root = tmp_path / "repo"
    shutil.copytree(REPO / "examples", root / "examples", ignore=shutil.ignore_patterns("plan"))
    (root / "svc").mkdir()
    (root / "svc" / "main.tf").write_text(TD_FILE, encoding="utf-8")
    (root / "svc" / "containers.json").write_text(CONTAINERS, encoding="utf-8")
    (root / "leaky").mkdir()
    (root / "leaky" / "main.tf").write_text(LEAKY, encoding="utf-8")
    monkeypatch.delenv("ECSFIX_CACHE_DIR", raising=False)
    monkeypatch.chdir(root)
    return root


def cache_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*.json") if p.is_file())


def forbid_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> object:
        raise AssertionError("a warm run must not parse")

    monkeypatch.setattr("ecsfix.hclparse.parse_file", boom)
    monkeypatch.setattr("ecsfix.scan.scan_module", boom)


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_warm_run_prints_exactly_what_the_cold_run_printed(tree: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    uncached = run(capsys, "scan", "--no-cache", "--format", fmt, ".")
    assert not (tree / ".ecsfix_cache").exists()
    cold = run(capsys, "scan", "--format", fmt, ".")
    assert cache_files(tree / ".ecsfix_cache")
    forbid_parsing(monkeypatch)
    warm = run(capsys, "scan", "--format", fmt, ".")
    assert cold == warm == uncached
    assert cold[0] == 1 and "svc/containers.json" in cold[1] and "leaky/main.tf" in cold[1]


def test_cache_directory_ignores_itself_for_git(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "scan", ".")
    lines = (tree / ".ecsfix_cache" / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "*" in lines


def lines_of(out: str, prefix: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith(prefix)]


def test_editing_a_module_file_invalidates(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert any("API_TOKEN" in line for line in lines_of(run(capsys, "scan", ".")[1], "leaky/main.tf:"))
    path = tree / "leaky" / "main.tf"
    path.write_text(LEAKY.replace("AKIAIOSFODNN7EXAMPLE", "/run/t").replace("API_TOKEN", "API_TOKEN_FILE"),
                    encoding="utf-8")
    assert run(capsys, "scan", "leaky", "--no-cache")[0] == 0
    assert lines_of(run(capsys, "scan", ".")[1], "leaky/main.tf:") == []


def test_editing_a_file_read_through_file_invalidates(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert lines_of(run(capsys, "scan", ".")[1], "svc/containers.json:")
    (tree / "svc" / "containers.json").write_text(CONTAINERS_CLEAN, encoding="utf-8")
    assert lines_of(run(capsys, "scan", ".")[1], "svc/containers.json:") == []
    (tree / "svc" / "containers.json").unlink()  # now unanalysable: the cache must not hide it
    assert "svc/containers.json: no such file" in run(capsys, "scan", ".")[1]
    assert "svc/containers.json: no such file" in run(capsys, "scan", ".")[1]
    (tree / "svc" / "containers.json").write_text(CONTAINERS, encoding="utf-8")  # and back
    assert lines_of(run(capsys, "scan", ".")[1], "svc/containers.json:")


def test_adding_a_sibling_file_invalidates(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert lines_of(run(capsys, "scan", ".")[1], "leaky/more.tf:") == []
    (tree / "leaky" / "more.tf").write_text(LEAKY.replace('"app"', '"more"'), encoding="utf-8")
    assert lines_of(run(capsys, "scan", ".")[1], "leaky/more.tf:")


def test_config_change_invalidates(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "EF001" in run(capsys, "scan", "leaky")[1]
    (tree / ".ecsfix.toml").write_text('disable = ["EF001"]\n', encoding="utf-8")
    assert "EF001" not in run(capsys, "scan", "leaky")[1]


def test_other_ecsfix_code_never_answers(tree: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A development install keeps its version number while its code changes (a git pull, an
    edit): entries written by other code are misses."""
    from ecsfix import cache

    cold = run(capsys, "scan", "leaky")
    forbid_parsing(monkeypatch)
    assert run(capsys, "scan", "leaky") == cold  # same code: answered from the cache
    monkeypatch.setattr(cache, "_CODE", "other-code")
    with pytest.raises(AssertionError, match="must not parse"):
        run(capsys, "scan", "leaky")


def test_code_fingerprint_follows_the_package_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ecsfix import cache

    first = cache.code_fingerprint()
    monkeypatch.setattr(cache, "_CODE", None)
    assert cache.code_fingerprint() == first  # stable while nothing changes
    pkg = tmp_path / "ecsfix"
    (pkg / "rules").mkdir(parents=True)
    (pkg / "cache.py").write_text("x = 1\n", encoding="utf-8")
    (pkg / "rules" / "ef001.py").write_text("y = 1\n", encoding="utf-8")
    monkeypatch.setattr(cache, "__file__", str(pkg / "cache.py"))
    monkeypatch.setattr(cache, "_CODE", None)
    before = cache.code_fingerprint()
    assert before != first
    (pkg / "rules" / "ef001.py").write_text("y = 22\n", encoding="utf-8")  # a rule edited
    monkeypatch.setattr(cache, "_CODE", None)
    assert cache.code_fingerprint() != before
    # EF001's `fixable` is the rewrite planners' decision: a planner edited must miss the cache too
    (pkg / "rewrite" / "forms").mkdir(parents=True)
    monkeypatch.setattr(cache, "_CODE", None)
    before = cache.code_fingerprint()
    (pkg / "rewrite" / "forms" / "task_definition.py").write_text("z = 1\n", encoding="utf-8")
    monkeypatch.setattr(cache, "_CODE", None)
    assert cache.code_fingerprint() != before
    before = cache.code_fingerprint()
    (pkg / "rewrite" / "containers.py").write_text("w = 1\n", encoding="utf-8")
    monkeypatch.setattr(cache, "_CODE", None)
    assert cache.code_fingerprint() != before


def test_corrupt_cache_files_are_ignored(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cold = run(capsys, "scan", "--format", "json", ".")
    files = cache_files(tree / ".ecsfix_cache")
    for i, path in enumerate(files):
        path.write_text(["", "{", "[]", '{"files": 1}', "\x00\x01"][i % 5], encoding="utf-8")
    assert run(capsys, "scan", "--format", "json", ".") == cold
    assert run(capsys, "scan", "--format", "json", ".") == cold  # rewritten, then read back


def test_unwritable_cache_directory_warns_once_and_scans(tree: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tree / "not-a-directory"
    blocker.write_text("", encoding="utf-8")
    expected = run(capsys, "scan", "--no-cache", ".")
    monkeypatch.setenv("ECSFIX_CACHE_DIR", str(blocker / "cache"))
    code, out, err = run(capsys, "scan", ".")
    assert (code, out) == expected[:2]
    assert err.count("warning: cannot write the cache") == 1
    assert "Traceback" not in err


def test_cache_dir_env_var_and_no_cache(tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    run(capsys, "scan", "--no-cache", ".")
    assert not (tree / ".ecsfix_cache").exists()
    monkeypatch.setenv("ECSFIX_CACHE_DIR", str(tmp_path / "elsewhere"))
    run(capsys, "scan", ".")
    assert cache_files(tmp_path / "elsewhere") and not (tree / ".ecsfix_cache").exists()


def test_several_paths_cache_in_the_working_directory(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "scan", "leaky", "svc/main.tf")
    assert cache_files(tree / ".ecsfix_cache")
    assert not (tree / "leaky" / ".ecsfix_cache").exists()
    run(capsys, "scan", "leaky")  # one directory: its own cache
    assert cache_files(tree / "leaky" / ".ecsfix_cache")


def test_warm_run_imports_no_parser(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "scan", ".")
    code = ("import sys\nfrom ecsfix.cli import main\nrc = main(['scan', '.'])\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('hcl2', 'lark', 'jinja2', 'typer', 'rich'))\n"
            "print('HEAVY', heavy, file=sys.stderr)\nraise SystemExit(rc)\n")
    env = {k: v for k, v in os.environ.items() if k != "ECSFIX_CACHE_DIR"}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "HEAVY []" in proc.stderr


def test_cache_never_holds_a_secret_value(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "labelled"
    table = labelled.build(root)
    shutil.copytree(REPO / "examples", root / "examples")
    (root / "svc").mkdir()
    (root / "svc" / "main.tf").write_text(TD_FILE, encoding="utf-8")
    (root / "svc" / "containers.json").write_text(CONTAINERS, encoding="utf-8")
    (root / "leaky").mkdir()
    (root / "leaky" / "main.tf").write_text(LEAKY, encoding="utf-8")
    secrets = set(table.secret_values) | {"hunter2", "AKIAIOSFODNN7EXAMPLE"}
    assert len(secrets) >= 20
    cache = tmp_path / "cache"
    monkeypatch.setenv("ECSFIX_CACHE_DIR", str(cache))
    monkeypatch.chdir(root)
    code, out, _ = run(capsys, "scan", "--format", "json", ".")
    assert code in (1, 2) and json.loads(out)["findings"]
    stored = cache_files(cache)
    assert len(stored) >= 10
    for path in stored:
        text = path.read_text(encoding="utf-8")
        json.loads(text)
        for value in secrets:
            if len(value) >= 4:
                assert value not in text, f"{path.name} holds a secret value starting {value[:2]!r}"
