"""Milvus 2.3's filter dialect: nulls as absent JSON keys (``exists``), LIKE on prefixes only."""

from __future__ import annotations

import pytest

from shopfuse.errors import FilterError
from shopfuse.store.filters import parse_filter, store_fields
from shopfuse.store.milvus import _field
from shopfuse.store.milvus_filter import to_milvus

FIELDS = store_fields({"size": "int64", "gender": "string"})


def translate(where: str) -> str:
    return to_milvus(parse_filter(where, FIELDS), _field, exists=True)


def test_nulls_are_absent_keys() -> None:
    assert translate("size IS NULL") == '(not (exists doc["size"]))'
    assert translate("NOT size > 3") == '((exists doc["size"]) and not (doc["size"] > 3))'
    assert translate("id IS NULL") == '(id == "")'  # the primary key is never empty


def test_only_prefix_like_patterns_reach_the_server() -> None:
    assert translate("title LIKE 'red%'") == '(doc["title"] like "red%")'
    for pattern in ("%red", "r_d%", "a%b"):
        with pytest.raises(FilterError, match="only prefixes"):
            translate(f"title LIKE '{pattern}'")


def test_filterable_attributes_are_plain_fields_with_empty_as_null() -> None:
    def resolve(name: str) -> str:
        return "attr_gender" if name == "gender" else _field(name)

    for exists in (True, False):
        tree = parse_filter("gender = 'Women' AND NOT gender IS NULL AND size > 1", FIELDS)
        text = to_milvus(tree, resolve, exists=exists)
        assert '(attr_gender == "Women")' in text and '(attr_gender != "")' in text
        assert 'doc["size"]' in text and "attr_gender is" not in text
