"""Dry-run speed and memory: map + check + match + plan + render over N generated records (all five
streams) against a known CRM state that holds half of the records a first sync would create.

    python benchmarks/dryrun_100k.py [--total 100000] [--small 25000] [--crm hubspot,dynamics]

What is built first, untimed:
- the data: `engine.exampledata.generate(total, seed)`, one JSON Lines file per stream;
- the known CRM state: an offline plan of that data (no CRM) gives every record a first sync would
  create, with the wire values it would create it with; every second one of them, per stream, is put
  in the CRM: half of those exactly as the engine would write them (-> `synced`), the other half with
  the first field the profile may overwrite changed (-> `update`). The other half stays `net_new`;
- the look-up answers: the planner renders its look-up requests as usual, and the CRM records they
  would return (records of that object whose identity field, normalised, equals one of the looked-up
  values: what HubSpot's search `IN`/batch read by email and Dataverse's `eq` return) are computed
  in memory from that state and recorded once.

What is timed: a second dry-run (`engine.plan.make_plan`) that reads the source files and maps,
checks, renders the look-ups, matches, plans and renders every request, with the recorded answers
handed back where the look-ups would be sent. So the figure is the engine's own work; the HTTP round
trips and the decoding of the CRM's JSON answers are not in it. They are measured apart: at
--http-total records the same dry-run runs over HTTP against the in-process HubSpot emulator
(`httpx.ASGITransport`) seeded with the same state, the client's rate limiter off; its statuses must
equal those of the in-memory answers, which checks that the answers are what the CRM returns.
(The emulator scans its records for every look-up, so that time is mostly the emulator's.)

Memory: the same timed dry-run under tracemalloc at --small and --total records: the peak while
planning, what the finished plan holds, and the difference (working memory beyond the plan).

Mind the data: the generator gives contacts their company's main line, so 100,000 records hold about
8,000 distinct phone numbers, and `phone_e164` keeps what it parsed (phonenumbers takes ~40 µs a
number). Were every number distinct, the figure would be about a third lower (measured: ~10,000
records/s instead of ~14,000 for HubSpot at 100,000).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import sandbox  # noqa: E402
from engine.catalog import ProfileBundle, load_profile  # noqa: E402
from engine.client import Credentials, CrmClient, RateLimiter  # noqa: E402
from engine.connector import KeyPart  # noqa: E402
from engine.exampledata import generate  # noqa: E402
from engine.match import CrmRecord, StreamLookup, normalize  # noqa: E402
from engine.plan import Plan, make_plan, make_plan_sync  # noqa: E402
from engine.read import read_stream  # noqa: E402
from engine.validate import effective_fields  # noqa: E402

PROFILES = {"hubspot": "hubspot-benefitflow.yaml", "dynamics": "dynamics-benefitflow.yaml",
            "salesforce": "salesforce-benefitflow.yaml"}
EMULATED = {"hubspot"}  # CRMs whose emulator the HTTP cross-check runs against
MB = 1024 * 1024


@dataclass
class KnownState:
    """The CRM records present before the dry-run, by object."""

    bundle: ProfileBundle
    records: dict[str, list[CrmRecord]] = field(default_factory=dict)

    def count(self) -> int:
        return sum(len(v) for v in self.records.values())

    def answer(self, object_name: str, part: KeyPart, values: set[str]) -> list[CrmRecord]:
        """What a look-up of `values` in the part's field returns (the primary field only)."""
        connector = self.bundle.connector.model
        return [c for c in self.records.get(object_name, [])
                if values.intersection(normalize(connector, object_name, part, c.fields.get(part.field)))]


def bundle_fields(bundle: ProfileBundle, object_name: str) -> dict[str, Any]:
    return effective_fields(bundle.connector.model, bundle.profile.model.custom_fields, {}, object_name)


