"""The evaluation contract's scoring: a catalogue ingested with a model into a store, then scored.

Opening the temporary store and ingesting into it is the caller's (:mod:`shopfuse.workflows`);
these take what they score: a search function, or a :class:`~shopfuse.context.Context`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from shopfuse.config import EngineConfig
from shopfuse.errors import ConfigError
from shopfuse.evaluation.attributes import attribute_metrics
from shopfuse.evaluation.retrieval import retrieval_metrics
from shopfuse.types import Hit

if TYPE_CHECKING:
    from shopfuse.context import Context
    from shopfuse.tasks.ingest import IngestReport

__all__ = ["attribute_scores", "check_ingested", "evaluation_config", "retrieval_scores"]


def evaluation_config(model: Path | None) -> EngineConfig:
    """The config of a store that uses ``model`` (its encoders), or the raw default encoders."""
    from shopfuse.model.shop_model import ShopModel

    if model is None:
        return EngineConfig()
    trained = ShopModel.load(model)
    return EngineConfig(
        text_encoder=trained.config.text_encoder,
        image_encoder=trained.config.image_encoder,
        model=str(Path(model).resolve()),
    )


def check_ingested(report: IngestReport, catalog: Path) -> IngestReport:
    """``report``, unless nothing of ``catalog`` was stored: then that is an error."""
    if report.stored == 0:
        raise ConfigError(f"nothing from {catalog} could be ingested: {report.summary()}")
    return report


def retrieval_scores(
    search: Callable[[str, int], Sequence[Hit]],
    queries: Mapping[str, str],
    judgements: Mapping[str, Mapping[str, int]],
    *,
    k: int = 10,
    progress: bool = True,
) -> dict[str, Any]:
    """nDCG@k, Recall@k, MRR@k, P@k, MAP and the query counts of ``search(text, k)`` over ``queries``.

    Only the queries in ``queries`` are scored; judged qrels queries missing from it are counted
    (``qrels_without_query``), not scored as zero.
    """
    run: dict[str, dict[str, float]] = {}
    for qid, text in tqdm(queries.items(), desc="queries", disable=not progress, unit="query"):
        run[qid] = {hit.id: hit.score for hit in search(text, k)}
    metrics: dict[str, Any] = retrieval_metrics(judgements, run, k=k)
    return metrics


def attribute_scores(context: Context, labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1 and weighted-F1 per label of the model's predictions for the stored products.

    The stored label values are only read as truth: the model saw photos and text alone.
    """
    from shopfuse.tasks.attributes import predict_attributes

    trained = set(context.model.config.labels) if context.model else set()
    unknown = [label for label in labels if label not in trained]
    if unknown:
        raise ConfigError(f"the model has no head for {unknown}; it predicts {sorted(trained)}")
    if context.model is None:
        raise ConfigError("this store was built without a model; ingest with --model MODEL_DIR")
    rows = predict_attributes(context.store, context.model, use_stated=False)
    result: dict[str, Any] = {"products": len(rows)}
    for label in labels:
        truth = [None if r.known.get(label) is None else str(r.known[label]) for r in rows]
        predicted = [r.predicted[label].value for r in rows]
        result[label] = attribute_metrics(truth, predicted)
    return result
