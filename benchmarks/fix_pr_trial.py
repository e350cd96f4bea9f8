#!/usr/bin/env python3
"""Real-world trial of the fix pull request workflow (examples/ci/ecsfix-fix-pr.yml), offline.

For each repository under CORPUS (one sub-directory each), on a fresh git copy, do what the workflow
does from the repository root: ``ecsfix rewrite --write --summary S .`` with ``CI=true``. Then check
what a reviewer of that pull request would get:

* the exit code (0, or 2 with the unreadable files listed in the summary) and no traceback;
* the files changed (``git status``): the pull request opens only when there are any;
* the summary: its sections, and that its "Moved" table has one row per moved entry;
* no flagged literal value in the job's log (stdout, stderr) or in the summary (the values are read
  in this process through ecsfix's own scan and never printed). Values that are lowercase words
  (`password`, `postgres`, a project's name) are left out of this check: real repositories use
  them as resource and container names too, which the summary names;
* ``git apply --check`` of ``git diff`` against the original commit (the pull request's diff);
* a second run (``rewrite --check``) has nothing left to write: the next scheduled run updates
  nothing.

Usage::

    python benchmarks/fix_pr_trial.py /work/corpus --ecsfix .venv/bin/ecsfix [--repos 'owner+*'] [--json out.json]

Run it with the Python that has ecsfix installed (it imports ecsfix to learn the flagged values).
Output: one line per repository with findings, then totals. No code and no value is printed.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

COPY_SKIP = shutil.ignore_patterns(".git", "node_modules", ".terraform", ".terragrunt-cache", "__pycache__",
                                   ".ecsfix_cache")
WORDS = re.compile(r"[a-z]+(?:[_-][a-z]+)*")
SECTIONS = ("### Before merging", "### Moved to", "### Deploy-readiness fixes", "### Left for a manual change",
            "### Warnings", "### Files ecsfix could not read")


def flagged_literals(root: Path) -> set[str]:
    """The literal values of the entries ecsfix flags under `root` (kept in memory only)."""
    from ecsfix.model import Str
    from ecsfix.scan import scan

    result = scan([str(root)])
    spans = {(f.span.file.path, f.span.start) for f in result.findings if f.rule == "EF001"}
    values: set[str] = set()
    for td in result.task_definitions:
        for c in td.containers:
            for e in c.environment:
                if e.value is None or (e.span.file.path, e.span.start) not in spans:
                    continue
                for expr in (e.value.at_entry, e.value.resolved):
                    if isinstance(expr, Str) and expr.value and len(expr.value) >= 6 and not WORDS.fullmatch(expr.value):
                        values.add(expr.value)
    return values


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def trial(repo: Path, ecsfix: str, timeout: int) -> dict[str, Any] | None:
    with tempfile.TemporaryDirectory(prefix="ecsfix-prtrial-") as tmp:
        work = Path(tmp) / "repo"
        shutil.copytree(repo, work, ignore=COPY_SKIP, symlinks=True)
        env = {**os.environ, "CI": "true", "ECSFIX_CACHE_DIR": str(Path(tmp) / "cache"),
               "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
        for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "base", "--no-verify"]):
            run(cmd, work, env, timeout)
        values = flagged_literals(work)
        summary = Path(tmp) / "summary.md"
        first = run([ecsfix, "rewrite", "--write", "--summary", str(summary), "."], work, env, timeout)
        text = summary.read_text(encoding="utf-8") if summary.exists() else ""
        changed = [line[3:] for line in run(["git", "status", "--porcelain"], work, env, timeout).stdout.splitlines()]
        if not changed and "### Moved to" not in text and "### Left for a manual change" not in text:
            return None  # nothing flagged that the rewrite touches or notes: no pull request, nothing to say
        log = first.stdout + first.stderr
        leaks = sum(1 for v in values if v in log or v in text)
        run(["git", "add", "-A"], work, env, timeout)
        diff = run(["git", "diff", "--cached", "--binary"], work, env, timeout).stdout
        run(["git", "stash", "-q"], work, env, timeout)  # back to the base commit
        applies = subprocess.run(["git", "apply", "--check", "-"], cwd=work, input=diff, capture_output=True,
                                 text=True, timeout=timeout)
        run(["git", "stash", "pop", "-q"], work, env, timeout)
        second = run([ecsfix, "rewrite", "--check", "."], work, env, timeout)
        rows = re.findall(r"^\| `[^`]*` \| `[^`]*` \|", text, re.M)
        moved_lines = [line for line in first.stdout.splitlines() if line.startswith("rewrote ")]
        return {
            "repo": repo.name,
            "exit": first.returncode,
            "traceback": "Traceback" in log,
            "files_changed": len(changed),
            "rewrote_lines": len(moved_lines),
            "moved_rows": len(rows),
            "sections": [s for s in SECTIONS if s in text],
            "leaks": leaks,
            "values_checked": len(values),
            "diff_applies": applies.returncode == 0 or not diff,
            # nothing left to write (exit 2 only repeats an unreadable file the first run reported)
            "second_run_clean": second.returncode == 0 or (
                second.returncode == 2 and first.returncode == 2 and " entries in 0 files need a rewrite" in second.stdout),
            "second_run_exit": second.returncode,
        }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--ecsfix", default="ecsfix")
    ap.add_argument("--repos", default="*", help="glob on the repository folder names")
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    rows = []
    for repo in sorted(p for p in args.corpus.iterdir() if p.is_dir() and not p.name.endswith(".tmp")):
        if not fnmatch.fnmatch(repo.name, args.repos):
            continue
        try:
            row = trial(repo, args.ecsfix, args.timeout)
        except subprocess.TimeoutExpired:
            row = {"repo": repo.name, "timeout": True}
        if row is None:
            continue
        rows.append(row)
        print(json.dumps(row), flush=True)
    ok = [r for r in rows if not r.get("timeout")]
    totals = {
        "repositories_with_a_pull_request_or_notes": len(rows),
        "pull_requests": sum(1 for r in ok if r["files_changed"]),
        "entries_in_moved_tables": sum(r["moved_rows"] for r in ok),
        "tracebacks": sum(1 for r in ok if r["traceback"]),
        "exit_codes": {str(c): sum(1 for r in ok if r["exit"] == c) for c in sorted({r["exit"] for r in ok})},
        "leaks": sum(r["leaks"] for r in ok),
        "values_checked": sum(r["values_checked"] for r in ok),
        "diffs_not_applying": sum(1 for r in ok if not r["diff_applies"]),
        "second_run_not_clean": [r["repo"] for r in ok if not r["second_run_clean"]],
        "timeouts": [r["repo"] for r in rows if r.get("timeout")],
        "sections": {s: sum(1 for r in ok if s in r["sections"]) for s in SECTIONS},
    }
    print(json.dumps(totals, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "totals": totals}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
