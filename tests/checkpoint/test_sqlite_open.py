"""open_database: the one way cadence's SQLite stores (checkpoints, waits, response cache) connect."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from cadence.checkpoint.sqlite import open_database


def test_a_briefly_locked_file_is_waited_for_then_set_up(tmp_path: Path) -> None:
    """With another connection holding an exclusive lock for a moment, open_database waits,
    then leaves the file in WAL mode with the requested synchronous level and the caller's
    tables created."""
    path = tmp_path / "shared.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    threading.Timer(0.3, lambda: holder.execute("COMMIT")).start()
    conn = open_database(
        path,
        busy_timeout=5.0,
        synchronous="NORMAL",
        setup=lambda c: c.execute("CREATE TABLE IF NOT EXISTS u (y)"),
    )
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert tables == {"t", "u"}
    conn.close()
    holder.close()


def test_a_lock_held_past_the_timeout_raises(tmp_path: Path) -> None:
    """Waiting is bounded by busy_timeout: a lock that stays raises OperationalError."""
    path = tmp_path / "held.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            open_database(path, busy_timeout=0.2)
    finally:
        holder.execute("COMMIT")
        holder.close()
