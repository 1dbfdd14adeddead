"""Starting, scheduling and listing pushes on a Temporal server: what `crmsync enqueue` and `crmsync
schedule` do, and the search attributes a worker registers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
    WorkflowHandle,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from engine.errors import CrmsyncError
from engine.fleet.model import (
    SCHEDULE_PREFIX,
    SEARCH_ATTRIBUTES,
    PushJob,
    PushSummary,
    schedule_id,
    workflow_id,
)
from engine.fleet.workflows import PushWorkflow, ScheduledPushWorkflow, search_attributes

log = logging.getLogger("crmsync.fleet")


class AlreadyRunning(CrmsyncError):
    """A push of this profile to this CRM org is running on Temporal: a second is refused."""


async def has_search_attributes(client: Client, namespace: str) -> bool:
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace))
    except RPCError:
        return False
    return set(SEARCH_ATTRIBUTES) <= set(listed.custom_attributes)


async def ensure_search_attributes(client: Client, namespace: str) -> bool:
    """Registers crmsync's search attributes where they are missing and the server allows it (a
    self-hosted or dev server does; elsewhere an operator creates them and the memo says the same)."""
    if await has_search_attributes(client, namespace):
        return True
    keyword = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
    try:
        await client.operator_service.add_search_attributes(AddSearchAttributesRequest(
            namespace=namespace, search_attributes=dict.fromkeys(SEARCH_ATTRIBUTES, keyword)))
    except RPCError as exc:
        log.warning("search attributes %s not registered (%s): progress is in the memo and the query",
                    ", ".join(SEARCH_ATTRIBUTES), exc.message)
        return False
    return True


def memo(job: PushJob, state: str) -> dict[str, Any]:
    return {"profile": job.profile_name, "org": job.org, "state": state}


async def enqueue(client: Client, job: PushJob, task_queue: str) -> WorkflowHandle[Any, PushSummary]:
    """The push started, or AlreadyRunning naming the one that runs (a closed one's id may be reused)."""
    wanted = workflow_id(job.profile_name, job.org)
    try:
        return await client.start_workflow(
            PushWorkflow.run, job, id=wanted, task_queue=task_queue, memo=memo(job, "queued"),
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=search_attributes(job, "queued") if job.search_attributes else None)
    except WorkflowAlreadyStartedError:
        running = await client.get_workflow_handle(wanted).describe()
        raise AlreadyRunning(f"a push of {job.profile_name} to {job.org} is already running on Temporal: "
                             f"workflow {wanted}, run {running.run_id}, started "
                             f"{stamp(running.start_time)}; nothing was enqueued: "
                             "enqueue again once it has ended") from None


@dataclass
class ScheduleRow:
    id: str
    every: str
    next_at: str
    last: str


def schedule_of(job: PushJob, every: timedelta, task_queue: str) -> Schedule:
    action = ScheduleActionStartWorkflow(
        ScheduledPushWorkflow.run, job, id=f"{schedule_id(job.profile_name, job.org)}/run",
        task_queue=task_queue, memo=memo(job, "scheduled"))
    return Schedule(action=action, spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
                    policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP))


async def create_schedule(client: Client, job: PushJob, every: timedelta, task_queue: str) -> str:
    """A schedule that pushes the profile every `every` (a run still going when the next is due makes it
    skip); an existing schedule of the same profile and org is updated to this one."""
    wanted = schedule_id(job.profile_name, job.org)
    schedule = schedule_of(job, every, task_queue)
    try:
        await client.create_schedule(wanted, schedule, memo=memo(job, "scheduled"))
        return "created"
    except ScheduleAlreadyRunningError:
        replacement: Callable[[ScheduleUpdateInput], ScheduleUpdate] = lambda _: ScheduleUpdate(schedule)  # noqa: E731
        await client.get_schedule_handle(wanted).update(replacement)
        return "updated"


async def delete_schedule(client: Client, profile_name: str, org: str) -> None:
    wanted = schedule_id(profile_name, org)
    try:
        await client.get_schedule_handle(wanted).delete()
    except RPCError as exc:
        raise CrmsyncError(f"no schedule {wanted} to delete: {exc.message}") from None


async def trigger_schedule(client: Client, profile_name: str, org: str) -> None:
    await client.get_schedule_handle(schedule_id(profile_name, org)).trigger(
        overlap=ScheduleOverlapPolicy.SKIP)


def stamp(at: datetime) -> str:
    return f"{at:%Y-%m-%dT%H:%M:%SZ}"


async def list_schedules(client: Client) -> list[ScheduleRow]:
    rows = []
    async for listed in await client.list_schedules():
        if not listed.id.startswith(SCHEDULE_PREFIX + "/"):
            continue
        spec = listed.schedule.spec if listed.schedule else None
        every = ", ".join(str(i.every) for i in spec.intervals) if spec else ""
        info = listed.info
        next_at = stamp(info.next_action_times[0]) if info and info.next_action_times else ""
        last = stamp(info.recent_actions[-1].started_at) if info and info.recent_actions else ""
        rows.append(ScheduleRow(listed.id, every, next_at, last))
    return sorted(rows, key=lambda r: r.id)
