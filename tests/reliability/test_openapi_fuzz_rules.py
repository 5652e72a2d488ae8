"""The fuzzer's own rules, Ray-free: a violation it sends must be one the schema forbids."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from deployments.schemas import PredictRequest
from tests.reliability.openapi_fuzz import violations


def _spec() -> dict:
    schema = PredictRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    return {"components": {"schemas": schema.pop("$defs")}, "root": schema}


@settings(max_examples=200, database=None)
@given(data=st.data())
def test_an_optional_list_is_never_broken_by_leaving_it_null(data: st.DataObject) -> None:
    spec = _spec()
    at_list = [
        v for v in violations(spec, spec["root"], ("body",)) if v.where == ("body", "candles")
    ]
    assert {v.kind for v in at_list} == {"type", "minItems"}
    for v in at_list:
        assert data.draw(v.values) is not None, v.kind


def test_the_items_of_an_optional_list_keep_their_rules() -> None:
    spec = _spec()
    found = {v.where for v in violations(spec, spec["root"], ("body",))}
    assert ("body", "candles", None, "close") in found
