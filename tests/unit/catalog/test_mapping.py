from pathlib import Path

import pytest

from shopfuse.catalog.mapping import FieldMapping
from shopfuse.errors import ConfigError


def test_options_override_file(tmp_path: Path) -> None:
    file = tmp_path / "map.yaml"
    file.write_text("fields:\n  id: article_id\n  title: prod_name\nexclude: [product_code]\n")
    mapping = FieldMapping.from_options(["title=name"], file)
    assert mapping.id == "article_id"
    assert mapping.title == "name"
    assert mapping.exclude == ["product_code"]


def test_top_level_fields_in_file(tmp_path: Path) -> None:
    file = tmp_path / "map.yaml"
    file.write_text("id: sku\nimage: photo\n")
    mapping = FieldMapping.from_options([], file)
    assert (mapping.id, mapping.image) == ("sku", "photo")


@pytest.mark.parametrize("option", ["title", "=x", "title=", "colour=c"])
def test_bad_options_are_refused(option: str) -> None:
    with pytest.raises(ConfigError, match="--field"):
        FieldMapping.from_options([option])


def test_unknown_key_in_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "map.yaml"
    file.write_text("titel: name\n")
    with pytest.raises(ConfigError, match="titel"):
        FieldMapping.from_options([], file)


def test_attribute_columns_skip_standard_and_excluded() -> None:
    mapping = FieldMapping(title="name", exclude=["sha1"])
    assert mapping.attribute_columns(["id", "name", "image", "gender", "sha1"]) == ["gender"]
    assert FieldMapping(attributes=["gender"]).attribute_columns(["gender", "x"]) == ["gender"]


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    mapping = FieldMapping(id="sku", exclude=["a"])
    mapping.save(tmp_path / "m.yaml")
    assert FieldMapping.from_options([], tmp_path / "m.yaml") == mapping


def test_shipped_example_mappings_match_the_ones_the_code_uses() -> None:
    from shopfuse.demo import FASHION_MAPPING
    from tests.conftest import HM_MAPPING

    examples = Path(__file__).resolve().parents[3] / "examples" / "mappings"
    assert FieldMapping.from_options([], examples / "fashion-products.yaml") == FASHION_MAPPING
    hm = FieldMapping.from_options([], examples / "hm-items.yaml")
    assert (hm.id, hm.title, hm.description) == (HM_MAPPING.id, HM_MAPPING.title, HM_MAPPING.description)
