from pathlib import Path

from shopfuse.tasks.ingest import IngestReport, content_hash
from shopfuse.types import Problem, Product


def test_content_hash_follows_content_and_media_bytes(tmp_path: Path) -> None:
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"one")
    product = Product(id="a", title="Red Dress", images=(str(photo),), attributes={"colour": "red"})
    first = content_hash(product, "pipeline")
    assert content_hash(product, "pipeline") == first
    assert content_hash(product, "other pipeline") != first
    photo.write_bytes(b"two")
    assert content_hash(product, "pipeline") != first
    product.attributes["colour"] = "blue"
    changed = content_hash(product, "pipeline")
    product.attributes["colour"] = "red"
    assert changed != content_hash(product, "pipeline")


def test_report_summary_groups_reasons(tmp_path: Path) -> None:
    report = IngestReport("c.csv", rows=3, added=1)
    report.problems += [
        Problem("c.csv", 2, "b", "image", "/x/b.jpg: file not found", "warning"),
        Problem("c.csv", 3, "c", "image", "/x/c.jpg: file not found", "warning"),
        Problem("c.csv", 3, "c", None, "no usable modality", "error"),
    ]
    report.write(tmp_path / "r.jsonl")
    summary = report.summary()
    assert "1 added" in summary and "1 errors, 2 warnings" in summary
    assert "2x image: file not found" in summary
    assert str(tmp_path / "r.jsonl") in summary
    lines = (tmp_path / "r.jsonl").read_text().splitlines()
    assert len(lines) == 4
