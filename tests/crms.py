"""The built-in CRMs whose emulator and shipped profile exist: one list for every test that runs for each."""

from __future__ import annotations

CRMS = ["hubspot", "salesforce", "dynamics", "zoho"]
