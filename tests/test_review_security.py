"""The review app's access token and CSRF check: nothing is served without the token, and no change is
made by a request that carries only the cookie (as another local page's request would)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from engine.review.app import Review
from engine.review.queries import selection
from tests.browserkit import review_of, serving, signed_in
from tests.pushkit import PROFILES


@pytest.fixture
def review(examples: Path, tmp_path: Path) -> Review:
    return review_of(PROFILES["hubspot"], examples, tmp_path / "state")


@pytest.mark.parametrize("path", ["/", "/rows", "/record/1", "/static/htmx.min.js", "/push/progress"])
def test_without_the_token_every_page_is_refused(review: Review, path: str) -> None:
    with serving(review) as url:
        root = url.split("/?")[0]
        answer = httpx.get(root + path)
        assert answer.status_code == 403 and "token" in answer.text
        assert httpx.get(root + path, cookies={"crmsync_review": "guessed"}).status_code == 403
        assert httpx.get(f"{root}{path}?token=guessed").status_code == 403


def test_the_token_becomes_a_strict_http_only_cookie_and_leaves_the_address(review: Review) -> None:
    with serving(review) as url, httpx.Client(base_url=url.split("/?")[0]) as client:
        opened = client.get(f"/?status=invalid&token={review.keys.token}")
        assert opened.status_code == 303 and opened.headers["location"] == "/?status=invalid"
        cookie = opened.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
        page = client.get("/?status=invalid")
        assert page.status_code == 200 and "Lakeshore Schools Foundation" in page.text
        assert review.keys.token not in page.text  # the page holds the CSRF token, never the access token


def test_a_post_with_the_cookie_alone_is_refused_and_changes_nothing(review: Review) -> None:
    with signed_in(review) as client:
        before = selection(review.db)
        for headers in ({}, {"X-CSRF-Token": "guessed"}):
            answer = client.post("/select", data={"id": "1"}, headers=headers)
            assert answer.status_code == 403 and "CSRF" in answer.text
        assert client.post("/select", data={"id": "1", "csrf": "guessed"}).status_code == 403
        assert client.post("/approve").status_code == 403 and client.post("/push").status_code == 403
        assert selection(review.db) == before
        assert not (review.push.state_dir / "review" / "approved").exists()  # type: ignore[operator]


def test_a_post_with_the_page_s_csrf_token_is_served(review: Review) -> None:
    with signed_in(review) as client:
        before = selection(review.db)["selected"]
        by_header = client.post("/select", data={"id": "1"}, headers={"X-CSRF-Token": review.keys.csrf})
        assert by_header.status_code == 200 and selection(review.db)["selected"] == before - 1
        by_field = client.post("/select", data={"id": "1", "on": "1", "csrf": review.keys.csrf})
        assert by_field.status_code == 200 and selection(review.db)["selected"] == before


def test_another_site_or_host_is_refused_even_with_the_tokens(review: Review) -> None:
    with signed_in(review) as client:
        foreign = client.post("/select", data={"id": "1"}, headers={"X-CSRF-Token": review.keys.csrf,
                                                                     "Origin": "http://evil.example"})
        assert foreign.status_code == 403
    with serving(review) as url:  # a DNS-rebound name for 127.0.0.1
        assert httpx.get(url, headers={"Host": "evil.example"}).status_code == 403


def test_the_secrets_are_not_in_their_repr(review: Review) -> None:
    assert review.keys.token not in repr(review.keys) and review.keys.csrf not in repr(review)
