"""``shopfuse copy ...``: marketing copy that states only the product's facts."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from shopfuse.cli._common import (
    FieldOpt,
    MappingOpt,
    OptionalStoreOpt,
    fail,
    field_mapping,
    show_progress,
)
from shopfuse.errors import ConfigError, ShopfuseError

copy_app = typer.Typer(help="Marketing copy grounded in each product's facts.", no_args_is_help=True)

LangOpt = Annotated[
    str, typer.Option("--lang", help="Language of the copy: zh, en, or auto (each product's own language).")
]
StyleOpt = Annotated[str, typer.Option("--style", help="title, bullets or paragraph.")]


def _request(lang: str, style: str, audience: str | None) -> Any:
    from shopfuse.content.base import STYLES, CopyRequest

    if lang not in ("zh", "en", "auto"):
        raise ConfigError(f"--lang must be zh, en or auto, not {lang!r}")
    if style not in STYLES:
        raise ConfigError(f"--style must be one of {', '.join(STYLES)}, not {style!r}")
    if audience is not None and len(audience) > 200:
        raise ConfigError("--audience is limited to 200 characters")
    return CopyRequest(lang="en" if lang == "auto" else lang, style=style, audience=audience)  # type: ignore[arg-type]


def _for(request: Any, facts: Any, lang: str) -> Any:
    """The request in the product's own language when ``--lang auto``: its ``lang`` field, else the
    language its title, description and attribute values are written in."""
    from dataclasses import replace

    from shopfuse.content.text import language

    if lang != "auto":
        return request
    own = (facts.lang or "").lower()[:2]
    if own not in ("zh", "en"):
        own = language(
            " ".join([facts.title or "", facts.description or "", *(f.value for f in facts.attributes())])
        )
    return replace(request, lang=own)


def _options(pairs: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--option expects KEY=VALUE, got {pair!r}")
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out


@copy_app.command("generate")
def generate(
    store: OptionalStoreOpt = None,
    item: Annotated[
        list[str] | None, typer.Option("--item", "-i", help="Product id in --store (repeatable).")
    ] = None,
    catalog: Annotated[
        Path | None, typer.Option("--catalog", "-c", help="Write copy for every product of this catalogue.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Batch output: one JSON object per line.")
    ] = None,
    lang: LangOpt = "auto",
    style: StyleOpt = "paragraph",
    audience: Annotated[
        str | None, typer.Option("--audience", help="Who the copy is for (free text).")
    ] = None,
    generator: Annotated[
        str, typer.Option("--generator", "-g", help="phrases (default) or llm.")
    ] = "phrases",
    corpus: Annotated[
        Path | None,
        typer.Option("--corpus", help="More copy to learn phrasing from: a catalogue with descriptions."),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option("--option", help="Generator option KEY=VALUE (model_path=..., seed=1)."),
    ] = None,
    min_confidence: Annotated[
        float,
        typer.Option("--min-confidence", help="Photo-recognised attributes count from this confidence."),
    ] = 0.8,
    field: FieldOpt = None,
    mapping: MappingOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON with the claims.")] = False,
) -> None:
    """Write copy for stored products (--store --item) or a whole catalogue (--catalog --out)."""
    from shopfuse.content.catalog import load_products
    from shopfuse.content.writer import CopyWriter

    try:
        request = _request(lang, style, audience)
        if (catalog is None) == (not item):
            raise ConfigError("give either --item (with --store) or --catalog (with --out)")
        mapped = field_mapping(field, mapping)
        extra = load_products(corpus, mapped) if corpus is not None else []
        if catalog is not None:
            if out is None:
                raise ConfigError("--catalog needs --out COPY.jsonl")
            products = load_products(catalog, mapped)
            writer = CopyWriter.build(products, corpus=extra, generator=generator, options=_options(option))
            _batch(writer, products, request, out, lang)
            return
        if store is None:
            raise ConfigError("--item needs --store (or the SHOPFUSE_STORE environment variable)")
        from shopfuse.engine import Engine

        engine = Engine.open(store, create=False)
        facts = engine.product_facts(item or [], min_confidence=min_confidence)
        writer = engine.copy_writer(
            generator=generator, corpus=extra, corpus_key=str(corpus), options=_options(option)
        )
        for one in facts:
            copy = writer.write(one, _for(request, one, lang))
            if as_json:
                typer.echo(json.dumps(copy.to_dict(), ensure_ascii=False, indent=2))
            else:
                typer.echo(f"{one.id}: {copy.text}")
                if copy.dropped:
                    typer.echo(f"  (dropped by the fact check: {' | '.join(copy.dropped)})")
    except ShopfuseError as exc:
        raise fail(exc) from None


def _batch(writer: Any, products: list[Any], request: Any, out: Path, lang: str) -> None:
    from tqdm import tqdm

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    contradicted = 0
    with tmp.open("w", encoding="utf-8") as handle:
        for facts in tqdm(products, desc="copy", unit="product", disable=not show_progress()):
            copy = writer.write(facts, _for(request, facts, lang))
            contradicted += sum(1 for c in copy.claims if c["status"] == "contradicted")
            handle.write(json.dumps(copy.to_dict(), ensure_ascii=False) + "\n")
    tmp.replace(out)
    print(
        f"wrote copy for {len(products)} products to {out} ({contradicted} contradicted claims)",
        file=sys.stderr,
    )


def _register_check() -> None:
    """``copy check`` lives with the product-page check (cli/copy_check.py)."""
    from shopfuse.cli.copy_check import copy_check

    copy_app.command("check")(copy_check)


_register_check()
