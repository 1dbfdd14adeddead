"""The state store's tables, as numbered migrations applied on open: each is recorded in
`schema_version` once applied, so opening a store applies only what it lacks. Both stores have the
same tables and the same numbers; a dialect says only what SQL differs."""

from __future__ import annotations

from dataclasses import dataclass

TABLES = """
CREATE TABLE IF NOT EXISTS links (
    profile TEXT NOT NULL, stream TEXT NOT NULL, source_id TEXT NOT NULL,
    object TEXT NOT NULL, crm_id TEXT NOT NULL, linked_at TEXT NOT NULL,
    PRIMARY KEY (profile, stream, source_id)
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, profile TEXT NOT NULL, triggered_by TEXT NOT NULL,
    started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL{runs_rowid}
);
CREATE TABLE IF NOT EXISTS journal (
    run_id TEXT NOT NULL, ref TEXT NOT NULL, object TEXT NOT NULL, action TEXT NOT NULL,
    identity TEXT NOT NULL, state TEXT NOT NULL, written_at TEXT NOT NULL,
    PRIMARY KEY (run_id, ref, action)
);
CREATE TABLE IF NOT EXISTS activity (
    id {serial}, at TEXT NOT NULL, run_id TEXT NOT NULL,
    triggered_by TEXT NOT NULL, object TEXT NOT NULL, action TEXT NOT NULL, result TEXT NOT NULL,
    crm_id TEXT, record_url TEXT, error_code TEXT, error TEXT, stream TEXT, source_id TEXT, request TEXT
);
CREATE INDEX IF NOT EXISTS activity_at ON activity (at);
CREATE INDEX IF NOT EXISTS activity_run ON activity (run_id, stream, source_id);
CREATE INDEX IF NOT EXISTS activity_record ON activity (stream, source_id, id);
CREATE TABLE IF NOT EXISTS associations_due (
    profile TEXT NOT NULL, ref TEXT NOT NULL, relation TEXT NOT NULL,
    PRIMARY KEY (profile, ref, relation)
);
CREATE TABLE IF NOT EXISTS pulled (
    profile TEXT NOT NULL, object TEXT NOT NULL, crm_id TEXT NOT NULL, fields TEXT NOT NULL,
    listing TEXT NOT NULL, PRIMARY KEY (profile, object, crm_id)
);
CREATE TABLE IF NOT EXISTS pull_state (
    profile TEXT NOT NULL, object TEXT NOT NULL, since TEXT, listing TEXT, listing_since TEXT,
    next TEXT, pages INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (profile, object)
);
CREATE TABLE IF NOT EXISTS pull_matches (
    profile TEXT NOT NULL, object TEXT NOT NULL, crm_id TEXT NOT NULL, status TEXT NOT NULL,
    candidates TEXT NOT NULL{matches_rowid}, PRIMARY KEY (profile, object, crm_id)
);
"""

# Columns added after a state dir may have been made: (table, column, type). Migration 2 adds each where
# missing, so a state dir made before schema_version existed keeps working (its old rows hold NULL there).
ADDED_COLUMNS = (
    ("runs", "details", "TEXT"),  # JSON: what the run was asked (profile path, source dir, base URL, --as)
    ("runs", "stop_reason", "TEXT"),  # why it ended early (a stop asked for, the daily reserve, an error)
    ("runs", "summary", "TEXT"),  # JSON: its counts as the push said them when it ended
    ("activity", "changed", "TEXT"),  # JSON: the fields an update changed
)

# Per CRM org, the places requests hold in each published rate limit, shared by every process using the
# store (engine/state/budget.py): a row of org_budgets per (org, limit) is what a process locks while it
# counts; org_requests holds each request from its sending until a period after its answer.
BUDGETS = """
CREATE TABLE IF NOT EXISTS org_budgets (
    org TEXT NOT NULL, rule TEXT NOT NULL, PRIMARY KEY (org, rule)
);
CREATE TABLE IF NOT EXISTS org_requests (
    id {serial}, org TEXT NOT NULL, rule TEXT NOT NULL,
    sent_at DOUBLE PRECISION NOT NULL, answered_at DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS org_requests_rule ON org_requests (org, rule);
"""

# Indexes for the look-ups the review app and `crmsync runs` make: a link by its CRM id (pull's Linked
# rows), a record's activity rows in order, and the pull queue's pages and status counts.
INDEXES = """
CREATE INDEX IF NOT EXISTS links_crm_id ON links (profile, object, crm_id);
CREATE INDEX IF NOT EXISTS pull_matches_order ON pull_matches (profile, object);
CREATE INDEX IF NOT EXISTS pull_matches_status ON pull_matches (profile, object, status);
"""

# The CRM org each profile's state belongs to (engine/state/orgs.py): links and the rest are keyed by
# profile, so a push of the profile to another org is refused instead of taking this org's ids for its own.
PROFILE_ORGS = """
CREATE TABLE IF NOT EXISTS profile_orgs (
    profile TEXT PRIMARY KEY, org TEXT NOT NULL, bound_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Dialect:
    name: str
    serial: str  # an integer key the database numbers itself, in insertion order
    runs_rowid: str  # SQLite has rowid on every table; PostgreSQL gets a column of that name
    matches_rowid: str
    for_update: str  # what locks the rows a SELECT reads until the transaction ends (SQLite: all is)

    def statements(self, number: int) -> list[str]:
        """Migration `number`'s statements; migration 2 (the added columns) is done by the store, which
        knows how to ask its database what columns a table has."""
        if number == 1:
            script = TABLES.format(serial=self.serial, runs_rowid=self.runs_rowid,
                                   matches_rowid=self.matches_rowid)
        elif number == 3:
            script = BUDGETS.format(serial=self.serial)
        elif number == 4:
            script = INDEXES
        elif number == 5:
            script = PROFILE_ORGS  # its rows for the runs made before it: the store fills them
        else:
            return []
        return [s.strip() for s in script.split(";") if s.strip()]


SQLITE = Dialect("sqlite", serial="INTEGER PRIMARY KEY AUTOINCREMENT", runs_rowid="", matches_rowid="",
                 for_update="")
POSTGRES = Dialect("postgresql", serial="BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
                   runs_rowid=", rowid BIGINT GENERATED BY DEFAULT AS IDENTITY",
                   matches_rowid=", rowid BIGINT GENERATED BY DEFAULT AS IDENTITY", for_update=" FOR UPDATE")

MIGRATIONS = {1: "the tables", 2: "columns added since (runs.details, stop_reason, summary; "
              "activity.changed)", 3: "per-org request budgets shared by every process",
              4: "indexes: links by CRM id, the pull queue's order and status",
              5: "the CRM org each profile's state belongs to (profile_orgs)"}
LATEST = max(MIGRATIONS)

VERSION_TABLE = ("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                 "applied_at TEXT NOT NULL)")
