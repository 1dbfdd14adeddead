"""Choosing: select and deselect records (one by one, or every record a filter finds), resolve an
ambiguous record by linking it to one of its candidates (the link `crmsync link` makes), and approve:
the selection written as a saved plan, the file `crmsync push --plan` sends exactly."""

from __future__ import annotations

import datetime as dt
import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from engine.credfile import write_private_json
from engine.errors import CrmsyncError
from engine.review import queries
from engine.review.db import SELECTABLE, encode
from engine.review.queries import Filter
from engine.review.security import read_form
from engine.state import default_state_dir, open_store

if TYPE_CHECKING:
    from engine.review.app import Pages, Review


def set_selected(review: Review, record_id: int, on: bool) -> bool:
    """Select or deselect one record; False when it cannot be selected (not written by a push)."""
    with review.lock:
        done = review.db.execute("UPDATE picks SET selected = ? WHERE id = ? AND selectable = 1",
                                 (int(on), record_id))
    return done.rowcount == 1


def set_matching(review: Review, chosen: Filter, on: bool) -> int:
    """Select or deselect every selectable record the filter finds; how many it touched."""
    clause, params = queries.where(chosen)
    with review.lock:
        done = review.db.execute(f"UPDATE picks SET selected = ? WHERE selectable = 1 AND selected != ? "
                                 f"AND id IN (SELECT r.id FROM records r{clause})",
                                 [int(on), int(on), *params])
    return done.rowcount


def resolve(review: Review, record_id: int, crm_id: str, by: str) -> str | None:
    """Link an ambiguous record to the candidate a person chose, as `crmsync link` does; the reason it
    is refused, or None. The record is re-planned against its link when the plan is approved."""
    from engine.pull.decisions import Decider, Outcome

    found = queries.record(review.db, record_id)
    if found is None:
        return f"no record {record_id}"
    row, _ = found
    if row.status != "ambiguous":
        return f"{row.ref} is {row.status}, not ambiguous: there is nothing to choose"
    if crm_id not in [candidate for candidate, _ in row.candidates]:
        return f"{crm_id!r} is not one of the candidates of {row.ref}"
    store = open_store(review.push.state_dir or default_state_dir())  # the state URL's, when one is set
    try:
        decider = Decider(review.bundle, store, by)
        refusal = decider.link(crm_id, row.ref)
        decider.finish(Outcome("link"))
    finally:
        store.close()
    if refusal is None:
        with review.lock:
            review.db.execute("UPDATE records SET chosen = ? WHERE id = ?", (crm_id, record_id))
            review.db.execute("UPDATE picks SET selectable = 1, selected = 1 WHERE id = ?", (record_id,))
    return refusal


@dataclass
class Approved:
    path: Path
    records: int
    dropped: list[str]  # chosen records the new plan does not write (already as the CRM has them)
    options: list[str] = field(default_factory=list)  # the review's own: --state-dir, --as...

    def command(self) -> str:
        return shlex.join(["crmsync", "push", "--plan", str(self.path), *self.options])


def replan_chosen(review: Review) -> list[str]:
    """Plan again, now that the chosen records are linked, and take the new plan of those records
    (the rest stay as reviewed). The chosen records the new plan does not write are deselected."""
    from engine.dryrun import dry_run

    chosen = {row["ref"]: row["id"] for row in review.db.execute(
        "SELECT id, ref FROM records WHERE chosen IS NOT NULL AND status = 'ambiguous'")}
    if not chosen:
        return []
    head, options = review.plan_head(), review.push
    plan = dry_run(Path(head["profile_path"]), Path(head["source_dir"]),
                   base_url=head["base_url"] if head["consulted_crm"] else None,
                   state_dir=options.state_dir, credentials_file=options.credentials_file,
                   team_file=options.team_file, as_user=options.as_user)
    dropped = []
    with review.lock:
        for record in plan.records:
            if record.ref not in chosen:
                continue
            writes = record.status in SELECTABLE
            if not writes:
                dropped.append(f"{record.ref}: now {record.status}")
            crm_id = record.crm_id or ""
            review.db.execute("UPDATE records SET status = ?, crm_id = ?, crm_id_lc = ?, planned = ? "
                              "WHERE id = ?", (record.status, crm_id, crm_id.casefold(),
                                               encode(record.as_dict()), chosen[record.ref]))
            review.db.execute("UPDATE picks SET selectable = ?, selected = ? WHERE id = ?",
                              (int(writes), int(writes), chosen[record.ref]))
    return dropped


