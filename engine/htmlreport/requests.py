"""The requests a push would send, as the report lists them: by default what each is (kind, object,
method, URL, how many records) and no body; with `--requests` also its headers and body, and which
records it carries in what order, so the page can show each record its own item. Credentials are
hidden as in every plan (the plan's redactor, then any credential-bearing header masked)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import chain
from typing import Any

from engine.plan import Plan
from engine.planview import items_place, redacted_headers
from engine.render import Request


def shown_requests(plan: Plan, *, bodies: bool) -> Iterator[dict[str, Any]]:
    """One request at a time, in the order a push sends them (look-ups first)."""
    for number, request in enumerate(chain(plan.lookups, plan.writes), 1):  # on disk: read as they come
        yield shown_request(plan, request, number, bodies=bodies)


def shown_request(plan: Plan, request: Request, number: int, *, bodies: bool) -> dict[str, Any]:
    shown = plan.redactor.planned(request.as_dict())
    summary = {"number": number, "kind": request.kind, "object": request.object, "method": shown["method"],
               "url": shown["url"], "count": len(request.refs)}
    if not bodies:
        return summary
    place = items_place(shown["body"], len(request.refs)) if request.refs else None
    return {**summary, "headers": redacted_headers(shown["headers"]),
            "body_json": json.dumps(shown["body"], indent=2, ensure_ascii=False, default=str),
            "items": "" if place is None else (place or "."), "refs_json": json.dumps(request.refs)}
