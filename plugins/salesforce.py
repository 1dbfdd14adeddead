"""Salesforce quirks that YAML cannot say.

- The daily API allocation answers 403 REQUEST_LIMIT_EXCEEDED, not 429, and it does not come back
  within a run: it is a rate limit, but not one worth retrying in place
  (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm).
- A row lock (UNABLE_TO_LOCK_ROW) is transient: another transaction held the parent account.
- An update whose own Id names no record (deleted and purged, or another org's) answers
  INVALID_CROSS_REFERENCE_KEY with no field named; a lookup field to nothing names its field. The first
  is `not_found`: the record was deleted in the CRM behind its link.

Checked and needing no hook: a multi-select picklist takes its values joined by ";" and a date field
YYYY-MM-DD, which is how the engine writes them already; booleans and numbers travel as JSON
(sObject Collections examples in the REST guide). connectors/salesforce.yaml says everything else.
"""

from __future__ import annotations

from typing import Any

from engine.hookspecs import hookimpl

NAME = "salesforce"
CRMSYNC_CONNECTOR = NAME  # the engine calls this plugin's hooks for this connector only


@hookimpl
def crmsync_classify_error(connector: Any, status: int, body: Any, code: str | None) -> str | None:
    if connector.name != NAME:
        return None
    if code == "REQUEST_LIMIT_EXCEEDED":
        return "rate_limit"
    if code == "UNABLE_TO_LOCK_ROW":
        return "transient"
    if code == "INVALID_CROSS_REFERENCE_KEY" and isinstance(body, dict) and not body.get("fields"):
        return "not_found"  # the record's own Id names nothing (a lookup field to nothing names the field)
    return None
