"""Start a command-line script in its own process group and read its output up to a line."""

from __future__ import annotations

import subprocess
import time


def start_until(
    cmd: list[str], env: dict[str, str], marker: str, timeout_s: float = 240.0
) -> tuple[subprocess.Popen, str]:
    """Start ``cmd`` (stdout and stderr merged, a new process group so the caller can
    signal the whole tree) and return it with its output up to the first line containing
    ``marker`` (or everything it printed before exiting or ``timeout_s`` passing)."""
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        start_new_session=True,
    )  # fmt: skip
    lines: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline() if proc.stdout is not None else ""
        if not line and proc.poll() is not None:
            break
        lines.append(line)
        if marker in line:
            break
    return proc, "".join(lines)
