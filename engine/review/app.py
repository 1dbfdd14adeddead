"""The review app: a starlette application over one review database, behind the access-token guard.
Pages are rendered on the server (Jinja2, autoescaped) and made clickable with the vendored htmx; no
page holds more than a page of records."""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from engine.catalog import ProfileBundle
from engine.review import queries
from engine.review.db import connect, meta
from engine.review.security import CSRF_FIELD, Guard, Secrets

HERE = Path(__file__).parent


@dataclass
class PushOptions:
    """How a push from the page is made: as `crmsync push --plan` would be with these options."""

    base_url: str | None = None
    credentials_file: Path | None = None
    state_dir: Path | None = None
    as_user: str | None = None
    team_file: Path | None = None


@dataclass
class Review:
    """What the app serves: the review database of one plan, its profile, and how to push."""

    db_path: Path
    bundle: ProfileBundle
    push: PushOptions
    keys: Secrets = field(default_factory=Secrets)
    sections: list[tuple[str, str]] = field(default_factory=lambda: [("Plan", "/")])
    lock: threading.Lock = field(default_factory=threading.Lock)  # one writer of the database at a time
    job: Any = None  # the push started from the page (engine.review.pushing.PushJob)
    findings: list[str] = field(default_factory=list)  # what the source lacks (missing files, columns)
    _db: sqlite3.Connection | None = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = connect(self.db_path)
        return self._db

    def meta(self) -> dict[str, str]:
        return meta(self.db)

    def plan_head(self) -> dict[str, Any]:
        return json.loads(self.meta()["plan"])


def template_environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["shown"] = shown_value
    env.filters["thousands"] = lambda n: f"{n:,}"
    env.filters["pretty"] = lambda v: json.dumps(v, indent=2, ensure_ascii=False, default=str)  # escaped
    return env


def shown_value(value: Any) -> str:
    """A value as a cell shows it: text as it is, anything else as JSON; nothing as a dash."""
    if value is None or value == "":
        return "—"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


class Pages:
    """Renders a template with what every page shows (the profile, the nav, the selection, CSRF)."""

    def __init__(self, review: Review) -> None:
        self.review = review
        self.templates = Jinja2Templates(env=template_environment())

    def render(self, request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
        review = self.review
        head = review.plan_head()
        common = {"csrf": review.keys.csrf, "csrf_field": CSRF_FIELD, "sections": review.sections,
                  "profile": head["profile"], "connector": head["connector"], "head": head,
                  "selection": queries.selection(review.db), "job": review.job}
        return self.templates.TemplateResponse(request, name, {**common, **context}, status_code=status_code)


def build_app(review: Review, routes: list[BaseRoute] | None = None) -> Guard:
    """The app for `review`; `routes`: more pages (runs, pull) beside the plan's."""
    from engine.review.choose import choose_routes
    from engine.review.pages_plan import plan_routes
    from engine.review.pages_pull import pull_routes
    from engine.review.pages_runs import runs_routes
    from engine.review.pushing import push_routes

    review.sections += [s for s in (("Runs", "/runs"), ("Pull", "/pull")) if s not in review.sections]
    pages = Pages(review)
    app = Starlette(routes=[*plan_routes(pages), *choose_routes(pages), *push_routes(pages),
                            *runs_routes(pages), *pull_routes(pages), *(routes or []),
                            Route("/favicon.ico", lambda _: Response(status_code=204)),
                            Mount("/static", StaticFiles(directory=HERE / "static"), name="static")])
    app.state.review = review
    return Guard(app, review.keys)
