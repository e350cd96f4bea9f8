"""benchmarks/rewrite_trial.py: the pieces that decide what the real-world trial reports.

The trial itself runs ecsfix on public repositories (not in this repository); these tables pin
how it finds module directories, recognises a crash, and files each refused entry under a reason.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _load():
    spec = importlib.util.spec_from_file_location("rewrite_trial", REPO / "benchmarks" / "rewrite_trial.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["rewrite_trial"] = mod
    spec.loader.exec_module(mod)
    return mod


trial = _load()

TD = 'resource "aws_ecs_task_definition" "api" {\n  family = "api"\n}\n'


@pytest.mark.parametrize(("text", "kind"), [
    pytest.param(TD, "task_definition", id="task-definition"),
    pytest.param('module "app" {\n  source = "./ecs"\n  map_environment = { A = "b" }\n}\n', "module_call", id="map_environment"),
    pytest.param('module "app" {\n  source = "x/ecs/aws"\n  environment = [{ name = "A", value = "b" }]\n}\n',
                 "module_call", id="environment-list"),
    pytest.param('module "app" {\n  source = "x/ecs/aws"\n  environment = concat(local.a, [])\n}\n', "module_call",
                 id="environment-concat"),
    pytest.param('module "app" {\n  source = "./modules/ecs-service"\n  environment = local.common_env\n}\n',
                 "module_call", id="environment-local-ecs-source"),
    pytest.param('module "vpc" {\n  source = "git@github.com:o/professional-services.git//vpc"\n'
                 '  environment = local.environment\n}\n', None, id="environment-local-is-a-stage-name"),
    pytest.param('module "vpc" {\n  source = "./vpc"\n  environment = "staging"\n}\n', None, id="environment-string"),
    pytest.param('module "a" {\n  source = "./a"\n  doc = <<EOT\n}\nEOT\n  env_vars = { A = "b" }\n}\n', "module_call",
                 id="heredoc-brace-does-not-end-block"),
    pytest.param('module "a" {\n  source = "./a"\n}\nlocals {\n  environment = [1]\n}\n', None,
                 id="block-ends-at-its-brace"),
    pytest.param('module "a" {\n  source = "./a"\n  note = "}"\n  env_vars = { A = "b" }\n}\n', "module_call",
                 id="string-brace-does-not-end-block"),
    pytest.param('variable "environment" {\n  default = ["a"]\n}\n', None, id="no-task-definition"),
])
def test_module_dir_kind(tmp_path: Path, text: str, kind: str | None) -> None:
    f = tmp_path / "main.tf"
    f.write_text(text)
    assert trial.module_dir_kind([f]) == kind


def test_module_dirs_skip_terraform_caches(tmp_path: Path) -> None:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "main.tf").write_text(TD)
    (tmp_path / ".terraform" / "modules" / "m").mkdir(parents=True)
    (tmp_path / ".terraform" / "modules" / "m" / "main.tf").write_text(TD)
    (tmp_path / "main.tf").write_text(TD)
    assert list(trial.iter_module_dirs(tmp_path)) == [(".", "task_definition"), ("svc", "task_definition")]


RICH = """\
╭───────────────────── Traceback (most recent call last) ──────────────────────╮
│ /x/ecsfix/rewrite/cli.py:74 in rewrite                                       │
│ /x/ecsfix/rewrite/engine.py:274 in _plan_task_definition                     │
╰──────────────────────────────────────────────────────────────────────────────╯
AssertionError
"""
PLAIN = """\
Traceback (most recent call last):
  File "/x/ecsfix/rewrite/engine.py", line 945, in rewrite
  File "/x/ecsfix/rewrite/engine.py", line 274, in _plan_task_definition
