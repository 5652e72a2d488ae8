"""Requests derived from the app's own OpenAPI document: every constraint it states, broken.

A small generator instead of a schema-fuzzing framework: it walks each operation's request
schema (``$ref``, ``anyOf``, objects, arrays, numbers, strings, path and query parameters)
next to a real, valid example of that request, and yields one violation at a time: a
required field dropped, an unknown field added, a value of another JSON type, a number past
``minimum`` / ``exclusiveMinimum`` / ``maximum``, a string outside ``pattern`` or not a
``date-time``, an array under ``minItems``. The server must refuse each with 422 naming the
field, so a constraint the document states but the server does not enforce (or the reverse,
via ``boundary`` values the document allows) shows up as a failing example.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

DROP = object()  # the value that removes a field
JSON_TYPES: dict[str, st.SearchStrategy[Any]] = {
    "string": st.text(max_size=6),
    "number": st.floats(-1e6, 1e6, allow_nan=False),
    "integer": st.integers(-1000, 1000),
    "boolean": st.booleans(),
    "null": st.none(),
    "array": st.lists(st.integers(), max_size=2),
    "object": st.dictionaries(st.text(max_size=3), st.integers(), min_size=1, max_size=2),
}


@dataclass(frozen=True)
class Violation:
    """Where (``("body", "candles", None, "high")``; None = any item), what, and the kind."""

    where: tuple[Any, ...]
    values: st.SearchStrategy[Any]
    kind: str


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with a top-level ``$ref`` followed (``#/components/schemas/Name``)."""
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def allowed_types(schema: dict[str, Any]) -> set[str]:
    """JSON types a schema accepts (an integer is also a number)."""
    if "anyOf" in schema:
        return set().union(*(allowed_types(s) for s in schema["anyOf"]))
    kind = schema.get("type")
    if kind is None:
        return set(JSON_TYPES)
    return {kind, "integer"} if kind == "number" else {kind}


def _number_violations(schema: dict[str, Any]) -> Iterator[tuple[st.SearchStrategy, str]]:
    big = dict(allow_nan=False, allow_infinity=False)
    if "minimum" in schema:
        yield st.floats(max_value=schema["minimum"], exclude_max=True, **big), "minimum"
    if "exclusiveMinimum" in schema:
        yield st.floats(max_value=schema["exclusiveMinimum"], **big), "exclusiveMinimum"
    if "maximum" in schema:
        yield st.floats(min_value=schema["maximum"], exclude_min=True, **big), "maximum"
    if schema.get("type") == "integer":
        yield (
            st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: not x.is_integer()),
            "integer",
        )


def _string_violations(schema: dict[str, Any]) -> Iterator[tuple[st.SearchStrategy, str]]:
    if "pattern" in schema:
        pattern = re.compile(schema["pattern"])
        yield st.text(max_size=30).filter(lambda s: not pattern.search(s)), "pattern"
    if schema.get("format") == "date-time":
        yield st.text("abcxyz :-/", min_size=1, max_size=12), "date-time"


def violations(spec: dict[str, Any], schema: dict[str, Any], where: tuple) -> Iterator[Violation]:
    """Every single-field violation of ``schema`` at ``where`` (recursively)."""
    schema = resolve(spec, schema)
    wrong = sorted(set(JSON_TYPES) - allowed_types(schema))
    if wrong:
        yield Violation(where, st.one_of(*(JSON_TYPES[t] for t in wrong)), "type")
    if "anyOf" in schema:  # a rule binds when only one branch takes that type
        branches = [resolve(spec, b) for b in schema["anyOf"]]
        strings = [b for b in branches if b.get("type") == "string"]
        if len(strings) == 1:
            for values, what in _string_violations(strings[0]):
                yield Violation(where, values, what)
        arrays = [b for b in branches if b.get("type") == "array"]
        if len(arrays) == 1:  # an optional list (``list | None``): its own rules bind, not
            yield from _array_violations(spec, arrays[0], where)  # its type (null is fine)
        return
    kind = schema.get("type")
    if kind == "object":
        yield from _object_violations(spec, schema, where)
    elif kind == "array":
        yield from _array_violations(spec, schema, where)
    elif kind in ("number", "integer"):
        for values, what in _number_violations(schema):
            yield Violation(where, values, what)
    elif kind == "string":
        for values, what in _string_violations(schema):
            yield Violation(where, values, what)


