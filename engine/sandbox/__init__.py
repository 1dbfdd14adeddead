"""Local emulators of the CRMs' APIs, written from each CRM's official documentation.

They import nothing from the rest of the engine and never read connectors/ (DESIGN.md, rule 3).
"""

from __future__ import annotations

import importlib
from typing import Any

from engine.sandbox.common import Sandbox

# CRM name -> "module:class"; each module is one emulator.
EMULATORS = {
    "salesforce": "engine.sandbox.salesforce:SalesforceSandbox",
    "hubspot": "engine.sandbox.hubspot:HubSpotSandbox",
    "dynamics": "engine.sandbox.dynamics:DynamicsSandbox",
    "zoho": "engine.sandbox.zoho:ZohoSandbox",
}


def create(crm: str, **options: Any) -> Sandbox:
    """Build the emulator of `crm` (salesforce, hubspot, dynamics or zoho)."""
    if crm not in EMULATORS:
        raise KeyError(f"unknown sandbox {crm!r}; choose one of {', '.join(EMULATORS)}")
    module_name, _, class_name = EMULATORS[crm].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(**options)
