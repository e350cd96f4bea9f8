#!/usr/bin/env python3
"""Score ``ecsfix scan`` against hand labels of environment entries in public repositories.

``benchmarks/realworld/labels.csv`` holds one row per environment entry of an ECS container
(repository, commit, path, resource, container, name, label, group, form, reason) — never a value
and never the repositories' code.  This script runs ``ecsfix scan --format json --no-cache`` in each
labelled repository's work tree (taken from ``--corpus``), matches the EF001 findings to the rows
and prints precision, recall, TP/FP/FN overall, per form and per group, then every false negative,
false positive and unlabelled finding by name (values are never read or printed: the ``preview``
field of a finding is ignored).

Corpus layout: ``CORPUS/OWNER+NAME`` with the commit in ``CORPUS/OWNER+NAME.commit``; a row whose
commit differs from that file is looked up in ``CORPUS/OWNER+NAME@<first 7 hex digits>``.
``--fetch`` clones what is missing from GitHub (``git``, network) in that layout.

Matching (one finding may match several rows; each row counts once):

* same repository and commit, same ``name`` (exact), containers equal or either is ``*``;
* a finding *at the same path* matches a row whose resource address is compatible: equal, or one
  address is the other with a module path in front (``aws_ecs_task_definition.this`` scanned in a
  child directory vs ``module.api.aws_ecs_task_definition.this`` labelled for the call), or one is
  a module call and the other a resource inside it (``module.td`` vs
  ``module.td.aws_ecs_task_definition.this``); ``[index]`` / ``["key"]`` parts are ignored;
* a finding *at another path* matches a row only when the addresses are equal after dropping
  indices (a finding reported at the module call for an entry labelled in the child, or the
  reverse);
* among a finding's candidates only the best-placed ones count (same path beats another path,
  equal address beats compatible address, equal container beats ``*``), so a template shared by
  two task definitions never credits one with the other's finding.

Counting is per labelled row: TP = secret rows matched by a finding, FN = secret rows not matched,
FP = not_secret rows matched.  precision = TP / (TP + FP), recall = TP / (TP + FN).  Findings that
match no row at all are listed as *unlabelled* (the labels are then incomplete) and counted in a
second, strict precision (each distinct path/resource/container/name once as a false positive).

Usage::

    python benchmarks/realworld_score.py --corpus /work/corpus [--ecsfix .venv/bin/ecsfix]
        [--labels benchmarks/realworld/labels.csv] [--repos OWNER/NAME,...] [--json OUT] [--fetch]
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shlex
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_LABELS = HERE / "realworld" / "labels.csv"
COLUMNS = ["repository", "commit", "path", "resource", "container", "name", "label", "group", "form", "reason"]
LABELS = ("secret", "not_secret")


@dataclass
class Row:
    repository: str
    commit: str
    path: str
    resource: str
    container: str
    name: str
    label: str
    groups: list[str]
    form: str
    reason: str
    line: int
    matched_by: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.repository} {self.path} {self.resource}/{self.container} {self.name}"


@dataclass
class Hit:
    """One ecsfix finding, reduced to what matching needs (no preview, no message)."""

    rule: str
    severity: str
    path: str
    line: int
    resource: str
    container: str
    name: str
    reason: str

    @property
    def key(self) -> str:
        return f"{self.path}:{self.line} {self.resource}/{self.container} {self.name}"


# ----------------------------------------------------------------------------- labels


def read_labels(path: Path) -> list[Row]:
    rows: list[Row] = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != COLUMNS:
            sys.exit(f"{path}: columns must be {','.join(COLUMNS)}")
        for n, r in enumerate(reader, start=2):
            if r["label"] not in LABELS:
                sys.exit(f"{path}:{n}: label must be one of {LABELS}, not {r['label']!r}")
            if not re.fullmatch(r"[0-9a-f]{40}", r["commit"]):
                sys.exit(f"{path}:{n}: commit must be 40 hex digits")
            groups = [g for g in r["group"].split(";") if g] or ["plain"]
            rows.append(Row(r["repository"], r["commit"], r["path"], r["resource"], r["container"], r["name"],
                            r["label"], groups, r["form"], r["reason"], n))
    seen: dict[tuple[str, ...], int] = {}
    for row in rows:
        k = (row.repository, row.commit, row.path, row.resource, row.container, row.name)
        if k in seen:
            sys.exit(f"{path}:{row.line}: duplicate of line {seen[k]}")
        seen[k] = row.line
    return rows


# ----------------------------------------------------------------------------- corpus


def repo_dir(corpus: Path, repository: str, commit: str) -> Path | None:
    base = corpus / repository.replace("/", "+", 1)
    stamp = base.with_name(base.name + ".commit")
    if base.is_dir() and stamp.is_file() and stamp.read_text().strip() == commit:
        return base
    pinned = base.with_name(f"{base.name}@{commit[:7]}")
    if pinned.is_dir():
        return pinned
    return None


def fetch(corpus: Path, repository: str, commit: str) -> Path | None:
    """Clone REPOSITORY at COMMIT into the corpus layout (needs `git` and the network)."""
    base = corpus / repository.replace("/", "+", 1)
    target = base if not base.exists() else base.with_name(f"{base.name}@{commit[:7]}")
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    url = f"https://github.com/{repository}.git"
    try:
        subprocess.run(["git", "init", "-q", str(tmp)], check=True)
        subprocess.run(["git", "-C", str(tmp), "fetch", "-q", "--depth", "1", url, commit], check=True)
        subprocess.run(["git", "-C", str(tmp), "checkout", "-q", "FETCH_HEAD"], check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"fetch {repository}@{commit[:7]}: failed ({exc})", file=sys.stderr)
        shutil.rmtree(tmp, ignore_errors=True)
        return None
    shutil.rmtree(tmp / ".git", ignore_errors=True)
    tmp.rename(target)
    target.with_name(target.name + ".commit").write_text(commit + "\n")
    return target


# ----------------------------------------------------------------------------- scanning


def ecsfix_command(arg: str | None) -> list[str]:
    if arg:
        return shlex.split(arg)
    beside = Path(sys.executable).with_name("ecsfix")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("ecsfix")
    return [found] if found else [sys.executable, "-m", "ecsfix"]


def scan(cmd: list[str], directory: Path, timeout: float) -> tuple[list[Hit], list[dict[str, Any]], str]:
    """Run one scan; return its findings, its input errors (file/line only) and a problem note."""
    try:
        proc = subprocess.run([*cmd, "scan", "--format", "json", "--no-cache", "--no-progress", "."],
                              cwd=directory, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [], [], f"timed out after {timeout:.0f} s"
    if proc.returncode not in (0, 1, 2):
        return [], [], f"exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1:] or ''}"
    try:
        doc = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return [], [], f"exit {proc.returncode}, output is not JSON"
    hits = [Hit(f["rule"], f.get("severity", ""), _norm_path(f.get("file", "")), int(f.get("line") or 0),
                f.get("resource", ""), f.get("container", "*"), f.get("name") or "", f.get("reason") or "")
            for f in doc.get("findings", [])]
    errors = [{"file": e.get("file"), "line": e.get("line")} for e in doc.get("errors", [])]
    return hits, errors, ""


def _norm_path(p: str) -> str:
    p = p.replace("\\", "/")
    return p[2:] if p.startswith("./") else p


# ----------------------------------------------------------------------------- matching


_INDEX = re.compile(r"\[[^\]]*\]")
_CALL = re.compile(r"module\.[^.]+")


def _addr(a: str) -> str:
    return _INDEX.sub("", a.strip())


def address_fit(finding: str, label: str) -> int:
    """2 equal, 1 compatible (module path in front / call vs resource inside), 0 unrelated."""
    a, b = _addr(finding), _addr(label)
    if a == b:
        return 2
    if a.endswith("." + b) or b.endswith("." + a) or a.startswith(b + ".") or b.startswith(a + "."):
        return 1
    # A finding reported at the bare call (`module.ecs`) for an entry of the child, labelled with the
    # child's own address (`aws_ecs_task_definition.app`, as a scan of the child directory names it).
    if (_CALL.fullmatch(a) and not b.startswith("module.")) or (_CALL.fullmatch(b) and not a.startswith("module.")):
        return 1
    return 0


def candidates(hit: Hit, rows: Iterable[Row]) -> list[Row]:
    scored: list[tuple[tuple[int, int, int], Row]] = []
    for row in rows:
        if row.name != hit.name:
            continue
        if not (hit.container == row.container or "*" in (hit.container, row.container)):
            continue
        fit = address_fit(hit.resource, row.resource)
        same_path = hit.path == row.path
        if same_path and fit == 0:
            continue
        if not same_path and fit < 2:
            continue
        scored.append(((int(same_path), fit, int(hit.container == row.container)), row))
    if not scored:
        return []
    best = max(s for s, _ in scored)
    return [r for s, r in scored if s == best]


# ----------------------------------------------------------------------------- scoring


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, row: Row) -> None:
        hit = bool(row.matched_by)
        if row.label == "secret":
            if hit:
                self.tp += 1
            else:
                self.fn += 1
        elif hit:
            self.fp += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    def as_dict(self) -> dict[str, Any]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn,
                "secret": self.tp + self.fn, "entries": self.tp + self.fp + self.fn + self.tn,
                "precision": self.precision, "recall": self.recall}


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def table(title: str, tallies: dict[str, Tally]) -> str:
    lines = [f"\n{title}", f"{'':28} {'entries':>7} {'secret':>6} {'TP':>4} {'FP':>4} {'FN':>4} {'prec':>6} {'recall':>6}"]
    for k in sorted(tallies, key=lambda k: (k != "ALL", k)):
        t = tallies[k]
        lines.append(f"{k:28} {t.tp + t.fp + t.fn + t.tn:7d} {t.tp + t.fn:6d} {t.tp:4d} {t.fp:4d} {t.fn:4d} "
                     f"{_fmt(t.precision):>6} {_fmt(t.recall):>6}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", required=True, type=Path, help="directory holding OWNER+NAME work trees")
    ap.add_argument("--labels", type=Path, default=DEFAULT_LABELS)
    ap.add_argument("--ecsfix", help="ecsfix command (default: next to this Python, else PATH, else -m ecsfix)")
    ap.add_argument("--repos", help="comma list of OWNER/NAME to score (default: all labelled)")
    ap.add_argument("--json", type=Path, help="write every count and every FN/FP/unlabelled finding here")
    ap.add_argument("--fetch", action="store_true", help="clone missing repositories from GitHub first")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per repository scan")
    args = ap.parse_args(argv)

    rows = read_labels(args.labels)
    if args.repos:
        keep = set(args.repos.split(","))
        rows = [r for r in rows if r.repository in keep]
    cmd = ecsfix_command(args.ecsfix)
    by_repo: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for r in rows:
        by_repo[(r.repository, r.commit)].append(r)

    unlabelled: list[tuple[str, Hit]] = []
    other_rules: dict[str, int] = defaultdict(int)
    problems: list[str] = []
    input_errors: dict[str, int] = {}
    for (repository, commit), repo_rows in sorted(by_repo.items()):
        d = repo_dir(args.corpus, repository, commit)
        if d is None and args.fetch:
            d = fetch(args.corpus, repository, commit)
        if d is None:
            problems.append(f"{repository}@{commit[:7]}: not in the corpus (run with --fetch)")
            continue
        hits, errors, problem = scan(cmd, d, args.timeout)
        if problem:
            problems.append(f"{repository}: {problem}")
        if errors:
            input_errors[repository] = len(errors)
        for hit in hits:
            if hit.rule != "EF001":
                other_rules[hit.rule] += 1
                continue
            matched = candidates(hit, repo_rows)
            for row in matched:
                row.matched_by.append(hit.key)
            if not matched:
                unlabelled.append((repository, hit))

    overall: dict[str, Tally] = {"ALL": Tally()}
    per_form: dict[str, Tally] = defaultdict(Tally)
    per_group: dict[str, Tally] = defaultdict(Tally)
    for r in rows:
        overall["ALL"].add(r)
        per_form[r.form].add(r)
        for g in r.groups:
            per_group[g].add(r)

    t = overall["ALL"]
    # The same written entry often reaches several task definitions or containers (a template
    # rendered twice, a local shared by six containers): count it once too.
    distinct: dict[tuple[str, str, str, str], list[Row]] = defaultdict(list)
    for r in rows:
        distinct[(r.repository, r.commit, r.path, r.name)].append(r)
    d_tally = Tally()
    for group_rows in distinct.values():
        first = group_rows[0]
        label = "secret" if any(r.label == "secret" for r in group_rows) else "not_secret"
        keys = [k for r in group_rows if r.label == label for k in r.matched_by]
        d_tally.add(Row(first.repository, first.commit, first.path, first.resource, first.container, first.name,
                        label, first.groups, first.form, first.reason, first.line, keys))
    distinct_unlabelled = {(repo, h.path, h.resource, h.container, h.name) for repo, h in unlabelled}
    strict_fp = t.fp + len(distinct_unlabelled)
    strict_precision = t.tp / (t.tp + strict_fp) if t.tp + strict_fp else None
    repos = {r.repository for r in rows}
    print(f"ecsfix: {' '.join(cmd)}")
    print(f"labels: {args.labels} — {len(rows)} entries ({t.tp + t.fn} secret) in {len(repos)} repositories")
    print(f"precision {_fmt(t.precision)}  recall {_fmt(t.recall)}  TP {t.tp}  FP {t.fp}  FN {t.fn}  "
          f"(strict precision, unlabelled findings counted as FP: {_fmt(strict_precision)})")
    print(f"distinct written entries (same path and name counted once; secret if any use is): {len(distinct)} "
          f"({d_tally.tp + d_tally.fn} secret) — precision {_fmt(d_tally.precision)}  recall {_fmt(d_tally.recall)}  "
          f"TP {d_tally.tp}  FP {d_tally.fp}  FN {d_tally.fn}")
    print(table("per form", dict(per_form)))
    print(table("per group (an entry may be in several)", dict(per_group)))

    fns = [r for r in rows if r.label == "secret" and not r.matched_by]
    fps = [r for r in rows if r.label == "not_secret" and r.matched_by]
    print(f"\nfalse negatives ({len(fns)}):")
    for r in fns:
        print(f"  FN {r.key}  [{';'.join(r.groups)}, {r.form}]")
    print(f"\nfalse positives ({len(fps)}):")
    for r in fps:
        print(f"  FP {r.key}  [{';'.join(r.groups)}, {r.form}]")
    print(f"\nunlabelled EF001 findings ({len(unlabelled)}; add rows for them):")
    for repo, h in unlabelled:
        print(f"  ?? {repo} {h.key} (reason: {h.reason}, {h.severity})")
    if other_rules:
        print("\nother rules (not scored): " + ", ".join(f"{k} {v}" for k, v in sorted(other_rules.items())))
    if input_errors:
        print("input errors reported by ecsfix: " + ", ".join(f"{k} {v}" for k, v in sorted(input_errors.items())))
    for p in problems:
        print(f"problem: {p}", file=sys.stderr)

    if args.json:
        out = {"labels": str(args.labels), "ecsfix": cmd, "overall": t.as_dict(), "distinct": d_tally.as_dict(),
               "strict_precision": strict_precision,
               "per_form": {k: v.as_dict() for k, v in per_form.items()},
               "per_group": {k: v.as_dict() for k, v in per_group.items()},
               "false_negatives": [r.key for r in fns], "false_positives": [r.key for r in fps],
               "unlabelled": [f"{repo} {h.key}" for repo, h in unlabelled],
               "other_rules": dict(other_rules), "input_errors": input_errors, "problems": problems}
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
