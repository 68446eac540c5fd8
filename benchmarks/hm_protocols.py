"""The in-shop and cross-shop protocols of photo-only search by text (H&M items, shared data).

One command per protocol::

    python benchmarks/hm_protocols.py in-shop
    python benchmarks/hm_protocols.py cross-shop --fashion-features DIR

``in-shop`` splits the 1,570 H&M items that have text by product code; the model trains on one half
(titles, descriptions and the type/colour/pattern/department columns), the other half is ingested
with photos only and searched. ``cross-shop`` trains on the shared fashion catalogue only
(``--fashion-features`` names a feature store to reuse; without it the fashion photos are encoded
once into shopfuse's feature cache, about 4 minutes, and reused by later runs) and searches all
1,570 H&M items, photos only. Query sets are built by :mod:`hm.protocols`
(pairs with at least 3 items): ``colour_type_en`` "<colour> <type>"; ``colour_type_zh`` the same
pairs through a translation table that the query glossary largely repeats (glossary-built: it tests
the glossary against itself); ``colour_type_zh_seller`` Chinese colour+type pairs as Taobao sellers
wrote them (``--seller-pairs``, :mod:`hm.seller_queries`), judged against the
H&M columns; and 300 description queries. The results' ``coverage`` says how much of each Chinese
set is glossary words.

Rows, all in one run on the same files:

- ``frozen ridge`` (baseline): the least-squares map from frozen photo features to the title space;
  the photo is the product; the query is matched in that space.
- ``shopfuse default``: what ``shopfuse train --labels ...`` gives with every other option at its
  default (cca + cross-attention, ``--tune-backbone auto``: frozen ImageNet features below 2,000
  photo+title pairs, so in-shop; tuned from 2,000 on, so cross-shop), with query understanding
  and attribute-aware ranking; no photo of the searched shop is used in training.
  ``shopfuse default, learned space`` is its query vector only.
- ``shopfuse, tuned backbone`` (in-shop) / ``shopfuse, frozen backbone`` (cross-shop): the same
  with ``--tune-backbone on`` (``--tune-blocks``, ``--tune-epochs``) / ``off``.
  ``--backbone efficientnet-lite2`` switches the shopfuse rows to a larger network.
- ``frozen backbone + adapt``: (cross-shop) the frozen-backbone model after ``shopfuse adapt`` on
  the searched shop's photos (no text or labels used).
- ``tuned + searched photos (transductive)``: (cross-shop, ``--transductive``) tuned with the
  searched shop's photos in the self-supervised term (``--adapt-photos``), so it has seen the
  photos it is tested on.

Every row with query understanding is measured twice: with the glossary (``RankingSettings.glossary``,
the default) and, as ``..., glossary off``, without it (the encoder and the shop's values only).

Metrics come from ranx through :func:`shopfuse.evaluation.retrieval.retrieval_metrics`. P@10 cannot
reach 1 when a pair has fewer than 10 items; the table prints that ceiling.

Results: a table on stdout and ``benchmarks/results/hm_<protocol>.json``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import SHARED_BOX_NOTE, peak_rss_mib, print_table, write_results
from hm.protocols import LABELS, Protocol, build_protocol
from threadpoolctl import threadpool_limits

from shopfuse.catalog.mapping import FieldMapping
from shopfuse.config import ComponentSpec, EngineConfig
from shopfuse.engine import Engine
from shopfuse.evaluation.retrieval import read_qrels, read_queries, retrieval_metrics
from shopfuse.model.backbone import TailSettings
from shopfuse.model.train import TuneMode
from shopfuse.workflows import adapt_model, temporary_engine, train_model

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
FASHION_LABELS = ("articleType", "baseColour", "gender", "season", "usage")
METRICS = ("P@10", "nDCG@10", "Recall@10", "MRR@10")
QUERY_SETS = {
    "colour_type_en": "colour+type, English",
    "colour_type_zh": "colour+type, Chinese from the glossary's own table (glossary-built)",
    "colour_type_zh_seller": "colour+type, Chinese as sellers wrote it (independent of the glossary)",
    "description_en": "item description + colour, English",
}


def slug(name: str) -> str:
    """A row name as a folder name."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def evaluate(
    engine: Engine, protocol: Protocol, *, understand: bool, glossary: bool = True
) -> dict[str, dict[str, float]]:
    """Every query set of ``protocol`` against the engine's store."""
    assert engine.model is not None
    engine.model.config.ranking.understand_queries = understand
    engine.model.config.ranking.glossary = glossary
    results = {}
    for name, (queries_file, qrels_file) in protocol.queries.items():
        queries, qrels = read_queries(queries_file), read_qrels(qrels_file)
        started = time.perf_counter()
        run = {qid: {h.id: h.score for h in engine.search_text(text, k=10)} for qid, text in queries.items()}
        seconds = time.perf_counter() - started
        metrics = retrieval_metrics(qrels, run, k=10)
        metrics["ms_per_query"] = round(1000 * seconds / max(len(queries), 1), 2)
        results[name] = metrics
    return results


