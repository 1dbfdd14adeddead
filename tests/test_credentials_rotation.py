"""A refresh token the CRM rotates while the credentials come from the environment is kept in the state
dir's private credentials/<profile>.json, the run says so (no secret in it), and the next run, with the
old token still in CRMSYNC_REFRESH_TOKEN, uses the kept one instead of being locked out."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from engine.client import KEPT_MARKER, token_digest
from engine.sandbox.common import AuthConfig
from tests.pushkit import OAUTH, push, served

PROFILE = "salesforce-benefitflow"


@pytest.fixture
def env_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in OAUTH.items():
        monkeypatch.setenv(f"CRMSYNC_{key.upper()}", value)


def test_a_token_rotated_from_the_environment_is_kept_and_the_next_run_uses_it(
        examples: Path, tmp_path: Path, env_credentials: None) -> None:
    state = tmp_path / "state"
    kept = state / "credentials" / f"{PROFILE}.json"
    auth = AuthConfig(rotate_refresh_tokens=True)
    with served("salesforce", auth=auth, faults="expire_every=4,seed=2") as (emulator, url):
        first = push("salesforce", examples, url, state, found=True)
        latest = set(auth.refresh_tokens)  # the emulator accepts only the newest one now
        emulator.requests.clear()
        second = push("salesforce", examples, url, state, found=True)  # the environment is unchanged
        refreshes = [r["status"] for r in emulator.requests if "token" in r["path"]]
    assert first.stopped is None
    assert "sandbox-refresh" not in latest  # rotated: the environment's token is refused from now on
    says = [n for n in first.notices if f"crmsync keeps the new one in {kept}" in n]
    assert says and all(token not in n for n in first.notices for token in [*latest, "sandbox-refresh",
                                                                            "sandbox-secret"])
    data = json.loads(kept.read_text(encoding="utf-8"))
    assert set(data) == {"client_id", "refresh_token", KEPT_MARKER}  # the secret stays in the environment
    assert data[KEPT_MARKER] == token_digest("sandbox-refresh")
    if os.name == "posix":
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
        assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o700
    assert second.stopped is None, second.stopped
    assert f"crmsync uses the newer one it keeps in {kept}" in " ".join(second.notices)
    assert refreshes and set(refreshes) == {200}
    assert second.summary()["created"] == 0 and second.summary()["failed"] == first.summary()["failed"]
    assert json.loads(kept.read_text(encoding="utf-8"))["refresh_token"] in auth.refresh_tokens


def test_a_new_token_in_the_environment_wins_over_the_one_kept_for_the_old(
        examples: Path, tmp_path: Path, env_credentials: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Someone reconnected and put the new refresh token in the environment: that one is used."""
    state = tmp_path / "state"
    kept = state / "credentials" / f"{PROFILE}.json"
    auth = AuthConfig(rotate_refresh_tokens=True)
    with served("salesforce", auth=auth) as (_, url):
        push("salesforce", examples, url, state, found=True)
        auth.refresh_tokens["reconnected"] = "integration@sandbox"
        monkeypatch.setenv("CRMSYNC_REFRESH_TOKEN", "reconnected")
        again = push("salesforce", examples, url, state, found=True)
    assert again.stopped is None, again.stopped
    assert json.loads(kept.read_text(encoding="utf-8"))[KEPT_MARKER] == token_digest("reconnected")


def test_a_file_a_person_wrote_is_never_overwritten_by_a_kept_token(
        examples: Path, tmp_path: Path, env_credentials: None) -> None:
    state = tmp_path / "state"
    theirs = state / "credentials" / f"{PROFILE}.json"
    theirs.parent.mkdir(parents=True)
    theirs.write_text(json.dumps({"access_token": "their-own"}), encoding="utf-8")
    theirs.chmod(0o600)
    with served("salesforce", auth=AuthConfig(rotate_refresh_tokens=True)) as (_, url):
        result = push("salesforce", examples, url, state, found=True)
    assert result.stopped is None
    assert json.loads(theirs.read_text(encoding="utf-8")) == {"access_token": "their-own"}
    assert [n for n in result.notices if "may no longer accept the one in CRMSYNC_REFRESH_TOKEN" in n]
