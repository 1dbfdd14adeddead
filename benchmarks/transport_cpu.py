"""The client's CPU per request, transport by transport, in one run (issue 14, point 2): N batch-create
requests of 100 records at C in flight to the HubSpot emulator served in its own process (so its work is
not counted), through httpx's default transport (httpcore's pool on anyio), httpcore's pool on asyncio
streams (the transport before engine.pool) and engine.pool's pool (crm_transport). Prints CPU µs per
request for each and the ratios to httpx's default; the transports take turns, `--rounds` times, and
each figure's range over the rounds is printed.

    python benchmarks/transport_cpu.py [--requests 400] [--in-flight 16] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpcore
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulator_process import serving  # noqa: E402

from engine.jsoncodec import compact  # noqa: E402
from engine.transport import AsyncioBackend, crm_transport  # noqa: E402

# the HubSpot emulator without its rate limits (which `crmsync sandbox serve` keeps), until interrupted
UNLIMITED_HUBSPOT = """
import threading
from engine import sandbox
from engine.sandbox.common import running
emulator = sandbox.create("hubspot", rate_limit_per_10s=None, search_rate_limit_per_s=None)
with running(emulator) as url:
    print("listening on", url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
"""
Transport = Callable[[ssl.SSLContext, httpx.Limits], httpx.AsyncBaseTransport]


def httpcore_on_asyncio(tls: ssl.SSLContext, limits: httpx.Limits) -> httpx.AsyncBaseTransport:
    transport = httpx.AsyncHTTPTransport(verify=tls, limits=limits)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=tls, max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections, keepalive_expiry=limits.keepalive_expiry,
        http1=True, http2=False, network_backend=AsyncioBackend())
    return transport


TRANSPORTS: dict[str, Transport] = {
    "httpx default (httpcore pool, anyio)": lambda tls, limits: httpx.AsyncHTTPTransport(verify=tls,
                                                                                         limits=limits),
    "httpcore pool on asyncio": httpcore_on_asyncio,
    "engine.pool on asyncio": crm_transport,
}


async def send_all(make: Transport, url: str, requests: int, in_flight: int) -> float:
    """CPU seconds this process spent sending `requests` creates, `in_flight` at a time (as CrmClient:
    a semaphore of that bound, the pool twice as large)."""
    limits = httpx.Limits(max_connections=in_flight * 2)
    body = compact({"inputs": [{"properties": {"name": f"Company {i}", "domain": f"c{i}.example"}}
                               for i in range(100)]})
    bound = asyncio.Semaphore(in_flight)
    async with httpx.AsyncClient(transport=make(ssl.create_default_context(), limits), timeout=60,
                                 headers={"Authorization": "Bearer sandbox-token",
                                          "Content-Type": "application/json"}) as client:
        async def one() -> None:
            async with bound:
                answer = await client.post(f"{url}/crm/v3/objects/companies/batch/create", content=body)
                answer.raise_for_status()
        started = time.process_time()
        await asyncio.gather(*(one() for _ in range(requests)))
        return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--in-flight", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    command = [sys.executable, "-c", UNLIMITED_HUBSPOT]
    per_request: dict[str, list[float]] = {name: [] for name in TRANSPORTS}
    with serving(command, "hubspot") as url:
        for _ in range(args.rounds):
            for name, make in TRANSPORTS.items():
                cpu = asyncio.run(send_all(make, url, args.requests, args.in_flight))
                per_request[name].append(cpu / args.requests * 1e6)
    base = per_request[next(iter(TRANSPORTS))]
    print(f"{args.requests} batch creates of 100 records, {args.in_flight} in flight, {args.rounds} rounds "
          "(CPU µs per request, this process only; range over the rounds)")
    for name, figures in per_request.items():
        ratios = [mine / theirs for mine, theirs in zip(figures, base, strict=True)]
        print(f"  {name:38s} {min(figures):7.0f}-{max(figures):7.0f} µs  "
              f"{min(ratios):.2f}-{max(ratios):.2f}x httpx's default")


if __name__ == "__main__":
    main()