def approve(review: Review) -> Approved:
    """The selection as a saved plan (private, in the state dir's review/approved/)."""
    dropped = replan_chosen(review)
    head = review.plan_head()
    records = [json.loads(row[0]) for row in review.db.execute(
        f"SELECT r.planned FROM {queries.ROWS} WHERE p.selected = 1 AND p.selectable = 1 ORDER BY r.id")]
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    state_dir = review.push.state_dir or default_state_dir()
    path = state_dir / "review" / "approved" / f"{head['profile']}-{stamp}.json"
    summary = {status: sum(1 for r in records if r["status"] == status) for status in head["summary"]}
    write_private_json(path, {**head, "summary": summary, "records": records, "requests": [],
                              "approved": {"at": stamp, "records": len(records)}})
    with review.lock:
        review.db.execute("INSERT OR REPLACE INTO meta VALUES ('approved_plan', ?)", (str(path),))
    return Approved(path, len(records), dropped, push_options(review, consulted=head["consulted_crm"]))


def push_options(review: Review, *, consulted: bool) -> list[str]:
    """The options the push of the saved plan needs to be the push this review would make."""
    o = review.push
    paths = [("--state-dir", o.state_dir), ("--credentials", o.credentials_file), ("--team", o.team_file)]
    given = [("--base-url", None if consulted else o.base_url),
             *((flag, path.resolve() if path else None) for flag, path in paths), ("--as", o.as_user)]
    return [part for flag, value in given if value for part in (flag, str(value))]


def choose_routes(pages: Pages) -> list[BaseRoute]:
    review = pages.review

    async def select(request: Request) -> Response:
        form = await read_form(request)
        record_id = str(form.get("id", ""))
        if record_id.isdigit():
            set_selected(review, int(record_id), form.get("on") == "1")
        return pages.render(request, "_selection.html")

    async def select_matching(request: Request) -> Response:
        form = await read_form(request)
        touched = set_matching(review, Filter.of(form), form.get("on") == "1")
        answer = pages.render(request, "_selection.html", touched=touched)
        answer.headers["HX-Trigger"] = "selection-changed"
        return answer

    async def resolve_page(request: Request) -> Response:
        form = await read_form(request)
        record_id = request.path_params["record_id"]
        by = review.push.as_user or "review"
        refusal = resolve(review, record_id, str(form.get("crm_id", "")), by)
        if refusal is not None:
            found = queries.record(review.db, record_id)
            return pages.render(request, "record.html", status_code=409, row=found[0] if found else None,
                                request_shown=None, labels={}, places={}, error=refusal)
        return RedirectResponse(f"/record/{record_id}", status_code=303)

    async def approve_page(request: Request) -> Response:
        try:
            approved = await run_in_threadpool(approve, review)
        except CrmsyncError as exc:
            return pages.render(request, "approved.html", status_code=409, approved=None, error=str(exc))
        return pages.render(request, "approved.html", approved=approved, error=None)

    return [Route("/select", select, methods=["POST"]),
            Route("/select-matching", select_matching, methods=["POST"]),
            Route("/resolve/{record_id:int}", resolve_page, methods=["POST"]),
            Route("/approve", approve_page, methods=["POST"])]


__all__ = ["approve", "resolve", "set_selected", "set_matching", "choose_routes"]