def known_state(bundle: ProfileBundle, source: Path) -> KnownState:
    """Half of what a first sync would create, per stream; half of that half with an outdated field."""
    profile, connector = bundle.profile.model, bundle.connector.model
    offline = make_plan_sync(bundle, source)
    state = KnownState(bundle)
    for stream, spec in profile.streams.items():
        id_field = connector.objects[spec.object].id_field
        keyed = {p.field for p in connector.objects[spec.object].identity_keys[spec.identity.key].parts}
        # an outdated value in a field the profile may overwrite; not in a unique field (an external id):
        # a CRM record holding another external id is another record, not this one outdated
        unique = {name for name, f in bundle_fields(bundle, spec.object).items() if f.unique}
        outdated = next((name for name, m in spec.fields.items()
                         if m.overwrite and name not in keyed and name not in unique), None)
        new = [r for r in offline.records if r.stream == stream and r.status == "net_new"]
        for n, record in enumerate(new[::2]):
            fields = dict(record.values)
            if n % 2 and outdated and outdated in fields:
                fields[outdated] = f"Old {fields[outdated]}"
            crm_id = f"{9_000_000 + state.count()}"
            state.records.setdefault(spec.object, []).append(CrmRecord(crm_id, {**fields, id_field: crm_id}))
    return state


class RecordedLookups:
    """Look-up answers computed once from the known state, then handed back in the order asked."""

    def __init__(self, state: KnownState) -> None:
        self.state = state
        self.answers: list[list[CrmRecord]] = []
        self.pending: dict[int, list[CrmRecord]] = {}
        self.replaying: Iterator[list[CrmRecord]] | None = None

    @contextmanager
    def recording(self) -> Iterator[None]:
        from engine import plan as plan_module

        real = plan_module.lookups_for

        def plan_and_answer(connector: Any, object_name: str, identities: Iterable[dict[str, list[str]]],
                            key: Any, *args: Any) -> StreamLookup:
            identities = list(identities)
            lookup = real(connector, object_name, identities, key, *args)
            values = {v for identity in identities for v in identity[key.parts[0].name]}
            self.pending[id(lookup)] = self.state.answer(lookup.object, key.parts[0], values)
            return lookup

        async def answered(connector: Any, lookup: StreamLookup, client: Any) -> list[CrmRecord]:
            self.answers.append(self.pending.pop(id(lookup)))
            return self.answers[-1]

        with mock.patch.object(plan_module, "lookups_for", plan_and_answer), \
                mock.patch.object(plan_module, "run_lookups", answered):
            yield

    @contextmanager
    def replaying_answers(self) -> Iterator[None]:
        """Each answer is handed back as new objects, as decoding the CRM's JSON would make them (so
        memory measured during the plan counts them)."""
        from engine import plan as plan_module

        answers = iter(self.answers)

        async def replayed(connector: Any, lookup: StreamLookup, client: Any) -> list[CrmRecord]:
            return [CrmRecord(c.id, dict(c.fields)) for c in next(answers)]

        with mock.patch.object(plan_module, "run_lookups", replayed):
            yield


NOT_SENT = object()  # a client the planner never sends through: look-ups are answered from the record


def plan_with(bundle: ProfileBundle, source: Path) -> Plan:
    return asyncio.run(make_plan(bundle, source, base_url="http://crm.invalid", client=NOT_SENT))  # type: ignore[arg-type]


def timed_plan(bundle: ProfileBundle, source: Path, lookups: RecordedLookups) -> tuple[Plan, float, float]:
    """The plan, its wall-clock seconds and this process's CPU seconds (other work on the machine
    stretches the first, not the second)."""
    with lookups.replaying_answers():
        gc.collect()
        started, cpu = time.perf_counter(), time.process_time()
        plan = plan_with(bundle, source)
        return plan, time.perf_counter() - started, time.process_time() - cpu


def measured_memory(bundle: ProfileBundle, source: Path, lookups: RecordedLookups) -> tuple[int, int]:
    """(peak bytes while planning, bytes the finished plan holds), both above what was there before."""
    with lookups.replaying_answers():
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        plan = plan_with(bundle, source)
        gc.collect()
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    del plan
    return peak - before, current - before


def read_seconds(bundle: ProfileBundle, source: Path) -> float:
    started = time.perf_counter()
    for stream, spec in bundle.profile.model.streams.items():
        for _ in read_stream(source, stream, spec.file):
            pass
    return time.perf_counter() - started


