"""Start-up time of the CLI: `appointer --help` and `appointer member --help` (issue 2's
target: under 100 ms), and, for comparison, a command that opens the database.

    .venv/bin/python bench/startup_bench.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

APPOINTER = str(Path(sys.executable).parent / "appointer")


def timed(argv: list[str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([APPOINTER, *argv], check=True, capture_output=True)
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=15)
    args = p.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; {args.runs} runs each, wall time of the whole process")
    with tempfile.TemporaryDirectory() as d:
        db = os.path.join(d, "a.sqlite")
        subprocess.run([APPOINTER, "--db", db, "init"], check=True, capture_output=True)
        cases = [(["--help"], 100), (["member", "--help"], 100),
                 (["member", "advance", "--help"], 100), (["--db", db, "region", "list"], None)]
        for argv, target in cases:
            ms = timed(argv, args.runs)
            goal = f" (target < {target} ms)" if target else " (opens the database)"
            print(f"appointer {' '.join(a for a in argv if a != db):<28} median "
                  f"{statistics.median(ms):6.1f} ms, min {min(ms):6.1f} ms{goal}")


if __name__ == "__main__":
    main()
