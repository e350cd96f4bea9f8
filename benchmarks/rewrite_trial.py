#!/usr/bin/env python3
"""Real-world rewrite trial: `ecsfix scan` and `ecsfix rewrite` on every ECS module directory of a
folder of public repositories, as a new user would run them (issue 12, point 3).

For each repository under CORPUS (one sub-directory each, as the search tool's `fetch` extracts
them), every module directory that holds a task definition or an ECS module call with
environment-like inputs is tried on a fresh temporary copy of its repository:

1. ``scan --format json --no-cache``: the EF001 entries flagged;
2. ``rewrite --format json``: the plan (entries to move, notes of what is left and why);
3. ``rewrite --write``: the files it changes (compared byte for byte with the copy before);
4. ``terraform fmt -check`` on every changed ``.tf`` file (a failure counts only when the file was
   fmt-clean before the rewrite, or is new), and its parse errors;
5. ``scan`` again: entries still flagged (moved = flagged before and gone after) and parse errors
   that the rewrite introduced;
6. ``rewrite --write`` again: any further change is a non-idempotent rewrite.

Every ecsfix run gets its own empty ``ECSFIX_CACHE_DIR``, ``--jobs 1`` where it applies, and a
timeout.  A traceback is a Python ``Traceback`` on stderr or an exit code outside 0/1/2.

Output: a Markdown table (one row per directory, totals, refusals by reason, every traceback and
internal error) and a JSON file with the details.  Neither holds the repositories' code: only
paths, entry names, rule ids, ecsfix's own notes and the innermost frames of a traceback.

Usage::

    python benchmarks/rewrite_trial.py /work/corpus --ecsfix .venv/bin/ecsfix \\
        --markdown trial.md --json trial.json [--repos 'owner+*'] [--timeout 120]
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SKIP_DIRS = frozenset({".git", ".terraform", "node_modules", ".terragrunt-cache", "__pycache__", ".ecsfix_cache"})
COPY_SKIP = frozenset({".git", "node_modules", ".terraform", ".terragrunt-cache", "__pycache__"})
MAX_COPY_BYTES = 4 * 1024 * 1024  # files this large are never Terraform inputs; skip them in the copy

TASK_DEF_RE = re.compile(r'resource\s+"aws_ecs_task_definition"|"aws_ecs_task_definition"\s*:')
MODULE_RE = re.compile(r'^[ \t]*module[ \t]+"([^"]+)"[ \t]*\{', re.M)
# inputs of an ECS module call that carry container environment entries
ENV_INPUT_RE = re.compile(
    r'^[ \t]*"?(?:map_environment|environment_variables|env_vars|environment_vars|container_environment|'
    r'container_env|task_environment|app_environment|container_definitions|container_definition)"?[ \t]*=|'
    r'^[ \t]*"?environment"?[ \t]*=[ \t]*(?:\[|\{|concat\(|merge\(|flatten\(|tolist\()',
    re.M,
)
# `environment = local.x` names a deployment stage as often as it passes entries: only for an ECS-like source
ENV_LOCAL_RE = re.compile(r'^[ \t]*"?environment"?[ \t]*=[ \t]*local\.', re.M)
ECS_SOURCE_RE = re.compile(r'^[ \t]*source[ \t]*=[ \t]*"[^"]*(?:ecs|container|fargate|task)', re.M | re.I)
TRACEBACK_RE = re.compile(r"Traceback \(most recent call last\)")
# a frame of a plain Python traceback, or of a rich one ("│ /path/file.py:123 in func")
FRAME_RES = (
    re.compile(r'File "([^"]+)", line (\d+), in (\S+)'),
    re.compile(r"([\w./\\-]+\.py):(\d+) in (\S+)"),
)
NOTE_RE = re.compile(
    r"^(?P<file>.+?):(?P<line>\d+): (?:(?P<rule>EF\d{3}) )?(?P<address>\S+)(?: container (?P<container>.+?))?"
    r"(?: (?P<entry>[A-Za-z_][\w.-]*))?: not rewritten: (?P<why>.*)$"
)
INTERNAL_RE = re.compile(r"internal error", re.I)


# ----------------------------------------------------------------------------- finding the work


def iter_repos(corpus: Path, patterns: list[str]) -> Iterator[Path]:
    for entry in sorted(corpus.iterdir()):
        if not entry.is_dir() or entry.name.startswith(".") or entry.name.endswith(".tmp"):
            continue
        if patterns and not any(fnmatch.fnmatchcase(entry.name, p) for p in patterns):
            continue
        yield entry


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _block_body(text: str, open_brace: int) -> str:
    """The text of the block opened at `open_brace`, braces inside strings and comments ignored."""
    depth, i, n = 0, open_brace, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c == "#" or text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("<<", i):
            m = re.match(r"<<-?([A-Za-z_]\w*)[ \t]*\n", text[i:])
            if m:
                end = re.compile(rf"^[ \t]*{m.group(1)}[ \t]*$", re.M).search(text, i + m.end())
                i = end.end() if end else n
                continue
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[open_brace:i + 1]
        i += 1
    return text[open_brace:]


def module_dir_kind(files: list[Path]) -> str | None:
    """Why a directory is part of the trial: "task_definition", "module_call", or None."""
    kinds = set()
    for f in files:
        text = _read(f)
        if TASK_DEF_RE.search(text):
            kinds.add("task_definition")
        if f.name.endswith(".tf"):
            for m in MODULE_RE.finditer(text):
                body = _block_body(text, m.end() - 1)
                if ENV_INPUT_RE.search(body) or (ENV_LOCAL_RE.search(body) and ECS_SOURCE_RE.search(body)):
                    kinds.add("module_call")
                    break
    if "task_definition" in kinds:
        return "task_definition+module_call" if "module_call" in kinds else "task_definition"
    return "module_call" if kinds else None


def terraform_files(directory: Path) -> list[Path]:
    try:
        return sorted(p for p in directory.iterdir()
                      if p.is_file() and (p.name.endswith(".tf") or p.name.endswith(".tf.json")))
    except OSError:
        return []


def iter_module_dirs(repo: Path) -> Iterator[tuple[str, str]]:
    for root, dirs, _files in os.walk(repo):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        directory = Path(root)
        tf = terraform_files(directory)
        if not tf:
            continue
        kind = module_dir_kind(tf)
        if kind:
            yield directory.relative_to(repo).as_posix() or ".", kind


# ----------------------------------------------------------------------------- running


@dataclass
class Run:
    cmd: list[str]
    rc: int
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float) -> Run:
    start = time.monotonic()
    try:
        p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, errors="replace",
                           timeout=timeout, stdin=subprocess.DEVNULL)
        return Run(cmd, p.returncode, p.stdout, p.stderr, time.monotonic() - start)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        return Run(cmd, -9, out, err, time.monotonic() - start, timed_out=True)
    except OSError as exc:
        return Run(cmd, -1, "", f"cannot run: {exc}", time.monotonic() - start)


def traceback_summary(stderr: str) -> dict[str, Any]:
    """Where it crashed (the innermost frames) and the exception line; never the locals."""
    frames: list[str] = []
    for line in stderr.splitlines():
        for rx in FRAME_RES:
            m = rx.search(line)
            if m:
                path = m.group(1).replace("\\", "/")
                short = path.split("/ecsfix/", 1)[-1] if "/ecsfix/" in path else path.rsplit("/", 1)[-1]
                frames.append(f"{short}:{m.group(2)} in {m.group(3)}")
                break
    lines = [ln.strip(" │╰╯─\t") for ln in stderr.splitlines()]
    exc_lines = [ln for ln in lines if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b", ln)]
    exception = exc_lines[-1] if exc_lines else (next((ln for ln in reversed(lines) if ln), ""))
    return {"exception": exception[:300], "frames": frames[-6:]}


def crashed(r: Run) -> bool:
    return bool(TRACEBACK_RE.search(r.stderr)) or (not r.timed_out and r.rc not in (0, 1, 2))


def parse_json(text: str) -> dict[str, Any] | None:
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def tree_hashes(root: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        for name in files:
            p = Path(dirpath, name)
            try:
                if p.is_symlink() or not p.is_file():
                    continue
                out[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
            except OSError:
                continue
    return out


def changed_files(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def copy_repo(src: Path, dest: Path) -> None:
    def ignore(directory: str, names: list[str]) -> list[str]:
        skipped = []
        for n in names:
            p = os.path.join(directory, n)
            if n in COPY_SKIP:
                skipped.append(n)
            elif not os.path.islink(p) and os.path.isfile(p):
                try:
                    if os.path.getsize(p) > MAX_COPY_BYTES:
                        skipped.append(n)
                except OSError:
                    skipped.append(n)
        return skipped

    shutil.copytree(src, dest, symlinks=True, ignore=ignore, ignore_dangling_symlinks=True)


# ----------------------------------------------------------------------------- one directory


@dataclass
class DirResult:
    repo: str
    directory: str
    kind: str
    files: int = 0
    task_definitions: int = 0
    flagged: int = 0
    moved: int = 0
    planned: int = 0
    refused: int = 0
    refused_by_reason: dict[str, int] = field(default_factory=dict)
    tracebacks: list[dict[str, Any]] = field(default_factory=list)
    internal_errors: list[str] = field(default_factory=list)
    timeouts: list[str] = field(default_factory=list)
    errors_before: list[str] = field(default_factory=list)  # scan errors on the untouched copy
    rewrite_errors: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    fmt_failures: list[str] = field(default_factory=list)  # clean (or new) before, not clean after
    fmt_parse_errors: list[str] = field(default_factory=list)
    fmt_unclean_before: list[str] = field(default_factory=list)
    parse_regressions: list[str] = field(default_factory=list)
    non_idempotent: list[str] = field(default_factory=list)
    fixable_mismatch: list[dict[str, Any]] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)  # other fixes in the plan (deploy-readiness rules)
    other_rules: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def normalize_reason(why: str) -> str:
    """Group refusals that differ only by names: "move A, B to `secrets` by hand" is one reason."""
    s = why.strip()
    s = re.sub(r"move [A-Za-z_][\w.-]*(?:, [A-Za-z_][\w.-]*)* to `secrets` by hand", "move <names> to `secrets` by hand", s)
    s = re.sub(r"\bthe value of [A-Za-z_][\w.-]*", "the value of <name>", s)
    s = re.sub(r"\S+\.(?:tpl|json|tmpl|template|j2|txt)\b", "<template>", s)
    s = re.sub(r"\bshared by \d+ task definitions", "shared by <n> task definitions", s)
    s = re.sub(r"\b(local|var|module|data)\.[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*(?:\[[^\]]*\])?", r"\1.<name>", s)
    s = re.sub(r"\baws_[a-z0-9_]+\.[A-Za-z_][\w-]*(?:\[[^\]]*\])?", "<resource>", s)
    s = re.sub(r"\b[A-Z][A-Z0-9_]{2,}\b", "<NAME>", s)
    s = re.sub(r"\d+", "<n>", s)
    return s


def parse_notes(notes: Iterable[str]) -> list[dict[str, str]]:
    out = []
    for note in notes:
        m = NOTE_RE.match(note)
        if m:
            out.append({k: (v or "") for k, v in m.groupdict().items()})
        else:
            out.append({"file": "", "line": "", "rule": "", "address": "", "container": "", "entry": "",
                        "why": note, "unparsed": "1"})
    return out


def reason_for(entry: dict[str, Any], notes: list[dict[str, str]], rewrite_errors: list[str], crash: str = "") -> str:
    """The note that explains why this flagged entry was not moved."""
    def matches(n: dict[str, str]) -> bool:
        return n["rule"] in ("", "EF001") and n["address"] == entry["resource"]

    cands = [n for n in notes if matches(n)]
    for n in cands:
        if n["entry"] == entry["name"]:
            return normalize_reason(n["why"])
    for n in cands:
        if n["container"] and n["container"] == entry.get("container"):
            return normalize_reason(n["why"])
    for n in cands:
        if not n["container"]:
            return normalize_reason(n["why"])
    if cands:
        return normalize_reason(cands[0]["why"])
    loose = [n for n in notes if n.get("unparsed") or n["address"] == entry["resource"]]
    if loose:
        return normalize_reason(loose[0]["why"])
    if rewrite_errors:
        return "rewrite error: " + normalize_reason(rewrite_errors[0].split(": error: ", 1)[-1])
    if crash:
        return f"traceback: {crash}"
    return "(no note: refused silently)"


def entry_key(f: dict[str, Any]) -> tuple[str, str, str]:
    return (str(f.get("resource", "")), str(f.get("container", "")), str(f.get("name", "")))


class Trial:
    def __init__(self, ecsfix: list[str], terraform: str | None, timeout: float, keep: Path | None) -> None:
        self.ecsfix = ecsfix
        self.terraform = terraform
        self.timeout = timeout
        self.keep = keep

    def env(self, cache: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ECSFIX_")}
        env["ECSFIX_CACHE_DIR"] = str(cache)
        env["NO_COLOR"] = "1"
        env["TERM"] = "dumb"
        env["COLUMNS"] = "200"
        return env

    def ecs(self, res: DirResult, step: str, args: list[str], cwd: Path, env: dict[str, str]) -> Run:
        r = run(self.ecsfix + args, cwd, env, self.timeout)
        if r.timed_out:
            res.timeouts.append(step)
        if crashed(r):
            res.tracebacks.append({"step": step, "rc": r.rc, **traceback_summary(r.stderr)})
        for line in (r.stderr + "\n" + r.stdout).splitlines():
            if INTERNAL_RE.search(line) and not line.lstrip().startswith(("{", '"')):
                res.internal_errors.append(f"{step}: {line.strip()[:300]}")
        return r

    def fmt(self, path: Path) -> tuple[str, str]:
        """("clean" | "unclean" | "error" | "skipped", first error line)."""
        if self.terraform is None or not path.name.endswith(".tf") or not path.is_file():
            return "skipped", ""
        r = run([self.terraform, "fmt", "-check", "-list=false", "-no-color", str(path)], path.parent, dict(os.environ), 60)
        if r.rc == 0:
            return "clean", ""
        if r.rc == 3 and "Error" not in r.stderr:
            return "unclean", ""
        lines = [ln.strip(" │╷╵\t") for ln in r.stderr.splitlines()]
        first = next((ln for ln in lines if ln.startswith("Error")), next((ln for ln in lines if ln), f"exit {r.rc}"))
        return "error", first[:200]

    def scan(self, res: DirResult, step: str, work: Path, env: dict[str, str]) -> dict[str, Any] | None:
        names = [p.name for p in terraform_files(work)]
        if not names:
            return None
        r = self.ecs(res, step, ["scan", "--format", "json", "--no-cache", "--jobs", "1", "--no-progress", *names], work, env)
        return parse_json(r.stdout)

    def one(self, repo: Path, rel: str, kind: str, tmp: Path) -> DirResult:
        res = DirResult(repo.name, rel, kind)
        start = time.monotonic()
        copy = tmp / "repo"
        if copy.exists():
            shutil.rmtree(copy, ignore_errors=True)
        try:
            copy_repo(repo, copy)
        except (OSError, shutil.Error) as exc:
            res.rewrite_errors.append(f"copy failed: {exc}"[:300])
            return res
        work = copy / rel
        cache = tmp / "cache"
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir()
        env = self.env(cache)
        names = [p.name for p in terraform_files(work)]
        res.files = len(names)

        # 1. scan
        doc = self.scan(res, "scan", work, env) or {}
        findings = [f for f in doc.get("findings", []) if isinstance(f, dict)]
        res.task_definitions = int((doc.get("summary") or {}).get("task_definitions", 0) or 0)
        res.errors_before = [f"{e.get('file', '')}:{e.get('line', '')}: {e.get('message', '')}"[:300]
                             for e in doc.get("errors", []) if isinstance(e, dict)]
        flagged = [f for f in findings if f.get("rule") == "EF001"]
        res.other_rules = dict(Counter(str(f.get("rule")) for f in findings if f.get("rule") != "EF001"))
        res.flagged = len(flagged)

        # 2. the plan
        r = self.ecs(res, "rewrite --format json", ["rewrite", "--format", "json", *names], work, env)
        plan = parse_json(r.stdout) or {}
        planned = [m for m in plan.get("moved", []) if isinstance(m, dict)]
        res.planned = len(planned)
        res.notes = [str(n) for n in plan.get("notes", [])]
        res.fixed = [str(x)[:300] for x in plan.get("fixed", [])]
        res.rewrite_errors = [str(e)[:300] for e in plan.get("errors", [])]
        if not plan and r.stderr.strip() and not res.tracebacks:
            res.rewrite_errors.append(r.stderr.strip().splitlines()[-1][:300])

        # 3. write
        before = tree_hashes(copy)
        self.ecs(res, "rewrite --write", ["rewrite", "--write", *names], work, env)
        after = tree_hashes(copy)
        res.changed = changed_files(before, after)

        # 4. fmt of every changed .tf file (compared with the original in the corpus)
        for rel_file in res.changed:
            if not rel_file.endswith(".tf") or rel_file not in after:
                continue
            status, err = self.fmt(copy / rel_file)
            orig = repo / rel_file
            was = self.fmt(orig)[0] if rel_file in before and orig.is_file() else "new"
            if status == "error":
                res.fmt_parse_errors.append(f"{rel_file}: {err}")
            elif status == "unclean":
                if was in ("clean", "new"):
                    res.fmt_failures.append(rel_file)
                else:
                    res.fmt_unclean_before.append(rel_file)

        # 5. scan again
        doc2 = self.scan(res, "scan after", work, env) or {}
        errors_after = [f"{e.get('file', '')}:{e.get('line', '')}: {e.get('message', '')}"[:300]
                        for e in doc2.get("errors", []) if isinstance(e, dict)]
        old = {e.split(":", 1)[0] for e in res.errors_before}
        res.parse_regressions = [e for e in errors_after if e.split(":", 1)[0] not in old]
        still = Counter(entry_key(f) for f in doc2.get("findings", []) if isinstance(f, dict) and f.get("rule") == "EF001")
        if res.changed or not doc2:
            remaining = still
        else:  # nothing written: every flagged entry is still there
            remaining = Counter(entry_key(f) for f in flagged)
        notes = parse_notes(res.notes)
        crash = res.tracebacks[0]["exception"] if res.tracebacks else ""
        reasons: Counter[str] = Counter()
        for f in flagged:
            key = entry_key(f)
            moved = remaining[key] <= 0
            if not moved:
                remaining[key] -= 1
            entry = {"file": str(f.get("file", "")), "line": f.get("line"), "resource": key[0], "container": key[1],
                     "name": key[2], "reason_kind": f.get("reason"), "fixable": bool(f.get("fixable")), "moved": moved}
            if moved:
                res.moved += 1
            else:
                why = reason_for(entry, notes, res.rewrite_errors, crash)
                entry["refused_because"] = why
                reasons[why] += 1
            if entry["fixable"] != moved:
                res.fixable_mismatch.append({k: entry[k] for k in ("resource", "container", "name", "fixable", "moved")})
            res.entries.append(entry)
        res.refused = res.flagged - res.moved
        res.refused_by_reason = dict(reasons)

        # 6. idempotence
        before2 = after
        if res.changed:
            names2 = [p.name for p in terraform_files(work)]
            self.ecs(res, "rewrite --write (2nd)", ["rewrite", "--write", *names2], work, env)
            res.non_idempotent = changed_files(before2, tree_hashes(copy))

        if self.keep is not None and res.changed:
            dest = self.keep / repo.name / rel
            shutil.rmtree(dest, ignore_errors=True)
            try:
                shutil.copytree(work, dest, symlinks=True)
            except (OSError, shutil.Error):
                pass
        shutil.rmtree(copy, ignore_errors=True)
        res.seconds = round(time.monotonic() - start, 2)
        return res


# ----------------------------------------------------------------------------- report


def pct(a: int, b: int) -> str:
    return f"{100.0 * a / b:.1f}%" if b else "–"


def totals(results: list[DirResult]) -> dict[str, Any]:
    reasons: Counter[str] = Counter()
    reason_dirs: dict[str, set[str]] = defaultdict(set)
    for r in results:
        for why, n in r.refused_by_reason.items():
            reasons[why] += n
            reason_dirs[why].add(f"{r.repo}/{r.directory}")
    flagged = sum(r.flagged for r in results)
    moved = sum(r.moved for r in results)
    # The same written entry is flagged in every directory run that reaches it (a caller's run
    # through a local module call, and the child's own run): per written entry (repository, file,
    # line, name), it counts as moved when some directory's run moves it
    written: dict[tuple[str, str, int, str], bool] = {}
    for r in results:
        for e in r.entries:
            key = (r.repo, os.path.normpath(os.path.join(r.directory, e["file"])), e["line"], e["name"])
            written[key] = written.get(key, False) or bool(e.get("moved"))
    return {
        "repositories": len({r.repo for r in results}),
        "dirs": len(results),
        "dirs_flagged": sum(1 for r in results if r.flagged),
        "task_definitions": sum(r.task_definitions for r in results),
        "tracebacks": sum(1 for r in results if r.tracebacks),  # directories: each step of one shape crashes alike
        "traceback_steps": sum(len(r.tracebacks) for r in results),
        "internal_errors": sum(1 for r in results if r.internal_errors),
        "internal_error_lines": sum(len(r.internal_errors) for r in results),
        "timeouts": sum(len(r.timeouts) for r in results),
        "flagged": flagged,
        "moved": moved,
        "moved_pct": round(100.0 * moved / flagged, 1) if flagged else None,
        "written_flagged": len(written),
        "written_moved": sum(written.values()),
        "planned": sum(r.planned for r in results),
        "refused": flagged - moved,
        "refused_by_reason": dict(reasons.most_common()),
        "refused_reason_dirs": {k: sorted(v) for k, v in reason_dirs.items()},
        "changed_files": sum(len(r.changed) for r in results),
        "fmt_failures": sum(len(r.fmt_failures) for r in results),
        "fmt_parse_errors": sum(len(r.fmt_parse_errors) for r in results),
        "fmt_unclean_before": sum(len(r.fmt_unclean_before) for r in results),
        "parse_regressions": sum(len(r.parse_regressions) for r in results),
        "non_idempotent": sum(1 for r in results if r.non_idempotent),
        "fixable_mismatch": sum(len(r.fixable_mismatch) for r in results),
        "rewrite_errors": sum(len(r.rewrite_errors) for r in results),
    }


def markdown(results: list[DirResult], tot: dict[str, Any], meta: dict[str, Any]) -> str:
    out = [f"# ecsfix rewrite trial ({meta['ecsfix_version']})", "",
           f"{tot['repositories']} repositories, {tot['dirs']} module directories "
           f"({tot['dirs_flagged']} with flagged entries), {tot['task_definitions']} task definitions; "
           f"`{meta['command']}`", "", "## Totals", "",
           "| dirs | dirs with a traceback | dirs with an internal error | timeouts | flagged | moved | moved % | refused | fmt failures "
           "| fmt parse errors | parse regressions | non-idempotent | fixable≠moved | rewrite errors |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
           f"| {tot['dirs']} | {tot['tracebacks']} | {tot['internal_errors']} | {tot['timeouts']} | {tot['flagged']} "
           f"| {tot['moved']} | {pct(tot['moved'], tot['flagged'])} | {tot['refused']} | {tot['fmt_failures']} "
           f"| {tot['fmt_parse_errors']} | {tot['parse_regressions']} | {tot['non_idempotent']} "
           f"| {tot['fixable_mismatch']} | {tot['rewrite_errors']} |", "",
           f"Per written entry (one entry flagged by several directory runs, e.g. a caller's through a "
           f"local module call and the child's own, counted once, moved if any run moves it): "
           f"{tot['written_moved']} of {tot['written_flagged']} moved "
           f"({pct(tot['written_moved'], tot['written_flagged'])}).", ""]
    out += ["## Refused, by reason", "", "| entries | dirs | reason |", "|---:|---:|---|"]
    for why, n in tot["refused_by_reason"].items():
        cell = why.replace("|", "\\|")
        out.append(f"| {n} | {len(tot['refused_reason_dirs'][why])} | {cell} |")
    out += ["", "## Tracebacks and internal errors", ""]
    if not any(r.tracebacks or r.internal_errors for r in results):
        out.append("None.")
    for r in results:
        seen: dict[tuple[str, str], list[str]] = {}
        for t in r.tracebacks:
            where = " ← ".join(reversed(t["frames"][-3:])) if t["frames"] else "?"
            seen.setdefault((t["exception"], where), []).append(f"{t['step']}, exit {t['rc']}")
        for (exc, where), steps in seen.items():
            out.append(f"* traceback `{r.repo}/{r.directory}` ({'; '.join(steps)}): `{exc}` at {where}")
        lines: dict[str, list[str]] = {}
        for line in r.internal_errors:
            step, _, msg = line.partition(": ")
            lines.setdefault(msg, []).append(step)
        for msg, steps in lines.items():
            out.append(f"* internal error `{r.repo}/{r.directory}` ({'; '.join(steps)}): {msg}")
    out += ["", "## Per directory", "",
            "| repository | directory | kind | TDs | flagged | moved | refused | tb | int | fmt | parse | idem | changed |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        out.append(f"| {r.repo} | {r.directory} | {r.kind} | {r.task_definitions} | {r.flagged} | {r.moved} | {r.refused} "
                   f"| {len(r.tracebacks)} | {len(r.internal_errors)} | {len(r.fmt_failures) + len(r.fmt_parse_errors)} "
                   f"| {len(r.parse_regressions)} | {'no' if r.non_idempotent else 'ok'} | {len(r.changed)} |")
    out += ["", f"Generated {meta['date']} in {meta['seconds']:.0f} s.", ""]
    return "\n".join(out)


# ----------------------------------------------------------------------------- main


def ecsfix_command(explicit: str | None) -> list[str]:
    if explicit:
        return shlex.split(explicit)
    sib = Path(sys.executable).parent / "ecsfix"
    if sib.exists():
        return [str(sib)]
    found = shutil.which("ecsfix")
    return [found] if found else [sys.executable, "-m", "ecsfix"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path, help="directory with one sub-directory per repository")
    ap.add_argument("--ecsfix", help="the ecsfix executable (default: next to this Python, else PATH)")
    ap.add_argument("--terraform", help="the terraform executable for `fmt -check` (default: PATH; none: skipped)")
    ap.add_argument("--repos", action="append", default=[], help="glob of repository folder names (repeatable)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per ecsfix run (default 120)")
    ap.add_argument("--markdown", type=Path, help="write the Markdown report here (default: stdout)")
    ap.add_argument("--json", type=Path, help="write the details here")
    ap.add_argument("--keep", type=Path, help="keep each rewritten module directory under KEEP/REPO/DIR (for reading)")
    ap.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    a = ap.parse_args(argv)

    if not a.corpus.is_dir():
        print(f"{a.corpus}: error: not a directory", file=sys.stderr)
        return 2
    ecsfix = ecsfix_command(a.ecsfix)
    terraform = a.terraform or shutil.which("terraform")
    trial = Trial(ecsfix, terraform, a.timeout, a.keep)
    version = run(ecsfix + ["--version"], Path.cwd(), dict(os.environ), 60)
    meta: dict[str, Any] = {
        "ecsfix": ecsfix, "ecsfix_version": (version.stdout or version.stderr).strip().splitlines()[0] if (version.stdout or version.stderr).strip() else "?",
        "terraform": terraform, "corpus": str(a.corpus), "date": time.strftime("%Y-%m-%d %H:%M"),
        "command": "python benchmarks/rewrite_trial.py " + " ".join(shlex.quote(x) for x in (argv if argv is not None else sys.argv[1:])),
    }
    results: list[DirResult] = []
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ecsfix-trial-") as tmpdir:
        tmp = Path(tmpdir)
        for repo in iter_repos(a.corpus, a.repos):
            for rel, kind in iter_module_dirs(repo):
                try:
                    res = trial.one(repo, rel, kind, tmp)
                except Exception as exc:  # the trial itself must survive any repository
                    res = DirResult(repo.name, rel, kind, rewrite_errors=[f"trial error: {type(exc).__name__}: {exc}"[:300]])
                results.append(res)
                if not a.quiet:
                    flag = " TRACEBACK" if res.tracebacks else ""
                    flag += " INTERNAL" if res.internal_errors else ""
                    print(f"{repo.name}/{rel}: flagged {res.flagged} moved {res.moved} refused {res.refused}"
                          f"{flag} ({res.seconds:.1f}s)", file=sys.stderr)
    meta["seconds"] = time.monotonic() - start
    tot = totals(results)
    md = markdown(results, tot, meta)
    if a.markdown:
        a.markdown.write_text(md, encoding="utf-8")
    else:
        sys.stdout.write(md)
    if a.json:
        a.json.write_text(json.dumps({"meta": meta, "totals": tot, "dirs": [asdict(r) for r in results]}, indent=1) + "\n",
                          encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
