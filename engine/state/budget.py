"""A CRM org's published rate limits, shared by every process that pushes to it with one store: two
workers pushing two profiles of one org draw on that org's budget together, never on one each.

Each request holds a place in each limit that counts it, in `org_requests`, from its sending until a
period after its answer (the rule the in-process limiter follows: engine/client.py). A process counts
and takes its places in one transaction that holds the (org, limit) row of `org_budgets`: SELECT … FOR
UPDATE in PostgreSQL, BEGIN IMMEDIATE (one writer at a time) in SQLite. Times are the machines' wall
clocks (time.time()), which must agree to well within a period (NTP does). A fixed-window limit is held
as a sliding one here: stricter than the CRM's count, so never over it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from engine.state.base import StateStore

UNANSWERED_S = 600.0  # a place whose request was never answered (its process died) frees after this
MIN_WAIT_S = 0.001  # a place that frees in less than this is waited for this long (never a busy loop)


class Rule(Protocol):
    requests: int
    per_seconds: float

    def describe(self) -> str: ...


class SharedBudget:
    """The org's places in its limits, in a store of its own connection (the push's store is busy
    with the run's own writes within the same event loop)."""

    def __init__(self, store: StateStore, org: str) -> None:
        self.store = store
        self.org = org

    def close(self) -> None:
        self.store.close()

    def take(self, rules: Sequence[Rule], now: float) -> tuple[list[int] | None, float | None]:
        """(the places taken, 0) when every limit has room now; else (None, seconds to wait), the wait
        None when only an answer can free a place (the caller's own answers, or another process's)."""
        by_key = {rule.describe(): rule for rule in rules}
        with self.store.transaction():
            waits = [self.wait(key, by_key[key], now) for key in sorted(by_key)]  # in order: no deadlock
            if None in waits:
                return None, None
            if any(w != 0 for w in waits):
                return None, max(w for w in waits if w is not None)
            return [self.hold(key, now) for key in sorted(by_key)], 0.0

    def wait(self, key: str, rule: Rule, now: float) -> float | None:
        """Seconds until the limit has room (0: now); None: only an answer can free a place."""
        db = self.store.db
        db.execute("INSERT INTO org_budgets VALUES (?, ?) ON CONFLICT DO NOTHING", (self.org, key))
        db.execute(f"SELECT rule FROM org_budgets WHERE org = ? AND rule = ?{self.store.dialect.for_update}",
                   (self.org, key)).fetchone()
        db.execute("DELETE FROM org_requests WHERE org = ? AND rule = ? AND (answered_at <= ? OR "
                   "(answered_at IS NULL AND sent_at <= ?))",
                   (self.org, key, now - rule.per_seconds, now - UNANSWERED_S))
        held = [r[0] for r in db.execute("SELECT answered_at FROM org_requests WHERE org = ? AND rule = ?",
                                         (self.org, key))]
        over = len(held) - rule.requests  # places to free before one more may go
        if over < 0:
            return 0.0
        answered = sorted(a for a in held if a is not None)
        # the exact time, not rounded up to a poll: a place this process freed a moment ago in its own
        # limiter (monotonic clock) frees here microseconds later (wall clock), and a push that slept a
        # poll for it each time left the CRM idle
        return max(answered[over] + rule.per_seconds - now, MIN_WAIT_S) if over < len(answered) else None

    def hold(self, key: str, now: float) -> int:
        return int(self.store.db.execute("INSERT INTO org_requests (org, rule, sent_at) VALUES (?, ?, ?) "
                                         "RETURNING id", (self.org, key, now)).fetchone()[0])

    def release(self, places: list[int], now: float) -> None:
        """The request was answered: its places free a period from now."""
        marks = ", ".join("?" * len(places))  # one statement: atomic without a transaction around it
        self.store.db.execute(f"UPDATE org_requests SET answered_at = ? WHERE id IN ({marks})",
                              (now, *places))


@contextmanager
def shared_limits(store: StateStore, org: str, limiter: Any) -> Iterator[SharedBudget | None]:
    """For the block, `limiter` (engine.client.RateLimiter) also holds the org's limits shared through
    the store; nothing to share when the connector publishes no rate limit."""
    if not limiter.limits.rate:
        yield None
        return
    budget = SharedBudget(store.another(), org)
    limiter.shared = budget
    try:
        yield budget
    finally:
        limiter.shared = None
        budget.close()
