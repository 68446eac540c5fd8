"""The web UI: static files, no build step, served at ``/``."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

__all__ = ["STATIC", "router"]

STATIC = Path(__file__).parent.parent / "static"
"""The web UI: ``index.html``, ``app.js`` and ``style.css``, served as they are."""

router = APIRouter()


@router.get("/", include_in_schema=False)
def index() -> FileResponse:
    """The web UI."""
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})
