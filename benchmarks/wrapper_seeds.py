#!/usr/bin/env python3
"""Seeded trial of the local-wrapper rewrite (rewrite/forms/wrapper_calls.py) on real wrapper modules.

The public corpus has real ECS wrapper modules and their real callers, but no caller that writes a
secret in the call's own arguments. Each seed copies one repository to a temporary directory, adds
one fake entry (`hunter2`) to an argument of a real call, and runs what a user would: `scan`,
`rewrite --write`, `scan` again (the entry must be gone, or the refusal note must say why it stays),
`rewrite --check` again (idempotent), and `terraform fmt -check` on the caller before and after.
Nothing of the repositories is printed: entry names, rule decisions and ecsfix's own notes only.

Usage::

    python benchmarks/wrapper_seeds.py /work/corpus --ecsfix .venv/bin/ecsfix
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile

# (repository, caller directory, file, anchor regex, text inserted after it)
SEEDS = [
    ("narek-hayrapetyan1+terraform-task", "environments/qa", "main.tf",
     r'(  environment = \{\n    ENVIRONMENT      = "qa"\n)', '\\1    STRIPE_SECRET_KEY = "sk-hunter2-Str1pe"\n'),
    ("narek-hayrapetyan1+terraform-task", "environments/qa", "main.tf",
     r'(  environment = \{\n    ENVIRONMENT      = "qa"\n)', '\\1    DB_PASSWORD = "hunter2"\n'),
    ("AmrutaJakhadi+Devops-Exersize-Solution-NBS", ".", "main.tf",
     r"(  container_environment = \[\n)", '\\1    { name = "DB_PASSWORD", value = "hunter2" },\n'),
    ("tim0git+terraform-aws-ecs-fargate", "example/service_env_vars", "main.tf",
     r"(    environment = \[ *\n)", '\\1      { name = "DB_PASSWORD", value = "hunter2" },\n'),
    ("umotif-public+terraform-aws-ecs-fargate", "examples/fargate-spot", "main.tf",
     r'(  source = "\.\./\.\./"\n)', '\\1  task_container_environment = { DB_PASSWORD = "hunter2" }\n'),
    ("not-only-yours+ActionsForECS", "Terraform", "main.tf",
     r'(  source              = "\./FargateCluster"\n)', '\\1  task_container_environment = { DB_PASSWORD = "hunter2" }\n'),
]


def _ecsfix(ecsfix: str, cwd: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ECSFIX_CACHE_DIR=tempfile.mkdtemp())
    return subprocess.run([ecsfix, *args], cwd=cwd, capture_output=True, text=True, env=env, check=False)


def _fmt(path: str) -> int:
    env = dict(os.environ, TF_CLI_CONFIG_FILE="/dev/null")
    return subprocess.run(["terraform", "fmt", "-check", path], capture_output=True, env=env, check=False).returncode


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus")
    parser.add_argument("--ecsfix", default="ecsfix")
    args = parser.parse_args()
    for repo, directory, name, anchor, text in SEEDS:
        if not os.path.isdir(os.path.join(args.corpus, repo)):
            print(f"== {repo}: not in the corpus")
            continue
        tmp = tempfile.mkdtemp()
        try:
            root = os.path.join(tmp, repo)
            shutil.copytree(os.path.join(args.corpus, repo), root,
                            ignore=shutil.ignore_patterns(".git", "*.tfstate*", "*.png"))
            path = os.path.join(root, directory, name)
            with open(path, encoding="utf-8") as fh:
                seeded, n = re.subn(anchor, text, fh.read(), count=1)
            if n != 1:
                print(f"== {repo}: the anchor is gone")
                continue
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(seeded)
            cwd = os.path.join(root, directory)
            fmt_before = _fmt(path)
            before = json.loads(_ecsfix(args.ecsfix, cwd, "scan", "--format", "json", ".").stdout)
            flagged = [(f["resource"], f["name"], f["fixable"]) for f in before["findings"] if f["rule"] == "EF001"]
            written = _ecsfix(args.ecsfix, cwd, "rewrite", "--write", ".")
            after = json.loads(_ecsfix(args.ecsfix, cwd, "scan", "--format", "json", ".").stdout)
            left = [f["name"] for f in after["findings"] if f["rule"] == "EF001"]
            again = _ecsfix(args.ecsfix, cwd, "rewrite", "--check", ".")
            print(f"== {repo} {directory}: flagged {flagged}")
            for line in written.stderr.splitlines():
                if "not rewritten" in line or "grant" in line:
                    print(f"   note: {line.split(': ', 1)[-1]}")
            print(f"   rewrite rc {written.returncode}; EF001 after: {left}; second run --check rc {again.returncode}; "
                  f"fmt -check before/after {fmt_before}/{_fmt(path)}")
        finally:
            shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
