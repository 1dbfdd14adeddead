"""A dry-run renders its writes from each window as it is decided (engine/plan_writes.py), not by
reading every planned record back from disk at the end: the requests are the ones the slow path gives
(Planner.render_writes over the finished plan's records), in the same order, for every CRM, however
the stream is cut into windows and blocks, and with a stream held back (a mapped path that matched
nothing) writing nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import plan as plan_module
from engine.catalog import load_profile
from engine.exampledata import generate
from engine.plan import Planner
from engine.spool import batches

ROOT = Path(__file__).resolve().parent.parent
CRMS = ("salesforce", "hubspot", "dynamics", "zoho")


def profile_for(crm: str, folder: Path, held_back: bool) -> Path:
    text = (ROOT / "profiles" / f"{crm}-benefitflow.yaml").read_text(encoding="utf-8")
    if held_back:  # the broker stream's zip path matches nothing: it is held back, its offices skipped
        assert "$.address.zip" in text
        text = text.replace("$.address.zip", "$.address.no_zip", 1)
    path = folder / f"{crm}{'-held' if held_back else ''}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@settings(max_examples=24, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(crm=st.sampled_from(CRMS), total=st.integers(min_value=5, max_value=160), seed=st.integers(0, 50),
       window=st.integers(min_value=1, max_value=40), block=st.integers(min_value=1, max_value=3),
       held_back=st.booleans())
def test_writes_rendered_as_decided_are_the_slow_paths(tmp_path_factory: pytest.TempPathFactory,
                                                      monkeypatch: pytest.MonkeyPatch, crm: str, total: int,
                                                      seed: int, window: int, block: int,
                                                      held_back: bool) -> None:
    folder = tmp_path_factory.mktemp("writes")
    generate(folder / "data", total, seed)
    monkeypatch.setattr(plan_module, "WINDOW", window)
    monkeypatch.setattr(batches, "BLOCK_BATCHES", block)
    planner = Planner(load_profile(profile_for(crm, folder, held_back)), base_url=None, links={})
    plan = asyncio.run(planner.run(folder / "data", None))
    assert planner.writes_as_decided
    fast = [request.as_dict() for request in plan.writes]
    slow = [request.as_dict() for request in planner.render_writes(plan.records)]
    assert fast == slow
    written = {ref.split("/")[0] for request in fast for ref in request["records"]}
    assert ("broker" in written) is (not held_back)  # every example has a broker to create


@pytest.mark.parametrize("crm", CRMS)
def test_the_example_data_writes_every_kind_both_ways(crm: str, tmp_path: Path) -> None:
    """The property above sees creates, and associations where the CRM makes them: not an empty list."""
    generate(tmp_path / "data", 300, 7)
    planner = Planner(load_profile(ROOT / "profiles" / f"{crm}-benefitflow.yaml"), base_url=None, links={})
    plan = asyncio.run(planner.run(tmp_path / "data", None))
    kinds = {request.kind for request in plan.writes}
    assert "create" in kinds or "upsert" in kinds
    if crm == "hubspot":
        assert "associate" in kinds
    assert [r.as_dict() for r in plan.writes] == [r.as_dict() for r in planner.render_writes(plan.records)]
