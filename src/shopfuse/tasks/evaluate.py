"""The evaluation contract: ingest a catalogue with a model into a temporary store, then score it."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from shopfuse.catalog.mapping import FieldMapping
from shopfuse.config import EngineConfig
from shopfuse.errors import ConfigError
from shopfuse.evaluation.attributes import attribute_metrics
from shopfuse.evaluation.retrieval import read_qrels, read_queries, retrieval_metrics

__all__ = ["engine_for", "evaluate_attributes", "evaluate_retrieval", "ingest_all", "temporary_engine"]


def temporary_engine(model: Path | None, folder: Path) -> Any:
    """An engine over a fresh store in ``folder`` that uses ``model`` (or the raw encoders)."""
    return engine_for(model, folder / "store")


def engine_for(model: Path | None, store: Path) -> Any:
    """An engine over the store at ``store`` (made if missing) that uses ``model`` or the raw encoders."""
    from shopfuse.engine import Engine
    from shopfuse.model.shop_model import ShopModel

    config = EngineConfig()
    if model is not None:
        trained = ShopModel.load(model)
        config = EngineConfig(
            text_encoder=trained.config.text_encoder,
            image_encoder=trained.config.image_encoder,
            model=str(Path(model).resolve()),
        )
    return Engine.open(store, config)


def ingest_all(engine: Any, catalog: Path, mapping: FieldMapping | None, folder: Path, progress: bool) -> Any:
    """Ingest ``catalog`` (report under ``folder``); a catalogue of which nothing was stored is an error."""
    report = engine.ingest(catalog, mapping, progress=progress, report_path=folder / "report.jsonl")
    if report.stored == 0:
        raise ConfigError(f"nothing from {catalog} could be ingested: {report.summary()}")
    return report


def evaluate_retrieval(
    model: Path | None,
    catalog: Path,
    queries: Path,
    qrels: Path,
    *,
    k: int = 10,
    mapping: FieldMapping | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """nDCG@k, Recall@k, MRR@k, P@k, MAP and the query counts, as the contract prints them.

    Only the queries in ``queries`` are scored; judged qrels queries missing from it are counted
    (``qrels_without_query``), not scored as zero.
    """
    texts = read_queries(queries)
    judgements = read_qrels(qrels)
    with tempfile.TemporaryDirectory(prefix="shopfuse-eval-") as tmp:
        engine = temporary_engine(model, Path(tmp))
        report = ingest_all(engine, catalog, mapping, Path(tmp), progress)
        run: dict[str, dict[str, float]] = {}
        for qid, text in tqdm(texts.items(), desc="queries", disable=not progress, unit="query"):
            run[qid] = {hit.id: hit.score for hit in engine.search_text(text, k=k)}
    metrics: dict[str, Any] = retrieval_metrics(judgements, run, k=k)
    metrics["products"] = report.stored
    return metrics


def evaluate_attributes(
    model: Path,
    catalog: Path,
    labels: Sequence[str],
    *,
    mapping: FieldMapping | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Accuracy, macro-F1 and weighted-F1 per label on a catalogue the model never saw.

    The label columns are only read as truth: the model sees photos and text alone.
    """
    with tempfile.TemporaryDirectory(prefix="shopfuse-eval-") as tmp:
        engine = temporary_engine(model, Path(tmp))
        ingest_all(engine, catalog, mapping, Path(tmp), progress)
        trained = set(engine.model.config.labels) if engine.model else set()
        unknown = [label for label in labels if label not in trained]
        if unknown:
            raise ConfigError(f"the model has no head for {unknown}; it predicts {sorted(trained)}")
        rows = engine.predict_attributes()
    result: dict[str, Any] = {"products": len(rows)}
    for label in labels:
        truth = [None if r.known.get(label) is None else str(r.known[label]) for r in rows]
        predicted = [r.predicted[label].value for r in rows]
        result[label] = attribute_metrics(truth, predicted)
    return result
