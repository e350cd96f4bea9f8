"""The command line: options in, library call, reporter, exit code out."""

# No `from __future__ import annotations`: typer reads the annotations at definition time.
import os
import sys
from enum import Enum
from typing import Annotated, Optional

from . import __version__


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):  # fast path: no typer, no parser import
        print(f"ecsfix {__version__}")
        return 0
    # Fast path for the common `scan` invocations (pre-commit runs one per commit): typer and rich
    # cost ~0.15 s to import. Anything it does not recognise (help, errors) goes through typer.
    fast = _fast_scan_args(args)
    if fast is not None:
        try:
            return scan_command(**fast)
        except KeyboardInterrupt:
            print("ecsfix: interrupted", file=sys.stderr)
            return 2
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


_SCAN_VALUE_OPTIONS = {"--format": "fmt", "-f": "fmt", "--output": "output", "-o": "output",
                       "--config": "config_file", "--exclude": "exclude", "--jobs": "jobs", "-j": "jobs"}
_SCAN_FLAGS = {"--no-progress": "no_progress", "--no-cache": "no_cache"}
_FORMATS = ("text", "json", "sarif", "github")


def _fast_scan_args(args: list[str]):  # type: ignore[no-untyped-def]
    """The keyword arguments of `scan_command` for a plain, valid `scan` command line, else None
    (typer then parses it and words any error or help exactly as it always does)."""
    if not args or args[0] != "scan":
        return None
    out: dict = {"paths": [], "fmt": "text", "output": None, "config_file": None, "exclude": [], "jobs": None,
                 "no_progress": False, "no_cache": False}
    rest = args[1:]
    i = 0
    while i < len(rest):
        arg = rest[i]
        i += 1
        if not arg.startswith("-") or arg == "-":
            out["paths"].append(arg)
            continue
        name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in _SCAN_FLAGS and not eq:
            out[_SCAN_FLAGS[name]] = True
            continue
        if name not in _SCAN_VALUE_OPTIONS:
            return None
        if not eq:
            if i >= len(rest) or rest[i].startswith("-"):
                return None
            value = rest[i]
            i += 1
        key = _SCAN_VALUE_OPTIONS[name]
        if key == "fmt" and value not in _FORMATS:
            return None
        if key == "jobs":
            if not value.isdigit():
                return None
            out["jobs"] = int(value)
        elif key == "exclude":
            out["exclude"].append(value)
        elif not value:
            return None
        else:
            out[key] = value
    return out


def scan_command(paths: list[str], fmt: str, output: Optional[str], config_file: Optional[str],  # noqa: UP045
                 exclude: list[str], jobs: Optional[int], no_progress: bool, no_cache: bool) -> int:  # noqa: UP045
    """`ecsfix scan`: the exit code (0 clean, 1 findings, 2 errors)."""
    from .report import render
    from .scan import default_jobs, scan, settings_key

    targets = paths or ["."]
    config = _load_config(config_file, targets)
    if config is None:
        return 2
    if jobs is not None and jobs < 1:
        print("error: --jobs must be at least 1", file=sys.stderr)
        return 2
    cache = None
    if not no_cache:
        from .cache import ScanCache, cache_root

        cache = ScanCache(cache_root(targets), settings_key(config, None))
    bar = None
    if not no_progress and _progress_wanted():
        from .progress import Bar

        bar = Bar()
    try:
        result = scan(targets, config=config, excludes=tuple(exclude), jobs=jobs or default_jobs(), cache=cache,
                      progress=bar)
    finally:
        if bar is not None:
            bar.close()  # the bar is transient: gone before the report is printed
    color = output is None and fmt == "text" and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    text = render(result, fmt, tool_version=__version__, color=color)
    if output is not None:
        try:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            print(f"{output}: error: cannot write report ({exc.strerror})", file=sys.stderr)
            return 2
    else:
        sys.stdout.write(text)
    if fmt != "text":
        for err in result.errors:  # machine formats carry errors inside; repeat them for humans
            print(err.render(), file=sys.stderr)
    return result.exit_code


def _progress_wanted() -> bool:
    """progress.wanted, without importing the module on the common path (stderr not a terminal)."""
    try:
        if not sys.stderr.isatty():
            return False
    except (AttributeError, ValueError):
        return False
    from .progress import wanted

    return wanted(False)


def _load_config(config_file: Optional[str], paths: list[str]):  # type: ignore[no-untyped-def]  # noqa: UP045
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
    from pathlib import Path

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
        config_file: Annotated[Path | None, typer.Option("--config", help="Config file (default: .ecsfix.toml, or the tool.ecsfix table of pyproject.toml, searched upwards).")] = None,
        exclude: Annotated[list[str] | None, typer.Option("--exclude", help="Glob of paths to skip (repeatable).")] = None,
        jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Parallel workers (default: number of cores).")] = None,
        no_progress: Annotated[bool, typer.Option("--no-progress", help="Never show a progress bar (shown on stderr when it is a terminal and the scan takes over a second; also off with CI=true).")] = False,
        no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the result cache (.ecsfix_cache/ in the scanned directory, else in the working directory; or $ECSFIX_CACHE_DIR).")] = False,
    ) -> None:
        """Report plaintext secrets in ECS container definitions (exit 0 clean, 1 findings, 2 errors)."""
        code = scan_command(list(paths or []), fmt.value, str(output) if output is not None else None,
                            str(config_file) if config_file is not None else None, list(exclude or []), jobs,
                            no_progress, no_cache)
        raise typer.Exit(code)

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
