"""A profile's state (links, journal, pulls) belongs to one CRM org: the same profile pushed, planned,
retried or pulled against a second org with the same store is refused before anything is sent (exit 2),
naming the profile, the org its state belongs to, this one and what to do. A HubSpot org is known by its
portal id (`hubspot:<portalId>`, the account information API): two served emulators are two portals, and
one portal at a second address is the same org (no `push --org-moved`); a store bound by an address is
moved to a new one with `push --org-moved`. With either store (this file is in PG_SUITE)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from engine.sandbox.common import running
from engine.state.orgs import bound_org
from tests.pushkit import push, records
from tests.runskit import Refusing, cli, creds, employer_profile, employers
from tests.statekit import store_at

REFUSED = re.compile(r"profile prefixes: its state in .* belongs to the CRM org (?:at )?(\S+), not to "
                     r"(?:the org at )?(\S+?)(?: \(at \S+\))?(?: \(.*\))?; nothing was sent")


def companies(url: str) -> list[str]:
    return sorted(r["properties"]["benefitflow_id"] for r in records(url)["companies"])


def refused_for(answer: object, held: str, other: str) -> None:
    assert answer.returncode == 2, answer.stderr + answer.stdout  # type: ignore[attr-defined]
    said = " ".join(answer.stderr.split())  # type: ignore[attr-defined]
    found = REFUSED.search(said)
    assert found is not None, said
    assert found.groups() == (held, other), said
    assert "--org-moved" in said and "--state-dir" in said


def portal(emulator: object) -> str:
    return f"hubspot:{emulator.account_id}"  # type: ignore[attr-defined]


def test_a_profile_of_one_org_is_refused_against_another_for_push_plan_retry_and_pull(tmp_path: Path) -> None:
    source, state = employers(tmp_path / "src", good=2, bad=1), tmp_path / "state"
    profile, credentials = employer_profile(tmp_path), creds(tmp_path)
    org_a, org_b = Refusing(), Refusing()
    common = ["--state-dir", state, "--credentials", credentials]
    with running(org_a) as url_a, running(org_b) as url_b:
        first = push("hubspot", source, url_a, state, profile=profile, credentials=credentials)
        assert first.summary()["created"] == 2 and first.summary()["failed"] == 1
        org_b.writes.clear()
        a, b = portal(org_a), portal(org_b)
        refused_for(cli("push", profile, "--source", source, "--base-url", url_b, *common), a, b)
        refused_for(cli("plan", profile, "--source", source, "--base-url", url_b, *common), a, b)
        refused_for(cli("retry", first.run_id, "--base-url", url_b, *common), a, b)
        refused_for(cli("pull", profile, "--source", source, "--base-url", url_b, *common), a, b)
        assert org_b.writes == [] and companies(url_b) == []  # the second org got nothing
        again = cli("push", profile, "--source", source, "--base-url", url_a, "--format", "json", *common)
        assert again.returncode == 1, again.stderr  # its own org: the bad record fails again, nothing else
        assert json.loads(again.stdout)["summary"]["unchanged"] == 2
        assert companies(url_a) == ["e1", "e2"]
    assert bound(state, "prefixes") == portal(org_a)


def test_the_same_profile_of_another_name_pushes_to_the_second_org(tmp_path: Path) -> None:
    source, state = employers(tmp_path / "src", good=2, bad=0), tmp_path / "state"
    profile = employer_profile(tmp_path)
    production = tmp_path / "production" / "profile.yaml"
    production.parent.mkdir()
    text = profile.read_text(encoding="utf-8")
    production.write_text(text.replace("name: prefixes", "name: prefixes-prod"), encoding="utf-8")
    org_a, org_b = Refusing(), Refusing()
    with running(org_a) as url_a, running(org_b) as url_b:
        assert push("hubspot", source, url_a, state, profile=profile).summary()["created"] == 2
        assert push("hubspot", source, url_b, state, profile=production).summary()["created"] == 2
        assert companies(url_a) == companies(url_b) == ["e1", "e2"]
    assert (bound(state, "prefixes"), bound(state, "prefixes-prod")) == (portal(org_a), portal(org_b))


def pushed_by_cli(tmp_path: Path) -> tuple[Path, Path, Path, Path, list[Any]]:
    """Two good employers, their profile and credentials, and the options of a `crmsync push` of them."""
    source, state = employers(tmp_path / "src", good=2, bad=0), tmp_path / "state"
    profile, credentials = employer_profile(tmp_path), creds(tmp_path)
    return source, state, profile, credentials, ["--source", source, "--state-dir", state, "--credentials",
                                                 credentials, "--format", "json"]


def test_the_same_portal_at_a_new_address_is_the_same_org_without_org_moved(tmp_path: Path) -> None:
    source, state, profile, credentials, common = pushed_by_cli(tmp_path)
    emulator = Refusing()
    with running(emulator) as old:
        new = old.replace("127.0.0.1", "localhost")  # one portal, answering at a second address
        assert push("hubspot", source, old, state, profile=profile, credentials=credentials).summary()[
            "created"] == 2
        again = cli("push", profile, "--base-url", new, *common)
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["summary"]["unchanged"] == 2  # its links stood: nothing created twice
        assert companies(old) == ["e1", "e2"]
    assert bound(state, "prefixes") == portal(emulator)


def test_a_profile_bound_by_another_address_moves_to_this_org_with_org_moved(tmp_path: Path) -> None:
    source, state, profile, credentials, common = pushed_by_cli(tmp_path)
    emulator = Refusing()
    with running(emulator) as url:
        assert push("hubspot", source, url, state, profile=profile, credentials=credentials).summary()[
            "created"] == 2
        rebind(state, "prefixes", "https://old-proxy.example")  # bound, before account ids, by an address
        refused_for(cli("push", profile, "--base-url", url, *common), "https://old-proxy.example",
                    portal(emulator))
        moved = cli("push", profile, "--base-url", url, "--org-moved", *common)
        assert moved.returncode == 0, moved.stderr
        said = json.loads(moved.stdout)
        assert said["summary"]["unchanged"] == 2  # its links stood: nothing created twice
        assert any(f"now belongs to the CRM org at {portal(emulator)} (moved from https://old-proxy.example)"
                   in n for n in said["notices"]), said["notices"]
        assert companies(url) == ["e1", "e2"]
    assert bound(state, "prefixes") == portal(emulator)


def test_a_profile_bound_by_this_address_is_rebound_to_its_account_id_at_next_push(tmp_path: Path) -> None:
    source, state = employers(tmp_path / "src", good=2, bad=0), tmp_path / "state"
    profile, credentials = employer_profile(tmp_path), creds(tmp_path)
    emulator = Refusing()
    with running(emulator) as url:
        assert push("hubspot", source, url, state, profile=profile, credentials=credentials).summary()[
            "created"] == 2
        rebind(state, "prefixes", url)  # as a store of before account ids left it
        again = cli("push", profile, "--source", source, "--base-url", url, "--state-dir", state,
                    "--credentials", credentials, "--format", "json")
        assert again.returncode == 0, again.stderr
        said = json.loads(again.stdout)
        assert said["summary"]["unchanged"] == 2
        notice = f"was bound to the CRM org at {url} by its address; it is now bound to its account id: " \
                 f"{portal(emulator)}"
        assert any(notice in n for n in said["notices"]), said["notices"]
        shown = json.loads(cli("runs", said["run_id"], "--state-dir", state, "--format", "json").stdout)
        assert shown["org"] == portal(emulator) and shown["account_id"] == str(emulator.account_id)
    assert bound(state, "prefixes") == portal(emulator)


def rebind(state: Path, profile: str, org: str) -> None:
    store = store_at(state)
    try:
        store.db.execute("UPDATE profile_orgs SET org = ? WHERE profile = ?", (org, profile))
    finally:
        store.close()


def test_a_store_made_before_profiles_had_an_org_binds_each_to_its_newest_runs_org(tmp_path: Path) -> None:
    state = tmp_path / "state"
    store = store_at(state)
    for run_id, profile, started, url in (("r1", "p", "2026-01-01", "https://old.example"),
                                          ("r2", "p", "2026-02-01", "https://user:pw@new.example/?x=1"),
                                          ("r3", "q", "2026-01-05", "https://q.example")):
        store.start_run(run_id, profile, "ana", {"base_url": url})
        store.db.execute("UPDATE runs SET started_at = ? WHERE run_id = ?", (started, run_id))
    store.start_run("r4", "decided", "ana")  # a person's link decisions: no CRM address recorded
    store.db.execute("DROP TABLE profile_orgs")  # as it was before migration 5
    store.db.execute("DELETE FROM schema_version WHERE version = 5")
    store.close()
    assert (bound(state, "p"), bound(state, "q"), bound(state, "decided")) == \
        ("https://new.example", "https://q.example", None)


def bound(state: Path, profile: str) -> str | None:
    store = store_at(state)
    try:
        return bound_org(store, profile)
    finally:
        store.close()
