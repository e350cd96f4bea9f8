"""The command line: options in, library call, reporter, exit code out."""

# No `from __future__ import annotations`: typer reads the annotations at definition time.
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

from . import __version__


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):  # fast path: no typer, no parser import
        print(f"ecsfix {__version__}")
        return 0
    app = build_app()
    try:
        app(args=args, prog_name="ecsfix")
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ecsfix: interrupted", file=sys.stderr)
        return 2
    return 0


class ScanFormat(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"


def _load_config(config_file: Optional[Path], paths: list[str]):  # type: ignore[no-untyped-def]  # noqa: UP045
    from .config import find_config, load_config
    from .model import EcsfixError
    from .sources import display_path

    path = str(config_file) if config_file else find_config(paths[0] if paths else ".")
    try:
        return load_config(path, start=paths[0] if paths else ".")
    except EcsfixError as exc:
        where = display_path(path) if path else "config"
        print(f"{where}: error: {exc.message}", file=sys.stderr)
        return None


def build_app():  # type: ignore[no-untyped-def]
    import typer

    app = typer.Typer(
        add_completion=False,
        no_args_is_help=True,
        help="Find secrets passed in plaintext through ECS container `environment` lists and move them to "
        "AWS Secrets Manager.",
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @app.callback()
    def _root(
        version: Annotated[bool, typer.Option("--version", "-V", help="Print the version and exit.")] = False,
    ) -> None:
        if version:
            print(f"ecsfix {__version__}")
            raise typer.Exit(0)

    @app.command()
    def scan(
        paths: Annotated[list[str] | None, typer.Argument(help="Directories, .tf/.tf.json files, plan JSON or task-definition JSON (default: .)")] = None,
        fmt: Annotated[ScanFormat, typer.Option("--format", "-f", help="Output format.")] = ScanFormat.text,
        output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to FILE instead of stdout.")] = None,
        config_file: Annotated[Path | None, typer.Option("--config", help="Config file (default: .ecsfix.toml or [tool.ecsfix] in pyproject.toml, searched upwards).")] = None,
        exclude: Annotated[list[str] | None, typer.Option("--exclude", help="Glob of paths to skip (repeatable).")] = None,
        jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Parallel workers (default: number of cores).")] = None,
        no_progress: Annotated[bool, typer.Option("--no-progress", help="Never show a progress bar.")] = False,
    ) -> None:
        """Report plaintext secrets in ECS container definitions (exit 0 clean, 1 findings, 2 errors)."""
        from .report import render
        from .scan import scan as run_scan

        targets = paths or ["."]
        config = _load_config(config_file, targets)
        if config is None:
            raise typer.Exit(2)
        result = run_scan(targets, config=config, excludes=tuple(exclude or ()))
        color = output is None and fmt == ScanFormat.text and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        text = render(result, fmt.value, tool_version=__version__, color=color)
        if output is not None:
            try:
                output.write_text(text, encoding="utf-8")
            except OSError as exc:
                print(f"{output}: error: cannot write report ({exc.strerror})", file=sys.stderr)
                raise typer.Exit(2) from None
        else:
            sys.stdout.write(text)
        if fmt != ScanFormat.text:
            for err in result.errors:  # machine formats carry errors inside; repeat them for humans
                print(err.render(), file=sys.stderr)
        raise typer.Exit(result.exit_code)

    @app.command()
    def rules() -> None:
        """List every rule: id, severity, fixable, summary."""
        from .rules import RULES

        for rule in RULES.values():
            fix = "fixable" if rule.fixable else "report-only"
            print(f"{rule.id}  {rule.severity:<6}  {fix:<11}  {rule.summary}")

    @app.command()
    def explain(rule_id: Annotated[str, typer.Argument(help="A rule id such as EF001.")]) -> None:
        """Why a rule matters and how it is fixed, with an example."""
        from .rules import RULES, get

        rule = get(rule_id)
        if rule is None:
            print(f"error: unknown rule {rule_id!r}; known rules: {', '.join(RULES)}", file=sys.stderr)
            raise typer.Exit(2)
        fix = "fixable by `ecsfix rewrite`" if rule.fixable else "report only"
        print(f"{rule.id} {rule.name} ({rule.severity}, {fix})\n{rule.summary}\n\n{rule.explain}")

    from .rewrite.cli import register

    register(app)

    return app
