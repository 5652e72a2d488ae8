"""Opening the SQLite state file: durability settings and the schema.

The serving layer acknowledges a write only after it is committed, so the connection runs
in WAL mode with ``synchronous=FULL``: a committed transaction survives a crash or restart
of the process. The schema is versioned with ``PRAGMA user_version`` so a later migration
can tell old files from new ones.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from models.errors import ConfigError

SCHEMA_VERSION = 1

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
    realized_return REAL
);
CREATE INDEX IF NOT EXISTS predictions_pending
    ON predictions (symbol, as_of) WHERE resolved_at IS NULL;

CREATE TABLE IF NOT EXISTS state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
"""


def open_db(path: str | Path) -> sqlite3.Connection:
    """Open (creating if needed) the state database at ``path``, durable and migrated.

    ``":memory:"`` gives a throw-away database for unit tests.
    """
    target = str(path)
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
    conn.executescript(_SCHEMA)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    return conn
