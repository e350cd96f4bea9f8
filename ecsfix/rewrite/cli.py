"""`ecsfix rewrite` command: options in, the engine, a diff or a write, exit code out."""

# No `from __future__ import annotations`: typer reads the annotations at definition time.
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any


class LiteralValues(str, Enum):
    variable = "variable"
    keep = "keep"


class Backend(str, Enum):
    secretsmanager = "secretsmanager"
    ssm = "ssm"


class Format(str, Enum):
    diff = "diff"
    json = "json"
    patch = "patch"


def register(app: Any) -> None:
    import typer

    @app.command()
    def rewrite(
        paths: Annotated[list[str] | None, typer.Argument(help="Directories or .tf files (default: .)")] = None,
        write: Annotated[bool, typer.Option("--write", help="Write the changes (atomically) instead of printing a diff.")] = False,
        check: Annotated[bool, typer.Option("--check", help="Print only a summary; exit 1 if --write would change a file.")] = False,
        summary: Annotated[Path | None, typer.Option("--summary", help="Write a Markdown summary for the pull request to FILE.")] = None,
        templates: Annotated[Path | None, typer.Option("--templates", help="Directory of templates overriding the built-in ones.")] = None,
        literal_values: Annotated[LiteralValues, typer.Option(
            "--literal-values",
            help="variable: a committed literal becomes a new sensitive variable (default); "
                 "keep: copy it into the secret version (not recommended: it stays in git history).")] = LiteralValues.variable,
        write_only: Annotated[bool | None, typer.Option(
            "--write-only/--no-write-only",
            help="Use secret_string_wo (value never in state). Default: when the module's version "
                 "constraints guarantee Terraform >= 1.11 and AWS provider >= 5.88.")] = None,
        kms_key_id: Annotated[str | None, typer.Option(
            "--kms-key-id", metavar="EXPR",
            help="HCL expression of a KMS key ARN for the generated secrets (adds kms:Decrypt for the execution role).")] = None,
        backend: Annotated[Backend, typer.Option(
            "--backend", help="Where the secrets go: Secrets Manager (default) or SSM Parameter Store SecureString.")] = Backend.secretsmanager,
        output_file: Annotated[str | None, typer.Option(
            "--output-file", metavar="NAME",
            help="Put generated resources in NAME (in each module's directory) instead of after each task definition.")] = None,
        fmt: Annotated[Format, typer.Option(
            "--format",
            help="diff (default: removed values redacted), json (the plan, the diffs and notes) or patch: the exact "
                 "change for `git apply`/`patch -p1`, paths relative to the git work tree. WARNING: the patch holds "
                 "the removed secret values; it is printed only to a file or pipe (`--format patch > fix.patch`), "
                 "never to a terminal.")] = Format.diff,
        no_progress: Annotated[bool, typer.Option(
            "--no-progress", help="Never show a progress bar (shown on stderr when it is a terminal and the run "
                                  "takes over a second; also off with CI=true).")] = False,
        secret_arn: Annotated[str | None, typer.Option(
            "--secret-arn", metavar="ARN",
            help="Raw task-definition JSON only: the Secrets Manager secret (one JSON object; entries become "
                 "ARN:NAME::) or SSM parameter path (entries become ARN/NAME) the entries move to.")] = None,
        secret_name: Annotated[str | None, typer.Option(
            "--secret-name", metavar="NAME",
            help="Raw task-definition JSON only: the Secrets Manager secret to create; its ARN is built with the "
                 "account and Region the file names (placeholders EF103 reports where it names none).")] = None,
    ) -> None:
        """Move EF001 secrets from `environment` to `secrets` (exit 0 nothing to change, 1 --write would change files, 2 errors)."""
        from ..model import EcsfixError
        from .engine import rewrite as plan_rewrite
        from .engine import summary_markdown
        from .plan import Options
        from .safewrite import write_change

        if write and check:
            print("error: --write and --check exclude each other", file=sys.stderr)
            raise typer.Exit(2)
        if fmt is Format.patch:
            _patch_allowed(write, check)
        if output_file is not None and (not output_file.endswith(".tf") or "/" in output_file or "\\" in output_file):
            print("error: --output-file takes a file name ending in .tf (created in each module's directory)", file=sys.stderr)
            raise typer.Exit(2)
        from .taskdef_json import secret_arn_problem, secret_name_problem

        if secret_arn is not None and secret_name is not None:
            print("error: --secret-arn and --secret-name exclude each other", file=sys.stderr)
            raise typer.Exit(2)
        why = (secret_arn_problem(secret_arn) if secret_arn is not None else None) or \
            (secret_name_problem(secret_name) if secret_name is not None else None)
        if why:
            print(f"error: {why}", file=sys.stderr)
            raise typer.Exit(2)
        options = Options(
            templates=str(templates) if templates else None,
            literal_values=literal_values.value,
            write_only=write_only,
            backend=backend.value,
            kms_key_id=kms_key_id,
            output_file=output_file,
            secret_arn=secret_arn,
            secret_name=secret_name,
        )
        from ..progress import Bar, wanted

        bar = Bar() if wanted(no_progress) else None
        try:
            result = plan_rewrite(paths or ["."], options=options, progress=bar)
        finally:
            if bar is not None:
                bar.close()
        for note in result.notes:
            print(note, file=sys.stderr)
        for warning in result.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        for err in result.errors:
            print(err, file=sys.stderr)
        # 1 only when --write would change a file (SPEC §5.x); entries left for a manual fix are
        # listed (stderr) but are `scan`'s to fail on
        code = 1 if result.changes and not write else 0
        if check:
            for m in result.moved:
                print(f"would move {m.task_definition} container {m.container}: {m.name}")
            for line in result.fixed:
                print(f"would fix {line}")
            print(f"{len(result.moved)} entries in {len(result.changes)} files need a rewrite; "
                  f"{len(result.notes)} left for a manual fix")
        elif write:
            for change in result.changes:
                try:
                    write_change(change)
                except (EcsfixError, OSError) as exc:
                    msg = exc.message if isinstance(exc, EcsfixError) else f"{change.display}: error: {exc.strerror}"
                    print(msg, file=sys.stderr)
                    code = 2
                    continue
                print(f"rewrote {change.display}")
        elif fmt is Format.json:
            doc = {
                "version": 1,
                "changes": [{"file": c.display, "diff": c.diff()} for c in result.changes],
                "moved": [{"resource": m.task_definition, "container": m.container, "name": m.name,
                           "variable": m.variable} for m in result.moved],
                "fixed": result.fixed,
                "notes": result.notes,
                "warnings": result.warnings,
                "errors": result.errors,
            }
            print(json.dumps(doc, indent=2))
        elif fmt is Format.patch:
            from .patch import PatchError, render_patch

            try:
                text = render_patch(result.changes)
            except PatchError as exc:
                print(exc.message, file=sys.stderr)
                code = 2
            else:
                sys.stdout.flush()
                sys.stdout.buffer.write(text.encode("utf-8"))  # the bytes as they are: no newline translation
                sys.stdout.buffer.flush()
        else:
            for change in result.changes:
                sys.stdout.write(change.diff())
        if summary is not None:
            try:
                summary.write_text(summary_markdown(result, backend.value), encoding="utf-8")
            except OSError as exc:
                print(f"{summary}: error: cannot write summary ({exc.strerror})", file=sys.stderr)
                code = 2
        if result.errors:
            code = 2
        raise typer.Exit(code)


def _patch_allowed(write: bool, check: bool) -> None:
    """`--format patch` prints the change with the removed values: only into a file or a pipe, and
    not with --write or --check (which print no diff at all)."""
    import typer

    if write or check:
        print(f"error: --format patch prints the change; {'--write' if write else '--check'} does not: use one",
              file=sys.stderr)
        raise typer.Exit(2)
    if sys.stdout.isatty():
        print("error: --format patch holds the removed secret values: redirect it to a file "
              "(ecsfix rewrite --format patch > fix.patch), or drop --format patch for the redacted diff",
              file=sys.stderr)
        raise typer.Exit(2)