def http_plan(crm: str, bundle: ProfileBundle, source: Path, state: KnownState) -> tuple[Plan, float, int]:
    """The dry-run over HTTP against the in-process emulator seeded with `state`."""
    emulator = sandbox.create(crm, rate_limit_per_10s=None, search_rate_limit_per_s=None, daily_limit=None)
    connector = bundle.connector.model
    for object_name, records in state.records.items():
        api_name = connector.objects[object_name].api_name
        for record in records:
            emulator.seed_record(api_name, {"id": record.id, "properties": {
                k: v for k, v in record.fields.items() if k != connector.objects[object_name].id_field}})

    async def run() -> Plan:
        client = CrmClient(connector, "http://emulator", Credentials(access_token="sandbox-token"),
                           transport=httpx.ASGITransport(app=emulator.app()))
        client.limiter = RateLimiter(connector.limits.model_copy(update={"rate": []}))
        try:
            return await make_plan(bundle, source, base_url="http://emulator", client=client)
        finally:
            await client.close()

    started = time.perf_counter()
    plan = asyncio.run(run())
    return plan, time.perf_counter() - started, len(plan.lookups)


def statuses(plan: Plan) -> dict[str, str]:
    return {r.ref: r.status for r in plan.records}


Prepared = tuple[ProfileBundle, Path, KnownState, "RecordedLookups"]


def prepare(crm: str, total: int, seed: int, work: Path) -> Prepared:
    source = work / f"{crm}-{total}"
    generate(source, total, seed)
    bundle = load_profile(ROOT / "profiles" / PROFILES[crm])
    state = known_state(bundle, source)
    lookups = RecordedLookups(state)
    with lookups.recording():
        plan_with(bundle, source)
    return bundle, source, state, lookups


def report_speed(crm: str, total: int, seed: int, work: Path, repeat: int) -> Prepared:
    prepared = bundle, source, state, lookups = prepare(crm, total, seed, work)
    runs = [timed_plan(bundle, source, lookups) for _ in range(repeat)]
    plan = runs[0][0]
    summary = {k: v for k, v in plan.summary().items() if v}
    name, count = bundle.profile.model.name, len(plan.records)
    reading = read_seconds(bundle, source)
    print(f"{name}: {count:,} records; the CRM holds {state.count():,} of them")
    print(f"  statuses: {summary}")
    print(f"  requests: {len(plan.lookups):,} look-ups, {len(plan.writes):,} writes and associations")
    for n, (_, seconds, cpu) in enumerate(runs, start=1):
        print(f"  run {n}: map + check + match + plan + render {seconds:.2f} s = "
              f"{count / seconds:,.0f} records/s wall clock ({cpu:.2f} s of CPU = {count / cpu:,.0f}/s);"
              f" less reading the files ({reading:.2f} s): {count / (seconds - reading):,.0f}/s")
    return prepared


def report_memory(bundle: ProfileBundle, source: Path, lookups: RecordedLookups, total: int) -> None:
    peak, held = measured_memory(bundle, source, lookups)
    print(f"  memory at {total:,} records: peak {peak / MB:.1f} MB while planning; the plan holds "
          f"{held / MB:.1f} MB; beyond the plan {(peak - held) / MB:.1f} MB")


def report_http(crm: str, total: int, seed: int, work: Path) -> None:
    bundle, source, state, lookups = prepare(crm, total, seed, work)
    offline = timed_plan(bundle, source, lookups)[0]
    plan, seconds, sent = http_plan(crm, bundle, source, state)
    same = statuses(plan) == statuses(offline)
    counts = Counter(statuses(plan).values())
    print(f"  over HTTP at {total:,} records (in-process emulator): {seconds:.2f} s with {sent} look-up "
          f"requests; statuses {dict(counts)}; equal to the in-memory answers: {'yes' if same else 'NO'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--total", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=25_000)
    parser.add_argument("--http-total", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--crm", default="hubspot,dynamics")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs (the machine may be shared)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="crmsync-dryrun-"))
    try:
        for crm in args.crm.split(","):
            if not (ROOT / "profiles" / PROFILES[crm]).exists():
                print(f"{crm}: no shipped profile yet, skipped")
                continue
            bundle, source, _, lookups = report_speed(crm, args.total, args.seed, work, args.repeat)
            small = prepare(crm, args.small, args.seed, work)
            report_memory(small[0], small[1], small[3], args.small)
            report_memory(bundle, source, lookups, args.total)
            if crm in EMULATED and args.http_total:
                report_http(crm, args.http_total, args.seed, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
