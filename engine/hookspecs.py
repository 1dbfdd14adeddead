"""The pluggy hooks: what a connector's YAML cannot say is said by a plugin implementing these.

Every hook receives the loaded `connector` (a ConnectorSpec) so that one plugin can serve only its
CRM (`if connector.name != "mycrm": return None`). Built-in behaviour is shipped as default plugins of
these same hooks (engine/plugins.py); third-party plugins register under the `crmsync` entry-point
group. A misspelt hook implementation fails loudly at start (`check_pending`).
docs/hooks.md lists them with their arguments.
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("crmsync")
hookimpl = pluggy.HookimplMarker("crmsync")


@hookspec(firstresult=True)
def crmsync_adjust_value(connector: Any, object_name: str, field_name: str, field: Any, value: Any) -> Any:
    """Adjust a mapped value before it is checked against its field. Return the new value, or None to
    leave it as it is (the first plugin that returns a value wins).

    Example: a CRM whose picklists are integer option sets, while profiles name options by label."""


@hookspec(firstresult=True)
def crmsync_serialize_value(connector: Any, object_name: str, field_name: str, field: Any, value: Any) -> Any:
    """Turn a checked value into what the CRM's API takes on the wire (e.g. every value a string, a
    date as midnight-UTC). Return None to leave the default JSON rendering."""


@hookspec(firstresult=True)
def crmsync_normalize_identity(connector: Any, object_name: str, part: Any, value: Any) -> str | None:
    """Normalise one identity-key part (`part` is a KeyPart: its name, field and normaliser) so two
    records that are the same compare equal. Return the normalised string, or None when the value is
    empty. The built-in plugin implements the normalisers the spec language names."""


@hookspec
def crmsync_adjust_request(connector: Any, request: Any) -> None:
    """Adjust a rendered request in place (a header the CRM wants, a body quirk) before it is shown
    in a dry-run or sent. `request` is an engine.render.Request."""


@hookspec(firstresult=True)
def crmsync_classify_error(connector: Any, status: int, body: Any, code: str | None) -> str | None:
    """Classify a CRM error response as validation, duplicate, auth, permission, rate_limit,
    transient or not_found. Return None to let the connector's `errors.classes` decide."""
