"""A stream is planned window by window, so what a plan holds beyond its records stays one window's
worth however long the stream; the plan itself must not depend on the window's size."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from engine import plan as plan_module
from engine.catalog import load_profile
from engine.client import Credentials, open_client
from engine.plan import make_plan_sync, windows
from tests.crms import CRMS
from tests.pushkit import PROFILES, copy_source, push, served


def test_windows_split_a_stream_and_say_which_is_last(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan_module, "WINDOW", 3)
    assert [(w, last) for w, last in windows(iter(range(7)))] == [([0, 1, 2], False), ([3, 4, 5], False),
                                                                   ([6], True)]
    assert list(windows(iter(range(6)))) == [([0, 1, 2], False), ([3, 4, 5], True)]
    assert list(windows(iter([]))) == [([], True)]  # an empty stream is still decided and handed over


@pytest.mark.parametrize("crm", CRMS)
def test_the_plan_does_not_depend_on_the_window(crm: str, examples: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = load_profile(PROFILES[crm])
    whole = make_plan_sync(bundle, examples)
    monkeypatch.setattr(plan_module, "WINDOW", 4)
    windowed = make_plan_sync(bundle, examples)
    assert [r.as_dict() for r in windowed.records] == [r.as_dict() for r in whole.records]
    assert [w.as_dict() for w in windowed.writes] == [w.as_dict() for w in whole.writes]
    # nor its look-ups: a window's last look-up, not full, is left to the next window with its records
    assert len(windowed.lookups) == len(whole.lookups)


def test_a_windowed_plan_against_the_crm_finds_every_record_once(examples: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Pushed once, then planned again window by window from a fresh state dir: every record is found
    (the windows' look-ups together cover the stream), none would be created again."""
    source = copy_source(examples, tmp_path / "src")
    with served("hubspot") as (_, url):
        push("hubspot", source, url, tmp_path / "state")
        monkeypatch.setattr(plan_module, "WINDOW", 4)
        async def replan() -> plan_module.Plan:
            bundle = load_profile(PROFILES["hubspot"])
            credentials = Credentials(access_token="sandbox-token")
            async with open_client(bundle.connector.model, url, credentials) as client:
                return await plan_module.make_plan(bundle, source, base_url=url, client=client)

        again = asyncio.run(replan())
    statuses = {r.status for r in again.records}
    assert "net_new" not in statuses and "ambiguous" not in statuses
    assert not [w for w in again.writes if w.kind in ("create", "upsert")]


def test_the_source_is_mapped_while_the_metadata_is_fetched_and_checked_against_it(
        examples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A push or a dry-run against a CRM reads its metadata first; the records are read and mapped
    meanwhile (mapping does not depend on it), and checked only once it has come, against it."""
    from engine.connector import FieldSpec
    from engine.mapping import CompiledStream
    from engine.plan import Planner

    mapped: list[str] = []
    original = CompiledStream.map

    def counted(self: CompiledStream, record: object) -> object:
        mapped.append(self.name)
        return original(self, record)  # type: ignore[arg-type]

    monkeypatch.setattr(CompiledStream, "map", counted)
    bundle = load_profile(PROFILES["hubspot"])
    in_source = sum(1 for path in examples.glob("*.jsonl") for line in path.read_text().splitlines() if line)

    async def run() -> plan_module.Plan:
        metadata: asyncio.Future[dict[str, dict[str, FieldSpec]]] = asyncio.get_running_loop().create_future()
        planning = asyncio.ensure_future(Planner(bundle, base_url=None, links={}, live_fields=metadata)
                                         .run(examples, None))
        for _ in range(50):
            await asyncio.sleep(0)
        assert not planning.done() and len(mapped) == in_source  # every record mapped, none decided
        # the CRM's picklist has lost an option the profile's copy still lists
        metadata.set_result({"companies": {"broker_type": FieldSpec(
            type="picklist", restricted=True, options=["Independent", "Regional"])}})
        return await planning

    plan = asyncio.run(run())
    national = [r for r in plan.records if r.stream == "broker" and r.status == "invalid"]
    assert len(national) == 1 and national[0].problems[0].field == "broker_type"
    assert "National" in national[0].problems[0].message


@pytest.mark.parametrize("crm", CRMS)
def test_a_push_read_in_windows_sends_the_look_ups_of_whole_streams(crm: str, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Counted by the CRM: no window adds a look-up request (its last one, not full, went with the next
    window's), and every record is still written once."""
    from engine.exampledata import generate

    counts = generate(tmp_path / "src", 700, seed=3)
    whole = make_plan_sync(load_profile(PROFILES[crm]), tmp_path / "src")
    paths = {(r.method, httpx.URL(r.url).path) for r in whole.lookups}
    monkeypatch.setattr(plan_module, "WINDOW", 64)
    with served(crm) as (emulator, url):
        result = push(crm, tmp_path / "src", url, tmp_path / "state")
        looked_up = [r for r in emulator.requests
                     if any(r["method"] == method and r["path"].endswith(path) for method, path in paths)]
    assert max(counts.values()) > 3 * 64  # streams of several windows
    assert len(looked_up) == len(whole.lookups)
    summary = result.summary()
    assert summary["created"] == sum(r.status == "net_new" for r in whole.records) and summary["updated"] == 0
