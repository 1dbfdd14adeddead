"""The Zoho CRM web app's record page, as far as a "View in CRM" link needs it: a record opens at
`https://crm.zoho.com/crm/org<org id>/tab/<Module>/<record id>`, the address the web app shows for a
record. The sandbox serves a plain page there with the record's fields; an unknown module or record is
a "page not found" (404)."""

from __future__ import annotations

import html
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

NOT_FOUND = "<!doctype html><title>Page not found</title><h1>Page not found</h1>"


def record_page(records: dict[str, dict[str, Any]], request: Request) -> HTMLResponse:
    """`records`: module -> record id -> record, as the sandbox holds them."""
    p = request.path_params
    record = records.get(p["module"], {}).get(p["record_id"]) if p["org"].startswith("org") else None
    if record is None:
        return HTMLResponse(NOT_FOUND, status_code=404)
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in record.items() if v is not None)
    title = html.escape(str(record.get("Account_Name") or record.get("Last_Name") or record["id"]))
    return HTMLResponse(f'<!doctype html><html><head><meta charset="utf-8"><title>{title} | Zoho CRM '
                        f"sandbox</title></head><body><h1>{title}</h1><p>{html.escape(p['module'])} "
                        f"{html.escape(p['record_id'])}</p><table>{rows}</table></body></html>")