KeyError: 'container'
"""


@pytest.mark.parametrize(("rc", "stderr", "timed_out", "crash"), [
    pytest.param(1, RICH, False, True, id="rich-traceback-exit-1"),
    pytest.param(1, PLAIN, False, True, id="plain-traceback"),
    pytest.param(137, "", False, True, id="killed"),
    pytest.param(-9, "", True, False, id="timeout-counted-apart"),
    pytest.param(2, "main.tf:3: error: invalid JSON\n", False, False, id="one-line-error"),
    pytest.param(1, "", False, False, id="findings"),
])
def test_crashed(rc: int, stderr: str, timed_out: bool, crash: bool) -> None:
    assert trial.crashed(trial.Run([], rc, "", stderr, 0.0, timed_out)) is crash


@pytest.mark.parametrize(("stderr", "exception", "innermost"), [
    pytest.param(RICH, "AssertionError", "rewrite/engine.py:274 in _plan_task_definition", id="rich"),
    pytest.param(PLAIN, "KeyError: 'container'", "rewrite/engine.py:274 in _plan_task_definition", id="plain"),
])
def test_traceback_summary(stderr: str, exception: str, innermost: str) -> None:
    got = trial.traceback_summary(stderr)
    assert got["exception"] == exception
    assert got["frames"][-1] == innermost


@pytest.mark.parametrize(("why", "reason"), [
    pytest.param("container definitions written as template_file; move A_KEY, DB_PASSWORD to `secrets` by hand",
                 "container definitions written as template_file; move <names> to `secrets` by hand", id="names"),
    pytest.param("backend.json.tpl is shared by 4 task definitions; move the entries by hand",
                 "<template> is shared by <n> task definitions; move the entries by hand", id="template"),
    pytest.param("local.common_env is used more than once; move the entries by hand",
                 "local.<name> is used more than once; move the entries by hand", id="local"),
    pytest.param("the value of PG_PASS cannot be expressed outside the template; move it by hand",
                 "the value of <name> cannot be expressed outside the template; move it by hand", id="value-of"),
    pytest.param("environment is not a literal list; move the entries by hand",
                 "environment is not a literal list; move the entries by hand", id="unchanged"),
])
def test_normalize_reason(why: str, reason: str) -> None:
    assert trial.normalize_reason(why) == reason


NOTES = [
    "main.tf:10: aws_ecs_task_definition.api container web: not rewritten: environment is not a literal list; "
    "move the entries by hand",
    "main.tf:30: aws_ecs_task_definition.worker: not rewritten: task.json.tpl is shared by 2 task definitions; "
    "move the entries by hand",
    "main.tf:30: EF102 aws_ecs_task_definition.worker X: not rewritten: something about the role",
]


@pytest.mark.parametrize(("entry", "errors", "crash", "reason"), [
    pytest.param({"resource": "aws_ecs_task_definition.api", "container": "web", "name": "DB_PASSWORD"}, [], "",
                 "environment is not a literal list; move the entries by hand", id="container-note"),
    pytest.param({"resource": "aws_ecs_task_definition.worker", "container": "w", "name": "TOKEN"}, [], "",
                 "<template> is shared by <n> task definitions; move the entries by hand",
                 id="task-definition-note-not-the-other-rule"),
    pytest.param({"resource": "aws_ecs_task_definition.cron", "container": "c", "name": "TOKEN"},
                 ["main.tf: error: internal error: overlapping rewrite edits (please report this file shape); "
                  "nothing written"], "",
                 "rewrite error: internal error: overlapping rewrite edits (please report this file shape); "
                 "nothing written", id="rewrite-error"),
    pytest.param({"resource": "aws_ecs_task_definition.cron", "container": "c", "name": "TOKEN"}, [],
                 "AssertionError", "traceback: AssertionError", id="crash"),
    pytest.param({"resource": "aws_ecs_task_definition.cron", "container": "c", "name": "TOKEN"}, [], "",
                 "(no note: refused silently)", id="silent"),
])
def test_reason_for(entry: dict, errors: list[str], crash: str, reason: str) -> None:
    assert trial.reason_for(entry, trial.parse_notes(NOTES), errors, crash) == reason
