"""``shopfuse ingest --ray``: the engine's components handed to the Ray ingest task."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shopfuse.catalog.load import load_catalog
from shopfuse.catalog.mapping import FieldMapping
from shopfuse.modalities.video import moment_columns
from shopfuse.tasks.ingest import IngestReport

__all__ = ["ray_ingest_file"]


def ray_ingest_file(
    engine: Any,
    catalog: str | Path,
    mapping: FieldMapping | None,
    *,
    address: str,
    sync: bool | None = None,
    progress: bool = True,
    report_path: str | Path | None = None,
    limit: int | None = None,
) -> IngestReport:
    """Ingest a catalogue file into ``engine``'s store, encoding on the Ray cluster at ``address``.

    Like :meth:`shopfuse.engine.Engine.ingest` (sync off with ``limit``, the problem report next to the
    store) except the shop model is not learned afterwards: run ``shopfuse ingest`` locally for that.
    """
    from shopfuse.distributed.ray_ingest import ray_ingest

    loaded = load_catalog(catalog, mapping, limit=limit, limits=engine.config.limits)
    report = ray_ingest(
        loaded,
        engine.store,
        engine.product_encoder(),
        address=address,
        sync=limit is None if sync is None else sync,
        batch_size=engine.config.batch_size,
        progress=progress,
        max_attributes=engine.config.limits.store_attributes,
        moments=engine.moments,
        moment_columns=moment_columns(engine.components()),
    )
    if report_path is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        report_path = engine.path / "reports" / f"ingest-{stamp}.jsonl"
    report.write(report_path)
    return report
