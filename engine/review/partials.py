"""A part of a page htmx swaps in (a filtered table): asked for without htmx (a reload, a shared link),
the answer is the whole page it makes; with htmx, the part, and the address bar shows that page."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response


def part_or_page(request: Request, shown: str, render: Callable[[], Response]) -> Response:
    if "hx-request" not in request.headers:
        return RedirectResponse(shown, status_code=303)
    answer = render()
    answer.headers["HX-Push-Url"] = shown
    return answer
