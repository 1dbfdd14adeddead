"""The review app's Runs pages over a state dir of 200 runs, the newest of which the CRM refused 10,000
records of (three streams, four error codes): the runs list, a run's page with its rejected rows, each
filter, and the CSV download, as the browser asks for them (HTTP to the served app, best of three).
Target: every one < 1 s.

    python benchmarks/review_runs_speed.py [--rejected 10000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.review_pull_speed import measure  # noqa: E402
from engine.store import Store  # noqa: E402

PROFILE = "hubspot-benefitflow"
RUNS = 200
STREAMS = ("employer", "broker", "employer_contact")
CODES = ("INVALID_URL", "INVALID_EMAIL", "DUPLICATE", "RATE_LIMITED")


def fill(state: Path, rejected: int) -> str:
    store = Store(state)
    for i in range(RUNS):
        run_id = f"run{i:04d}"
        store.start_run(run_id, PROFILE, "ana")
        store.log([{"run_id": run_id, "triggered_by": "ana", "object": "companies", "action": "insert",
                    "result": "success", "stream": "employer", "source_id": f"ok{i}-{k}", "crm_id": str(k)}
                   for k in range(20)])
        store.finish_run(run_id, "finished")
    store.log([{"run_id": run_id, "triggered_by": "ana", "object": "companies", "action": "insert",
                "result": "error", "stream": STREAMS[k % 3], "source_id": f"e{k}", "error_code": CODES[k % 4],
                "error": f"Property values were not valid: record e{k} refused ({CODES[k % 4]})"}
               for k in range(rejected)])
    store.close()
    return run_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rejected", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        state = Path(folder) / "state"
        big = fill(state, args.rejected)
        measure(state, [("runs, first page", "/runs"), ("runs, page 8", "/runs?page=8"),
                         (f"run with {args.rejected:,} rejected", f"/runs/{big}"),
                         ("rejected, one stream", f"/runs/{big}/rejected?stream=broker"),
                         ("rejected, one code", f"/runs/{big}/rejected?code=DUPLICATE"),
                         ("rejected, search", f"/runs/{big}/rejected?q=e7777"),
                         ("rejected, page 100", f"/runs/{big}/rejected?page=100"),
                         ("CSV of every row", f"/runs/{big}/rejected.csv")])

if __name__ == "__main__":
    main()
