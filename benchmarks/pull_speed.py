"""Pull speed, in two parts.

1. Matching: 100,000 CRM records against 100,000 local records (benchmarks/match_quality.py's data at
   that size), blocked on normalised keys, never all pairs: the features of both sides, the index of
   the local ones and every CRM record's ranked candidates. Prints the wall time of that work and the
   process's peak memory (ru_maxrss: the generated data included). Target: < 20 s, < 1 GB.
2. Listing: a pull from each CRM's sandbox at 100 ms latency, seeded with --records companies: the list
   requests sent against the fewest the `list` page size allows (ceil(records / page size)). Target: at
   most 1.05x.

    python benchmarks/pull_speed.py [--total 100000] [--records 5000] [--crm hubspot,salesforce,dynamics]
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.match_quality import PROFILE, crm_side, local_side  # noqa: E402
from engine.catalog import load_profile  # noqa: E402
from engine.gcpause import collector_paused  # noqa: E402
from engine.match import ref  # noqa: E402
from engine.pull.candidates import Local, LocalIndex  # noqa: E402
from engine.pull.features import crm_features, feature_fields, local_features  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def matching(total: int) -> None:
    bundle = load_profile(PROFILE)
    connector = bundle.connector.model
    mapped, _ = local_side(bundle, total, 11)
    cases = crm_side(mapped, 11)
    local_count = sum(len(v) for v in mapped.values())
    started, cpu = time.perf_counter(), time.process_time()
    shown = 0
    for object_name, records in mapped.items():
        spec = feature_fields(bundle, object_name)
        with collector_paused():  # as engine/pull/run.py's match_object does
            index = LocalIndex([Local(ref(r.stream, r.source_id), local_features(connector, spec, r))
                                for r in records])
            for case in cases:
                if case.object == object_name:
                    shown += bool(index.candidates(crm_features(connector, spec, case.fields)))
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"matching: {len(cases):,} CRM records x {local_count:,} local records in {took:.1f} s "
          f"({cpu:.1f} s of CPU; target < 20 s), {shown:,} with candidates; peak memory {peak_mb:,.0f} MB "
          "(target < 1,024 MB)")


SEED = {"hubspot": ("companies", lambda i: {"name": f"Co {i}", "domain": f"co{i}.example.com"}),
        "salesforce": ("Account", lambda i: {"Name": f"Co {i}", "Website": f"https://co{i}.example.com"}),
        "dynamics": ("accounts", lambda i: {"name": f"Co {i}", "websiteurl": f"https://co{i}.example.com"})}
COMPANY = {"hubspot": "companies", "salesforce": "Account", "dynamics": "account"}


def listing(crm: str, count: int) -> None:
    from engine.pull.run import run_pull
    from tests.pushkit import PROFILES, credentials_file, served

    object_name, make = SEED[crm]
    page = load_profile(PROFILES[crm]).connector.model.endpoints.list.page_size or 100
    seed = {object_name: [make(i) for i in range(count)]}
    with tempfile.TemporaryDirectory() as folder, served(crm, seed=seed, latency_ms=100) as (_, url):
        work = Path(folder)
        (work / "empty").mkdir()
        started = time.perf_counter()
        result = run_pull(PROFILES[crm], work / "empty", base_url=url, object_name=COMPANY[crm],
                          state_dir=work / "state", credentials_file=credentials_file(crm, work / "creds"))
        took = time.perf_counter() - started
        fetched = result.fetched[0]
        least = math.ceil(count / page)
        print(f"listing {crm}: {fetched.records:,} records in {fetched.pages} list requests "
              f"({result.requests} sent in all), the least {least} allows: {fetched.pages / least:.2f}x "
              f"(target <= 1.05x); {took:.1f} s at 100 ms latency")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="pull speed: matching and listing")
    parser.add_argument("--total", type=int, default=100_000, help="local records (CRM: about as many)")
    parser.add_argument("--records", type=int, default=5_000, help="companies seeded in each sandbox")
    parser.add_argument("--crm", default="hubspot,salesforce,dynamics")
    args = parser.parse_args(argv)
    matching(args.total)
    for crm in args.crm.split(","):
        listing(crm, args.records)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
