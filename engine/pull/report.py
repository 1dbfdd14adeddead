"""Show a pull to a person: the three statuses users know (Match Found, New, Linked) as a table per
object and status, each Match Found record with its ranked candidates and why; JSON; or an HTML page."""

from __future__ import annotations

import json

import jinja2
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from engine.pull.run import STATUSES, PulledRecord, PullResult

TITLES = {"match_found": "Match Found", "new": "New", "linked": "Linked"}


def label(record: PulledRecord) -> str:
    values = record.values
    for key in ("name", "email", "first_name", "last_name"):
        if values.get(key):
            return str(values[key])
    return json.dumps(values, ensure_ascii=False)[:60]


def print_pull(result: PullResult, console: Console) -> None:
    summary = result.summary()
    fetched = ", ".join(f"{f.object}: {f.records} in {f.pages} page(s)" + (" (modified since the last pull)"
                                                                          if f.incremental else "")
                        for f in result.fetched)
    console.print(f"[bold]Pull[/] for profile [bold]{escape(result.profile)}[/] from "
                  f"{escape(result.connector)}: {escape(fetched)}; {result.requests} request(s)",
                  highlight=False)
    console.print("  ".join(f"{TITLES[s]}: [bold]{summary[s]}[/]" for s in STATUSES), highlight=False)
    for object_name in dict.fromkeys(r.object for r in result.records):
        for status in STATUSES:
            records = [r for r in result.records if r.object == object_name and r.status == status]
            if records:
                console.print(_table(f"{object_name}: {TITLES[status]} ({len(records)})", records))


def _table(title: str, records: list[PulledRecord]) -> Table:
    table = Table("crm id", "record", "linked to / candidates (score: reasons)", title=title,
                  title_justify="left")
    for record in records:
        if record.linked_to:
            detail = record.linked_to
        else:
            detail = "\n".join(f"{c.ref} ({c.score:.2f}: {'; '.join(c.reasons)})" for c in record.candidates)
        table.add_row(escape(record.crm_id), escape(label(record)), escape(detail or "—"))
    return table


def pull_json(result: PullResult) -> str:
    return json.dumps(result.as_dict(), indent=2, ensure_ascii=False, default=str) + "\n"


HTML = jinja2.Environment(autoescape=True).from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>crmsync pull: {{ result.profile }}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}
td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}
.score{font-weight:bold}</style>
</head><body>
<h1>Pull: {{ result.profile }} from {{ result.connector }}</h1>
<p>{% for s in statuses %}{{ titles[s] }}: <b>{{ summary[s] }}</b> {% endfor %}</p>
{% for object_name, status, records in groups %}
<h2>{{ object_name }}: {{ titles[status] }} ({{ records|length }})</h2>
<table><tr><th>CRM id</th><th>record</th>
<th>{{ 'linked to' if status == 'linked' else 'candidates' }}</th></tr>
{% for r in records %}<tr><td>{% if r.record_url %}<a href="{{ r.record_url }}">{{ r.crm_id }}</a>
{% else %}{{ r.crm_id }}{% endif %}</td><td>{{ label(r) }}</td><td>
{% if r.linked_to %}{{ r.linked_to }}{% endif %}
{% for c in r.candidates %}<div><span class="score">{{ '%.2f'|format(c.score) }}</span> {{ c.ref }}:
{{ c.reasons|join('; ') }}</div>{% endfor %}</td></tr>
{% endfor %}</table>
{% endfor %}
</body></html>
""")


def pull_html(result: PullResult) -> str:
    groups = [(o, s, [r for r in result.records if r.object == o and r.status == s])
              for o in dict.fromkeys(r.object for r in result.records) for s in STATUSES]
    return HTML.render(result=result, statuses=STATUSES, titles=TITLES, summary=result.summary(),
                       groups=[g for g in groups if g[2]], label=label)
