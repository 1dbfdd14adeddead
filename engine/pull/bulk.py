"""Many links at once: from a decisions file (CSV or JSON: crm_id and local_ref, or `skip`), or the
confident ones of the last pull (`--accept-best`: the best candidate scores at least --min-score and
beats the second by a margin). Each row of a file is checked where it is (file:line)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from engine.pull.decisions import ACCEPT_BEST_MARGIN, Decider, DecisionUsage, Outcome, split_ref
from engine.pull.state import known_matches

SKIP = "skip"


@dataclass(frozen=True)
class Decision:
    crm_id: str
    local_ref: str  # or SKIP
    where: str  # file:line


def read_decisions(path: Path) -> list[Decision]:
    """Rows of crm_id, local_ref: a CSV with that header, or a JSON list of such objects."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DecisionUsage(f"{path}: cannot read the decisions file: {exc}") from None
    rows = _json_rows(path, text) if path.suffix.lower() == ".json" else _csv_rows(path, text)
    decisions = []
    for where, row in rows:
        crm_id, local_ref = (str(row.get(k) or "").strip() for k in ("crm_id", "local_ref"))
        if not crm_id or not local_ref:
            missing = "crm_id" if not crm_id else "local_ref"
            raise DecisionUsage(f"{where}: {missing}: empty; each row names a CRM id and a local record "
                                f"(STREAM/ID) or `{SKIP}`")
        decisions.append(Decision(crm_id, local_ref, where))
    return decisions


def _csv_rows(path: Path, text: str) -> list[tuple[str, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"crm_id", "local_ref"} <= set(reader.fieldnames):
        raise DecisionUsage(f"{path}:1: the header must name crm_id and local_ref (found "
                            f"{', '.join(reader.fieldnames or []) or 'nothing'})")
    return [(f"{path}:{reader.line_num}", row) for row in reader]


def _json_rows(path: Path, text: str) -> list[tuple[str, dict[str, str]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DecisionUsage(f"{path}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}") from None
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise DecisionUsage(f"{path}: a JSON decisions file is a list of objects with crm_id and "
                            "local_ref")
    return [(f"{path}: item {i}", row) for i, row in enumerate(data)]


def apply_decisions(decider: Decider, decisions: list[Decision]) -> Outcome:
    outcome = Outcome("link")
    for decision in decisions:  # every ref is checked before anything is linked
        if decision.local_ref != SKIP:
            try:
                split_ref(decider.bundle, decision.local_ref)
            except DecisionUsage as exc:
                raise DecisionUsage(f"{decision.where}: local_ref: {exc}") from None
    for decision in decisions:
        if decision.local_ref == SKIP:
            outcome.skipped.append(decision.crm_id)
            continue
        refused = decider.link(decision.crm_id, decision.local_ref)
        if refused:
            outcome.refused.append((f"{decision.where}: {decision.crm_id}", refused))
        else:
            outcome.done.append((decision.crm_id, decision.local_ref))
    return outcome


def accept_best(decider: Decider, min_score: float, object_name: str | None = None) -> Outcome:
    """Link each Match Found record of the last pull whose best candidate is confident."""
    outcome = Outcome("link")
    chosen: set[str] = set()
    for match in known_matches(decider.store, decider.profile, object_name):
        if match.status != "match_found" or not match.candidates:
            continue
        best = match.candidates[0]
        second = match.candidates[1]["score"] if len(match.candidates) > 1 else 0.0
        if best["score"] < min_score or best["score"] - second < ACCEPT_BEST_MARGIN:
            outcome.skipped.append(match.crm_id)
            continue
        if best["ref"] in chosen:
            outcome.refused.append((match.crm_id, f"{best['ref']} is the best candidate of another record "
                                                  "too: choose one (crmsync link CRM_ID LOCAL_REF)"))
            continue
        chosen.add(best["ref"])
        refused = decider.link(match.crm_id, best["ref"])
        if refused:
            outcome.refused.append((match.crm_id, refused))
        else:
            outcome.done.append((match.crm_id, best["ref"]))
    return outcome
