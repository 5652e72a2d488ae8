"""One writer per state file: an exclusive advisory lock beside it.

The learned state is written whole (last writer wins) and SQLite only serialises single
transactions, so two state deployments on one file (a second ``serve run``, an upgrade that
starts the new replica before the old one stops) would silently overwrite each other's
learning. The writer holds ``flock(LOCK_EX)`` on ``<state file>.lock`` for as long as it is
open and writes who it is into that file; a second opener fails at once (or after
``wait_s``) with an error naming the file and the holder. The operating system drops the lock
when the holding process dies, so a killed replica never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from models.errors import ConfigError, StateLockedError

POLL_S = 0.1


def lock_path(db_path: str | Path) -> Path:
    """The lock file of a state file: ``<db>.lock`` next to it."""
    return Path(db_path).expanduser().resolve().with_name(Path(db_path).name + ".lock")


def _holder() -> str:
    return json.dumps(
        {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
    )


def describe_holder(path: Path) -> str:
    """Who holds ``path`` as its holder wrote it (``unknown`` when unreadable)."""
    try:
        info = json.loads(path.read_text() or "{}")
        return f"pid {info['pid']} on host {info['host']} since {info['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "an unknown process"


class WriterLock:
    """The exclusive lock of one state file, held until :meth:`release`."""

    def __init__(self, db_path: str | Path, wait_s: float = 0.0) -> None:
        self.path = lock_path(db_path)
        try:
            handle: IO[str] = open(self.path, "a+")  # noqa: SIM115 - held open while locked
        except OSError as exc:
            raise ConfigError(f"state_db: cannot create the lock {self.path}: {exc}") from exc
        deadline = time.monotonic() + max(wait_s, 0.0)
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    holder = describe_holder(self.path)
                    handle.close()
                    raise StateLockedError(
                        f"state_db: {db_path} is already open for writing by {holder} "
                        f"(lock {self.path}); run one state deployment per file"
                    ) from None
                time.sleep(POLL_S)
        handle.seek(0)
        handle.truncate()
        handle.write(_holder())
        handle.flush()
        self._handle: IO[str] | None = handle

    def release(self) -> None:
        """Give the lock up (idempotent); the lock file stays, empty of meaning."""
        handle, self._handle = self._handle, None
        if handle is None or handle.closed:  # closed already (at interpreter teardown the
            return  # file may be finalised first): closing its descriptor released the lock
        with contextlib.suppress(OSError):
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()
