import pytest

from shopfuse.store.attributes import coerce_attribute, infer_attribute_type


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        ([1, 2, None], "int64"),
        ([1, 2.5], "float64"),
        ([True, False], "bool"),
        (["a", 1], "string"),
        ([None, None], None),
        ([{"a": 1}], "string"),
    ],
)
def test_infer(values: list[object], kind: str | None) -> None:
    assert infer_attribute_type(values) == kind


def test_coerce() -> None:
    assert coerce_attribute("3", "int64") == 3
    assert coerce_attribute(3.0, "int64") == 3
    assert coerce_attribute("yes", "bool") is True
    assert coerce_attribute(2, "float64") == 2.0
    assert coerce_attribute({"a": 1}, "string") == '{"a": 1}'
    assert coerce_attribute(None, "int64") is None
    for value, kind in (("red", "int64"), (True, "int64"), ("maybe", "bool"), (True, "float64")):
        with pytest.raises(ValueError):
            coerce_attribute(value, kind)
