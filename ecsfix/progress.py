"""The progress bar of long runs (SPEC §2): on stderr, only when it is a terminal, after ~1 s.

`wanted()` decides from the environment alone (no import beyond `os`/`sys`); the CLI imports this
module only then, so a run that shows no bar never loads it. `Bar` is the callback the scan loop
calls once per directory read and per module scanned: it only compares `time.monotonic()` with its
start until the delay has passed, then builds a rich progress bar (imported there and then) and
refreshes it at most ten times a second from the callback itself -- no thread, no timer, so the
fork of `--jobs` workers never happens under a running thread. The bar is transient: it is gone
before the report is printed.

`ECSFIX_PROGRESS_DELAY` (seconds, default 1) is a test hook: `0` shows the bar at once.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

DELAY = 1.0
REFRESH = 0.1


def wanted(no_progress: bool) -> bool:
    """A bar may be shown: not asked off, stderr a terminal, not CI (`CI=true`), not a dumb terminal."""
    if no_progress or os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


def delay() -> float:
    try:
        return max(0.0, float(os.environ.get("ECSFIX_PROGRESS_DELAY", DELAY)))
    except ValueError:
        return DELAY


class Bar:
    """Call it as `bar(stage, done, total, files, findings)`; `close()` when the run ends."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.delay = delay()
        self.progress: Any = None
        self.task: Any = None
        self.shown_at = 0.0
        self.closed = False

    def __call__(self, stage: str, done: int, total: int, files: int, findings: int) -> None:
        now = time.monotonic()
        if self.progress is None:
            if self.closed or now - self.start < self.delay:
                return
            self._open(stage, done, total, files, findings)
            self.shown_at = now
            return
        if now - self.shown_at < REFRESH and done < total:
            return
        self.shown_at = now
        self.progress.update(self.task, description=stage, completed=done, total=max(total, 1),
                             files=files, findings=findings)
        self.progress.refresh()

    def _open(self, stage: str, done: int, total: int, files: int, findings: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("· {task.fields[files]} files · {task.fields[findings]} findings"), TimeElapsedColumn(),
            console=Console(file=sys.stderr), auto_refresh=False, transient=True,
            redirect_stdout=False, redirect_stderr=False,
        )
        self.task = self.progress.add_task(stage, total=max(total, 1), completed=done, files=files, findings=findings)
        self.progress.start()  # draws this first state

    def close(self) -> None:
        self.closed = True
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
