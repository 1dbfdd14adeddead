"""The cache of loaded specs, profiles and team files (engine/speccache.py): a model from the cache is the
model the file loads into without it, its positions are the file's, a changed file is read again, and an
entry that is not the user's own, or not whole, is passed over."""

from __future__ import annotations

import json
import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import speccache
from engine.catalog import builtin_dir
from engine.connector import ConnectorSpec
from engine.connector_checks import reference_problems
from engine.errors import CrmsyncError
from engine.loader import Loaded, load_model, read_yaml, to_plain
from engine.profile import Profile

ROOT = Path(__file__).resolve().parent.parent
KINDS: dict[str, tuple[type, Callable[..., Any] | None]] = {
    "profile": (Profile, None), "connector": (ConnectorSpec, reference_problems)}
SMALL = {"profile": ROOT / "profiles" / "salesforce-benefitflow.yaml",
         "connector": builtin_dir("connectors") / "hubspot.yaml"}
PLAIN = {kind: to_plain(read_yaml(path)) for kind, path in SMALL.items()}


def outcome(path: Path, kind: str) -> tuple[str, Any]:
    """What loading `path` gives: the model's full and as-set dumps, or the errors' text."""
    model, checks = KINDS[kind]
    try:
        loaded = load_model(path, model, checks)
    except CrmsyncError as exc:
        return "error", str(exc)
    return "model", (loaded.model, loaded.model.model_dump(), loaded.model.model_dump(exclude_unset=True))


def every_loc(node: Any, loc: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found = [loc]
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in items:
        found += every_loc(value, (*loc, key))
    return found


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("CRMSYNC_CACHE_DIR", str(folder))
    return folder


def without_cache(monkeypatch: pytest.MonkeyPatch, path: Path, kind: str) -> tuple[str, Any]:
    with monkeypatch.context() as off:
        off.setenv("CRMSYNC_CACHE_DIR", "")
        return outcome(path, kind)


def replace_at(document: Any, loc: tuple[Any, ...], value: Any) -> Any:
    """A copy of `document` with the value at `loc` replaced (a key removed when `value` is DROP)."""
    if not loc:
        return value
    copy = json.loads(json.dumps(document))
    parent = copy
    for part in loc[:-1]:
        parent = parent[part]
    if value is DROP:
        del parent[loc[-1]]
    else:
        parent[loc[-1]] = value
    return copy


DROP = object()
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**6), st.text(max_size=12),
                   st.sampled_from(["$.name", "$.website", "string", "picklist", "salesforce", "{x}",
                                    "$value", "url", "email", "contacts", "Account"]),
                   st.just(DROP), st.lists(st.text(max_size=5), max_size=2), st.just({}))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(sorted(KINDS)), data=st.data())
