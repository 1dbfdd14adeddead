"""What the runs pages and `crmsync runs` ask of the store, at scale: a state dir whose first run pushed
N records (a share of them refused by the CRM), and a retry that wrote half of those since.

    python benchmarks/runs_speed.py [--total 100000] [--failed 0.1] [--runs 20]

Built first, untimed: the activity rows, written as a push writes them (Store.record_outcomes, one
transaction per batch of 200), and --runs small runs besides. Timed, each the best of three: list_runs
(every run with its state and counts), rejected_rows of the big run (each with `fixed_by`, the later
run that wrote it), rejected_rows with a search, rejected_csv of them all. Prints each figure."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.runs import list_runs, rejected_csv, rejected_rows  # noqa: E402
from engine.store import Store  # noqa: E402


def entry(run_id: str, i: int, ok: bool) -> dict[str, Any]:
    return {"run_id": run_id, "triggered_by": "bench", "object": "companies", "action": "insert",
            "result": "success" if ok else "error", "crm_id": str(i) if ok else None,
            "error_code": None if ok else "INVALID_URL", "error": None if ok else f"record {i}: not a URL",
            "stream": "employer", "source_id": f"e{i}", "request": {"name": f"Employer {i}"}}


def build(state: Path, total: int, failed: float, runs: int) -> str:
    store = Store(state)
    every = max(1, round(1 / failed))
    try:
        store.start_run("big", "bench", "bench", {"source_dir": "/data", "profile_path": "/p.yaml"})
        for start in range(0, total, 200):
            rows = [entry("big", i, i % every != 0) for i in range(start, min(total, start + 200))]
            store.record_outcomes("bench", "big", [], [], rows)
        store.finish_run("big", "finished", summary={"created": total - total // every,
                                                     "failed": total // every})
        store.start_run("retry", "bench", "bench")
        store.log([entry("retry", i, True) for i in range(0, total, every * 2)])  # half of them written
        store.finish_run("retry", "finished")
        for n in range(runs):
            store.start_run(f"small{n}", "bench", "bench")
            store.log([entry(f"small{n}", total + n, True)])
            store.finish_run(f"small{n}", "finished")
    finally:
        store.close()
    return "big"


def best(what: str, work: Callable[[], Any]) -> Any:
    times, result = [], None
    for _ in range(3):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    print(f"{what}: {min(times):.3f} s", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=100_000)
    parser.add_argument("--failed", type=float, default=0.1)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        started = time.perf_counter()
        run_id = build(state, args.total, args.failed, args.runs)
        took = time.perf_counter() - started
        print(f"built {args.total:,} activity rows and {args.runs + 2} runs in {took:.1f} s")
        listed = best(f"list_runs ({args.runs + 2} runs)", lambda: list_runs(state))
        rows = best(f"rejected_rows of a run of {args.total:,} records", lambda: rejected_rows(state, run_id))
        found = best("rejected_rows --search", lambda: rejected_rows(state, run_id, search="record 1234"))
        best(f"rejected_csv of {len(rows):,} rows", lambda: rejected_csv(rows))
        fixed = sum(1 for r in rows if r.fixed_by)
        print(f"{len(listed)} runs; {len(rows):,} rejected rows, {fixed:,} of them written since; "
              f"{len(found)} found by the search")


if __name__ == "__main__":
    main()
