"""`ecsfix rewrite` command: options in, the engine, a diff or a write, exit code out."""

# No `from __future__ import annotations`: typer reads the annotations at definition time.
import sys
from pathlib import Path
from typing import Annotated, Any


def register(app: Any) -> None:
    import typer

    @app.command()
    def rewrite(
        paths: Annotated[list[str] | None, typer.Argument(help="Directories or .tf files (default: .)")] = None,
        write: Annotated[bool, typer.Option("--write", help="Write the changes (atomically) instead of printing a diff.")] = False,
        check: Annotated[bool, typer.Option("--check", help="Print only a summary; exit 1 if a rewrite is needed.")] = False,
        summary: Annotated[Path | None, typer.Option("--summary", help="Write a Markdown summary for the pull request to FILE.")] = None,
        templates: Annotated[Path | None, typer.Option("--templates", help="Directory of templates overriding the built-in ones.")] = None,
    ) -> None:
        """Move EF001 secrets from `environment` to `secrets` (exit 0 nothing to do, 1 changes needed, 2 errors)."""
        from ..model import EcsfixError
        from .engine import rewrite as plan_rewrite
        from .engine import summary_markdown, write_change

        if write and check:
            print("error: --write and --check exclude each other", file=sys.stderr)
            raise typer.Exit(2)
        result = plan_rewrite(paths or ["."], templates=str(templates) if templates else None)
        for note in result.notes:
            print(note, file=sys.stderr)
        for err in result.errors:
            print(err, file=sys.stderr)
        # entries left in place (forms not rewritten yet) still need a change: never report "clean"
        code = 1 if (result.changes and not write) or result.notes else 0
        if check:
            for m in result.moved:
                print(f"would move {m.task_definition} container {m.container}: {m.name}")
            print(f"{len(result.moved)} entries in {len(result.changes)} files need a rewrite; "
                  f"{len(result.notes)} left for a later version or a manual fix")
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
        else:
            for change in result.changes:
                sys.stdout.write(change.diff())
        if summary is not None:
            try:
                summary.write_text(summary_markdown(result), encoding="utf-8")
            except OSError as exc:
                print(f"{summary}: error: cannot write summary ({exc.strerror})", file=sys.stderr)
                code = 2
        if result.errors:
            code = 2
        raise typer.Exit(code)
