"""The plan pages: counts per status, the grouped problems, the filtered table a page at a time, and
one record with its exact request and its View in CRM link."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from engine.plan import STATUSES
from engine.review import queries
from engine.review.queries import Filter

if TYPE_CHECKING:
    from engine.review.app import Pages

STATUS_LABELS = {"net_new": "New", "update": "Update", "synced": "Synced", "invalid": "Invalid",
                 "skipped": "Skipped", "restricted": "Restricted", "ambiguous": "Ambiguous"}


def page_number(request: Request) -> int:
    text = request.query_params.get("page", "1")
    return max(int(text), 1) if text.isdigit() and len(text) < 8 else 1


def table_context(pages: Pages, request: Request) -> dict[str, Any]:
    """What the table partial shows: the filter, its page of rows, the pager."""
    db = pages.review.db
    chosen = Filter.of(request.query_params)
    total = queries.count(db, chosen)
    last = max((total + queries.PAGE_SIZE - 1) // queries.PAGE_SIZE, 1)
    number = min(page_number(request), last)
    return {"filter": chosen, "rows": queries.page(db, chosen, number), "total": total, "page": number,
            "last": last, "page_size": queries.PAGE_SIZE, "labels": STATUS_LABELS}


def plan_routes(pages: Pages) -> list[BaseRoute]:
    async def plan_page(request: Request) -> Response:
        db = pages.review.db
        return pages.render(request, "plan.html", counts=queries.status_counts(db), statuses=STATUSES,
                            causes=queries.causes(db), choices=queries.choices(db),
                            **table_context(pages, request))

    async def rows(request: Request) -> Response:
        """The table alone (htmx swaps it in); the address bar shows the page it makes."""
        context = table_context(pages, request)
        shown = "/?" + context["filter"].query(page=context["page"] if context["page"] > 1 else "")
        if "hx-request" not in request.headers:
            return RedirectResponse(shown, status_code=303)
        answer = pages.render(request, "_table.html", **context)
        answer.headers["HX-Push-Url"] = shown
        return answer

    async def record_page(request: Request) -> Response:
        found = queries.record(pages.review.db, request.path_params["record_id"])
        if found is None:
            return pages.render(request, "missing.html", status_code=404,
                                what=f"record {request.path_params['record_id']}")
        row, sent = found
        return pages.render(request, "record.html", row=row, request_shown=sent, labels=STATUS_LABELS,
                            places=queries.problem_places(pages.review.db, row.id))

    return [Route("/", plan_page), Route("/rows", rows),
            Route("/record/{record_id:int}", record_page)]
