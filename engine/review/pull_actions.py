"""What the Pull page does, through the calls `crmsync link`, `unlink`, `import` and `pull` make
(engine.pull.commands, engine.pull.bulk, engine.pull.run): link one record, unlink, import, and in bulk
link each record a filter finds to its best candidate (as a decisions file would) or import each New
one. A pull from the page runs in a background thread, its state polled by the page."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from engine.pull.bulk import Decision, apply_decisions
from engine.pull.commands import decided, import_records, link_one, unlink_each
from engine.pull.decisions import Outcome
from engine.review import background
from engine.review.pull_queries import PullFilter, matching
from engine.store import default_state_dir

if TYPE_CHECKING:
    from engine.pull.run import PullResult
    from engine.review.app import Review

DEFAULT_IMPORT_DIR = Path("crmsync-import")  # as `crmsync import --out` defaults


class PullActions:
    def __init__(self, review: Review, import_dir: Path = DEFAULT_IMPORT_DIR) -> None:
        self.review, self.import_dir = review, import_dir
        self.job: PullJob | None = None

    @property
    def state_dir(self) -> Path:
        return self.review.push.state_dir or default_state_dir()

    @property
    def profile(self) -> str:
        return self.review.bundle.profile.model.name

    @property
    def by(self) -> str:
        """Who decides, in the activity log: the app's --as user, else `review`."""
        return self.review.push.as_user or "review"

    def link(self, crm_id: str, local_ref: str) -> Outcome:
        return decided(self.review.bundle, self.by, self.state_dir,
                       lambda _, decider: link_one(decider, crm_id, local_ref))

    def unlink(self, what: list[str]) -> Outcome:
        return decided(self.review.bundle, self.by, self.state_dir,
                       lambda _, decider: unlink_each(decider, what))

    def import_(self, crm_ids: list[str], object_name: str, *, with_companies: bool = False) -> Outcome:
        """Import the named records (never "every New one": an empty list imports nothing)."""
        if not crm_ids:
            return Outcome("import")
        return decided(self.review.bundle, self.by, self.state_dir, lambda _, decider: import_records(
            decider, crm_ids, as_stream=None, with_companies=with_companies, out_dir=self.import_dir,
            object_name=object_name))

    def link_best(self, db: sqlite3.Connection, chosen: PullFilter) -> Outcome:
        """Each Match Found record the filter finds linked to its best candidate."""
        rows = matching(db, self.profile, replace(chosen, decision="match_found"))
        decisions = [Decision(crm_id, best, f"{chosen.object} {crm_id}") for crm_id, best in rows if best]
        if not decisions:
            return Outcome("link")
        return decided(self.review.bundle, self.by, self.state_dir,
                       lambda _, decider: apply_decisions(decider, decisions))

    def import_new(self, db: sqlite3.Connection, chosen: PullFilter, *,
                   with_companies: bool = False) -> Outcome:
        """Each New record the filter finds imported."""
        crm_ids = [crm_id for crm_id, _ in matching(db, self.profile, replace(chosen, decision="new"))]
        return self.import_(crm_ids, chosen.object, with_companies=with_companies)

    def start_pull(self) -> PullJob:
        head = self.review.plan_head()
        job = PullJob(self.review.bundle.profile.path, Path(head["source_dir"]), self.review.push.base_url,
                      self.state_dir, self.review.push.credentials_file)
        self.job = job
        background.start(job, job.run, "pull")
        return job


@dataclass
class PullJob:
    """`crmsync pull` of the app's profile and source, from the page."""

    profile: Path
    source: Path
    base_url: str | None
    state_dir: Path
    credentials_file: Path | None
    done: bool = False
    result: PullResult | None = None
    error: str | None = None
    thread: threading.Thread | None = None

    def run(self) -> None:
        from engine.pull.run import run_pull

        self.result = run_pull(self.profile, self.source, base_url=self.base_url, state_dir=self.state_dir,
                               credentials_file=self.credentials_file)
