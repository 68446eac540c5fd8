"""Duplicate listings collapse into one hit: the grouping rules and the deeper search."""

from __future__ import annotations

import numpy as np

from shopfuse.tasks.duplicates import (
    DuplicateRule,
    collapse_hits,
    collapse_search,
    normalise_title,
    stored_vectors,
)
from shopfuse.types import Hit


def _unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def _hit(pid: str, title: str | None, rank: int = 0, **attributes: str) -> Hit:
    return Hit(id=pid, score=1.0 - rank / 100, title=title, attributes=dict(attributes))


SHOE = _unit(1.0, 0.0, 0.0)
SHOE_RESHOT = _unit(1.0, 0.1, 0.0)  # cosine 0.995
SHOE_OTHER_COLOUR = _unit(1.0, 1.0, 0.0)  # cosine 0.71


def test_titles_compare_without_case_spacing_or_punctuation() -> None:
    assert normalise_title("  Nike Men's  AIR-Max, Black ") == normalise_title("nike men s air max black")
    assert normalise_title("Ｎｉｋｅ") == "nike"  # full-width letters
    assert normalise_title(None) == normalise_title("  ") == ""
    assert normalise_title("Nike Air Max") != normalise_title("Nike Air Max 2")


def test_same_title_and_near_identical_photo_collapse_into_the_best_ranked() -> None:
    hits = [_hit("a", "Nike Air Max", 0), _hit("b", "Other shoe", 1), _hit("c", "nike air-max", 2)]
    kept = collapse_hits(hits, photos={"a": SHOE, "b": SHOE_OTHER_COLOUR, "c": SHOE_RESHOT})
    assert [h.id for h in kept] == ["a", "b"]
    assert kept[0].variants == ["c"] and kept[1].variants == []
    assert hits[0].variants == []  # the hits given are left as they were
    assert kept[0].to_dict()["variants"] == ["c"] and "variants" not in kept[1].to_dict()


def test_same_title_with_different_photos_stay_apart() -> None:
    hits = [_hit("a", "Nike Air Max"), _hit("b", "Nike Air Max", 1)]
    kept = collapse_hits(hits, photos={"a": SHOE, "b": SHOE_OTHER_COLOUR})
    assert [h.id for h in kept] == ["a", "b"]
    assert all(not h.variants for h in kept)
    # the threshold decides: at 0.7 the other colourway is the same listing
    loose = collapse_hits(
        hits, photos={"a": SHOE, "b": SHOE_OTHER_COLOUR}, rule=DuplicateRule(photo_threshold=0.7)
    )
    assert [(h.id, h.variants) for h in loose] == [("a", ["b"])]


def test_near_identical_photos_with_different_titles_stay_apart() -> None:
    hits = [_hit("a", "Nike Air Max"), _hit("b", "Nike Air Force", 1)]
    assert len(collapse_hits(hits, photos={"a": SHOE, "b": SHOE})) == 2


def test_products_without_photos_need_near_identical_text() -> None:
    hits = [
        _hit("a", "Plain tee"),
        _hit("b", "Plain Tee", 1),
        _hit("c", "plain tee", 2),
        _hit("d", "Plain tee", 3),
    ]
    texts = {"a": SHOE, "b": SHOE_RESHOT, "c": SHOE_OTHER_COLOUR}  # d has no text vector either
    kept = collapse_hits(hits, photos={}, texts=texts)
    assert [(h.id, h.variants) for h in kept] == [("a", ["b"]), ("c", []), ("d", [])]
    # a photo-less product never joins one with a photo
    assert len(collapse_hits(hits[:2], photos={"a": SHOE}, texts={"a": SHOE, "b": SHOE})) == 2


def test_variant_attribute_groups_whatever_the_title() -> None:
    rule = DuplicateRule(variant_attribute="product_code")
    hits = [
        _hit("red", "Strap top red", 0, product_code="0108775"),
        _hit("other", "Strap top", 1, product_code="0200000"),
        _hit("black", "Strap top black", 2, product_code="0108775"),
        _hit("copy", "Strap top", 3, product_code="0200000 "),
        _hit("twin", "Strap top", 4, product_code="0300000"),  # its own code: not a copy of "other"
        _hit("loose", "Strap top", 5),  # no code: falls back to title and photo
    ]
    photos = {h.id: SHOE for h in hits}
    kept = collapse_hits(hits, photos=photos, rule=rule)
    assert [(h.id, h.variants) for h in kept] == [
        ("red", ["black"]),
        ("other", ["copy", "loose"]),
        ("twin", []),
    ]
    # without the attribute configured only title and photo count
    plain = collapse_hits(hits, photos=photos)
    assert [(h.id, h.variants) for h in plain] == [
        ("red", []),
        ("other", ["copy", "twin", "loose"]),
        ("black", []),
    ]


def test_groups_do_not_chain_through_a_middle_member() -> None:
    middle = _unit(1.0, 0.25, 0.0)  # 0.97 to SHOE; 0.97 to the far one; SHOE to far: 0.89
    far = _unit(1.0, 0.5, 0.0)
    hits = [_hit("a", "Tee"), _hit("b", "Tee", 1), _hit("c", "Tee", 2)]
    kept = collapse_hits(hits, photos={"a": SHOE, "b": middle, "c": far})
    assert [(h.id, h.variants) for h in kept] == [("a", ["b"]), ("c", [])]


class _Store:
    """The part of a store that duplicate detection reads: a manifest's columns, a version, vectors."""

    def __init__(self, columns: dict[str, dict[str, np.ndarray]]) -> None:
        self.columns = columns
        self.version = 1
        self.reads = 0

    @property
    def manifest(self) -> _Store:
        return self

    def vectors(self, column: str) -> tuple[list[str], np.ndarray]:
        self.reads += 1
        rows = self.columns[column]
        return list(rows), np.stack(list(rows.values()))


def test_collapse_search_searches_deeper_until_k_distinct_listings() -> None:
    ranking = [_hit(str(n), "Same title" if n < 10 else f"Title {n}", n) for n in range(40)]
    store = _Store({"image": {h.id: SHOE for h in ranking}})
    asked: list[int] = []

    def search(depth: int) -> list[Hit]:
        asked.append(depth)
        return ranking[:depth]

    hits = collapse_search(search, 3, store)  # type: ignore[arg-type]
    assert asked == [9, 27]  # 9 deep gave one listing, 27 deep enough
    assert [h.id for h in hits] == ["0", "10", "11"]
    assert hits[0].variants == [str(n) for n in range(1, 10)]
    assert store.reads == 1  # vectors read once per store version
    assert len(collapse_search(lambda d: ranking[:2], 5, store)) == 1  # type: ignore[arg-type]


def test_stored_vectors_follow_the_store_version() -> None:
    store = _Store({"image": {"a": SHOE}})
    assert list(stored_vectors(store, "image", ["a", "missing"])) == ["a"]  # type: ignore[arg-type]
    assert stored_vectors(store, "text", ["a"]) == {}  # type: ignore[arg-type]
    store.columns["image"]["b"] = SHOE
    assert list(stored_vectors(store, "image", ["b"])) == []  # type: ignore[arg-type]
    store.version = 2
    assert list(stored_vectors(store, "image", ["b"])) == ["b"]  # type: ignore[arg-type]
