"""The product-page check as one self-contained HTML page: findings by kind, with thumbnails.

Everything from the catalogue (ids, titles, values, paths) is hostile input and is escaped; the
thumbnails are small JPEG data URIs made from the stored image paths, so the page opens anywhere
without the photos beside it. At most :data:`MAX_SHOWN` findings are shown in all (contradictions first),
with a count of the rest per kind (the JSON has them all).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["MAX_SHOWN", "render_page_check", "thumbnail_uri"]

MAX_SHOWN = 200
"""Findings shown on the page, all kinds together."""
THUMB = (96, 96)

_TITLES = {
    "contradiction": "Text that contradicts the photo",
    "missing": "Shown in the photo, stated nowhere",
    "duplicate": "Duplicate listings",
}

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
.note{color:#555;margin:2px 0}.counts span{display:inline-block;margin-right:16px;font-weight:600}
.f{display:flex;gap:12px;padding:8px 0;border-bottom:1px solid #eee;align-items:flex-start}
.f img,.noimg{width:96px;height:96px;object-fit:contain;background:#f4f4f4;flex:none}
.noimg{display:flex;align-items:center;justify-content:center;color:#999;font-size:12px}
.id{color:#666;font-family:ui-monospace,monospace;font-size:12px}.t{font-weight:600}
mark{background:#ffd1d1;color:#900;padding:0 2px;border-radius:2px}
.photo{color:#064}.conf{color:#666}.more{color:#555;font-style:italic;margin:8px 0}
"""


def thumbnail_uri(path: str | Path | None, size: tuple[int, int] = THUMB) -> str | None:
    """A small JPEG of the image at ``path`` as a ``data:`` URI; ``None`` if it cannot be read."""
    if not path:
        return None
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.draft("RGB", (size[0] * 2, size[1] * 2))
            small = image.convert("RGB")
            small.thumbnail(size)
            buffer = io.BytesIO()
            small.save(buffer, "JPEG", quality=70)
    except (OSError, UnidentifiedImageError, ValueError):
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _highlighted(finding: Mapping[str, Any]) -> str:
    context = str(finding.get("context") or "")
    start, end = int(finding.get("start") or 0), int(finding.get("end") or 0)
    if not context or not 0 <= start < end <= len(context):
        return _e(context or finding.get("text"))
    return f"{_e(context[:start])}<mark>{_e(context[start:end])}</mark>{_e(context[end:])}"


def _detail(finding: Mapping[str, Any]) -> str:
    kind = finding.get("kind")
    confidence = finding.get("confidence")
    conf = f' <span class="conf">({float(confidence):.0%} sure)</span>' if confidence is not None else ""
    photo = f'<span class="photo">photo shows {_e(finding.get("photo_says"))}</span>'
    label = _e(finding.get("attribute"))
    if kind == "contradiction":
        where = _e(finding.get("field"))
        return (
            f"<div>{where}: {_highlighted(finding)}</div>"
            f"<div>{photo} <span class='conf'>[{label}]</span>{conf}</div>"
        )
    if kind == "missing":
        nowhere = "; not in the title, description or attributes"
        return f"<div>{photo} <span class='conf'>[{label}]</span>{conf}{nowhere}</div>"
    others = ", ".join(_e(o) for o in finding.get("others") or [])
    return f"<div>same product as: <span class='id'>{others}</span></div>"


def _finding(finding: Mapping[str, Any]) -> str:
    uri = thumbnail_uri(finding.get("image"))
    picture = f'<img alt="" src="{uri}">' if uri else '<div class="noimg">no photo</div>'
    title = finding.get("title")
    heading = f'<div class="t">{_e(title)}</div>' if title else '<div class="t">(no title)</div>'
    return (
        f'<div class="f">{picture}<div>{heading}<div class="id">{_e(finding.get("id"))}</div>'
        f"{_detail(finding)}</div></div>"
    )


def render_page_check(
    report: Mapping[str, Any], *, max_shown: int = MAX_SHOWN, store: str | None = None
) -> str:
    """The HTML page of a page-check report (:meth:`PageCheckReport.to_dict`)."""
    findings: Sequence[Mapping[str, Any]] = report.get("findings") or []
    counts = report.get("counts") or {}
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>Product-page check{_e(' - ' + store) if store else ''}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Product-page check{_e(': ' + store) if store else ''}</h1>",
        f"<p class='note'>{_e(report.get('products'))} products checked, "
        f"{_e(report.get('with_photo'))} with a photo, in {_e(report.get('seconds'))} s.</p>",
        f"<p class='note'>{_e(report.get('compared'))}.</p>",
        "<p class='counts'>"
        + "".join(f"<span>{_e(n)} {_e(_plural(str(kind), n))}</span>" for kind, n in counts.items())
        + "</p>",
    ]
    left = max_shown
    for kind, heading in _TITLES.items():
        chosen = [f for f in findings if f.get("kind") == kind]
        parts.append(f"<h2>{_e(heading)} ({len(chosen)})</h2>")
        if not chosen:
            parts.append("<p class='note'>None found.</p>")
        shown = chosen[: max(left, 0)]
        left -= len(shown)
        parts.extend(_finding(f) for f in shown)
        if len(chosen) > len(shown):
            parts.append(f"<p class='more'>... and {len(chosen) - len(shown)} more (see the JSON).</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _plural(kind: str, n: object) -> str:
    """``contradictions`` for several, ``missing`` as it is."""
    if n == 1 or kind == "missing":
        return kind
    return kind + "s"
