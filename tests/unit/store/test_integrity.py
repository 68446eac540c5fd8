"""Damaged Lance stores are found and named: checksums, open-time checks, the full check, repair."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from shopfuse.config import EngineConfig
from shopfuse.encoders.base import EncoderInfo, l2_normalize
from shopfuse.errors import StoreDamagedError, StoreError
from shopfuse.store import LanceStore, Record
from shopfuse.store.checking import check_store, describe, repair_store
from shopfuse.store.integrity import INTEGRITY_FILE
from shopfuse.types import Product

TEXT = EncoderInfo("t", "1", 32, "space-t")
IMAGE = EncoderInfo("i", "1", 16, "space-i")
TABLE = "lance/products.lance"


def records(start: int, n: int, seed: int) -> list[Record]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(start, start + n):
        vectors = {"text": l2_normalize(rng.normal(size=32))[0]}
        if i % 3:
            vectors["image"] = l2_normalize(rng.normal(size=16))[0]
        product = Product(id=f"p{i}", title=f"title {i}", attributes={"size": i})
        out.append(Record(product, f"hash{i}", vectors))
    return out


def make_store(path: Path, batches: int = 3, n: int = 40) -> LanceStore:
    """A store of ``batches`` commits of ``n`` products, with the engine.json a CLI store has."""
    store = LanceStore.create(path, {"text": TEXT, "image": IMAGE})
    EngineConfig().save(path / "engine.json")
    for b in range(batches):
        store.upsert(records(b * n, n, seed=b))
    return store


@pytest.fixture
def built(tmp_path: Path) -> Path:
    store = make_store(tmp_path / "store")
    store.delete(["p1", "p2"])  # a deletion file too
    return store.path


def data_files(root: Path) -> list[Path]:
    return sorted((root / TABLE / "data").glob("*.lance"))


def newest_manifest(root: Path) -> Path:
    # Lance names manifests by u64::MAX - version: the newest sorts first
    return sorted((root / TABLE / "_versions").glob("*.manifest"))[0]


def parts(root: Path) -> list[str]:
    return [d.part for d in check_store(root).problems]


def test_a_healthy_store_checks_clean_after_upserts_a_delete_and_an_optimize(built: Path) -> None:
    report = check_store(built)
    assert report.ok, report.problems
    assert report.rows == report.recorded_rows == 118
    assert report.vectors == {"text": 118, "image": 78}
    recorded = json.loads((built / INTEGRITY_FILE).read_text())
    assert report.files_checked == len(recorded["files"]) > 0
    store = LanceStore(built)
    store.optimize()
    after = check_store(built)
    assert after.ok and after.rows == 118
    files = json.loads((built / INTEGRITY_FILE).read_text())["files"]
    assert all((built / rel).is_file() for rel in files)
    assert any(rel.startswith(f"{TABLE}/data/") for rel in files)


def test_a_new_empty_store_opens_and_checks_clean(tmp_path: Path) -> None:
    store = LanceStore.create(tmp_path / "s", {"text": TEXT})
    EngineConfig().save(store.path / "engine.json")
    reopened = LanceStore(store.path)
    assert reopened.count() == 0
    report = check_store(store.path)
    assert report.ok and report.rows == 0


def _truncate(root: Path) -> str:
    victim = data_files(root)[0]
    os.truncate(victim, victim.stat().st_size // 2)
    return victim.relative_to(root).as_posix()


def _delete_data(root: Path) -> str:
    victim = data_files(root)[-1]
    victim.unlink()
    return victim.relative_to(root).as_posix()


def _delete_versions(root: Path) -> str:
    shutil.rmtree(root / TABLE / "_versions")
    return f"{TABLE}/_versions/"


def _delete_lance(root: Path) -> str:
    shutil.rmtree(root / "lance")
    return "lance/"


def _delete_deletions(root: Path) -> str:
    [victim] = (root / TABLE / "_deletions").iterdir()
    victim.unlink()
    return victim.relative_to(root).as_posix()


def _delete_newest_manifest(root: Path) -> str:
    # Lance then opens the version before, silently: the record's version says otherwise
    victim = newest_manifest(root)
    victim.unlink()
    return victim.relative_to(root).as_posix()


@pytest.mark.parametrize(
    "damage",
    [_truncate, _delete_data, _delete_versions, _delete_lance, _delete_deletions, _delete_newest_manifest],
)
def test_damage_is_named_when_opening_and_by_the_check(built: Path, damage: object) -> None:
    part = damage(built)  # type: ignore[operator]
    with pytest.raises(StoreDamagedError) as caught:
        store = LanceStore(built)
        store.vectors("text")
    assert caught.value.part == part
    message = str(caught.value)
    assert part in message and "--repair" in message and "shopfuse ingest" in message and "backup" in message
    assert "\n" not in message
    report = check_store(built)
    assert not report.ok
    assert report.problems[0].part == part
    assert "re-encodes" in describe(report)


def test_without_a_record_the_first_read_names_what_lance_cannot_read(built: Path, tmp_path: Path) -> None:
    (built / INTEGRITY_FILE).unlink()  # a store from before checksums: nothing to compare when opening
    other = Path(shutil.copytree(built, tmp_path / "copy"))
    missing = _delete_data(built)
    store = LanceStore(built)
    with pytest.raises(StoreDamagedError) as caught:
        store.vectors("text")
    assert caught.value.part == missing and caught.value.reason == "is missing"
    _truncate(other)  # Lance's error names no file: the table is named, with Lance's words
    with pytest.raises(StoreDamagedError) as caught:
        LanceStore(other).hashes()
    assert caught.value.part == TABLE and caught.value.reason.startswith("cannot be read (RuntimeError: ")


def _vector_bytes_zeroed(root: Path, store: LanceStore, pid: str) -> Path:
    """Zero half of ``pid``'s stored text vector inside its data file; the file still decodes."""
    ids, matrix = store.vectors("text")
    needle = matrix[ids.index(pid)].astype("<f4").tobytes()
    for path in data_files(root):
        data = bytearray(path.read_bytes())
        at = data.find(needle)
        if at >= 0:
            data[at : at + len(needle) // 2] = bytes(len(needle) // 2)
            path.write_bytes(bytes(data))
            return path
    raise AssertionError("vector bytes not found in any data file")


def test_zeroed_bytes_are_found_by_checksum_and_by_norms(built: Path) -> None:
    victim = _vector_bytes_zeroed(built, LanceStore(built), "p50")
    reopened = LanceStore(built)  # nothing to see when opening: sizes are unchanged
    assert reopened.count() == 118
    report = check_store(built)
    by_part = {d.part: d for d in report.problems}
    assert "SHA-256" in by_part[victim.relative_to(built).as_posix()].message
    vectors = by_part[f"{TABLE} (column text)"]
    assert vectors.ids == ("p50",)
    # without the record (a store from before checksums) the norms still find it
    (built / INTEGRITY_FILE).unlink()
    report = check_store(built)
    assert [d.ids for d in report.problems] == [("p50",)]
    assert any("no integrity.json" in note for note in report.notes)


def test_a_missing_store_json_or_engine_json_is_named(built: Path, tmp_path: Path) -> None:
    other = tmp_path / "copy"
    shutil.copytree(built, other)
    (built / "store.json").unlink()
    with pytest.raises(StoreDamagedError) as caught:
        LanceStore(built)
    assert caught.value.part == "store.json"
    assert "store.json" in parts(built)
    (other / "engine.json").unlink()
    assert parts(other) == ["engine.json"]
    with pytest.raises(StoreError):
        repair_store(other, check_store(other))


def test_repair_sets_a_damaged_table_aside_and_ingest_refills_it(built: Path) -> None:
    _truncate(built)
    done = repair_store(built, check_store(built))
    assert "moved the damaged table" in done[0]
    assert list((built / "damaged").glob("*/products.lance/data/*.lance"))
    store = LanceStore(built)
    assert store.count() == 0
    store.upsert(records(0, 40, seed=0))
    report = check_store(built)
    assert report.ok and report.rows == 40


def test_repair_deletes_products_whose_vectors_are_bad(built: Path) -> None:
    (built / INTEGRITY_FILE).unlink()  # a store from before checksums: only the norms tell
    _vector_bytes_zeroed(built, LanceStore(built), "p7")
    report = check_store(built)
    assert [d.ids for d in report.problems] == [("p7",)]
    assert "delete the 1 products" in describe(report)
    assert repair_store(built, report) == [
        "deleted 1 products with bad vectors; ingest the catalogue to re-encode them"
    ]
    after = check_store(built)
    assert after.ok and after.rows == 117


def test_an_unreadable_record_is_named_and_repaired(built: Path) -> None:
    (built / INTEGRITY_FILE).write_text("{", encoding="utf-8")
    with pytest.raises(StoreDamagedError) as caught:
        LanceStore(built)
    assert caught.value.part == INTEGRITY_FILE
    repair_store(built, check_store(built))
    report = check_store(built)
    assert report.ok and report.recorded_rows == 118


def test_a_store_from_before_checksums_is_recorded_by_its_next_write(built: Path) -> None:
    (built / INTEGRITY_FILE).unlink()
    store = LanceStore(built)
    assert check_store(built).ok
    store.upsert(records(500, 3, seed=9))
    report = check_store(built)
    assert report.ok and report.recorded_rows == 121
    assert report.files_checked == len(json.loads((built / INTEGRITY_FILE).read_text())["files"])


def test_writes_after_the_last_record_are_notes_not_damage(built: Path) -> None:
    # as if the writer was killed between its Lance commit and its record
    saved = (built / INTEGRITY_FILE).read_text()
    LanceStore(built).upsert(records(900, 5, seed=4))
    (built / INTEGRITY_FILE).write_text(saved)
    LanceStore(built)  # opens: a newer table than recorded is not damage
    report = check_store(built)
    assert report.ok
    assert any("record at" in note for note in report.notes)
    assert any("not in integrity.json" in note for note in report.notes)
