"""`crmsync worker`: a Temporal worker for crmsync's workflows and activities. Any number of them, on
any machines, share the work of a task queue; each needs the same PostgreSQL state store and the same
paths to profiles and sources. Stops on SIGTERM or Ctrl-C once its running activities are cancelled."""

from __future__ import annotations

import asyncio
import signal
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from temporalio.worker import Worker

from engine.fleet import activities
from engine.fleet.model import DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE
from engine.fleet.workflows import PushWorkflow, ScheduledPushWorkflow


@dataclass
class WorkerOptions:
    address: str  # HOST:PORT of the Temporal frontend
    namespace: str = DEFAULT_NAMESPACE
    task_queue: str = DEFAULT_TASK_QUEUE
    max_pushes: int = 4  # pushes this worker carries at once (each is a thread and a few connections)


async def serve(options: WorkerOptions, ready: asyncio.Event | None = None) -> None:
    from engine.fleet.client import connect, ensure_search_attributes

    client = await connect(options.address, options.namespace)
    await ensure_search_attributes(client, options.namespace)
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
                        max_concurrent_activities=options.max_pushes * 2)
        async with worker:
            print(f"worker on {options.address} namespace {options.namespace} task queue "
                  f"{options.task_queue}: ready", flush=True)
            if ready is not None:
                ready.set()
            await stop.wait()
