"""Profile one ecsfix command in this process (cProfile, standard library), sorted by own time.

    python benchmarks/profile_scan.py                       # scan --no-cache --jobs 1 /tmp/mono
    python benchmarks/profile_scan.py --top 30 scan --no-cache --jobs 1 path/to/tree

`--jobs 1` keeps the work in one process, where the profiler sees it. ecsfix's report goes to
/dev/null; the profile to stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--top", type=int, default=15, help="rows to print (default 15)")
    ap.add_argument("command", nargs=argparse.REMAINDER, help="ecsfix arguments (default: scan --no-cache "
                                                               "--jobs 1 /tmp/mono)")
    a = ap.parse_args(argv)
    command = a.command or ["scan", "--no-cache", "--jobs", "1", "/tmp/mono"]
    from ecsfix.cli import main as ecsfix_main

    profiler = cProfile.Profile()
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        profiler.enable()
        rc = ecsfix_main(command)
        profiler.disable()
    print(f"ecsfix {' '.join(command)}: exit {rc}, {time.perf_counter() - start:.2f} s under the profiler")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(a.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
