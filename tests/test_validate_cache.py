"""The findings cache of `crmsync validate` (engine/validatecache.py): a second run of an unchanged profile
prints what the first printed, byte for byte, from the cache; a profile, connector or plugin file edited
between two runs gives the new findings; an entry not the user's own is passed over."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from engine import validatecache
from engine.catalog import builtin_dir
from engine.cli import app

ROOT = Path(__file__).resolve().parent.parent
PROFILE = ROOT / "profiles" / "hubspot-benefitflow.yaml"


def validate_cli(*args: str | Path) -> Result:
    return CliRunner().invoke(app, ["validate", *[str(a) for a in args]])


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("CRMSYNC_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def local_profile(tmp_path: Path) -> Path:
    """The HubSpot profile beside its own copy of the connector (`connector: ./hubspot.yaml`)."""
    shutil.copy(builtin_dir("connectors") / "hubspot.yaml", tmp_path / "hubspot.yaml")
    text = PROFILE.read_text(encoding="utf-8").replace("connector: hubspot\n", "connector: ./hubspot.yaml\n")
    assert "./hubspot.yaml" in text
    path = tmp_path / "profile.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def misnamed(profile_text: str) -> str:
    """The profile with its first `website` mapping sent to a field the connector does not have."""
    return profile_text.replace("      website: {source", "      websitx: {source", 1)


def entries(cache: Path) -> list[Path]:
    return sorted(cache.glob(f"*{validatecache.SUFFIX}"))


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_a_second_run_prints_the_first_runs_output_from_the_cache(cache: Path, local_profile: Path,
                                                                  fmt: str) -> None:
    text = local_profile.read_text(encoding="utf-8")
    local_profile.write_text(misnamed(text), encoding="utf-8")
    first = validate_cli(local_profile, "--format", fmt)
    assert first.exit_code == 1 and "websitx" in first.output, first.output
    assert len(entries(cache)) == 1
    assert validatecache.recall(local_profile, False) is not None
    again = validate_cli(local_profile, "--format", fmt)
    assert (again.exit_code, again.output) == (first.exit_code, first.output)


def test_editing_the_profile_between_two_runs_gives_its_new_errors(cache: Path, local_profile: Path) -> None:
    assert validate_cli(local_profile).exit_code == 0
    text = local_profile.read_text(encoding="utf-8")
    local_profile.write_text(misnamed(text), encoding="utf-8")
    edited = validate_cli(local_profile)
    assert edited.exit_code == 1 and "websitx" in edited.output, edited.output
    local_profile.write_text(text, encoding="utf-8")
    assert validate_cli(local_profile).exit_code == 0


def test_editing_the_connector_between_two_runs_gives_its_new_errors(cache: Path,
                                                                     local_profile: Path) -> None:
    assert validate_cli(local_profile).exit_code == 0
    connector = local_profile.parent / "hubspot.yaml"
    text = connector.read_text(encoding="utf-8")
    assert "      website: {type: url" in text
    connector.write_text(text.replace("      website: {type: url", "      websitx: {type: url", 1),
                         encoding="utf-8")
    edited = validate_cli(local_profile)
    assert edited.exit_code == 1 and "website" in edited.output, edited.output
    connector.unlink()
    gone = validate_cli(local_profile)
    assert gone.exit_code == 2 and "hubspot.yaml" in gone.output, gone.output


def test_a_changed_plugin_file_passes_the_entry_over(cache: Path, local_profile: Path) -> None:
    connector = local_profile.parent / "hubspot.yaml"
    connector.write_text("plugin: quirks.py\n" + connector.read_text(encoding="utf-8"), encoding="utf-8")
    plugin = local_profile.parent / "quirks.py"
    plugin.write_text('"""No hooks."""\n', encoding="utf-8")
    assert validate_cli(local_profile).exit_code == 0
    assert validatecache.recall(local_profile, False) is not None
    plugin.write_text('"""No hooks, edited."""\n', encoding="utf-8")
    assert validatecache.recall(local_profile, False) is None


def test_pull_and_the_profiles_path_are_entries_of_their_own(cache: Path, local_profile: Path) -> None:
    assert validate_cli(local_profile).exit_code == 0
    assert validatecache.recall(local_profile, True) is None
    twin = local_profile.with_name("twin.yaml")
    shutil.copy(local_profile, twin)
    assert validatecache.recall(twin, False) is None  # findings name the file they are in


def test_an_entry_in_a_folder_others_may_write_is_passed_over(cache: Path, local_profile: Path) -> None:
    assert validate_cli(local_profile).exit_code == 0
    os.chmod(cache, 0o777)
    assert validatecache.recall(local_profile, False) is None
    os.chmod(cache, 0o700)
    entry = entries(cache)[0]
    os.chmod(entry, 0o666)
    assert validatecache.recall(local_profile, False) is None


def test_an_entry_that_is_not_whole_is_passed_over(cache: Path, local_profile: Path) -> None:
    assert validate_cli(local_profile).exit_code == 0
    entry = entries(cache)[0]
    entry.write_text(json.dumps({"connector": "hubspot"}), encoding="utf-8")
    assert validatecache.recall(local_profile, False) is None
    assert validate_cli(local_profile).exit_code == 0


LINES = PROFILE.read_text(encoding="utf-8").splitlines(keepends=True)
WORDS = ["domian", "email", "$.websit", "{{ name", "nope", "", "42", "state_code", "true"]


@st.composite
def edited_profiles(draw: st.DrawFn) -> str:
    """The HubSpot profile with a few lines dropped or a word of theirs replaced (mostly still YAML)."""
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(lines) - 1))
        if draw(st.booleans()):
            del lines[at]
        else:
            words = lines[at].split(" ")
            pick = draw(st.integers(0, len(words) - 1))
            words[pick] = draw(st.sampled_from(WORDS)) + ("\n" if words[pick].endswith("\n") else "")
            lines[at] = " ".join(words)
    return "".join(lines).replace("connector: hubspot\n", "connector: ./hubspot.yaml\n")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=edited_profiles())
def test_cached_findings_equal_the_findings_made_without_the_cache(
        text: str, local_profile: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    local_profile.write_text(text, encoding="utf-8")
    monkeypatch.setenv("CRMSYNC_CACHE_DIR", "")
    uncached = validate_cli(local_profile)
    monkeypatch.setenv("CRMSYNC_CACHE_DIR", str(local_profile.parent / "cache"))
    first, again = validate_cli(local_profile), validate_cli(local_profile)
    assert (first.exit_code, first.output) == (uncached.exit_code, uncached.output)
    assert (again.exit_code, again.output) == (uncached.exit_code, uncached.output)
