"""Disk-backed sequences for what a plan holds per record: its planned records, look-ups and writes are
written to a temporary file as each window is decided and read back in order, so a plan's memory does
not grow with the number of records (`records`, `plan_json`). Imports nothing else of the engine but
what it stores."""