def ingest(model: Path, catalog: Path, folder: Path) -> tuple[Engine, float]:
    """A fresh store of ``catalog`` made with ``model``; returns the engine and products per second."""
    shutil.rmtree(folder, ignore_errors=True)
    engine: Engine = temporary_engine(model, folder)
    started = time.perf_counter()
    report = engine.ingest(
        catalog, FieldMapping(), progress=False, report_path=folder.parent / f"{folder.name}.jsonl"
    )
    return engine, round(report.stored / (time.perf_counter() - started), 2)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("protocol", choices=["in-shop", "cross-shop"])
    parser.add_argument("--items", type=Path, default=SHARED / "hm-purchases" / "items.csv")
    parser.add_argument("--fashion", type=Path, default=SHARED / "fashion-products" / "metadata.csv")
    parser.add_argument("--fashion-features", type=Path, default=None)
    parser.add_argument(
        "--seller-pairs", type=Path, default=SHARED / "product-copy-zh" / "pairs.jsonl", help="seller words"
    )
    parser.add_argument("--work", type=Path, default=None, help="keep files here (default: a temp folder)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--backbone", default="efficientnet-lite0", help="image backbone of the shopfuse rows (lite0/1/2)"
    )
    parser.add_argument(
        "--tune-blocks", type=int, default=1, help="backbone blocks tuned in the tuned row (-1: no such row)"
    )
    parser.add_argument("--tune-epochs", type=int, default=TailSettings().epochs)
    parser.add_argument(
        "--transductive",
        action="store_true",
        help="(cross-shop) add a tuned row whose self-supervised term saw the searched shop's photos",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="shopfuse-protocol-") as tmp, threadpool_limits(args.threads):
        work = args.work or Path(tmp)
        protocol = build_protocol(
            args.protocol, args.items, work / "data", seed=args.seed, seller_pairs=args.seller_pairs
        )
        models: dict[str, Path] = {}
        train_seconds: dict[str, float] = {}
        echo = lambda line: print("  " + line, flush=True)  # noqa: E731
        if args.protocol == "in-shop":
            assert protocol.train is not None
            source, mapping, labels, features = protocol.train, FieldMapping(), LABELS, None
        else:
            mapping = FieldMapping.from_options(
                file=Path(__file__).resolve().parents[1] / "examples/mappings/fashion-products.yaml"
            )
            source, labels, features = args.fashion, FASHION_LABELS, args.fashion_features
        tail = TailSettings(blocks=args.tune_blocks, epochs=args.tune_epochs)
        # (name, alignment, fusion, labels, --tune-backbone, tail settings, photos of other shops)
        variants: list[tuple[str, str, str, tuple[str, ...], TuneMode, TailSettings | None, list[Path]]] = [
            ("frozen ridge", "ridge", "weighted", (), "off", None, []),
            ("shopfuse default", "cca", "cross-attention", labels, "auto", TailSettings(), []),
        ]
        if args.protocol == "cross-shop":
            variants.append(("shopfuse, frozen backbone", "cca", "cross-attention", labels, "off", None, []))
            if args.transductive:
                name = "tuned + searched photos (transductive)"
                variants.append((name, "cca", "cross-attention", labels, "on", tail, [protocol.catalog]))
        elif args.tune_blocks >= 0:
            variants.append(("shopfuse, tuned backbone", "cca", "cross-attention", labels, "on", tail, []))
        for name, alignment, fusion, heads, tune, tail_settings, other_photos in variants:
            print(f"training {name} on {source}", flush=True)
            started = time.perf_counter()
            folder = work / f"model-{slug(name)}"
            config, feature_dir = (
                EngineConfig(),
                features if args.protocol == "cross-shop" else work / "features",
            )
            if name != "frozen ridge" and args.backbone != "efficientnet-lite0":
                spec = ComponentSpec(name="efficientnet-colour", params={"backbone": args.backbone})
                config = EngineConfig(image_encoder=spec)
                feature_dir = None if args.protocol == "cross-shop" else work / f"features-{args.backbone}"
            train_model(
                source,
                folder,
                mapping=mapping,
                alignment=ComponentSpec(name=alignment),
                fusion=ComponentSpec(name=fusion),
                labels=heads,
                seed=args.seed,
                features_dir=feature_dir,
                engine_config=config,
                tune_backbone=tune,
                tail=tail_settings,
                unlabelled=other_photos,
                progress=False,
                echo=echo,
            )
            train_seconds[name] = round(time.perf_counter() - started, 1)
            models[name] = folder
        if args.protocol == "cross-shop":
            started = time.perf_counter()
            adapt_model(
                models["shopfuse, frozen backbone"],
                protocol.catalog,
                work / "model-adapted",
                progress=False,
                features_dir=work / "target-features",
                echo=echo,
            )
            train_seconds["frozen backbone + adapt"] = round(time.perf_counter() - started, 1)
            models["frozen backbone + adapt"] = work / "model-adapted"

        rows: dict[str, Any] = {}
        ingest_rate: dict[str, float] = {}
        for name, model in models.items():
            engine, ingest_rate[name] = ingest(model, protocol.catalog, work / f"store-{slug(name)}")
            if name == "frozen ridge":
                rows[name] = evaluate(engine, protocol, understand=False)
                continue
            if name == "shopfuse default":
                rows[f"{name}, learned space"] = evaluate(engine, protocol, understand=False)
            rows[name] = evaluate(engine, protocol, understand=True, glossary=True)
            rows[f"{name}, glossary off"] = evaluate(engine, protocol, understand=True, glossary=False)

    baseline = rows["frozen ridge"]
    table = []
    for name, sets in rows.items():
        for query_set, metrics in sets.items():
            base = baseline[query_set]["P@10" if query_set.startswith("colour") else "nDCG@10"]
            ours = metrics["P@10" if query_set.startswith("colour") else "nDCG@10"]
            zh_en = ""
            if query_set == "colour_type_zh":
                en = sets["colour_type_en"]["P@10"]
                zh_en = round(metrics["P@10"] / en, 3) if en else ""
            ceiling = protocol.ceilings.get(query_set)
            table.append(
                [
                    name,
                    query_set,
                    *(round(metrics[m], 4) for m in METRICS),
                    round(ours / base, 2) if base else "",
                    round(metrics["P@10"] / ceiling, 3) if ceiling else "",
                    zh_en,
                    metrics["ms_per_query"],
                ]
            )
    print_table(
        f"{args.protocol}: photo-only search by text ({SHARED_BOX_NOTE})",
        ["method", "queries", *METRICS, "x baseline", "P@10/ceiling", "zh/en P@10", "ms/query"],
        table,
    )
    print("\n".join(f"{name}: {QUERY_SETS.get(name, name)}" for name in protocol.queries))
    print(f"glossary coverage of the Chinese sets: {protocol.coverage}")
    print(
        f"P@10 ceilings: {protocol.ceilings}; training seconds: {train_seconds}; "
        f"ingest products/s: {ingest_rate}"
    )
    path = write_results(
        f"hm_{args.protocol.replace('-', '_')}",
        {"protocol": args.protocol, "seed": args.seed, "threads": args.threads},
        {
            "rows": rows,
            "query_sets": {name: QUERY_SETS.get(name, name) for name in protocol.queries},
            "glossary_coverage": protocol.coverage,
            "ceilings": protocol.ceilings,
            "train_seconds": train_seconds,
            "ingest_products_per_second": ingest_rate,
            "queries": {k: len(read_queries(v[0])) for k, v in protocol.queries.items()},
            "peak_rss_mib": round(peak_rss_mib()),
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
