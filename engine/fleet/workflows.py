"""The workflows: deterministic code that only orders activities and keeps progress (no I/O, no clock,
no randomness; Temporal replays it from its history on any worker). A push is `prepare`, then `push`,
an activity that heartbeats and is retried on another worker when its worker dies: the retry resumes
from the journal in the shared state store, so nothing is lost or written twice."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from engine.fleet.model import SEARCH_ATTRIBUTES, Progress, PushJob, PushSummary, workflow_id

BAD_INPUT = "BadInput"  # an activity's error a retry cannot mend (a malformed profile, a missing folder)
PREPARE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3,
                            non_retryable_error_types=[BAD_INPUT])
STATE = SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTES[2])


def search_attributes(job: PushJob, state: str) -> TypedSearchAttributes:
    profile, org, _ = (SearchAttributeKey.for_keyword(name) for name in SEARCH_ATTRIBUTES)
    return TypedSearchAttributes([SearchAttributePair(profile, job.profile_name),
                                  SearchAttributePair(org, job.org), SearchAttributePair(STATE, state)])


def push_retry(job: PushJob) -> RetryPolicy:
    return RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                       maximum_interval=timedelta(minutes=1), maximum_attempts=job.attempts,
                       non_retryable_error_types=[BAD_INPUT])


@workflow.defn(name="crmsync.push")
class PushWorkflow:
    """One push of one profile to one CRM org; its id is `workflow_id(profile, org)`."""

    def __init__(self) -> None:
        self.now = Progress()

    @workflow.run
    async def run(self, job: PushJob) -> PushSummary:
        self.set_state(job, "preparing")
        # quick checks: a worker dead in them is noticed after this, and another does them again
        checks = timedelta(seconds=max(2 * job.heartbeat_seconds, 10))
        await workflow.execute_activity("crmsync.prepare", job, start_to_close_timeout=checks,
                                        retry_policy=PREPARE_RETRY)
        self.set_state(job, "pushing")
        try:
            summary = await workflow.execute_activity(
                "crmsync.push", job, result_type=PushSummary,
                start_to_close_timeout=timedelta(minutes=job.push_timeout_minutes),
                heartbeat_timeout=timedelta(seconds=job.heartbeat_seconds), retry_policy=push_retry(job))
        except ActivityError as exc:
            self.now.note = str(exc.cause or exc)
            self.set_state(job, "failed")
            raise ApplicationError(f"the push of {job.profile_name} to {job.org} failed: {self.now.note}",
                                   non_retryable=True) from exc
        self.now.note = summary.stopped or ""
        self.set_state(job, "finished", run_id=summary.run_id, summary=summary.summary,
                       attempts=summary.attempts)
        return summary

    @workflow.signal(name="report")
    def report(self, progress: Progress) -> None:
        """The push activity's progress (its heartbeat's, sent here so that `progress` can answer)."""
        if progress.attempt >= self.now.attempt:
            state = self.now.state
            self.now = progress
            self.now.state = state if state in ("finished", "failed") else progress.state

    @workflow.query(name="progress")
    def progress(self) -> Progress:
        return self.now

    def set_state(self, job: PushJob, state: str, **facts: object) -> None:
        """The state in the memo (and the search attribute where the namespace has it); once finished,
        the run id and the summary's counts there too, for `temporal workflow describe` and the UI."""
        self.now.state = state
        workflow.upsert_memo({"state": state, **facts})
        if job.search_attributes:
            workflow.upsert_search_attributes([STATE.value_set(state)])


@workflow.defn(name="crmsync.scheduled-push")
class ScheduledPushWorkflow:
    """What a schedule starts: the push as a child whose id is the profile's and org's, so that a push
    already running for them (enqueued, or a slow previous one) makes this one skip instead of
    running alongside. (A schedule adds a timestamp to the ids of the workflows it starts.)"""

    @workflow.run
    async def run(self, job: PushJob) -> PushSummary:
        wanted = workflow_id(job.profile_name, job.org)
        memo = {"profile": job.profile_name, "org": job.org, "state": "pushing"}
        try:
            child = await workflow.start_child_workflow(
                PushWorkflow.run, job, id=wanted, memo=memo,
                search_attributes=search_attributes(job, "queued") if job.search_attributes else None)
        except WorkflowAlreadyStartedError:
            workflow.upsert_memo({"state": "skipped"})
            return PushSummary(run_id=None, summary={}, attempts=0,
                               skipped=f"a push of {job.profile_name} to {job.org} was running ({wanted})")
        return await child
