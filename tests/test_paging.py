"""The next page of a paged answer, by each `next_kind`: a table of (spec, answer, request) -> next."""

from __future__ import annotations

from typing import Any

import pytest

from engine.connector import ResponseSpec
from engine.paging import NextPage, next_page

ROOT = "https://crm.example"
CASES: list[tuple[dict[str, Any], Any, str, str, Any, NextPage | None]] = [
    # url: followed as given, or a path on the CRM's host
    ({"next": "$.next"}, {"next": "https://crm.example/p2"}, "GET", f"{ROOT}/a", None,
     NextPage("https://crm.example/p2", None)),
    ({"next": "$.next"}, {"next": "/services/data/next"}, "GET", f"{ROOT}/a", None,
     NextPage(f"{ROOT}/services/data/next", None)),
    # cursor: in the query (GET), replacing the page's own, or in the body (POST)
    ({"next": "$.after", "next_kind": "cursor"}, {"after": "c2"}, "GET", f"{ROOT}/a?after=c1&limit=5", None,
     NextPage(f"{ROOT}/a?after=c2&limit=5", None)),
    ({"next": "$.after", "next_kind": "cursor"}, {"after": "c2"}, "POST", f"{ROOT}/s", {"limit": 5},
     NextPage(f"{ROOT}/s", {"limit": 5, "after": "c2"})),
    # page: a flag; the number after the page's own (1 when not given)
    ({"next": "$.info.more_records", "next_kind": "page", "cursor_param": "page"},
     {"info": {"more_records": True}}, "GET", f"{ROOT}/users?per_page=200", None,
     NextPage(f"{ROOT}/users?per_page=200&page=2", None)),
    ({"next": "$.info.more_records", "next_kind": "page", "cursor_param": "page"},
     {"info": {"more_records": True}}, "GET", f"{ROOT}/users?per_page=200&page=2", None,
     NextPage(f"{ROOT}/users?per_page=200&page=3", None)),
    ({"next": "$.more", "next_kind": "page", "cursor_param": "page"}, {"more": True}, "POST", f"{ROOT}/s",
     {"page": 4}, NextPage(f"{ROOT}/s", {"page": 5})),
    # the last page: no `next`, a false flag, an empty answer (204)
    ({"next": "$.info.more_records", "next_kind": "page", "cursor_param": "page"},
     {"info": {"more_records": False}}, "GET", f"{ROOT}/users?page=3", None, None),
    ({"next": "$.after", "next_kind": "cursor"}, {}, "GET", f"{ROOT}/a", None, None),
    ({"next": "$.after", "next_kind": "cursor"}, None, "GET", f"{ROOT}/a", None, None),
    ({}, {"next": "https://crm.example/p2"}, "GET", f"{ROOT}/a", None, None),
]


@pytest.mark.parametrize(("spec", "answer", "method", "url", "body", "expected"), CASES)
def test_next_page(spec: dict[str, Any], answer: Any, method: str, url: str, body: Any,
                   expected: NextPage | None) -> None:
    assert next_page(ResponseSpec(**spec), answer, method, url, body, ROOT) == expected
