"""Start-up CPU of `crmsync --help` and `crmsync validate PROFILE` (issue 14, point 3: under 0.3 s each).

    python benchmarks/startup.py [--runs 5] [--profile profiles/salesforce-benefitflow.yaml]

Each command runs as a child process, as a user types it (the `crmsync` console script beside this
interpreter); its CPU (user + system) is read from resource.getrusage(RUSAGE_CHILDREN) before and
after. The best and the median of the runs are printed (other work on the machine stretches a run's
CPU a little: the best is the command's own). Also printed: the CPU of `python -c pass`, the
interpreter's own start-up, which no import can save.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 0.3


def crmsync() -> list[str]:
    script = Path(sys.executable).with_name("crmsync")
    return [str(script)] if script.exists() else [sys.executable, "-m", "engine.cli"]


def child_cpu(command: list[str]) -> float:
    """CPU seconds (user + system) of one run of `command`, which must exit 0 or 1."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}: {done.stderr[-500:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def report(label: str, command: list[str], runs: int, target: float | None) -> None:
    cpus = [child_cpu(command) for _ in range(runs)]
    best, median = min(cpus), statistics.median(cpus)
    verdict = f" (target < {target:g} s) {'PASS' if median < target else 'MISS'}" if target else ""
    print(f"{label}: CPU best {best:.3f} s, median {median:.3f} s over {runs} runs{verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", default="profiles/salesforce-benefitflow.yaml")
    args = parser.parse_args()
    report("python -c pass", [sys.executable, "-c", "pass"], args.runs, None)
    report("import engine.cli", [sys.executable, "-c", "import engine.cli"], args.runs, None)
    report("crmsync --help", [*crmsync(), "--help"], args.runs, TARGET_S)
    report(f"crmsync validate {args.profile}", [*crmsync(), "validate", args.profile], args.runs, TARGET_S)


if __name__ == "__main__":
    main()
