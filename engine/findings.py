"""What `crmsync validate` finds: one problem of a profile or its connector, at its file:line:col. Kept
apart from engine/validate.py (which needs the models, Jinja2 and the JSONPath parser) so that findings
read back from the cache (engine/validatecache.py) are printed without loading any of those."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    severity: Severity
    code: str
    message: str
    where: str  # file:line:col
    stream: str | None = None
    field: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
