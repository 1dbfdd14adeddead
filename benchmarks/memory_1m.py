"""Peak memory of crmsync at a million records, and how it grows: each command runs as a child process
(`crmsync ...`, as a user runs it) over data from the example-data generator, and its peak resident set
(the child's ru_maxrss, from os.wait4) is printed with PASS/MISS against the target, for two sizes, with
the slope in KB per record between them.

    python benchmarks/memory_1m.py [--total 1000000] [--small 100000] [--crm salesforce]
                                   [--modes plan-json,plan-table,plan-html,push,push-plan]
                                   [--target-mb 400]

Modes: `plan-json` (plan --format json --out FILE), `plan-table` (plan, the terminal table, to a file),
`plan-html` (plan --format html --out FILE, the report page), `push` (a first sync to the CRM's emulator
served in its own process, `crmsync sandbox serve`, reset before), `push-plan` (plan --base-url ...
--format json --out, then push --plan that file; the push's peak is the one printed). The emulator's own
memory is not counted: it plays the CRM.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent

PROFILES = {"hubspot": "hubspot-benefitflow.yaml", "salesforce": "salesforce-benefitflow.yaml",
            "dynamics": "dynamics-benefitflow.yaml"}
CREDENTIALS = {"hubspot": {"CRMSYNC_ACCESS_TOKEN": "sandbox-token"}}
OAUTH = {"CRMSYNC_CLIENT_ID": "sandbox-client", "CRMSYNC_CLIENT_SECRET": "sandbox-secret",
         "CRMSYNC_REFRESH_TOKEN": "sandbox-refresh"}
MODES = ("plan-json", "plan-table", "plan-html", "push", "push-plan")


def generate(data: Path, total: int) -> None:
    subprocess.run([sys.executable, "-m", "engine.exampledata", "--total", str(total), "--out", str(data)],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def crmsync(args: list[str], env: dict[str, str], log: Path) -> tuple[int, float, float]:
    """Run `crmsync ARGS` as a child; (exit code, peak RSS in MB, wall seconds)."""
    started = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "engine.cli", *args], cwd=ROOT, env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_maxrss / 1024, time.perf_counter() - started


@contextlib.contextmanager
def served(crm: str) -> Iterator[str]:
    process = subprocess.Popen([sys.executable, "-m", "engine.cli", "sandbox", "serve", crm], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
    try:
        for line in process.stdout:  # type: ignore[union-attr]
            if line.startswith("listening on "):
                yield line.removeprefix("listening on ").strip()
                return
        raise RuntimeError(f"the {crm} emulator did not start")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)


def measure(mode: str, crm: str, data: Path, work: Path, url: str | None) -> tuple[int, float, float]:
    profile = str(ROOT / "profiles" / PROFILES[crm])
    env = {**os.environ, "CRMSYNC_HOME": str(work / f"state-{mode}"), **CREDENTIALS.get(crm, OAUTH)}
    log = work / f"{mode}.log"
    if mode == "plan-json":
        return crmsync(["plan", profile, "--source", str(data), "--format", "json", "--out",
                        str(work / "plan.json")], env, log)
    if mode == "plan-html":
        return crmsync(["plan", profile, "--source", str(data), "--format", "html", "--out",
                        str(work / "plan.html")], env, log)
    if mode == "plan-table":
        return crmsync(["plan", profile, "--source", str(data)], env, log)
    assert url is not None
    httpx.post(f"{url}/_sandbox/reset", timeout=600).raise_for_status()
    if mode == "push":
        return crmsync(["push", profile, "--source", str(data), "--base-url", url], env, log)
    saved = work / "consulted.json"
    code, _, _ = crmsync(["plan", profile, "--source", str(data), "--base-url", url, "--format", "json",
                          "--out", str(saved)], env, work / "push-plan-plan.log")
    if code not in (0, 1):
        return code, 0.0, 0.0
    return crmsync(["push", "--plan", str(saved), "--base-url", url], env, log)


def run(sizes: list[int], modes: list[str], crm: str, target_mb: float) -> int:
    peaks: dict[tuple[str, int], float] = {}
    missed = False
    with tempfile.TemporaryDirectory(prefix="crmsync-mem-") as tmp, \
            (served(crm) if {"push", "push-plan"} & set(modes) else contextlib.nullcontext()) as url:
        for total in sizes:
            data = Path(tmp) / f"data-{total}"
            generate(data, total)  # in a child: a child's peak counts the parent it was forked from
            for mode in modes:
                work = Path(tmp) / f"{mode}-{total}"
                work.mkdir()
                code, peak, wall = measure(mode, crm, data, work, url)
                peaks[(mode, total)] = peak
                ok = code in (0, 1) and peak < target_mb
                missed |= total == max(sizes) and not ok
                print(f"{mode:<10} {total:>9,} records  peak {peak:8,.0f} MB  exit {code}  {wall:7,.1f} s  "
                      f"{'PASS' if ok else 'MISS'} (< {target_mb:,.0f} MB)", flush=True)
                if code not in (0, 1):
                    print((work / f"{mode}.log").read_text()[-2000:])
                shutil.rmtree(work, ignore_errors=True)
            shutil.rmtree(data, ignore_errors=True)
    if len(sizes) == 2:
        small, large = sizes
        for mode in modes:
            slope = (peaks[(mode, large)] - peaks[(mode, small)]) * 1024 / (large - small)
            print(f"{mode:<10} slope {slope:6.2f} KB/record ({small:,} -> {large:,} records)")
    return 1 if missed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--total", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000, help="the other size, for the slope (0: none)")
    parser.add_argument("--crm", choices=sorted(PROFILES), default="salesforce")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--target-mb", type=float, default=400)
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    if unknown := set(modes) - set(MODES):
        parser.error(f"unknown mode(s): {', '.join(sorted(unknown))}; choose from {', '.join(MODES)}")
    sizes = sorted({args.small, args.total} - {0})
    return run(sizes, modes, args.crm, args.target_mb)


if __name__ == "__main__":
    sys.exit(main())
