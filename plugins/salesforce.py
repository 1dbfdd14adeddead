"""Salesforce quirks that YAML cannot say.

- The daily API allocation answers 403 REQUEST_LIMIT_EXCEEDED, not 429, and it does not come back
  within a run: it is a rate limit, but not one worth retrying in place
  (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm).
- A row lock (UNABLE_TO_LOCK_ROW) is transient: another transaction held the parent account.

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
    return None
