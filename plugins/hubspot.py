"""HubSpot quirks that YAML cannot say.

- Every property value travels as a string ("true"/"false" for booleans, numbers as text).
- A date property takes midnight UTC; HubSpot documents epoch milliseconds of that midnight as its
  canonical form (https://developers.hubspot.com/docs/faq/how-should-timestamps-be-formatted-for-hubspots-apis).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from engine.hookspecs import hookimpl

NAME = "hubspot"
CRMSYNC_CONNECTOR = NAME  # the engine calls this plugin's hooks for this connector only


def midnight_utc_ms(day: str) -> str:
    date = dt.date.fromisoformat(day[:10])
    return str(int(dt.datetime(date.year, date.month, date.day, tzinfo=dt.UTC).timestamp() * 1000))


@hookimpl
def crmsync_serialize_value(connector: Any, object_name: str, field_name: str, field: Any, value: Any) -> Any:
    if connector.name != NAME or value is None:
        return None
    if type(value) is str and field.type != "date":  # most values: already text
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if field.type == "date":
        return midnight_utc_ms(str(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
