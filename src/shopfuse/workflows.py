"""Jobs that open stores of their own: train, adapt and the evaluation contracts.

They sit beside the :class:`~shopfuse.engine.Engine` facade, at the top: each opens an engine
(a features cache, a temporary store), ingests a catalogue into it and hands the engine's
:class:`~shopfuse.context.Context` to the service below that does the work
(:mod:`shopfuse.model.train`, :mod:`shopfuse.model.adapt`, :mod:`shopfuse.tasks.evaluate`,
:mod:`shopfuse.recommend.evaluate`), so no service needs the facade.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shopfuse.catalog.mapping import FieldMapping
from shopfuse.config import ComponentSpec, EngineConfig
from shopfuse.engine import Engine
from shopfuse.tasks.evaluate import attribute_scores, check_ingested, evaluation_config, retrieval_scores
from shopfuse.tasks.ingest import IngestReport

if TYPE_CHECKING:
    from shopfuse.model.backbone import TailSettings
    from shopfuse.model.shop_model import ShopModel
    from shopfuse.model.train import TuneMode

__all__ = [
    "adapt_model",
    "engine_for",
    "evaluate_attributes",
    "evaluate_recommendations",
    "evaluate_retrieval",
    "ingest_all",
    "temporary_engine",
    "train_model",
]

Echo = Callable[[str], None]


def temporary_engine(model: Path | None, folder: Path) -> Engine:
    """An engine over a fresh store in ``folder`` that uses ``model`` (or the raw encoders)."""
    return engine_for(model, folder / "store")


def engine_for(model: Path | None, store: Path) -> Engine:
    """An engine over the store at ``store`` (made if missing) that uses ``model`` or the raw encoders."""
    return Engine.open(store, evaluation_config(model))


def ingest_all(
    engine: Engine, catalog: Path, mapping: FieldMapping | None, folder: Path, progress: bool
) -> IngestReport:
    """Ingest ``catalog`` (report under ``folder``); a catalogue of which nothing was stored is an error."""
    report = engine.ingest(
        catalog, mapping, progress=progress, report_path=folder / "report.jsonl", learn="off"
    )
    return check_ingested(report, catalog)


def train_model(
    catalog: str | Path,
    out: str | Path,
    *,
    mapping: FieldMapping | None = None,
    alignment: ComponentSpec | None = None,
    fusion: ComponentSpec | None = None,
    labels: Sequence[str] = (),
    seed: int = 0,
    engine_config: EngineConfig | None = None,
    features_dir: str | Path | None = None,
    valid_fraction: float = 0.1,
    image_heads: bool = True,
    tune_backbone: TuneMode = "auto",
    tail: TailSettings | None = None,
    unlabelled: Sequence[str | Path] = (),
    progress: bool = True,
    echo: Echo = print,
) -> ShopModel:
    """Encode ``catalog`` (cached, incremental), learn a model from its own products, save it to ``out``.

    The features are encoded into a cached store (``features_dir``, by default one per catalogue,
    mapping and encoders); :func:`shopfuse.model.train.fit_model` then learns from it (see there
    for ``tune_backbone``, ``tail`` and ``unlabelled``).
    """
    from shopfuse.model.train import default_features_dir, fit_model, training_config

    started = time.perf_counter()
    catalog = Path(catalog)
    mapping = mapping or FieldMapping()
    config = training_config(engine_config)
    features = Path(features_dir) if features_dir else default_features_dir(catalog, mapping, config)
    echo(f"encoding features into {features} (cached: only changed products are encoded)")
    engine = Engine.open(features, config)
    report = engine.ingest(catalog, mapping, progress=progress, learn="off")  # features only
    echo(report.summary())
    return fit_model(
        engine.context,
        out,
        catalog=catalog,
        alignment=alignment,
        fusion=fusion,
        labels=labels,
        seed=seed,
        valid_fraction=valid_fraction,
        image_heads=image_heads,
        tune_backbone=tune_backbone,
        tail=tail,
        unlabelled=unlabelled,
        progress=progress,
        echo=echo,
        started=started,
    )


def adapt_model(
    model_dir: str | Path,
    catalog: str | Path,
    out: str | Path,
    *,
    mapping: FieldMapping | None = None,
    features_dir: str | Path | None = None,
    progress: bool = True,
    echo: Echo = print,
) -> ShopModel:
    """Copy ``model_dir`` to ``out`` with its image side normalised to ``catalog``'s photos.

    The photos are encoded into a cached store first; :func:`shopfuse.model.adapt.adapt_to` explains
    the normalisation.
    """
    from shopfuse.model.adapt import adapt_to, adaptable_model
    from shopfuse.model.train import default_features_dir

    model, config = adaptable_model(model_dir, out)
    catalog = Path(catalog)
    mapping = mapping or FieldMapping()
    features = Path(features_dir) if features_dir else default_features_dir(catalog, mapping, config)
    echo(f"encoding the shop's photos into {features} (cached)")
    engine = Engine.open(features, config)
    echo(engine.ingest(catalog, mapping, progress=progress, learn="off").summary())
    return adapt_to(model, engine.context, catalog, out, echo=echo)


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

    ``catalog`` is ingested with ``model`` into a temporary store, then each query searched.
    Only the queries in ``queries`` are scored; judged qrels queries missing from it are counted
    (``qrels_without_query``), not scored as zero.
    """
    from shopfuse.evaluation.retrieval import read_qrels, read_queries

    texts = read_queries(queries)
    judgements = read_qrels(qrels)
    with tempfile.TemporaryDirectory(prefix="shopfuse-eval-") as tmp:
        engine = temporary_engine(model, Path(tmp))
        report = ingest_all(engine, catalog, mapping, Path(tmp), progress)
        metrics = retrieval_scores(
            lambda text, depth: engine.search_text(text, k=depth), texts, judgements, k=k, progress=progress
        )
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
        return attribute_scores(engine.context, labels)


def evaluate_recommendations(
    model: Path | None,
    items: Path,
    train: Path,
    test: Path,
    *,
    k: int = 12,
    mapping: FieldMapping | None = None,
    progress: bool = True,
    store: Path | None = None,
) -> dict[str, Any]:
    """Ingest ``items`` with ``model``, fit on ``train``, score on ``test``.

    ``store`` keeps the ingested items for reuse by later runs (ingested once when empty).
    The metrics are :func:`shopfuse.recommend.evaluate.score_recommendations`'.
    """
    from shopfuse.recommend.evaluate import score_recommendations
    from shopfuse.recommend.interactions import read_interactions

    train_events = read_interactions(train)
    test_events = read_interactions(test)
    with tempfile.TemporaryDirectory(prefix="shopfuse-eval-") as tmp:
        engine = engine_for(model, store or Path(tmp) / "store")
        if store is None or engine.store.count() == 0:
            ingest_all(engine, items, mapping, Path(tmp), progress)
        return score_recommendations(engine.context, train_events, test_events, k=k, progress=progress)
