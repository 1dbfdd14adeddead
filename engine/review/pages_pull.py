"""The Pull page: per object, the last pull's records by decision (Match Found, New, Linked), each Match
Found one with its ranked candidates and their reasons; link, unlink and import one record, or in bulk
every record a filter finds; pull again. Read from the state dir's pull tables a page at a time."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from engine.errors import CrmsyncError
from engine.pull.decisions import Outcome
from engine.pull.run import pulled_objects, record_url_of
from engine.review import pull_queries as q
from engine.review.pages_plan import page_number
from engine.review.partials import part_or_page
from engine.review.pull_actions import DEFAULT_IMPORT_DIR, PullActions
from engine.review.pull_queries import PullFilter, Shown
from engine.review.security import read_form
from engine.state import StateStore, open_store, redact, state_url

if TYPE_CHECKING:
    import sqlite3

    from engine.review.app import Pages

VERBS = {"link": "linked", "unlink": "unlinked", "import": "imported"}
OUTCOMES = {"link": "link", "unlink": "unlink", "import": "import", "link-best": "link",
            "import-new": "import"}  # the page's action -> the decision it makes


class PullPages:
    def __init__(self, pages: Pages, import_dir: Path) -> None:
        self.pages = pages
        self.actions = PullActions(pages.review, import_dir)
        self.objects = pulled_objects(pages.review.bundle, None)

    @cached_property
    def store(self) -> StateStore:
        return open_store(self.actions.state_dir)

    @property
    def db(self) -> sqlite3.Connection:
        return self.store.db

    def shown(self, object_name: str) -> Shown:
        head = self.pages.review.plan_head()
        address = self.pages.review.push.base_url or (head["base_url"] if head.get("consulted_crm") else None)
        url = record_url_of(self.pages.review.bundle, object_name, address) if address else None
        return Shown(self.pages.review.bundle, object_name, url)

    def table(self, chosen: PullFilter, number: int) -> dict[str, Any]:
        """What the records' partial shows: the object's counts, the filter, its page, the pager."""
        profile = self.actions.profile
        counts = q.decision_counts(self.db, profile, chosen.object)
        shown = q.window(self.db, profile, chosen, number, self.shown(chosen.object), counts)
        return {"filter": chosen, "total": shown.total, "page": shown.page, "last": shown.last,
                "counts": counts, "decisions": q.DECISIONS, "rows": shown.rows}

    def render(self, request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
        return self.pages.render(request, name, status_code, active_section="Pull", labels=q.LABELS,
                                 pull_job=self.actions.job, import_dir=self.actions.import_dir, **context)

    async def pull_page(self, request: Request) -> Response:
        chosen = PullFilter.of(request.query_params, self.objects)
        return self.render(request, "pull.html", objects=self.objects,
                           pulled=q.object_counts(self.db, self.actions.profile),
                           since=q.listed_since(self.db, self.actions.profile),
                           **self.table(chosen, page_number(request)))

    async def rows(self, request: Request) -> Response:
        chosen = PullFilter.of(request.query_params, self.objects)
        context = self.table(chosen, page_number(request))
        shown = "/pull?" + chosen.query(page=context["page"] if context["page"] > 1 else "")
        return part_or_page(request, shown, lambda: self.render(request, "_pulled.html", outcome=None,
                                                                **context))

    async def act(self, request: Request) -> Response:
        """One of the decisions (the form says which), then the records again with what was done."""
        form = await read_form(request)
        chosen = PullFilter.of(form, self.objects)
        action = request.path_params["action"]
        try:
            outcome = self.decide(action, form, chosen)
        except CrmsyncError as exc:
            outcome = Outcome(OUTCOMES.get(action, "link"), refused=[("", str(exc))])
        if "hx-request" not in request.headers:
            return RedirectResponse("/pull?" + chosen.query(), status_code=303)
        return self.render(request, "_pulled.html", outcome=outcome, verb=VERBS[outcome.action],
                           **self.table(chosen, page_number(request)))

    def decide(self, action: str, form: dict[str, str], chosen: PullFilter) -> Outcome:
        crm_id, companies = form.get("crm_id", ""), form.get("with_companies") == "1"
        if action == "link":
            return self.actions.link(crm_id, form.get("local_ref", "").strip())
        if action == "unlink":
            return self.actions.unlink([crm_id])
        if action == "import":
            row = q.one(self.db, self.actions.profile, chosen.object, crm_id, self.shown(chosen.object))
            if row is not None and row.decision == "unlinked":
                return Outcome("import", refused=[(crm_id, "unlinked since the last pull: pull again to see "
                                                            "whether a local record matches it")])
            return self.actions.import_([crm_id], chosen.object, with_companies=companies)
        if action == "link-best":
            return self.actions.link_best(self.db, chosen)
        if action == "import-new":
            return self.actions.import_new(self.db, chosen, with_companies=companies)
        return Outcome("link", refused=[(action, "no such action on this page")])

    async def start_pull(self, request: Request) -> Response:
        job = self.actions.job
        if job is not None and not job.done:
            return self.render(request, "_pull_job.html", status_code=409, note="a pull is already running")
        self.actions.start_pull()
        return self.render(request, "_pull_job.html", note=None)

    async def pull_progress(self, request: Request) -> Response:
        return self.render(request, "_pull_job.html", note=None)


UNAVAILABLE = ("The Pull page reads the pull tables with SQLite's JSON functions: it is not available with "
               "the PostgreSQL state store {url}. Pull, link and import from the command line with the same "
               "store: crmsync pull, link, import --state-url {url}")


def unavailable() -> str | None:
    """Why the Pull page cannot serve this state store (a PostgreSQL one), or None."""
    url = state_url()
    return UNAVAILABLE.format(url=redact(url)) if url else None


def pull_routes(pages: Pages, import_dir: Path = DEFAULT_IMPORT_DIR) -> list[BaseRoute]:
    from engine.review.pages_runs import when

    if (why := unavailable()) is not None:  # said, not an empty page read from the state dir's SQLite
        async def refused(request: Request) -> Response:
            return pages.render(request, "pull_unavailable.html", status_code=501, active_section="Pull",
                                error=why)

        return [Route("/pull", refused), Route("/pull/{path:path}", refused, methods=["GET", "POST"])]
    pages.templates.env.filters["when"] = when
    pull = PullPages(pages, import_dir)
    return [Route("/pull", pull.pull_page), Route("/pull/rows", pull.rows),
            Route("/pull/run", pull.start_pull, methods=["POST"]), Route("/pull/run", pull.pull_progress),
            Route("/pull/{action}", pull.act, methods=["POST"])]
