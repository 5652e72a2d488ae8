"""Shared command-line plumbing: user mistakes end in one clear line, not a traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from models.errors import SmartMarketError


class UsageError(SmartMarketError):
    """A command-line option that cannot work (bad value, missing path, ...)."""


def run_cli(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Run ``main`` and turn our own errors and Ctrl-C into a message and an exit code.

    Unexpected exceptions still propagate with their traceback: those are bugs to see.
    """
    try:
        return main(argv)
    except (SmartMarketError, FileNotFoundError, PermissionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
