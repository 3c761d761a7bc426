"""Switching a SQLite connection to WAL mode safely when several processes open one file."""

from __future__ import annotations

import sqlite3
import time


def enable_wal(connection: sqlite3.Connection, timeout: float) -> None:
    """Set WAL mode, retrying for up to `timeout` seconds.

    Two processes creating one new file at once can get "database is locked" from the mode
    switch immediately, without SQLite's busy handler waiting.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
