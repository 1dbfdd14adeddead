"""20 customers through 2 Temporal workers against the sum of their single runs.

    python benchmarks/fleet.py [--customers 20] [--records 300] [--workers 2]

Each customer is a copy of a built-in profile (HubSpot, Salesforce, Dynamics in turn, renamed
customer-NN) against a sandbox of its own (its own org). First the same pushes one by one with
`crmsync push` (each its own process, state in PostgreSQL), timed and summed; then, against fresh
sandboxes and a fresh schema, all of them enqueued with `crmsync enqueue` onto 2 `crmsync worker`
processes, timed from the first enqueue to the last workflow's end. Prints both figures and whether
every record landed once in every CRM. Starts its own Temporal dev server and PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
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
            once_single = all(landed_once(crm, url, root / "source", p)
                              for (crm, p), url in zip(customers, urls, strict=True))
        with ExitStack() as stack, temporal_running() as temporal, \
                running_workers(temporal.address, pg.fresh_schema(), "bench", root / "fleet",
                                count=args.workers, max_pushes=4) as workers:
            urls = [stack.enter_context(served(crm))[1] for crm, _ in customers]
            started = time.perf_counter()
            for (crm, profile), url in zip(customers, urls, strict=True):
                creds = credentials_file(crm, root / "creds")
                crmsync("enqueue", str(profile), "--source", str(root / "source"), "--base-url", url,
                        "--credentials", str(creds), "--temporal", workers.address, "--task-queue", "bench",
                        home=root / "fleet")
            asyncio.run(wait_all(workers.address, [workflow_id(p.stem, u) for (_, p), u
                                                   in zip(customers, urls, strict=True)]))
            fleet = time.perf_counter() - started
            once_fleet = all(landed_once(crm, url, root / "source", p)
                             for (crm, p), url in zip(customers, urls, strict=True))
    finally:
        pg.stop()
    print(f"{args.customers} customers x {args.records} source records")
    print(f"one by one (crmsync push):        {single:7.1f} s   every record once: {once_single}")
    print(f"{args.workers} workers on Temporal (enqueue): {fleet:7.1f} s   every record once: {once_fleet}")
    print(f"speed-up: {single / fleet:.2f}x")


if __name__ == "__main__":
    main()
