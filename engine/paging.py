"""The next page of a paged answer, as the connector's response spec says (`next`, `next_kind`,
`cursor_param`): shared by look-ups, pulls and the CRM users look-up, so every reader pages alike."""

from __future__ import annotations

from typing import Any, NamedTuple

import httpx

from engine.connector import ResponseSpec
from engine.render import read_one


class NextPage(NamedTuple):
    url: str
    body: Any


def next_page(spec: ResponseSpec, data: Any, method: str, url: str, body: Any,
              base_url_root: str) -> NextPage | None:
    """The request for the page after the one answered `data` at (url, body), or None on the last page.

    - url: `next` holds the next page's URL (absolute, or a path on the CRM's host);
    - cursor: `next` holds a cursor, sent as `cursor_param` in the query (GET) or the body;
    - page: `next` holds a flag (Zoho's info.more_records); the next page is asked by its number in
      `cursor_param`, one more than the number this page was asked with (1 when it was not given)."""
    nxt = read_one(data, spec.next) if spec.next else None
    if not nxt:
        return None
    if spec.next_kind == "url":
        text = str(nxt)
        return NextPage(text if text.startswith("http") else base_url_root + text, body)
    value: Any = nxt if spec.next_kind == "cursor" else _page_number(method, url, body, spec.cursor_param) + 1
    if method == "GET":
        return NextPage(str(httpx.URL(url).copy_set_param(spec.cursor_param, str(value))), body)
    return NextPage(url, {**(body or {}), spec.cursor_param: value})


def _page_number(method: str, url: str, body: Any, param: str) -> int:
    given = httpx.URL(url).params.get(param) if method == "GET" else (body or {}).get(param)
    try:
        return int(given) if given is not None else 1
    except (TypeError, ValueError):
        return 1
