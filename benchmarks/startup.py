"""Start-up CPU of `crmsync --help` and `crmsync validate PROFILE` (issue 14, point 3: under 0.3 s each).

    python benchmarks/startup.py [--runs 5] [--profile profiles/salesforce-benefitflow.yaml]

Each command runs as a child process, as a user types it (the `crmsync` console script beside this
interpreter); its CPU (user + system) is read from resource.getrusage(RUSAGE_CHILDREN) before and
after. The best and the median of the runs are printed (other work on the machine stretches a run's
CPU a little: the best is the command's own), the verdict on the median. Also printed: the CPU of
`python -c pass`, the interpreter's own start-up, which no import can save, and the machine's load.

`validate` is measured twice: with the cache of loaded specs warm (engine/speccache.py: the profile and
its connector were loaded before, as on every run but the first after a change; the target) and cold
(an empty cache for each run: the YAML parsed and the models built, as the first run after an edit).
The benchmark's caches are folders of its own, removed at the end; the user's cache is not touched.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 0.3


def crmsync() -> list[str]:
    script = Path(sys.executable).with_name("crmsync")
    return [str(script)] if script.exists() else [sys.executable, "-m", "engine.cli"]


def child_cpu(command: list[str], env: dict[str, str] | None = None) -> float:
    """CPU seconds (user + system) of one run of `command`, which must exit 0 or 1."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          env={**os.environ, **(env or {})})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}: {done.stderr[-500:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def report(label: str, command: list[str], runs: int, target: float | None,
           env: Callable[[], dict[str, str]] = dict) -> None:
    """Run `command` `runs` times (each with the environment `env()` adds) and print its CPU."""
    cpus = [child_cpu(command, env()) for _ in range(runs)]
    best, median = min(cpus), statistics.median(cpus)
    verdict = f" (target < {target:g} s) {'PASS' if median < target else 'MISS'}" if target else ""
    print(f"{label}: CPU best {best:.3f} s, median {median:.3f} s over {runs} runs{verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", default="profiles/salesforce-benefitflow.yaml")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    report("python -c pass", [sys.executable, "-c", "pass"], args.runs, None)
    report("import engine.cli", [sys.executable, "-c", "import engine.cli"], args.runs, None)
    report("crmsync --help", [*crmsync(), "--help"], args.runs, TARGET_S)
    validate = [*crmsync(), "validate", args.profile]
    caches = Path(tempfile.mkdtemp(prefix="crmsync-startup-"))
    try:
        warm = {"CRMSYNC_CACHE_DIR": str(caches / "warm")}
        child_cpu(validate, warm)  # fills it
        report(f"crmsync validate {args.profile} (cache warm)", validate, args.runs, TARGET_S, lambda: warm)
        report(f"crmsync validate {args.profile} (cache cold)", validate, args.runs, None,
               lambda: {"CRMSYNC_CACHE_DIR": tempfile.mkdtemp(dir=caches)})
    finally:
        shutil.rmtree(caches, ignore_errors=True)


if __name__ == "__main__":
    main()
