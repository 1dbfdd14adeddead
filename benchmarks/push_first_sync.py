"""First sync of N records (all five streams) against a served sandbox with latency and the CRM's
published rate limit; prints requests sent against the minimum the batch limits allow, and wall time
against the floor that the rate limit and latency set.

    python benchmarks/push_first_sync.py [--crm hubspot] [--total 10000] [--latency-ms 100]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.catalog import load_profile  # noqa: E402
from engine.connector import AssociationRelation  # noqa: E402
from engine.exampledata import generate  # noqa: E402
from engine.mapping import stream_order  # noqa: E402
from engine.plan import make_plan_sync  # noqa: E402
from engine.pushrun import PushRequest, run_push  # noqa: E402
from engine.render import base_context, endpoint_for, render_lookups  # noqa: E402
from engine.templating import fill  # noqa: E402

PROFILES = {"hubspot": "hubspot-benefitflow.yaml", "salesforce": "salesforce-benefitflow.yaml",
            "dynamics": "dynamics-benefitflow.yaml"}
METADATA = ("/properties/", "/describe", "EntityDefinitions")  # the metadata endpoints' paths
# the connectors' address probes, sent once without credentials before a run's first request
PROBES = {"/services/data/", "/api/data/v9.2/", "/crm/v3/objects/contacts"}
API_ROOT = {"dynamics": "/api/data/v9.2"}  # where the API lives on the emulator's host
TOKENS = {"hubspot": {"CRMSYNC_ACCESS_TOKEN": "sandbox-token"}}
OAUTH = {"CRMSYNC_CLIENT_ID": "sandbox-client", "CRMSYNC_CLIENT_SECRET": "sandbox-secret",
         "CRMSYNC_REFRESH_TOKEN": "sandbox-refresh"}


@dataclass
class Need:
    """The fewest requests of one kind to one endpoint path."""

    label: str  # lookups | writes | associations
    kind: str  # the endpoint kind
    path: str
    count: int


def minimum_requests(profile: Path, source: Path) -> list[Need]:
    """The fewest requests the CRM's batch limits allow for this data's look-ups, writes and
    associations: per stream, the look-ups of its identity values packed as full as the endpoint's
    value and length limits allow (selecting only the id), ceil(creates / batch), and associations."""
    bundle = load_profile(profile)
    connector = bundle.connector.model
    plan = make_plan_sync(bundle, source)  # offline: every valid record is new
    need: list[Need] = []
    for stream, spec in bundle.profile.model.streams.items():
        ours = [r for r in plan.records if r.stream == stream and r.status == "net_new"]
        if not ours:
            continue
        obj = connector.objects[spec.object]
        key = obj.identity_keys[spec.identity.key]
        values = sorted({v for r in ours for v in r.identity.get(key.parts[0].name, [])})
        # the look-up endpoint's limits (values per request, URL or body length) decide how many
        lookups = render_lookups(connector, spec.object, key.parts[0].field, values, [obj.id_field],
                                 key.match == "contains", connector.base_url)
        need.append(Need("lookups", "lookup", url_path(lookups[0].url), len(lookups)))
        create = endpoint_for(connector, spec.object, "create")
        need.append(Need("writes", "create", url_path(fill(create.path, base_context(connector, obj))),  # type: ignore[union-attr]
                         math.ceil(len(ours) / (create.batch.max if create and create.batch else 1))))
        for parent in spec.parents:
            relation = obj.relations[parent.relation]
            if relation.kind == "association":
                assoc = endpoint_for(connector, spec.object, "associate")
                linked = sum(1 for r in ours if any(p[0] == parent.relation for p in r.parents))
                need.append(Need("associations", "associate", "", math.ceil(
                    linked / (assoc.batch.max if assoc and assoc.batch else 1))))
    return need


def url_path(url: str) -> str:
    return httpx.URL(url).path


def floor_seconds(profile: Path, need: list[Need], latency_s: float,
                  fetches_token: bool) -> tuple[float, float]:
    """The least wall time the published rate limits and the latency allow, as (rate, chain); the floor
    is the larger.

    rate: for each published rule of R requests per W seconds (in any window of W seconds) that counts
    n of the minimum requests, the last of them cannot be sent before floor((n - 1) / R) * W after the
    first (each window holds at most R of them), and is answered a latency later. The smooth rate
    (n - R) / R * W used before undercounts a rolling window: HubSpot's 223 requests under 190 per 10 s
    gave 1.7 s, but the 191st request cannot go before 10 s, whatever the client does.

    chain: the latency of the longest chain of requests that must follow one another. A stream's
    look-ups come first (nothing can be decided before the CRM answers); its creates follow, after the
    creates of the parents whose id they carry (a blocking parent: a field or bind relation, or a
    required one); an association follows the creates of both its ends. Streams do not otherwise wait
    for one another: all look-ups can go at once. (Before, the floor charged two latencies per stream and
    one for associations, as if streams had to be planned and written one after another.) A run given
    a refresh token rather than an access token (Salesforce and Dynamics here) first fetches an access
    token: one more latency before any other request."""
    bundle = load_profile(profile)
    connector, spec = bundle.connector.model, bundle.profile.model
    rate = 0.0
    token = 1 if fetches_token else 0
    for rule in connector.limits.rate:
        n = sum(n.count for n in need if rule.applies(n.kind, n.path))
        if n:
            rate = max(rate, (n - 1) // rule.requests * rule.per_seconds + (token + 1) * latency_s)
    created: dict[str, int] = {}  # stream -> how many latencies until its creates are answered
    steps = 0
    for stream in stream_order(spec):
        relations = connector.objects[spec.streams[stream].object].relations
        parents = [(p, relations[p.relation]) for p in spec.streams[stream].parents if p.stream in created]
        blocking = [created[p.stream] for p, relation in parents
                    if p.required or not isinstance(relation, AssociationRelation)]
        created[stream] = max([token + 1, *blocking]) + 1
        associated = [max(created[stream], created[p.stream]) + 1 for p, relation in parents
                      if isinstance(relation, AssociationRelation)]
        steps = max([steps, created[stream], *associated])
    return rate, steps * latency_s


@contextlib.contextmanager
def served(crm: str, latency_ms: int) -> Iterator[tuple[str, int]]:
    """The CRM's emulator in its own process, as `crmsync sandbox serve` runs it: the engine and the
    emulator do not share an interpreter, as the engine and a real CRM do not."""
    process = subprocess.Popen([sys.executable, "-m", "engine.cli", "sandbox", "serve", crm, "--latency-ms",
                                str(latency_ms)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        for line in process.stdout:  # type: ignore[union-attr]
            if line.startswith("listening on "):
                yield line.removeprefix("listening on ").strip(), process.pid
                return
        raise RuntimeError(f"the {crm} emulator did not start")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far; None where /proc cannot tell (not Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def requests_seen(url: str) -> Counter[str]:
    """What the emulator answered, by kind: metadata reads and token requests apart."""
    kinds: Counter[str] = Counter()
    for entry in httpx.get(f"{url}/_sandbox/requests", timeout=60).json():
        path = entry["path"]
        if path.startswith("/_sandbox"):
            continue
        if entry["method"] == "GET" and path in PROBES:
            kinds["probe"] += 1
            continue
        kinds["token" if "token" in path else "metadata" if any(m in path for m in METADATA) else "work"] += 1
    return kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--crm", default="hubspot", choices=sorted(PROFILES))
    parser.add_argument("--total", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=100)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="crmsync-bench-"))
    counts = generate(work / "data", args.total, seed=7)
    profile = ROOT / "profiles" / PROFILES[args.crm]
    need = minimum_requests(profile, work / "data")
    minimum = sum(n.count for n in need)
    parts = Counter[str]()
    for n in need:
        parts[n.label] += n.count
    os.environ.update(TOKENS.get(args.crm, OAUTH))
    with served(args.crm, args.latency_ms) as (url, pid):
        emulator_before = cpu_seconds(pid)
        started, cpu_started = time.perf_counter(), time.process_time()
        result = run_push(PushRequest(profile, work / "data", base_url=url + API_ROOT.get(args.crm, ""),
                                      state_dir=work / "state", progress=False), Console(stderr=True))
        elapsed, engine_cpu = time.perf_counter() - started, time.process_time() - cpu_started
        emulator_after = cpu_seconds(pid)
        seen = requests_seen(url)
    shutil.rmtree(work, ignore_errors=True)
    rate_floor, chain_floor = floor_seconds(profile, need, args.latency_ms / 1000, args.crm not in TOKENS)
    floor = max(rate_floor, chain_floor)
    sent = seen["work"]
    print(f"{args.crm}: {sum(counts.values())} records {counts}")
    print(f"summary: {result.summary()}")
    print(f"requests sent (look-ups, writes, associations): {sent}, besides {seen['metadata']} metadata and "
          f"{seen['token']} token requests and {seen['probe']} address probe; "
          f"minimum the batch limits allow: {minimum} {dict(parts)}; "
          f"ratio {sent / minimum:.3f} (target <= 1.1)")
    print(f"wall time: {elapsed:.2f} s; floor from the rate limit and latency: {floor:.2f} s (rate limits "
          f"{rate_floor:.2f} s, dependency chain {chain_floor:.2f} s); ratio "
          f"{f'{elapsed / floor:.3f}' if floor else 'n/a (no floor)'} (target <= 1.25)")
    # what the floor leaves out: the CPU both sides spend on the records (this machine's cores are shared
    # between the engine and the emulator); a wall time near the engine's CPU time is CPU-bound
    emulator_cpu = (f"{emulator_after - emulator_before:.2f} s" if emulator_before is not None
                    and emulator_after is not None else "n/a")
    print(f"CPU during the push: engine {engine_cpu:.2f} s, emulator {emulator_cpu} "
          f"({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
