"""``shopfuse tryon``: a stored product (earrings, necklace, ring) worn on a photo, written as a PNG."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from shopfuse.cli._common import StoreOpt, fail, open_engine
from shopfuse.errors import ShopfuseError

__all__ = ["tryon"]


def tryon(
    store: StoreOpt,
    item: Annotated[str, typer.Option("--item", "-i", help="The product's id.")],
    photo: Annotated[
        Path, typer.Option("--photo", "-p", help="The shopper's photo (a face, or a hand for rings).")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="The PNG to write (same size as the photo).")],
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the anchors used (photo pixels) as JSON here.")
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option(
            help="earrings, necklace or ring (default: the product's own kind, stated or recognised)."
        ),
    ] = None,
    face: Annotated[
        int | None, typer.Option(min=0, help="Which face when the photo has several (largest first, from 0).")
    ] = None,
) -> None:
    """Put a product on a photo: earrings on the lobes, a necklace on the neck, a ring on the ring finger."""
    from shopfuse.tryon.anchors import open_photo
    from shopfuse.tryon.service import tryon_product

    try:
        if not photo.is_file():
            raise ShopfuseError(f"--photo {photo} is not a file")
        image = open_photo(photo)
        image.load()
        engine = open_engine(store)
        result, anchors = tryon_product(engine, item, image.convert("RGB"), kind, face)
    except ShopfuseError as exc:
        raise fail(exc) from exc
    except OSError as exc:
        raise fail(ShopfuseError(f"{photo}: cannot read the photo ({exc})")) from exc
    out.parent.mkdir(parents=True, exist_ok=True)
    result.save(out, format="PNG")
    if json_out is not None:
        json_out.write_text(json.dumps(anchors, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    typer.echo(
        f"{anchors['kind']} {item} on {photo.name}: written to {out}"
        + (f", anchors to {json_out}" if json_out else "")
    )
