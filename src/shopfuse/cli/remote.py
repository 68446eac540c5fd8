"""Ask a running ``shopfuse serve`` instead of opening a store: ``shopfuse search --server URL``.

A query through the server costs one HTTP request, without loading torch, the encoders or the
store in the command's process. httpx is imported only when a request is made, so ``shopfuse
--help`` stays light. Every failure (no server there, an error answer, an answer that is not
shopfuse's) is a :class:`~shopfuse.errors.ShopfuseError` of one line.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from shopfuse.errors import ShopfuseError
from shopfuse.optional import require
from shopfuse.types import Hit, Moment

__all__ = ["REQUEST_TIMEOUT_S", "hit_from_api", "search_remote", "server_url"]

REQUEST_TIMEOUT_S = 120.0
"""How long to wait for an answer (a server's first query may build its lexical index)."""
CONNECT_TIMEOUT_S = 5.0
"""How long to wait for the connection itself."""


def server_url(server: str) -> str:
    """``server`` with ``http://`` when no scheme is given and without a trailing slash."""
    url = server.strip().rstrip("/")
    return url if "://" in url else f"http://{url}"


def search_remote(
    server: str,
    *,
    query: str | None,
    image: Path | None,
    k: int,
    where: str | None,
    mode: str,
    fusion: str,
    lexical_weight: float,
    extra: dict[str, Any] | None = None,
) -> list[Hit]:
    """The hits of ``GET /search`` (text) or ``POST /search/image`` (photo) on ``server``.

    ``depth`` is ``k``, so the server ranks exactly as a local ``Engine.search_text(k=k)`` would.
    ``extra`` holds further parameters both routes take.
    """
    httpx = require("httpx", "httpx", "client", "shopfuse search --server")
    base = server_url(server)
    try:
        with httpx.Client(
            base_url=base, timeout=httpx.Timeout(REQUEST_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
        ) as client:
            if image is not None:
                if not image.is_file():
                    raise ShopfuseError(f"{image}: no such file")
                kind = mimetypes.guess_type(image.name)[0] or "application/octet-stream"
                form: dict[str, Any] = {"k": str(k), "depth": str(k), **_strings(extra)}
                if where:
                    form["where"] = where
                response = client.post(
                    "/search/image", files={"file": (image.name, image.read_bytes(), kind)}, data=form
                )
            else:
                params: dict[str, Any] = {
                    "q": query or "",
                    "k": k,
                    "depth": k,
                    "mode": mode,
                    "fusion": fusion,
                    "lexical_weight": lexical_weight,
                    **_strings(extra),
                }
                if where:
                    params["where"] = where
                response = client.get("/search", params=params)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise ShopfuseError(f"cannot reach the shopfuse server at {base}: {_reason(exc)}") from exc
    if response.status_code != 200:
        raise ShopfuseError(f"the server at {base} answered {response.status_code}: {_detail(response)}")
    try:
        return [hit_from_api(h, base) for h in response.json()["hits"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise ShopfuseError(f"the server at {base} did not answer like shopfuse serve") from exc


def hit_from_api(data: dict[str, Any], base: str = "") -> Hit:
    """A :class:`Hit` from one hit of the API's answer (its ``why`` is the hit's contributions).

    The photo is the URL the server serves it at (``base`` before a path such as
    ``/products/ID/images/0``), not a file path on the server.
    """
    image = data.get("image")
    return Hit(
        id=str(data["id"]),
        score=float(data["score"]),
        title=data.get("title"),
        image=f"{base}{image}" if isinstance(image, str) and image.startswith("/products/") else image,
        attributes=dict(data.get("attributes") or {}),
        contributions=dict(data.get("why") or {}),
        matched=dict(data.get("matched") or {}),
        moments=[
            Moment(
                product_id=str(m["product_id"]),
                start=float(m["start"]),
                end=float(m["end"]),
                score=float(m["score"]),
                title=m.get("title"),
                contributions=dict(m.get("contributions") or {}),
            )
            for m in data.get("moments") or []
        ],
        variants=[str(v) for v in data.get("variants") or []],
    )


def _strings(extra: dict[str, Any] | None) -> dict[str, str]:
    """Query or form values as the API reads them (booleans as ``true``/``false``)."""
    out: dict[str, str] = {}
    for key, value in (extra or {}).items():
        if value is not None:
            out[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return out


def _reason(exc: Exception) -> str:
    """The last line of an httpx error, or its kind when it has no message (a bare timeout)."""
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


def _detail(response: Any) -> str:
    """The error the API gave (FastAPI's ``detail``, validation errors joined), or the body's start."""
    try:
        detail = response.json()["detail"]
    except (ValueError, KeyError, TypeError):
        return " ".join(response.text.split())[:200] or response.reason_phrase
    if isinstance(detail, list):
        parts = []
        for item in detail:
            where = ".".join(str(p) for p in item.get("loc", [])[1:]) if isinstance(item, dict) else ""
            message = item.get("msg", item) if isinstance(item, dict) else item
            parts.append(f"{where}: {message}" if where else str(message))
        return "; ".join(parts)
    return str(detail)