def test_a_model_from_the_cache_is_the_model_the_file_loads_into(kind: str, data: st.DataObject,
                                                                  tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    cache = Path(tempfile.mkdtemp(dir=tmp_path)) / "cache"  # each example its own
    monkeypatch.setenv("CRMSYNC_CACHE_DIR", str(cache))
    locs = every_loc(PLAIN[kind])[1:]
    edits = data.draw(st.lists(st.tuples(st.sampled_from(locs), VALUES), max_size=3))
    document = PLAIN[kind]
    for loc, value in edits:
        try:
            document = replace_at(document, loc, value)
        except (KeyError, IndexError, TypeError):  # an earlier edit removed or replaced its parent
            continue
    path = cache.parent / f"{kind}.yaml"
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")  # JSON is YAML, with positions
    expected = without_cache(monkeypatch, path, kind)
    assert outcome(path, kind) == expected  # the first load stores the entry (when the file loads)
    assert outcome(path, kind) == expected  # the second comes from it
    stored = list(cache.glob("*.pickle")) if cache.exists() else []
    assert len(stored) == (1 if expected[0] == "model" else 0)  # a file that does not load is not kept


def test_a_cached_model_places_every_key_and_value_where_the_file_has_it(cache: Path) -> None:
    path = ROOT / "profiles" / "hubspot-benefitflow.yaml"
    first = load_model(path, Profile)
    cached = load_model(path, Profile)
    assert cached._document is None and first._document is not None  # from the entry: not parsed yet
    for loc in every_loc(PLAIN["profile"]):
        for key in (False, True):
            assert cached.position(loc, key=key) == first.position(loc, key=key), loc


def described(text: str, description: str) -> str:
    """A profile's text with its description line replaced."""
    lines = [f"description: {description}" if line.startswith("description:") else line
             for line in text.splitlines()]
    return "\n".join(lines) + "\n"


def test_a_changed_file_is_read_again(cache: Path, tmp_path: Path) -> None:
    path = tmp_path / "profile.yaml"
    text = SMALL["profile"].read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    assert load_model(path, Profile).model.description != "changed"
    assert load_model(path, Profile)._document is None  # the second load came from the cache
    path.write_text(described(text, "changed"), encoding="utf-8")
    changed = load_model(path, Profile)
    assert changed.model.description == "changed"
    assert changed._document is not None  # parsed: no entry for these bytes yet


def entry_of(path: Path, kind: str = "profile") -> Path:
    model, checks = KINDS[kind]
    folder = speccache.cache_dir()
    assert folder is not None
    return folder / speccache.entry_name(path.read_bytes(), model, checks)


def test_an_entry_others_may_write_is_passed_over(cache: Path) -> None:
    path = SMALL["profile"]
    load_model(path, Profile)
    entry = entry_of(path)
    planted = load_model(ROOT / "profiles" / "hubspot-benefitflow.yaml", Profile).model
    entry.write_bytes(pickle.dumps(planted))  # another model under this file's name
    entry.chmod(0o644)
    assert load_model(path, Profile).model.name != planted.name  # not read: the file is loaded
    entry.chmod(0o600)
    os.chmod(cache, 0o755)
    assert load_model(path, Profile)._document is not None  # a folder others may read: not used either


def test_an_entry_that_is_not_whole_or_not_the_model_asked_for_is_passed_over(cache: Path) -> None:
    path = SMALL["profile"]
    load_model(path, Profile)
    entry = entry_of(path)
    entry.write_bytes(entry.read_bytes()[:100])
    assert load_model(path, Profile).model.name == "salesforce-benefitflow"
    entry.write_bytes(pickle.dumps({"name": "not a profile"}))
    assert load_model(path, Profile).model.name == "salesforce-benefitflow"


def test_the_cache_is_off_with_an_empty_folder_name(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CRMSYNC_CACHE_DIR", "")
    assert speccache.cache_dir() is None
    assert load_model(SMALL["profile"], Profile)._document is not None
    monkeypatch.delenv("CRMSYNC_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert speccache.cache_dir() == tmp_path / "crmsync"


def test_a_new_entry_is_private_and_the_oldest_go(cache: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speccache, "MAX_ENTRIES", 3)
    text = SMALL["profile"].read_text(encoding="utf-8")
    for i in range(5):
        path = tmp_path / f"p{i}.yaml"
        path.write_text(described(text, f"version {i}"), encoding="utf-8")
        load_model(path, Profile)
        os.utime(entry_of(path), ns=(i * 10**9, i * 10**9))
    assert cache.stat().st_mode & 0o777 == 0o700
    entries = sorted(cache.glob("*.pickle"))
    assert len(entries) == 3 and all(e.stat().st_mode & 0o777 == 0o600 for e in entries)
    assert entry_of(tmp_path / "p4.yaml").exists() and not entry_of(tmp_path / "p0.yaml").exists()


def test_the_entry_name_holds_the_model_the_checks_and_the_code(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = SMALL["connector"].read_bytes()
    names = {speccache.entry_name(raw, ConnectorSpec, reference_problems),
             speccache.entry_name(raw, ConnectorSpec, None), speccache.entry_name(raw, Profile, None)}
    assert len(names) == 3
    speccache.code_fingerprint.cache_clear()
    monkeypatch.setattr(speccache, "ENGINE", ROOT / "plugins")  # other source: another fingerprint
    try:
        assert speccache.entry_name(raw, Profile, None) not in names
    finally:
        speccache.code_fingerprint.cache_clear()


def test_loaded_keeps_its_text_for_a_model_made_from_it(cache: Path) -> None:
    loaded = load_model(SMALL["profile"], Profile)
    cached = load_model(SMALL["profile"], Profile)
    assert isinstance(cached, Loaded) and cached.text is not None
    made = cached.with_model(cached.model.model_copy())
    assert made.position(("streams",)) == loaded.position(("streams",))
