"""The review app's Pull page at 100,000 pulled records: the first page and each filter, as the browser
asks for them (HTTP to the served app, the page rendered), over a state dir holding that many pulled
companies (half Match Found with three ranked candidates, four in ten New, one in ten Linked). Prints
each request's wall time, best of three. Target: every one < 1 s.

    python benchmarks/review_pull_speed.py [--total 100000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from engine.pull.state import Listing, save_matches, save_page  # noqa: E402
from engine.store import Link, Store  # noqa: E402
from tests.browserkit import review_of, serving  # noqa: E402
from tests.pushkit import PROFILES, ROOT  # noqa: E402

PROFILE = "hubspot-benefitflow"
CHUNK = 10_000
TARGET_S = 1.0


def company(i: int) -> tuple[str, dict[str, str]]:
    return str(10_000_000 + i), {"hs_object_id": str(10_000_000 + i), "name": f"Company {i} Holdings",
                                 "domain": f"company{i}.example", "website": f"https://company{i}.example",
                                 "phone": f"+1415555{i % 10_000:04d}", "city": "San Francisco", "state": "CA"}


def decision(i: int) -> tuple[str, list[dict[str, object]]]:
    if i % 10 < 5:
        return "match_found", [{"ref": f"employer/emp-{i}-{k}", "score": round(0.95 - k * 0.1, 2),
                                "reasons": [f"website company{i}.example", "name 0.93"]} for k in range(3)]
    return ("new", []) if i % 10 < 9 else ("linked", [])


def fill(state: Path, total: int) -> None:
    store = Store(state)
    for start in range(0, total, CHUNK):
        ids = range(start, min(start + CHUNK, total))
        save_page(store, PROFILE, "companies", Listing(listing="bench"), [company(i) for i in ids])
    save_matches(store, PROFILE, "companies", [(company(i)[0], *decision(i)) for i in range(total)])
    store.save_links(PROFILE, [Link("employer", f"emp-{i}", "companies", company(i)[0])
                               for i in range(total) if decision(i)[0] == "linked"])
    store.close()


def timed(client: httpx.Client, url: str) -> tuple[float, int]:
    best, size = float("inf"), 0
    for _ in range(3):
        started = time.perf_counter()
        answer = client.get(url, headers={"HX-Request": "true"})
        best = min(best, time.perf_counter() - started)
        answer.raise_for_status()
        size = len(answer.content)
    return best, size


ASKED = [("first page", "/pull"), ("Match Found", "/pull/rows?object=companies&decision=match_found"),
         ("New", "/pull/rows?object=companies&decision=new"),
         ("Linked", "/pull/rows?object=companies&decision=linked"),
         ("best score >= 0.9", "/pull/rows?object=companies&min_score=0.9"),
         ("search a name", "/pull/rows?object=companies&q=Company+77777+Holdings"),
         ("search a CRM id", "/pull/rows?object=companies&q=10054321"),
         ("search a local ref", "/pull/rows?object=companies&q=employer%2Femp-4242-1"),
         ("search, nothing found", "/pull/rows?object=companies&q=no+such+thing"),
         ("page 1,000 of New", "/pull/rows?object=companies&decision=new&page=1000")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        state = Path(folder) / "state"
        started = time.perf_counter()
        fill(state, args.total)
        print(f"{args.total:,} pulled companies written in {time.perf_counter() - started:.1f} s")
        measure(state, ASKED)


def measure(state: Path, asked: list[tuple[str, str]]) -> None:
    """The app served over `state` (the example data's offline plan beside it), each page asked for
    and its time printed, then the slowest against the target."""
    review = review_of(PROFILES["hubspot"], ROOT / "examples" / "data", state)
    with serving(review) as address, httpx.Client(follow_redirects=True, timeout=120) as client:
        client.get(address)
        base = address.split("?")[0].rstrip("/")
        worst = 0.0
        for label, path in asked:
            took, size = timed(client, base + path)
            worst = max(worst, took)
            print(f"{label:<28} {took * 1000:7.0f} ms  ({size / 1024:,.0f} KB)")
        verdict = "met" if worst < TARGET_S else "MISSED"
        print(f"slowest {worst * 1000:,.0f} ms: target < {TARGET_S * 1000:,.0f} ms {verdict}")


if __name__ == "__main__":
    main()
