"""The bodies of `link`, `unlink` and `import` (engine/cli_pull.py reads the options): open the store,
decide, print what was done and refused; the exit code (1 when something was refused)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from engine.catalog import ProfileBundle, load_profile
from engine.pull.bulk import accept_best, apply_decisions, read_decisions
from engine.pull.decisions import Decider, Outcome
from engine.pull.importer import Importer
from engine.state import open_store

Work = Callable[[ProfileBundle, Decider], Outcome]


def decided(bundle: ProfileBundle, by: str, state_dir: Path | None, work: Work) -> Outcome:
    """`work` done by one Decider over the state dir's store (one run of the activity log), as
    `crmsync link`, `unlink` and `import` do it (and the review app's pull page)."""
    store = open_store(state_dir)
    try:
        decider = Decider(bundle, store, by)
        outcome = work(bundle, decider)
        decider.finish(outcome)
    finally:
        store.close()
    return outcome


def decide(profile: Path, by: str, state_dir: Path | None, work: Work, as_json: bool) -> int:
    outcome = decided(load_profile(profile), by, state_dir, work)
    show(outcome, as_json)
    return 1 if outcome.refused else 0


def show(outcome: Outcome, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(outcome.as_dict(), indent=2, ensure_ascii=False) + "\n")
        return
    out, err = Console(soft_wrap=True, emoji=False), Console(stderr=True, soft_wrap=True, emoji=False)
    verb = {"link": "linked", "unlink": "unlinked", "import": "imported"}[outcome.action]
    for crm_id, local_ref in outcome.done:
        out.print(f"{verb} {escape(crm_id)} ↔ {escape(local_ref)}", highlight=False)
    for what, why in outcome.refused:
        err.print(f"[red]refused[/] {escape(what)}: {escape(why)}", highlight=False)
    out.print(f"{len(outcome.done)} {verb}, {len(outcome.skipped)} skipped, {len(outcome.refused)} refused",
              highlight=False)


def link_command(profile: Path, *, crm_id: str | None, local_ref: str | None, decisions: Path | None,
                 best: bool, min_score: float, walk: bool, source: Path | None, object_name: str | None,
                 by: str, as_json: bool, state_dir: Path | None) -> int:
    def work(bundle: ProfileBundle, decider: Decider) -> Outcome:
        if decisions is not None:
            return apply_decisions(decider, read_decisions(decisions))
        if best:
            return accept_best(decider, min_score, object_name)
        if walk:
            from engine.pull.walk import Walk

            return Walk(decider, source, object_name).run()
        assert crm_id is not None and local_ref is not None
        return link_one(decider, crm_id, local_ref)

    return decide(profile, by, state_dir, work, as_json)


def link_one(decider: Decider, crm_id: str, local_ref: str) -> Outcome:
    outcome = Outcome("link")
    refused = decider.link(crm_id, local_ref)
    if refused:
        outcome.refused.append((crm_id, refused))
    else:
        outcome.done.append((crm_id, local_ref))
    return outcome


def unlink_command(profile: Path, what: list[str], *, by: str, as_json: bool, state_dir: Path | None) -> int:
    return decide(profile, by, state_dir, lambda _, decider: unlink_each(decider, what), as_json)


def unlink_each(decider: Decider, what: list[str]) -> Outcome:
    """Undo the link of each local ref or CRM id in `what`."""
    outcome = Outcome("unlink")
    for item in what:
        held = [(lk.crm_id, f"{lk.stream}/{lk.source_id}") for lk in decider.links.values()
                if f"{lk.stream}/{lk.source_id}" == item or lk.crm_id == item]
        refused = decider.unlink(item)
        if refused:
            outcome.refused.append((item, refused))
        else:
            outcome.done.extend(held)
    return outcome


def import_command(profile: Path, crm_ids: list[str], *, as_stream: str | None, with_companies: bool,
                   out_dir: Path, object_name: str | None, by: str, as_json: bool,
                   state_dir: Path | None) -> int:
    def work(bundle: ProfileBundle, decider: Decider) -> Outcome:
        return import_records(decider, crm_ids, as_stream=as_stream, with_companies=with_companies,
                              out_dir=out_dir, object_name=object_name)

    return decide(profile, by, state_dir, work, as_json)


def import_records(decider: Decider, crm_ids: list[str], *, as_stream: str | None, with_companies: bool,
                   out_dir: Path, object_name: str | None) -> Outcome:
    """Import the named New records (none named: every New one of the last pull, of `object_name`)."""
    importer = Importer(decider, out_dir)
    return importer.run(importer.selection(crm_ids, object_name), as_stream, with_companies)
