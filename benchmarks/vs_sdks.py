"""crmsync against what users would otherwise run, in the same run (issue 14, point 4): the same
generated records pushed to the same CRM emulator (a separate process, fresh per contender, at the same
latency and under the CRM's published limits), seeded so that some records exist (updates) and the
others do not (creates), by

- crmsync (the engine's push, as `crmsync push` runs it);
- a per-record script with the CRM's own SDK (look up by identity, then create or update);
- a hand-batched script with the same SDK (one look-up per chunk, then batch create and update).

It prints each contender's requests and wall time, the ratios, and checks each one's result in the CRM
(every record once, its values and its parent right), so that the comparison is fair. The scripts get
the records already mapped by crmsync's own mapping (a user's script would map them too, with CPU of its
own): only the sync is theirs. Salesforce is served over TLS (simple-salesforce speaks only HTTPS).

    python benchmarks/vs_sdks.py [--crm all|salesforce|hubspot] [--total 1000] [--latency-ms 20]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import sdk_hubspot  # noqa: E402
import sdk_salesforce  # noqa: E402
from push_first_sync import OAUTH, PROFILES, served  # noqa: E402
from sdk_rows import Row  # noqa: E402

from engine.catalog import load_profile  # noqa: E402
from engine.exampledata import generate  # noqa: E402
from engine.mapping import stream_order  # noqa: E402
from engine.plan import make_plan_sync  # noqa: E402
from engine.pushrun import PushRequest, run_push  # noqa: E402

SEEDED_STREAMS = ("employer", "employer_contact", "broker_contact")  # found by identity alone
OBJECTS = {"salesforce": ("Account", "Contact"), "hubspot": ("companies", "contacts")}
TOKEN = "sandbox-token"  # the HubSpot emulator's private-app token
CONTENDERS = ("crmsync", "per_record", "hand_batched")


@dataclass
class Contender:
    name: str
    requests: int = 0
    refused_429: int = 0
    wall_s: float = 0.0
    failed: int = 0  # records the contender itself saw refused
    problems: list[str] | None = None  # what the check found wrong in the CRM


def rows_of(profile: Path, source: Path) -> list[Row]:
    """The records a first sync writes (the offline plan's new ones), parents' streams first."""
    bundle = load_profile(profile)
    plan = make_plan_sync(bundle, source)
    order = {stream: at for at, stream in enumerate(stream_order(bundle.profile.model))}
    new = sorted((r for r in plan.records if r.status == "net_new"), key=lambda r: order[r.stream])
    return [Row(r.stream, r.source_id, r.object, dict(r.values), r.parents[0][1] if r.parents else None)
            for r in new]


def seeded(rows: list[Row], share: float) -> list[Row]:
    """Every n-th record of the streams found by identity alone: already in the CRM before the sync."""
    every = max(1, round(1 / share))
    return [row for at, row in enumerate(rows) if row.stream in SEEDED_STREAMS and at % every == 0]


def seed_file(crm: str, rows: list[Row], path: Path) -> Path:
    """What the CRM holds of those records before the sync: their identity and name, nothing else."""
    data: dict[str, list[dict[str, Any]]] = {name: [] for name in OBJECTS[crm]}
    for row in rows:
        if crm == "salesforce":
            keep = ("Name", "Website") if row.object == "Account" else ("LastName", "Email")
            data[row.object].append({name: row.fields[name] for name in keep})
        else:
            keep = ("name", "domain") if row.object == "companies" else ("lastname", "email")
            data[row.object].append({"properties": {name: row.fields[name] for name in keep}})
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def requests_answered(url: str) -> tuple[int, int]:
    log = httpx.get(f"{url}/_sandbox/requests", timeout=60, verify=False).json()
    mine = [entry for entry in log if not entry["path"].startswith("/_sandbox")]
    return len(mine), sum(entry["status"] == 429 for entry in mine)


def text(value: Any) -> str | None:
    """A value as the CRM's answer and the record compare: numbers by value, everything as text."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def check(crm: str, url: str, rows: list[Row]) -> list[str]:
    """Every record once in the CRM (by its BenefitFlow id), with its values and its parent; and no other
    record (a seeded one updated, not created again)."""
    snapshot = httpx.get(f"{url}/_sandbox/records", timeout=120, verify=False).json()
    key = "BenefitFlow_Id__c" if crm == "salesforce" else "benefitflow_id"
    fields_of: Callable[[dict[str, Any]], dict[str, Any]] = (
        (lambda r: r) if crm == "salesforce" else (lambda r: r["properties"]))
    id_of: Callable[[dict[str, Any]], str] = (
        (lambda r: r["Id"]) if crm == "salesforce" else (lambda r: r["id"]))
    problems: list[str] = []
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for object_name in OBJECTS[crm]:
        records = snapshot.get(object_name, [])
        expected = sum(row.object == object_name for row in rows)
        if len(records) != expected:
            problems.append(f"{object_name}: {len(records)} records in the CRM, {expected} expected")
        for record in records:
            by_key.setdefault((object_name, str(fields_of(record).get(key))), []).append(record)
    crm_id = {row.ref: id_of(hits[0]) for row in rows
              if len(hits := by_key.get((row.object, row.source_id), [])) == 1}
    edges = {(a["fromId"], a["toId"], a["associationTypeId"]) for a in snapshot.get("associations", [])}
    for row in rows:
        hits = by_key.get((row.object, row.source_id), [])
        if len(hits) != 1:
            problems.append(f"{row.ref}: {len(hits)} records in the CRM")
            continue
        fields = fields_of(hits[0])
        wrong = [name for name, value in row.fields.items() if text(fields.get(name)) != text(value)]
        if wrong:
            problems.append(f"{row.ref}: {', '.join(wrong)} not as written")
        if row.parent and not has_parent(crm, row, fields, crm_id, edges):
            problems.append(f"{row.ref}: not linked to its parent {row.parent}")
    return problems


def has_parent(crm: str, row: Row, fields: dict[str, Any], crm_id: dict[str, str],
               edges: set[tuple[str, str, int]]) -> bool:
    parent = crm_id.get(row.parent or "")
    if crm == "salesforce":
        return parent is not None and fields.get(sdk_salesforce.PARENT_FIELD[row.stream]) == parent
    return (crm_id[row.ref], parent, sdk_hubspot.ASSOCIATION[row.stream]) in edges


def run_crmsync(crm: str, url: str, source: Path, state: Path) -> int:
    """The push; returns the records it sent that the CRM refused (not those its plan held back)."""
    result = run_push(PushRequest(ROOT / "profiles" / PROFILES[crm], source, base_url=url, state_dir=state,
                                  progress=False), Console(stderr=True, quiet=True))
    return sum(o.result == "error" and o.action is not None for o in result.outcomes)


def run_sdk(crm: str, how: str, url: str, ca_file: str, rows: list[Row]) -> int:
    if crm == "salesforce":
        sf = sdk_salesforce.connect(url, ca_file, {k.removeprefix("CRMSYNC_").lower(): v
                                                     for k, v in OAUTH.items()})
        return getattr(sdk_salesforce, how)(sf, rows)
    return getattr(sdk_hubspot, how)(sdk_hubspot.connect(url, TOKEN), rows)


def compare(crm: str, total: int, latency_ms: int, share: float, names: list[str]) -> list[Contender]:
    work = Path(tempfile.mkdtemp(prefix="crmsync-vs-sdks-"))
    counts = generate(work / "data", total, seed=7)
    rows = rows_of(ROOT / "profiles" / PROFILES[crm], work / "data")
    existing = seeded(rows, share)
    seed = seed_file(crm, existing, work / "seed.json")
    print(f"{crm}: {sum(counts.values())} source records, {len(rows)} to write ({len(existing)} already "
          f"in the CRM by identity), latency {latency_ms} ms")
    os.environ.update({"CRMSYNC_ACCESS_TOKEN": TOKEN} if crm == "hubspot" else OAUTH)
    contenders = []
    for name in names:
        here = work / name
        here.mkdir()
        tls = ("--tls",) if crm == "salesforce" else ()
        with served(crm, latency_ms, "--seed", str(seed), *tls, cwd=here) as (url, _):
            ca_file = str(here / ".crmsync" / "sandbox-tls" / "sandbox-ca.pem")
            if tls:
                os.environ["SSL_CERT_FILE"] = ca_file  # crmsync trusts the emulator's CA as httpx does
            else:
                os.environ.pop("SSL_CERT_FILE", None)
            contender = Contender(name)
            started = time.perf_counter()
            contender.failed = (run_crmsync(crm, url, work / "data", here / "state") if name == "crmsync"
                                else run_sdk(crm, name, url, ca_file, rows))
            contender.wall_s = time.perf_counter() - started
            contender.requests, contender.refused_429 = requests_answered(url)
            contender.problems = check(crm, url, rows)
        contenders.append(contender)
        print(line(contender), flush=True)
    report(contenders)
    return contenders


def line(c: Contender) -> str:
    verdict = "every record once, values and parent right" if not c.problems else \
        f"{len(c.problems)} problems: {'; '.join(c.problems[:3])}"
    return (f"  {c.name:13s} requests {c.requests:6d} ({c.refused_429} answered 429)  "
            f"wall {c.wall_s:8.2f} s  refused records {c.failed}  check: {verdict}")


def report(contenders: list[Contender]) -> None:
    by_name = {c.name: c for c in contenders}
    ours, per_record, batched = (by_name.get(name) for name in CONTENDERS)
    if ours and per_record:
        print(f"  crmsync vs per-record: {per_record.requests / ours.requests:.1f}x fewer requests, "
              f"{per_record.wall_s / ours.wall_s:.1f}x faster (issue 14 expects 67-93x and 25-34x)")
    if ours and batched:
        print(f"  crmsync vs hand-batched: requests {ours.requests / batched.requests:.2f}x, "
              f"wall {ours.wall_s / batched.wall_s:.2f}x (the goal: never slower, <= 1.00x within noise)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--crm", default="all", choices=["all", *OBJECTS])
    parser.add_argument("--total", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--existing", type=float, default=0.3, help="share of records already in the CRM")
    parser.add_argument("--contenders", default=",".join(CONTENDERS),
                        help="which of them run (the per-record scripts take minutes at 10,000 records)")
    args = parser.parse_args()
    wrong = 0
    for crm in OBJECTS if args.crm == "all" else [args.crm]:
        names = [name for name in CONTENDERS if name in args.contenders.split(",")]
        ran = compare(crm, args.total, args.latency_ms, args.existing, names)
        wrong += sum(bool(c.problems) for c in ran)
    raise SystemExit(1 if wrong else 0)


if __name__ == "__main__":
    main()
