"""Review app speed at 100,000 records: how long the plan takes to load into the review database, and
how long the first page and every kind of filter and search take to answer through the app itself
(its ASGI app over httpx.ASGITransport: the guard, the query, the template; no socket).

    python benchmarks/review_speed.py [--total 100000] [--runs 3]

Built first, untimed: `engine.exampledata.generate(total)` and its offline plan (`dry_run`, as
`crmsync review` makes it without --base-url). Half the planned records are then given a CRM id in the
review database (as a plan against a CRM that holds them would), so the CRM-id search has ids to
search. Each request is sent `--runs` times; the slowest is printed. Target: under 1 s each.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.catalog import load_profile  # noqa: E402
from engine.dryrun import dry_run  # noqa: E402
from engine.exampledata import generate  # noqa: E402
from engine.review.app import PushOptions, Review, build_app  # noqa: E402
from engine.review.db import load_plan  # noqa: E402

PROFILE = ROOT / "profiles" / "hubspot-benefitflow.yaml"
TARGET = 1.0


def prepared(total: int, folder: Path) -> tuple[Review, float]:
    generate(folder / "src", total)
    plan = dry_run(PROFILE, folder / "src", state_dir=folder / "state")
    bundle = load_profile(PROFILE)
    started = time.perf_counter()
    db = load_plan(folder / "review.sqlite", plan, bundle, {})
    loaded = time.perf_counter() - started
    db.execute("UPDATE records SET crm_id = printf('%018d', id * 7919) WHERE id % 2 = 0")
    db.execute("UPDATE records SET crm_id_lc = crm_id")
    db.close()
    return Review(folder / "review.sqlite", bundle, PushOptions(state_dir=folder / "state")), loaded


def requests_to_time(review: Review) -> list[tuple[str, str]]:
    """(what, path) of the first page and each filter and search kind, on values the plan has."""
    db = review.db
    email = db.execute("SELECT email FROM records WHERE email != '' LIMIT 1 OFFSET 5000").fetchone()[0]
    domain = db.execute("SELECT domain FROM records WHERE domain != '' LIMIT 1 OFFSET 2000").fetchone()[0]
    total = db.execute("SELECT COUNT(*) FROM records").fetchone()[0]
    name = db.execute("SELECT name FROM records LIMIT 1 OFFSET ?", (total * 2 // 5,)).fetchone()[0].split()[0]
    code = db.execute("SELECT code FROM causes ORDER BY count DESC LIMIT 1").fetchone()
    cause = db.execute("SELECT id FROM causes ORDER BY count DESC LIMIT 1").fetchone()
    last = (total + 49) // 50
    return [
        ("first page (counts, causes, filters, 50 rows)", "/"),
        ("status filter", "/rows?status=invalid"),
        ("stream filter", "/rows?stream=employer_contact"),
        ("field filter", "/rows?field=phone"),
        ("problem code filter", f"/rows?code={code[0] if code else 'none'}"),
        ("problem cause filter", f"/rows?cause={cause[0] if cause else 0}"),
        ("search by name", f"/rows?q={name}&within=name"),
        ("search by email", f"/rows?q={email}&within=email"),
        ("search by domain", f"/rows?q={domain}&within=domain"),
        ("search by source id", "/rows?q=ec-01234&within=source_id"),
        ("search by CRM id", "/rows?q=00000000000791&within=crm_id"),
        ("search in every column", f"/rows?q={name}"),
        ("combined: stream + status + search", f"/rows?stream=employer_contact&status=net_new&q={name}"),
        ("last page of everything", f"/rows?page={last}"),
        ("a record page", f"/record/{total // 2 + 1}"),
    ]


async def timed(review: Review, runs: int) -> list[tuple[str, float, int]]:
    app = build_app(review)
    transport = httpx.ASGITransport(app=app)
    figures = []
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        await client.get(f"/?token={review.keys.token}")
        for what, path in requests_to_time(review):
            took = []
            for _ in range(runs):
                started = time.perf_counter()
                answer = await client.get(path, headers={"HX-Request": "true"})
                took.append(time.perf_counter() - started)
                if answer.status_code != 200:
                    raise SystemExit(f"{path}: HTTP {answer.status_code}")
            figures.append((what, max(took), len(answer.content)))
        csrf = {"X-CSRF-Token": review.keys.csrf}
        started = time.perf_counter()
        await client.post("/select-matching", data={"stream": "employer_contact", "on": "0"}, headers=csrf)
        figures.append(("bulk deselect of a stream (POST)", time.perf_counter() - started, 0))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        print(f"generating and planning {args.total:,} records (untimed)...", flush=True)
        review, loaded = prepared(args.total, Path(folder))
        records = review.db.execute("SELECT COUNT(*) FROM records").fetchone()[0]
        print(f"load into the review database: {loaded:.2f} s ({records:,} records, "
              f"{(Path(folder) / 'review.sqlite').stat().st_size / 1e6:.0f} MB)")
        figures = asyncio.run(timed(review, args.runs))
    slow = [what for what, seconds, _ in figures if seconds >= TARGET]
    for what, seconds, size in figures:
        print(f"{what:<48} {seconds * 1000:8.1f} ms" + (f"  ({size / 1000:.0f} kB)" if size else ""))
    print(f"slowest of {args.runs} runs each; median of all: "
          f"{statistics.median(s for _, s, _ in figures) * 1000:.1f} ms; target < {TARGET:.0f} s: "
          + ("all met" if not slow else f"missed by {', '.join(slow)}"))
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
