"""Pydantic validation failures as one line for :class:`~models.errors.ConfigError`.

Configs (ensemble, regime) are pydantic models, but callers catch our ``ConfigError`` (an
HTTP 4xx, a CLI exit code). One description for every config means a person fixing a file
reads the same shape of message whichever section is wrong: each problem with its dotted
field path and reason, unknown keys named as such.
"""

from __future__ import annotations

from pydantic import ValidationError


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
