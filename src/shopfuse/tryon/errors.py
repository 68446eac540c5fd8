"""Why a photo cannot be used for try-on: one error class with a machine-readable ``reason``."""

from __future__ import annotations

from shopfuse.errors import ShopfuseError

__all__ = ["REASONS", "TryOnError"]

REASONS = (
    "no_face",
    "several_faces",
    "profile_view",
    "no_hand",
    "photo_too_small",
    "photo_too_large",
)
"""Every value :attr:`TryOnError.reason` takes."""


class TryOnError(ShopfuseError, ValueError):
    """A photo that try-on refuses (no face, several faces, a profile, no hand, too small or too large).

    ``reason`` is one of :data:`REASONS`; ``faces`` lists the face boxes ``(x0, y0, x1, y1)``, largest
    first, when the reason is ``several_faces`` (pass ``face=i`` to pick one).
    """

    def __init__(
        self, reason: str, message: str, *, faces: tuple[tuple[float, float, float, float], ...] = ()
    ) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown try-on refusal reason {reason!r}")
        super().__init__(message)
        self.reason = reason
        self.faces = faces
