"""The report page: a Jinja2 template (autoescaped) rendered as a stream of chunks, its stylesheet and
script inlined from the package's files, the records as JSON written a few hundred at a time."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import TextIO

import jinja2
from markupsafe import Markup

from engine.catalog import ProfileBundle, load_profile
from engine.htmlreport.requests import shown_requests
from engine.htmlreport.rows import RowWriter, record_chunks, script_json
from engine.plan import STATUSES, Plan
from engine.planview import group_problems
from engine.report import TITLES

PACKAGE = files("engine.htmlreport")
LABELS = {**TITLES, "update": "Update"}  # a record's status (TITLES name the tabs: "Updates")


@cache
def template() -> jinja2.Template:
    env = jinja2.Environment(loader=jinja2.PackageLoader("engine.htmlreport", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["thousands"] = lambda n: f"{n:,}"
    return env.get_template("report.html")


def inlined(name: str) -> Markup:
    """The package's own stylesheet or script, put in the page as it is (it holds no data)."""
    return Markup((PACKAGE / "templates" / name).read_text(encoding="utf-8"))


def html_report(plan: Plan, bundle: ProfileBundle | None = None, *, requests: bool = False) -> Iterator[str]:
    """The page as chunks of text. `bundle`: the plan's profile (loaded from the plan's path if not
    given). `requests`: put each request's headers and body in, and each record its own item."""
    bundle = bundle or load_profile(Path(plan.profile_path))
    groups = group_problems(bundle, plan.records)
    writer = RowWriter(plan, bundle, groups)

    def data_tail() -> Markup:  # after the rows: what the rows taught the writer
        return Markup(script_json({"streams": list(writer.streams), "fields": writer.field_names(),
                                   "notes": list(writer.notes)}))

    return template().generate(
        plan=plan, bundle=bundle, statuses=STATUSES, titles=TITLES, summary=plan.summary(), groups=groups,
        total=len(plan.records), with_requests=requests, requests=shown_requests(plan, bodies=requests),
        head=Markup(script_json({"statuses": list(STATUSES), "titles": [LABELS[s] for s in STATUSES],
                                 "causes": [g.as_dict() for g in groups]})),
        # escaped for the script element by script_json, not by HTML autoescape
        rows=(Markup(chunk) for chunk in record_chunks(writer, plan.records)), tail=data_tail,
        style=inlined("report.css"), script=inlined("report.js"))


def write_html(plan: Plan, out: TextIO, bundle: ProfileBundle | None = None, *,
               requests: bool = False) -> int:
    """Write the page to `out` as it is made; the characters written."""
    written = 0
    for chunk in html_report(plan, bundle, requests=requests):
        written += out.write(chunk)
    return written
