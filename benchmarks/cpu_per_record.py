"""CPU per record, as ratios that hold on a busy or slow machine (issue 14, point 2).

    python benchmarks/cpu_per_record.py [--total 20000] [--crm salesforce,hubspot,dynamics,zoho]
                                        [--no-push] [--pushes 3] [--profile FILE]

Over N generated records (engine.exampledata, all five streams), in one run:
- the bare-work floor: what any sync of these records must do, done with the standard library: decode
  every source line (json.loads), encode every record into request bodies of 200 (json.dumps), insert
  one SQLite row per record (one transaction per body). CPU µs per record (time.process_time);
- the offline plan (`make_plan_sync`, no CRM): map, check, match, plan and render every request. CPU
  µs/record and records/s, and its multiple of the floor (target <= 3x);
- the offline plan and its `plan --format json --out` output written (spool/jsonout, to a file), as a
  line of its own: the same figures for the two together (target <= 3x too);
- the push (`run_push`) to an empty served emulator in ANOTHER process (`crmsync sandbox serve`, no
  latency): this process's CPU only, so the emulator's work is not counted; its multiple of the offline
  plan's (target <= 2x). The push waits for the CRM's published rate limits, which costs wall time,
  not CPU. --pushes N pushes N times (each to a fresh emulator and state) and prints the range of
  the ratio; the figure is the push that used the least CPU.
Machines differ by 2-3x in Python speed; the ratios are what the targets are written in. --profile FILE
writes a cProfile of the offline plan, its JSON output and the push (pstats files FILE.<crm>.plan,
FILE.<crm>.json, FILE.<crm>.push). --no-push: the floor and the plan alone.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulator_process import serving  # noqa: E402

from engine.catalog import load_profile  # noqa: E402
from engine.exampledata import generate  # noqa: E402
from engine.plan import make_plan_sync  # noqa: E402
from engine.pushrun import PushRequest, run_push  # noqa: E402
from engine.spool.jsonout import write_json  # noqa: E402

CRMS = ("salesforce", "hubspot", "dynamics", "zoho")
PROFILES = {crm: f"{crm}-benefitflow.yaml" for crm in CRMS}
OAUTH = {"CRMSYNC_CLIENT_ID": "sandbox-client", "CRMSYNC_CLIENT_SECRET": "sandbox-secret",
         "CRMSYNC_REFRESH_TOKEN": "sandbox-refresh"}
CREDENTIALS = {"hubspot": {"CRMSYNC_ACCESS_TOKEN": "sandbox-token"}, "salesforce": OAUTH,
               "dynamics": OAUTH, "zoho": OAUTH}
API_ROOT = {"dynamics": "/api/data/v9.2", "zoho": "/crm/v7"}  # where the API lives on the emulator's host
BODY = 200  # records per request body in the floor
PLAN_TARGET, PUSH_TARGET = 3.0, 2.0


def cpu_of(work: Callable[[], Any], profile_to: Path | None = None) -> tuple[Any, float]:
    """What `work` returns and the CPU seconds this process spent on it (cProfiled to a file if asked:
    the profile's own overhead then inflates the figure)."""
    profiler = cProfile.Profile() if profile_to else None
    started = time.process_time()
    if profiler:
        profiler.enable()
    result = work()
    if profiler:
        profiler.disable()
    cpu = time.process_time() - started
    if profiler and profile_to:
        profiler.dump_stats(profile_to)
    return result, cpu


def floor_work(source: Path, database: Path) -> int:
    """Decode every line, encode bodies of BODY records, one SQLite row per record; records done."""
    db = sqlite3.connect(database)
    db.execute("CREATE TABLE rows (stream TEXT, source_id TEXT, body TEXT)")
    done = 0
    for path in sorted(source.glob("*.jsonl")):
        with path.open("rb") as handle:
            records = [json.loads(line) for line in handle]
        for start in range(0, len(records), BODY):
            chunk = records[start:start + BODY]
            json.dumps({"records": chunk}, ensure_ascii=False)
            with db:
                db.executemany("INSERT INTO rows VALUES (?, ?, ?)",
                               [(path.stem, str(r.get("id")), None) for r in chunk])
        done += len(records)
    db.close()
    return done


def served(crm: str) -> contextlib.AbstractContextManager[str]:
    """The CRM's emulator in its own process, as `crmsync sandbox serve` runs it."""
    return serving([sys.executable, "-m", "engine.cli", "sandbox", "serve", crm], crm)


def verdict(ratio: float, target: float) -> str:
    return "PASS" if ratio <= target else "MISS"


def write_plan_json(plan: Any, path: Path) -> int:
    """What `plan --format json --out FILE` writes; its size in bytes."""
    with path.open("w", encoding="utf-8") as out:
        write_json(plan.json_parts(), out)
    return path.stat().st_size


def figure(what: str, cpu: float, records: int, floor_us: float) -> str:
    us = cpu / records * 1e6
    return (f"  {what:<17}{us:6.1f} µs/record CPU ({records / cpu:,.0f} records/s) = {us / floor_us:.2f}x "
            f"the floor (target <= {PLAN_TARGET:g}x) {verdict(us / floor_us, PLAN_TARGET)}")


def measure(crm: str, source: Path, records: int, work: Path, profile_to: Path | None,
            pushes: int = 1) -> None:
    profile = ROOT / "profiles" / PROFILES[crm]
    _, floor_cpu = cpu_of(lambda: floor_work(source, work / f"{crm}-floor.sqlite3"))
    bundle = load_profile(profile)
    plan, plan_cpu = cpu_of(lambda: make_plan_sync(bundle, source),
                            profile_to and profile_to.with_suffix(f".{crm}.plan"))
    size, json_cpu = cpu_of(lambda: write_plan_json(plan, work / f"{crm}-plan.json"),
                            profile_to and profile_to.with_suffix(f".{crm}.json"))
    floor_us = floor_cpu / records * 1e6
    planned = {k: v for k, v in plan.summary().items() if v}
    print(f"{crm}: {records:,} records; plan {planned}; plan JSON {size / records:,.0f} bytes/record")
    print(f"  bare-work floor: {floor_us:6.1f} µs/record CPU ({records / floor_cpu:,.0f} records/s)")
    print(figure("offline plan:", plan_cpu, records, floor_us))
    print(figure("plan + json out:", plan_cpu + json_cpu, records, floor_us))
    if not pushes:
        return
    result, push_cpus = push_cpu(crm, profile, source, work, profile_to, pushes)
    push_cpu_s = min(push_cpus)  # a busy machine's noise makes a run costlier, never cheaper
    plan_us, push_us = plan_cpu / records * 1e6, push_cpu_s / records * 1e6
    pushed = {k: v for k, v in result.summary().items() if v}
    print(f"  push (engine):   {push_us:6.1f} µs/record CPU ({records / push_cpu_s:,.0f} records/s) = "
          f"{push_us / plan_us:.2f}x the offline plan (target <= {PUSH_TARGET:g}x) "
          f"{verdict(push_us / plan_us, PUSH_TARGET)}; {push_us / floor_us:.2f}x the floor; push {pushed}")
    if pushes > 1:
        ratios = [cpu / records * 1e6 / plan_us for cpu in push_cpus]
        print(f"  push / offline plan over {pushes} pushes: {min(ratios):.2f}-{max(ratios):.2f}x "
              f"({', '.join(verdict(r, PUSH_TARGET) for r in ratios)})")


def push_cpu(crm: str, profile: Path, source: Path, work: Path, profile_to: Path | None,
             pushes: int) -> tuple[Any, list[float]]:
    """The last push's result and each push's CPU seconds: `pushes` first syncs, each to a fresh
    emulator with a fresh state (the first one cProfiled if asked)."""
    os.environ.update(CREDENTIALS[crm])
    from rich.console import Console

    cpus, result = [], None
    for attempt in range(pushes):
        with served(crm) as url:
            request = PushRequest(profile, source, base_url=url + API_ROOT.get(crm, ""),
                                  state_dir=work / f"{crm}-state-{attempt}", progress=False)
            result, cpu = cpu_of(lambda: run_push(request, Console(file=open(os.devnull, "w"))),  # noqa: B023, SIM115
                                 profile_to and attempt == 0 and profile_to.with_suffix(f".{crm}.push"))
        cpus.append(cpu)
    return result, cpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--total", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--crm", default=",".join(CRMS))
    parser.add_argument("--no-push", action="store_true", help="the floor and the offline plan alone")
    parser.add_argument("--pushes", type=int, default=1,
                        help="pushes per CRM (each to a fresh emulator): their ratios' range is printed, "
                             "the least CPU used for the figure")
    parser.add_argument("--profile", type=Path, help="write cProfile stats of the plan and push here")
    args = parser.parse_args()
    crms = args.crm.split(",")
    if len(crms) > 1:  # each in a process of its own: no CRM's run warms a cache (phones) for the next
        for crm in crms:
            subprocess.run([sys.executable, __file__, "--crm", crm, "--total", str(args.total), "--seed",
                            str(args.seed), "--pushes", str(args.pushes),
                            *(["--profile", str(args.profile)] if args.profile else []),
                            *(["--no-push"] if args.no_push else [])],
                           check=True)
        return
    work = Path(tempfile.mkdtemp(prefix="crmsync-cpu-"))
    os.environ["CRMSYNC_HOME"] = str(work / "home")
    try:
        records = sum(generate(work / "data", args.total, args.seed).values())
        measure(crms[0], work / "data", records, work, args.profile, 0 if args.no_push else args.pushes)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
