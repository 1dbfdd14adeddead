"""A first sync into Dataverse under its service protection limits, against the same sync unthrottled:
prints both wall times, the throttled one as a multiple of the unthrottled, how often the emulator
answered 429, and whether every record was written exactly once.

The limits default to those Microsoft documents per user and web server
(https://learn.microsoft.com/power-apps/developer/data-platform/api-limits): 6,000 requests and 1,200 s of
execution time in a 5-minute sliding window, 52 concurrent requests. New records are written by upsert
on the alternate key (one request per record, the heaviest load a profile puts on the API) unless
`--writes bulk` (CreateMultiple, 200 a request). `--window-s` shortens the window at the same rate.

    python benchmarks/throttled_push.py [--total 5000] [--latency-ms 200] [--writes upsert|bulk]
        [--requests-per-window 6000] [--window-s 300] [--execution-limit-s 1200] [--concurrency-limit 52]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulator_process import serving  # noqa: E402

from engine.exampledata import generate  # noqa: E402
from engine.push import PushResult  # noqa: E402
from engine.pushrun import PushRequest, run_push  # noqa: E402

PROFILE = ROOT / "profiles" / "dynamics-benefitflow.yaml"
API = "/api/data/v9.2"
OFF = {"requests_per_window": None, "execution_time_limit_s": None, "concurrency_limit": None}


def upsert_profile(directory: Path) -> Path:
    """The shipped profile with new accounts and contacts written by upsert on bf_benefitflowid."""
    text = PROFILE.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^(    object: (account|contact)\n)", r"\1    upsert_key: bf_benefitflowid\n", text)
    path = directory / "dynamics-upsert.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def served(options: dict[str, Any]) -> contextlib.AbstractContextManager[str]:
    """The Dynamics emulator with these options, in its own process (as a real CRM is not in ours)."""
    return serving([sys.executable, __file__, "--serve", json.dumps(options)], "Dynamics")


def serve(options: dict[str, Any]) -> None:
    from engine.sandbox.common import serve_forever
    from engine.sandbox.dynamics import DynamicsSandbox

    with contextlib.suppress(KeyboardInterrupt):
        serve_forever(DynamicsSandbox(**options), announce=lambda line: print(line, flush=True))


def one_push(profile: Path, source: Path, options: dict[str, Any], work: Path) -> dict[str, Any]:
    """A push into a fresh emulator: its wall time, result, 429s and what the CRM holds."""
    state = work / f"state-{time.monotonic_ns()}"
    creds = work / "credentials.json"
    creds.write_text(json.dumps({"client_id": "sandbox-client", "client_secret": "sandbox-secret",
                                 "refresh_token": "sandbox-refresh"}), encoding="utf-8")
    with served(options) as url:
        started = time.perf_counter()
        result = run_push(PushRequest(profile, source, base_url=url + API, state_dir=state,
                                      credentials_file=creds, progress=False), Console(stderr=True))
        elapsed = time.perf_counter() - started
        statuses = Counter(r["status"] for r in httpx.get(f"{url}/_sandbox/requests", timeout=60).json())
        crm = httpx.get(f"{url}/_sandbox/records", timeout=120).json()
    keys = [r.get("bf_benefitflowid") for table in ("accounts", "contacts") for r in crm[table]]
    return {"elapsed": elapsed, "result": result, "statuses": statuses, "keys": keys}


def unwritten(result: PushResult) -> int:
    return sum(1 for o in result.outcomes if o.result == "error" and o.record.status != "invalid")


def report(label: str, run: dict[str, Any]) -> None:
    keys = run["keys"]
    twice = sum(n - 1 for n in Counter(keys).values() if n > 1)
    print(f"{label}: {run['elapsed']:.1f} s; summary {run['result'].summary()}; stopped: "
          f"{run['result'].stopped}; 429 answers: {run['statuses'][429]}; requests answered: "
          f"{sum(run['statuses'].values())}; unwritten valid records: {unwritten(run['result'])}; "
          f"in the CRM: {len(keys)}, written twice: {twice}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--total", type=int, default=5000)
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--writes", choices=["upsert", "bulk"], default="upsert")
    parser.add_argument("--requests-per-window", type=int, default=6000)
    parser.add_argument("--window-s", type=float, default=300.0)
    parser.add_argument("--execution-limit-s", type=float, default=1200.0)
    parser.add_argument("--concurrency-limit", type=int, default=52)
    args = parser.parse_args()
    if args.serve:
        serve(json.loads(args.serve))
        return
    work = Path(tempfile.mkdtemp(prefix="crmsync-throttled-"))
    counts = generate(work / "data", args.total, seed=7)
    profile = upsert_profile(work) if args.writes == "upsert" else PROFILE
    scale = args.window_s / 300.0  # a shorter window keeps the documented rate per second
    limits = {"requests_per_window": round(args.requests_per_window * scale), "window_s": args.window_s,
              "execution_time_limit_s": args.execution_limit_s * scale,
              "concurrency_limit": args.concurrency_limit}
    common = {"latency_ms": args.latency_ms}
    print(f"dynamics: {sum(counts.values())} records {counts}; writes by {args.writes}; latency "
          f"{args.latency_ms} ms; service protection {limits}")
    free = one_push(profile, work / "data", {**common, **OFF}, work)
    report("unthrottled", free)
    throttled = one_push(profile, work / "data", {**common, **limits}, work)
    report("throttled", throttled)
    shutil.rmtree(work, ignore_errors=True)
    print(f"throttled wall time: {throttled['elapsed'] / free['elapsed']:.2f} x the unthrottled run")


if __name__ == "__main__":
    main()
