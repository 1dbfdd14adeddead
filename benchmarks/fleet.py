"""20 customers through 2 Temporal workers against the sum of their single runs.

    python benchmarks/fleet.py [--customers 20] [--records 300] [--workers 2]

Each customer is a copy of a built-in profile (HubSpot, Salesforce, Dynamics in turn, renamed
customer-NN) against a sandbox of its own (its own org). First the same pushes one by one with
`crmsync push` (each its own process, state in PostgreSQL), timed and summed; then, against fresh
sandboxes and a fresh schema, all of them enqueued with `crmsync enqueue` onto 2 `crmsync worker`
processes, timed from the first enqueue to the last workflow's end. Prints both figures and whether
every record landed once in every CRM, the fleet's time to enqueue (20 `crmsync enqueue` processes, one
after the other, as a script would) and the pushes' own durations summed (`crmsync runs`: what the
runs took, without process start-up), so that a ratio below 1 can be told apart: enqueueing, or pushes
slowed by sharing the machine's cores. Starts its own Temporal dev server and PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.exampledata import generate  # noqa: E402
from engine.fleet.model import workflow_id  # noqa: E402
from tests.fleetkit import crmsync, running_workers  # noqa: E402
from tests.pgserver import start_server  # noqa: E402
from tests.pushkit import PROFILES, credentials_file, duplicates, expected_objects, served  # noqa: E402
from tests.temporalserver import temporal_running  # noqa: E402
from tests.test_push import identity_values  # noqa: E402

CRMS = ("hubspot", "salesforce", "dynamics")


def customer_profiles(directory: Path, count: int) -> list[tuple[str, Path]]:
    made = []
    for n in range(count):
        crm = CRMS[n % len(CRMS)]
        text = PROFILES[crm].read_text(encoding="utf-8")
        path = directory / f"customer-{n:02}.yaml"
        path.write_text(text.replace(f"name: {PROFILES[crm].stem}", f"name: customer-{n:02}", 1),
                        encoding="utf-8")
        made.append((crm, path))
    return made


def landed_once(crm: str, url: str, source: Path, profile: Path) -> bool:
    companies, people = identity_values(crm, url)
    return (not duplicates(companies) and not duplicates(people)
            and len(companies) + len(people) == sum(expected_objects(crm, source, profile).values()))


def run_seconds(url: str, home: Path) -> float:
    """The pushes' durations recorded in the store, summed."""
    listed = crmsync("runs", "--state-url", url, "--format", "json", home=home)
    return sum(r["duration_s"] or 0 for r in json.loads(listed.stdout))


async def wait_all(address: str, ids: list[str]) -> None:
    from temporalio.client import Client

    client = await Client.connect(address)
    await asyncio.gather(*(client.get_workflow_handle(i).result() for i in ids))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--records", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="crmsync-fleet-bench-"))
    generate(root / "source", args.records, seed=7)
    customers = customer_profiles(root, args.customers)
    pg = start_server("bench")
    try:
        with ExitStack() as stack:
            urls = [stack.enter_context(served(crm))[1] for crm, _ in customers]
            single_url = pg.fresh_schema()
            started = time.perf_counter()
            for (crm, profile), url in zip(customers, urls, strict=True):
                creds = credentials_file(crm, root / "creds")
                crmsync("push", str(profile), "--source", str(root / "source"), "--base-url", url,
                        "--credentials", str(creds), "--state-url", single_url, "--format", "json",
                        home=root / "home", timeout=600)
            single = time.perf_counter() - started
            single_runs = run_seconds(single_url, root / "home")
            once_single = all(landed_once(crm, url, root / "source", p)
                              for (crm, p), url in zip(customers, urls, strict=True))
        fleet_url = pg.fresh_schema()
        with ExitStack() as stack, temporal_running() as temporal, \
                running_workers(temporal.address, fleet_url, "bench", root / "fleet",
                                count=args.workers, max_pushes=4) as workers:
            urls = [stack.enter_context(served(crm))[1] for crm, _ in customers]
            started = time.perf_counter()
            for (crm, profile), url in zip(customers, urls, strict=True):
                creds = credentials_file(crm, root / "creds")
                crmsync("enqueue", str(profile), "--source", str(root / "source"), "--base-url", url,
                        "--credentials", str(creds), "--temporal", workers.address, "--task-queue", "bench",
                        home=root / "fleet")
            enqueued = time.perf_counter() - started
            asyncio.run(wait_all(workers.address, [workflow_id(p.stem, u) for (_, p), u
                                                   in zip(customers, urls, strict=True)]))
            fleet = time.perf_counter() - started
            fleet_runs = run_seconds(fleet_url, root / "fleet")
            once_fleet = all(landed_once(crm, url, root / "source", p)
                             for (crm, p), url in zip(customers, urls, strict=True))
    finally:
        pg.stop()
    print(f"{args.customers} customers x {args.records} source records")
    print(f"one by one (crmsync push):        {single:7.1f} s   every record once: {once_single}")
    print(f"{args.workers} workers on Temporal (enqueue): {fleet:7.1f} s   every record once: {once_fleet}")
    print(f"speed-up: {single / fleet:.2f}x")
    print(f"  of which enqueueing all {args.customers}: {enqueued:.1f} s")
    print(f"  the pushes' own durations summed: {single_runs:.1f} s one by one, {fleet_runs:.1f} s on the "
          f"fleet ({fleet_runs / single_runs:.2f}x: each push slower when they share the machine)")


if __name__ == "__main__":
    main()
