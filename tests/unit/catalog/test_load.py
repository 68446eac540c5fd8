import json
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


def test_over_long_fields_are_truncated_and_reported(tmp_path: Path) -> None:
    # issue 13: a 0.25 MB title cost 2 GB in ingest; limits cut text at a character boundary
    from shopfuse.config import FieldLimits

    file = tmp_path / "c.jsonl"
    title = "红" * 600  # 1,800 bytes of UTF-8
    file.write_text(
        json.dumps({"id": "a", "title": title, "description": "d" * 70_000, "colour": "x" * 5000}) + "\n",
        encoding="utf-8",
    )
    catalog = load_catalog(file, limits=FieldLimits())
    [product] = catalog.products
    assert product.title == "红" * 341  # 1,023 bytes: the 342nd character would pass 1,024
    assert product.description is not None and len(product.description) == 65_536
    assert product.attributes["colour"] == "x" * 4096
    truncated = {p.field: p for p in catalog.problems}
    assert set(truncated) == {"title", "description", "colour"}
    assert all(
        p.severity == "warning" and p.id == "a" and "truncated" in p.reason for p in truncated.values()
    )


def test_rows_over_the_id_or_attribute_limits_are_refused(tmp_path: Path) -> None:
    from shopfuse.config import FieldLimits

    file = tmp_path / "c.jsonl"
    many = {f"a{i}": i for i in range(6)}
    rows = [
        {"id": "x" * 30, "title": "t"},
        {"id": "ok", "title": "t", **many},
        {"id": "tab\tid", "title": "t"},
    ]
    file.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    catalog = load_catalog(file, limits=FieldLimits(id_bytes=20, attributes_per_product=5))
    assert catalog.products == []
    reasons = sorted(p.reason for p in catalog.problems)
    assert any("longer than the limit of 20" in r for r in reasons)
    assert any("6 attributes, more than the limit of 5" in r for r in reasons)
    assert any("control characters" in r for r in reasons)


def test_unusable_column_names_are_not_stored(tmp_path: Path) -> None:
    file = tmp_path / "c.csv"
    file.write_text("id,title,colour,a.b,_hash,x`y\n1,Shirt,red,1,2,3\n")
    catalog = load_catalog(file)
    assert catalog.attribute_columns == ["colour"]
    assert catalog.products[0].attributes == {"colour": "red"}
    dropped = {p.field: p.reason for p in catalog.problems}
    assert set(dropped) == {"a.b", "_hash", "x`y"}
    assert all(reason.endswith("column not stored") for reason in dropped.values())


def test_reader_problems_name_the_row_id(tmp_path: Path) -> None:
    # issue 13: Latin-1 rows were reported with id null
    file = tmp_path / "c.csv"
    file.write_bytes("id,title\nsku-7,Caf\xe9 cr\xe8me\n".encode("latin-1"))
    catalog = load_catalog(file)
    [problem] = catalog.problems
    assert (problem.id, problem.field, problem.row) == ("sku-7", "title", 1)
    assert "non-UTF-8" in problem.reason


def test_parquet_binary_text_is_decoded_and_bad_bytes_reported(tmp_path: Path) -> None:
    # issue 13: a binary title was stored as the text "b'Red dress'"
    import pyarrow as pa
    import pyarrow.parquet as pq

    file = tmp_path / "c.parquet"
    table = pa.table({"id": ["a", "b"], "title": pa.array([b"Red dress", b"Caf\xe9"], type=pa.binary())})
    pq.write_table(table, file)
    catalog = load_catalog(file)
    assert [p.title for p in catalog.products] == ["Red dress", "Caf\ufffd"]
    [problem] = catalog.problems
    assert (problem.id, problem.field, problem.severity) == ("b", "title", "warning")


def test_nul_bytes_in_media_paths_refuse_the_row(tmp_path: Path) -> None:
    file = tmp_path / "c.jsonl"
    file.write_text(json.dumps({"id": "a", "title": "t", "image": "x\u0000.jpg"}) + "\n")
    catalog = load_catalog(file)
    assert catalog.products == []
    assert "NUL byte" in catalog.problems[0].reason