def _array_violations(spec: dict[str, Any], schema: dict[str, Any], where: tuple):
    if schema.get("minItems", 0) >= 1:
        yield Violation(where, st.just([]), "minItems")
    yield from violations(spec, schema["items"], (*where, None))


def _object_violations(spec: dict[str, Any], schema: dict[str, Any], where: tuple):
    properties = schema.get("properties", {})
    for name in schema.get("required", []):
        yield Violation((*where, name), st.just(DROP), "required")
    if schema.get("additionalProperties") is False:
        extra = st.text(min_size=1, max_size=10).filter(lambda k: k not in properties)
        yield Violation((*where, extra), st.integers(), "additionalProperties")
    for name, sub in properties.items():
        yield from violations(spec, sub, (*where, name))


def boundaries(spec: dict[str, Any], schema: dict[str, Any], where: tuple) -> Iterator[tuple]:
    """Values the document allows at the edge of each numeric range: (where, value)."""
    schema = resolve(spec, schema)
    for key in ("minimum", "maximum"):
        if key in schema:
            yield where, schema[key]
    if "exclusiveMinimum" in schema:
        yield where, schema["exclusiveMinimum"] + 1e-9
    for branch in schema.get("anyOf", []):
        yield from boundaries(spec, branch, where)
    for name, sub in schema.get("properties", {}).items():
        yield from boundaries(spec, sub, (*where, name))
    if schema.get("type") == "array":
        yield from boundaries(spec, schema["items"], (*where, None))


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    parameters: tuple[dict[str, Any], ...]
    body: dict[str, Any] | None


def operations(spec: dict[str, Any]) -> list[Operation]:
    out = []
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            content = (op.get("requestBody") or {}).get("content", {})
            body = content.get("application/json", {}).get("schema")
            out.append(Operation(method.upper(), path, tuple(op.get("parameters", ())), body))
    return out


def param_violations(param: dict[str, Any]) -> Iterator[Violation]:
    """Path and query values are text: violations are strings that break the schema."""
    schema, where = param["schema"], (param["in"], param["name"])
    if schema.get("type") == "integer":
        yield Violation(where, st.text("abcxyz.-_ ", min_size=1, max_size=8), "type")
        yield Violation(where, st.floats(0.01, 1e6).filter(lambda x: not x.is_integer()).map(str),
                        "integer")  # fmt: skip
        if "minimum" in schema:
            below = st.integers(max_value=int(schema["minimum"]) - 1)
            yield Violation(where, below.map(str), "minimum")
        if "maximum" in schema:
            above = st.integers(min_value=int(schema["maximum"]) + 1)
            yield Violation(where, above.map(str), "maximum")
    elif schema.get("type") == "string":
        for values, what in _string_violations(schema):
            yield Violation(where, values.filter(bool), what)


def operation_violations(spec: dict[str, Any], op: Operation) -> list[Violation]:
    found = list(violations(spec, op.body, ("body",))) if op.body else []
    for param in op.parameters:
        found += list(param_violations(param))
    return found


def apply(example: dict[str, Any], where: tuple, value: Any, index: int, key: str) -> dict:
    """A copy of ``example`` (``{"body": ..., "path": ..., "query": ...}``) with ``value`` at
    ``where`` (None -> item ``index``; a strategy in the key position -> ``key``)."""
    out = copy.deepcopy(example)
    target: Any = out
    parts = [
        index if p is None else (key if isinstance(p, st.SearchStrategy) else p) for p in where
    ]
    for part in parts[:-1]:
        target = target[part]
    if value is DROP:
        del target[parts[-1]]
    else:
        target[parts[-1]] = value
    return out


def field_name(where: tuple, index: int, key: str) -> str:
    """How the API names the field: ``candles[3].high``, ``symbol``, ``limit``."""
    out = ""
    for part in (_part(p, index, key) for p in where[1:]):
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _part(part: Any, index: int, key: str) -> Any:
    """A concrete path part: None -> the item ``index``, a strategy -> the drawn ``key``."""
    if part is None:
        return index
    return key if isinstance(part, st.SearchStrategy) else part
