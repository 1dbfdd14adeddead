"""crmsync on Temporal: every customer's push as a workflow whose id is its profile and CRM org, carried
out by `crmsync worker` processes on any number of machines that share one PostgreSQL state store.

model.py    the job and its progress (plain data, safe in workflow code)
workflows.py the deterministic workflows (no I/O): PushWorkflow, ScheduledPushWorkflow
activities.py the push's steps: prepare, then the push itself with heartbeats
worker.py   `crmsync worker`
client.py   starting, scheduling and listing pushes on a Temporal server
cli.py      the commands: worker, enqueue, schedule

temporalio is an optional dependency (extra `fleet`): nothing here is imported by the single-machine
commands."""
