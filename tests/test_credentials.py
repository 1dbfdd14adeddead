"""Where credentials come from (--credentials FILE, the environment, the state dir's
credentials/<profile or connector>.json), that a file crmsync keeps is private, and that a refresh
token the CRM rotates is used from then on and kept, so the next run is not locked out."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine.client import Credentials, CredentialsMissing
from engine.sandbox.common import AuthConfig
from tests.pushkit import duplicates, push, records, served

OAUTH = {"client_id": "sandbox-client", "client_secret": "sandbox-secret", "refresh_token": "sandbox-refresh"}
NAMES = ("salesforce-benefitflow", "salesforce")  # the profile's, then its connector's


def keep(state: Path, name: str, data: dict[str, str], mode: int = 0o600) -> Path:
    path = state / "credentials" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    path.chmod(mode)
    return path


@pytest.fixture
def no_env_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("CLIENT_ID", "CLIENT_SECRET", "REFRESH_TOKEN", "ACCESS_TOKEN"):
        monkeypatch.delenv(f"CRMSYNC_{key}", raising=False)


def test_the_state_dir_file_of_the_profile_then_of_the_connector(tmp_path: Path,
                                                                 no_env_credentials: None) -> None:
    keep(tmp_path, "salesforce", {**OAUTH, "refresh_token": "connector-wide"})
    assert Credentials.load(state_dir=tmp_path, names=NAMES).refresh_token == "connector-wide"
    own = keep(tmp_path, "salesforce-benefitflow", OAUTH)
    found = Credentials.load(state_dir=tmp_path, names=NAMES)
    assert found.refresh_token == "sandbox-refresh" and found.file == own
    assert "sandbox-secret" not in repr(found)


def test_the_environment_and_an_explicit_file_come_first(tmp_path: Path, no_env_credentials: None,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    keep(tmp_path, "salesforce", OAUTH)
    explicit = tmp_path / "elsewhere.json"
    explicit.write_text(json.dumps({"access_token": "from-the-file"}), encoding="utf-8")
    explicit.chmod(0o600)  # an explicit file, too, must be its owner's only
    monkeypatch.setenv("CRMSYNC_ACCESS_TOKEN", "from-the-environment")
    assert Credentials.load(state_dir=tmp_path, names=NAMES).access_token == "from-the-environment"
    assert Credentials.load(explicit, state_dir=tmp_path, names=NAMES).access_token == "from-the-file"


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_a_state_dir_file_others_can_read_is_refused(tmp_path: Path, no_env_credentials: None) -> None:
    path = keep(tmp_path, "salesforce", OAUTH, mode=0o644)
    with pytest.raises(CredentialsMissing) as refused:
        Credentials.load(state_dir=tmp_path, names=NAMES)
    assert str(refused.value).endswith(f"other users can read these credentials; run `chmod 600 {path}`")


def test_a_rotated_refresh_token_is_used_and_kept_so_the_next_run_gets_in(
        examples: Path, tmp_path: Path, no_env_credentials: None) -> None:
    """Salesforce with refresh token rotation on: each refresh answers a new refresh token and the old
    one is refused from then on. Access tokens expire every few requests, so one run refreshes several
    times; the state dir's file ends holding the latest token, and a second run starts with it."""
    state = tmp_path / "state"
    path = keep(state, "salesforce-benefitflow", OAUTH)
    auth = AuthConfig(rotate_refresh_tokens=True)
    with served("salesforce", auth=auth, faults="expire_every=4,seed=2") as (emulator, url):
        first = push("salesforce", examples, url, state, found=True)
        kept = json.loads(path.read_text(encoding="utf-8"))
        valid = set(auth.refresh_tokens)  # the emulator's: only the latest one
        refreshes = [r for r in emulator.requests if "token" in r["path"]]
        second = push("salesforce", examples, url, state, found=True)
        crm = records(url)
    assert first.stopped is None and len(refreshes) >= 2 and all(r["status"] == 200 for r in refreshes)
    assert kept["refresh_token"] != "sandbox-refresh" and valid == {kept["refresh_token"]}
    assert {k: v for k, v in kept.items() if k != "refresh_token"} == {k: v for k, v in OAUTH.items()
                                                                      if k != "refresh_token"}
    if os.name == "posix":
        assert path.stat().st_mode & 0o777 == 0o600
    assert second.stopped is None and second.summary()["created"] == 0
    assert duplicates([r["BenefitFlow_Id__c"] for r in crm["Account"] + crm["Contact"]]) == {}
    assert not list(path.parent.glob(".*.partial"))
