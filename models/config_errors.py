"""Shared pieces of config validation that ends in :class:`~models.errors.ConfigError`.

Configs (ensemble, regime) are pydantic models, but callers catch our ``ConfigError`` (an
HTTP 4xx, a CLI exit code). One description for every config means a person fixing a file
reads the same shape of message whichever section is wrong: each problem with its dotted
field path and reason, unknown keys named as such. Dataclass configs (labels, training)
check types by hand, where ``True`` would otherwise pass as the integer 1.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError


def is_int(value: Any) -> bool:
    """An integer that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_real(value: Any) -> bool:
    """An int or float that is not a bool (finiteness is the caller's check)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def describe_validation_error(exc: ValidationError, what: str) -> str:
    """One line per problem: the dotted field path and the reason (unknown keys named)."""
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        if err["type"] == "extra_forbidden":
            problems.append(f"unknown key {loc!r}")
        else:
            reason = err["msg"].removeprefix("Value error, ")
            got = "" if "got" in reason else f" (got {err.get('input')!r})"
            problems.append(f"{loc}: {reason}{got}")
    return f"{what}: " + "; ".join(problems)
