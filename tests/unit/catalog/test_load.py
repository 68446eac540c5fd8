from pathlib import Path

import pytest

from shopfuse.catalog.load import load_catalog
from shopfuse.catalog.mapping import FieldMapping
from shopfuse.errors import CatalogError


def test_mapping_paths_and_attributes(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    file = tmp_path / "c.csv"
    file.write_text('sku,name,photo,gender,more\n1,Red Dress,img/1.jpg,Women,"[""img/2.jpg""]"\n')
    mapping = FieldMapping(id="sku", title="name", image="photo", images="more")
    catalog = load_catalog(file, mapping)
    [product] = catalog.products
    assert product.id == "1"
    assert product.title == "Red Dress"
    assert product.images == (str(tmp_path / "img/1.jpg"), str(tmp_path / "img/2.jpg"))
    assert product.attributes == {"gender": "Women"}
    assert (product.source, product.row) == (str(file), 1)


def test_duplicates_missing_ids_empty_titles_and_no_modality(tmp_path: Path) -> None:
    file = tmp_path / "c.csv"
    file.write_text(
        "id,title,image,colour\na,Shirt,,blue\na,Shirt again,,red\n,No id,,red\nb,,x.jpg,red\nc,,,red\n"
    )
    catalog = load_catalog(file)
    assert [p.id for p in catalog.products] == ["a", "b"]
    reasons = {(p.row, p.field, p.severity): p.reason for p in catalog.problems}
    assert "duplicate id (first seen at row 1)" in reasons[(2, "id", "error")]
    assert "missing id" in reasons[(3, "id", "error")]
    assert reasons[(4, "title", "warning")] == "empty title"
    assert "no usable modality" in reasons[(5, None, "error")]
    assert catalog.seen_ids == {"a", "b", "c"}


def test_absolute_paths_are_kept(tmp_path: Path) -> None:
    file = tmp_path / "c.jsonl"
    file.write_text('{"id": "a", "images": ["/abs/1.jpg", "rel/2.jpg"]}\n')
    [product] = load_catalog(file).products
    assert product.images == ("/abs/1.jpg", str(tmp_path / "rel/2.jpg"))


def test_missing_id_column_is_a_clear_error(tmp_path: Path) -> None:
    file = tmp_path / "c.csv"
    file.write_text("sku,title\n1,x\n")
    with pytest.raises(CatalogError, match="--field id="):
        load_catalog(file)


def test_limit(tmp_path: Path) -> None:
    file = tmp_path / "c.csv"
    file.write_text("id,title\n" + "".join(f"{i},t{i}\n" for i in range(10)))
    assert len(load_catalog(file, limit=3).products) == 3


def test_shared_catalogues_ingest_through_mapping_alone(fashion_csv: Path, hm_csv: Path) -> None:
    fashion = load_catalog(fashion_csv, FieldMapping(title="productDisplayName"))
    assert len(fashion.products) == 9572
    assert all(Path(p.images[0]).is_file() for p in fashion.products[:50])
    hm = load_catalog(hm_csv, FieldMapping(id="article_id", title="prod_name", description="detail_desc"))
    assert len(hm.products) == 5953
    with_text = [p for p in hm.products if p.text]
    assert len(with_text) == 1570
    assert hm.products[0].id.startswith("0")  # article ids keep their leading zero
