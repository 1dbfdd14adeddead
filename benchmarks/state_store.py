"""A first sync of N records to the served HubSpot sandbox (no latency) with the state in SQLite, then
in PostgreSQL (a server this script starts from /usr/lib/postgresql/*/bin, as tests/pgserver.py does):
prints each push's wall time and how much the PostgreSQL store adds per record.

    python benchmarks/state_store.py [--total 5000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.exampledata import generate  # noqa: E402
from tests.pgserver import start_server  # noqa: E402
from tests.pushkit import push, served  # noqa: E402


def timed_push(source: Path, state: Path) -> tuple[float, int]:
    with served("hubspot") as (_, url):
        started = time.perf_counter()
        result = push("hubspot", source, url, state)
        return time.perf_counter() - started, result.summary()["created"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--total", type=int, default=5000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="crmsync-bench-state-"))
    os.environ.pop("CRMSYNC_STATE_URL", None)
    server = start_server("bench")
    try:
        source = work / "source"
        generate(source, args.total)
        sqlite_s, created = timed_push(source, work / "sqlite")
        os.environ["CRMSYNC_STATE_URL"] = server.url()
        pg_s, pg_created = timed_push(source, work / "pg")
    finally:
        os.environ.pop("CRMSYNC_STATE_URL", None)
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    print(f"first sync of {args.total} records ({created} created; {pg_created} with PostgreSQL)")
    print(f"  SQLite state dir : {sqlite_s:6.2f} s")
    per_record_us = (pg_s - sqlite_s) / max(created, 1) * 1e6
    print(f"  PostgreSQL store : {pg_s:6.2f} s  ({per_record_us:+.0f} us a record)")


if __name__ == "__main__":
    main()
