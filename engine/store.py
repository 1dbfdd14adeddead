"""The state store, as the rest of the engine has always imported it: `Store(state_dir)` is SQLite in
the state dir. The store itself lives in engine/state/ (one interface, SQLite and PostgreSQL)."""

from __future__ import annotations

from engine.state.base import Link, StateStore, default_state_dir, now
from engine.state.locks import PushRunning, push_lock, push_lock_held
from engine.state.migrations import ADDED_COLUMNS
from engine.state.sqlite import Store

__all__ = ["ADDED_COLUMNS", "Link", "PushRunning", "StateStore", "Store", "default_state_dir", "now",
           "push_lock", "push_lock_held"]
