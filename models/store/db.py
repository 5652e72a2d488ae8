"""Opening the SQLite state file: durability settings and the schema.

The serving layer acknowledges a write only after it is committed, so the connection runs
in WAL mode with ``synchronous=FULL``: a committed transaction survives a crash or restart
of the process. The schema is versioned with ``PRAGMA user_version`` so a later migration
can tell old files from new ones. Version 2 added ``predictions.answer`` (what the answer
said beyond the ensemble's learning record: per-model entries, expert weights, signal,
degraded reasons) for the dashboard; version-1 files are migrated in place on open and their
old rows keep ``answer`` NULL (shown without those fields, never guessed).

Version 3 makes learning belong to the stored series: before it, a prediction on candles a
client sent was stored pending with the client's ``as_of`` and ``entry_close``, and anyone
could store a bar dated in the future (after which every real bar of the symbol was refused
as out of order). Migrating a file drops candles dated more than a day ahead of now, then
every pending prediction whose bar is not a stored candle with that close (it could teach a
label the client chose); resolved rows are history and stay.

The trading books' tables (``models.store.trading``) are additive: any file opened for
writing gains them, with no version change.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from models.errors import ConfigError
from models.store.trading import SCHEMA as TRADING_SCHEMA

SCHEMA_VERSION = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS candles (
    symbol TEXT NOT NULL,
    ts INTEGER NOT NULL,
    open REAL NOT NULL,
    high REAL NOT NULL,
    low REAL NOT NULL,
    close REAL NOT NULL,
    volume REAL NOT NULL,
    PRIMARY KEY (symbol, ts)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS predictions (
    id TEXT PRIMARY KEY,
    symbol TEXT NOT NULL,
    as_of INTEGER NOT NULL,
    horizon_bars INTEGER NOT NULL,
    entry_close REAL NOT NULL,
    record TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    resolved_at INTEGER,
    realized_return REAL,
    answer TEXT
);
CREATE INDEX IF NOT EXISTS predictions_pending
    ON predictions (symbol, as_of) WHERE resolved_at IS NULL;
CREATE INDEX IF NOT EXISTS predictions_by_time ON predictions (symbol, as_of);
CREATE INDEX IF NOT EXISTS predictions_resolved
    ON predictions (symbol, as_of) WHERE resolved_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
"""


def open_db(path: str | Path, read_only: bool = False) -> sqlite3.Connection:
    """Open (creating if needed) the state database at ``path``, durable and migrated.

    ``":memory:"`` gives a throw-away database for unit tests. ``read_only`` opens an
    existing file for reading beside its writer (no migration, every write refused).
    """
    target = str(path)
    if read_only:
        return _open_read_only(target)
    if target != ":memory:":
        parent = Path(target).expanduser().resolve().parent
        if not parent.is_dir():
            raise ConfigError(f"state_db: directory {parent} does not exist")
    try:
        conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise ConfigError(f"state_db: cannot open {target}: {exc}") from exc
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=5000")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        conn.close()
        raise ConfigError(
            f"state_db: {target} has schema version {version}, newer than this code "
            f"({SCHEMA_VERSION}); upgrade SmartMarket"
        )
    conn.execute("BEGIN IMMEDIATE")
    try:
        _migrate(conn)
        for statement in (_SCHEMA + ";" + TRADING_SCHEMA).split(";"):  # one by one: no commit
            if statement.strip():
                conn.execute(statement)
        if version < 3:  # before version 3 anyone could store bars and pending predictions
            drop_future_candles(conn, time.time_ns() // 1000 + FUTURE_SLACK_US)
            drop_foreign_pending(conn)
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    except BaseException:
        conn.execute("ROLLBACK")
        conn.close()
        raise
    conn.execute("COMMIT")
    return conn


def _open_read_only(target: str) -> sqlite3.Connection:
    file = Path(target).expanduser().resolve()
    if not file.is_file():
        raise ConfigError(f"state_db: {target} does not exist")
    try:
        conn = sqlite3.connect(
            f"{file.as_uri()}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.Error as exc:
        raise ConfigError(f"state_db: cannot open {target} for reading: {exc}") from exc
    if version != SCHEMA_VERSION:
        conn.close()
        raise ConfigError(
            f"state_db: {target} has schema version {version}; this code reads "
            f"{SCHEMA_VERSION} (open it once for writing to migrate it)"
        )
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring an older file's tables up to this schema (before the CREATEs add what is new)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(predictions)")}
    if columns and "answer" not in columns:  # version 1: no stored answer
        conn.execute("ALTER TABLE predictions ADD COLUMN answer TEXT")


FUTURE_SLACK_US = 86_400_000_000
"""A stored candle that opens more than this after now cannot be real: a bar opens before it
is stored (a day of slack for clocks that disagree)."""


def drop_future_candles(conn: sqlite3.Connection, after_us: int) -> int:
    """Delete candles that open after ``after_us`` (stored by a client before version 3)."""
    return conn.execute("DELETE FROM candles WHERE ts > ?", (after_us,)).rowcount


def drop_foreign_pending(conn: sqlite3.Connection) -> int:
    """Delete pending predictions not made on the stored series (their bar is not a stored
    candle, or its close is not the prediction's entry close); how many were deleted."""
    cur = conn.execute(
        "DELETE FROM predictions WHERE resolved_at IS NULL AND NOT EXISTS ("
        "SELECT 1 FROM candles c WHERE c.symbol = predictions.symbol "
        "AND c.ts = predictions.as_of AND c.close = predictions.entry_close)"
    )
    return cur.rowcount
