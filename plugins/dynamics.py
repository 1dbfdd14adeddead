"""Dynamics 365 (Dataverse) quirks that YAML cannot say.

Choice columns (option sets) store integers while profiles name options by their labels; the engine
already sends a single choice's value. A multi-select choice column, though, takes its integers as one
comma-separated string ("100000000,100000002"), not the `;`-joined list other CRMs use
(https://learn.microsoft.com/power-apps/developer/data-platform/multi-select-picklist).
"""

from __future__ import annotations

from typing import Any

from engine.hookspecs import hookimpl

NAME = "dynamics"
CRMSYNC_CONNECTOR = NAME  # the engine calls this plugin's hooks for this connector only


def option_value(field: Any, label: str) -> int | None:
    for option in field.options or []:
        if option.label == label or str(option.value) == label:
            return int(option.value)
    return None


@hookimpl
def crmsync_serialize_value(connector: Any, object_name: str, field_name: str, field: Any, value: Any) -> Any:
    if connector.name != NAME or value is None:
        return None
    if field.type == "multipicklist":
        return ",".join(str(option_value(field, part)) for part in str(value).split(";"))
    return None
