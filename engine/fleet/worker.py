"""`crmsync worker`: a Temporal worker for crmsync's workflows and activities. Any number of them, on
any machines, share the work of a task queue; each needs the same PostgreSQL state store and the same
paths to profiles and sources. On SIGTERM or Ctrl-C it takes no more work, stops its pushes at their
next batch boundary (engine/fleet/activities.py) and exits 0 once they are recorded."""

from __future__ import annotations

import asyncio
import signal
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from temporalio.worker import Worker

from engine.client import request_timeout_s
from engine.fleet import activities
from engine.fleet.connection import TemporalConnection
from engine.fleet.model import DEFAULT_TASK_QUEUE
from engine.fleet.workflows import PushWorkflow, ScheduledPushWorkflow


@dataclass
class WorkerOptions:
    temporal: TemporalConnection
    task_queue: str = DEFAULT_TASK_QUEUE
    max_pushes: int = 4  # pushes this worker carries at once (each is a thread and a few connections)


async def serve(options: WorkerOptions, ready: asyncio.Event | None = None) -> None:
    from engine.fleet.client import ensure_search_attributes
    from engine.fleet.connection import connect

    client = await connect(options.temporal)
    await ensure_search_attributes(client, options.temporal.namespace)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop.set)
    threads = options.max_pushes * 2 + 2
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="crmsync-push") as pool:
        loop.set_default_executor(pool)  # the push activity's thread, and prepare's
        worker = Worker(client, task_queue=options.task_queue,
                        workflows=[PushWorkflow, ScheduledPushWorkflow],
                        activities=[activities.prepare, activities.push], activity_executor=pool,
                        max_concurrent_activities=options.max_pushes * 2,
                        # a stop lets each push end at its next batch boundary: its requests in flight
                        # answered (within a request timeout) and recorded, before they are cut off
                        graceful_shutdown_timeout=timedelta(seconds=request_timeout_s() + 10))
        async with worker:
            print(f"worker on {options.temporal.address} namespace {options.temporal.namespace} task queue "
                  f"{options.task_queue}: ready", flush=True)
            if ready is not None:
                ready.set()
            await stop.wait()
