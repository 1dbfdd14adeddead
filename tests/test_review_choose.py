"""Choosing on the review page: a restricted record (the team's permissions) is shown with its reason
and cannot be selected, one by one or in bulk, so it never reaches an approved plan."""

from __future__ import annotations

import json
from pathlib import Path

from engine.review.queries import selection
from tests.browserkit import review_of, signed_in
from tests.teamkit import STANDARD, profile_with_team, team_yaml

REASON = "standard users may only update accounts; this one is not in the CRM (bo is a standard user)"


def test_restricted_records_show_their_reason_and_are_never_selected(examples: Path, tmp_path: Path) -> None:
    profile = profile_with_team("hubspot", tmp_path / "profiles", team_yaml({"account": "update_only"}))
    review = review_of(profile, examples, tmp_path / "state", as_user=STANDARD)
    restricted = review.db.execute("SELECT id FROM records WHERE status = 'restricted'").fetchall()
    assert len(restricted) == 20  # every account is new, and bo may only update accounts
    with signed_in(review) as client:
        csrf = {"X-CSRF-Token": review.keys.csrf}
        page = client.get("/?status=restricted").text
        assert page.count(f'<div class="small reason">{REASON}</div>') == 20  # said, beside the status
        assert page.count("cannot be pushed") == 20  # and no checkbox to tick
        assert f"a push by {STANDARD} would be refused" in page  # the plan's warnings, at the top
        before = selection(review.db)
        client.post("/select", data={"id": restricted[0][0], "on": "1"}, headers=csrf)
        client.post("/select-matching", data={"status": "restricted", "on": "1"}, headers=csrf)
        assert selection(review.db) == before == {"selected": 30, "selectable": 30}
        record = client.get(f"/record/{restricted[0][0]}").text
        assert REASON in record and "not written by a push" in record
        approved = client.post("/approve", headers=csrf).text
    path = approved.split("data-command>")[1].split(" ")[3]
    saved = json.loads(Path(path).read_text(encoding="utf-8"))
    assert len(saved["records"]) == 30 and {r["status"] for r in saved["records"]} == {"net_new"}
