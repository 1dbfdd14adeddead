"""Snapshots of the requests a dry-run renders for each shipped profile over examples/data/ (offline:
no CRM consulted, so every valid record is new). Each snapshot was read against the CRM's API
documentation before it was committed (/work/shared/reference/crm-api-facts.md): HubSpot batch bodies
with `inputs` and string properties, association v4 bodies, search bodies with filterGroups; Dataverse
CreateMultiple with `Targets`, `@odata.type`, `@odata.bind`, and `$filter` literals escaped.

Update after a deliberate change with `pytest tests/test_snapshots.py --snapshot-update`, then read the
diff against the docs again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion

from engine.catalog import load_profile
from engine.plan import make_plan_sync

# An explicit list rather than profiles/*.yaml: a new profile (Salesforce) joins here together with its
# first, read snapshot; globbing would make it fail until someone generated one unread.
PROFILES = ["hubspot-benefitflow.yaml", "salesforce-benefitflow.yaml", "salesforce-leads.yaml",
            "dynamics-benefitflow.yaml", "zoho-benefitflow.yaml"]


def rendered_requests(profile: Path, source: Path) -> dict[str, Any]:
    """The plan's requests as the report shows them (secrets redacted); nothing volatile (made_at,
    absolute paths) is in them."""
    data = make_plan_sync(load_profile(profile), source).as_dict()
    return {"summary": data["summary"], "requests": data["requests"]}


@pytest.mark.parametrize("profile", PROFILES)
def test_rendered_requests_match_the_snapshot(profile: str, root: Path, examples: Path,
                                              snapshot: SnapshotAssertion) -> None:
    assert rendered_requests(root / "profiles" / profile, examples) == snapshot


@pytest.mark.parametrize("profile", PROFILES)
def test_requests_carry_no_token_nor_local_path(profile: str, root: Path, examples: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRMSYNC_ACCESS_TOKEN", "pat-na1-not-to-be-shown")
    requests = rendered_requests(root / "profiles" / profile, examples)["requests"]
    assert requests
    assert all(r["headers"]["Authorization"] == "<redacted>" for r in requests)
    text = repr(requests)
    assert "pat-na1-not-to-be-shown" not in text and str(root) not in text
