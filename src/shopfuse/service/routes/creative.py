"""Creative selection online: ``POST /creative/choose`` and ``POST /creative/feedback``.

The policy and the feedback log come from the environment when the first creative request
arrives (see :func:`shopfuse.creative.serving.server_from_env`): ``SHOPFUSE_CREATIVE_POLICY`` (a
policy JSON file, or ``uniform``), ``SHOPFUSE_CREATIVE_ACTIONS`` (an action table, for ``uniform``)
and ``SHOPFUSE_CREATIVE_LOG`` (the log folder); or a test or embedding program puts a
:class:`~shopfuse.creative.serving.CreativeServer` on ``app.state.creative`` itself. Unconfigured,
both routes answer 404 (the feature is off on this server); a configuration that cannot be loaded
(a broken policy file) answers 503.

Impressions wait for feedback in the memory of the process that chose them: with ``shopfuse serve
--workers N`` feedback may reach another worker and 404, so serve creatives with one worker or
post feedback as a full row. With ``user_id`` the user's segment (the recommendation segments of
the store's interaction log, fitted once per log version) is added to the context as ``segment``
(``"unknown"`` for a user without interactions) unless the context has one.
"""

from __future__ import annotations

import math
import threading
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

from shopfuse.creative.journal import FIELDS
from shopfuse.creative.serving import (
    MAX_PENDING,
    Choice,
    CreativeServer,
    UnknownImpressionError,
    server_from_env,
)
from shopfuse.errors import ConfigError, ShopfuseError

__all__ = [
    "MAX_CANDIDATES",
    "MAX_CONTEXT_KEYS",
    "MAX_KEY_CHARS",
    "MAX_VALUE_CHARS",
    "ChooseIn",
    "FeedbackIn",
    "router",
]

router = APIRouter()

MAX_CONTEXT_KEYS = 64
MAX_KEY_CHARS = 64
MAX_VALUE_CHARS = 256
MAX_CANDIDATES = 1000
UNKNOWN_SEGMENT = "unknown"

Scalar = StrictStr | StrictBool | StrictInt | StrictFloat
ContextIn = Annotated[dict[str, Scalar], Field(max_length=MAX_CONTEXT_KEYS)]

_setup_lock = threading.Lock()


def _check_context(context: dict[str, Any] | None) -> dict[str, Any] | None:
    if context is None:
        return None
    for key, value in context.items():
        if not key or len(key) > MAX_KEY_CHARS:
            raise ValueError(f"context keys are 1 to {MAX_KEY_CHARS} characters, got {key[:80]!r}")
        if key in FIELDS:
            raise ValueError(f"context key {key!r} is a log field ({', '.join(FIELDS)})")
        if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
            raise ValueError(f"context value of {key!r} is longer than {MAX_VALUE_CHARS} characters")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"context value of {key!r} is not a finite number")
    return context


class ChooseIn(BaseModel):
    """The body of ``POST /creative/choose``."""

    model_config = ConfigDict(extra="forbid")

    context: ContextIn = Field(default_factory=dict)
    """Scalars only (text, numbers, booleans), at most 64 keys."""
    candidates: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        default=None, min_length=1, max_length=MAX_CANDIDATES
    )
    """Actions allowed here (default: all the policy's actions)."""
    user_id: str | None = Field(default=None, min_length=1, max_length=200)
    position: int | None = Field(default=None, ge=0, le=1000)
    """The slot the creative is shown in, logged with it."""

    @field_validator("context")
    @classmethod
    def _limits(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _check_context(value) or {}


class FeedbackIn(BaseModel):
    """The body of ``POST /creative/feedback``: an impression id and its reward, or a full row."""

    model_config = ConfigDict(extra="forbid")

    reward: float = Field(allow_inf_nan=False, ge=-1e9, le=1e9)
    impression_id: str | None = Field(default=None, min_length=1, max_length=64)
    action: str | None = Field(default=None, min_length=1, max_length=200)
    propensity: float | None = Field(default=None, gt=0, le=1)
    context: ContextIn | None = None
    position: int | None = Field(default=None, ge=0, le=1000)
    timestamp: datetime | None = None

    @field_validator("context")
    @classmethod
    def _limits(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return _check_context(value)

    @model_validator(mode="after")
    def _one_kind(self) -> FeedbackIn:
        row = [self.action, self.propensity, self.context, self.position, self.timestamp]
        if self.impression_id is not None:
            if any(v is not None for v in row):
                raise ValueError(
                    "give an impression_id, or a full row (action, propensity, context), not both"
                )
        elif self.action is None or self.propensity is None:
            raise ValueError("give an impression_id, or a full row with action and propensity")
        return self


def get_creative(request: Request) -> CreativeServer:
    """The app's creative server, made from the environment on first use; 404 when unconfigured."""
    server: CreativeServer | None = getattr(request.app.state, "creative", None)
    if server is None:
        with _setup_lock:
            server = getattr(request.app.state, "creative", None)
            if server is None:
                try:
                    server = server_from_env()
                except ShopfuseError as exc:
                    raise HTTPException(503, f"creative selection is misconfigured: {exc}") from exc
                if server is None:
                    raise HTTPException(
                        404,
                        "creative selection is not configured: serve with SHOPFUSE_CREATIVE_POLICY "
                        "and SHOPFUSE_CREATIVE_LOG set",
                    )
                request.app.state.creative = server
    return server


def user_segment(request: Request, user_id: str) -> str:
    """The segment id of ``user_id`` in the store's recommendation segments (``unknown``: none)."""
    from shopfuse.service.deps import get_recommender

    recommendations = get_recommender(request)()
    cached = getattr(request.app.state, "creative_segments", None)
    if cached is None or cached[0] is not recommendations:
        with _setup_lock:
            cached = getattr(request.app.state, "creative_segments", None)
            if cached is None or cached[0] is not recommendations:
                labels: dict[str, str] = {}
                try:
                    _, segments, _ = recommendations.segments()
                except ValueError:  # too few users with known items to segment
                    segments = []
                for segment in segments:
                    labels.update(dict.fromkeys(segment.users, str(segment.id)))
                cached = (recommendations, labels)
                request.app.state.creative_segments = cached
    return str(cached[1].get(user_id, UNKNOWN_SEGMENT))


@router.post("/creative/choose")
def creative_choose(request: Request, body: ChooseIn) -> dict[str, Any]:
    """Choose a creative for the context; log its ``impression_id`` and post the click to feedback."""
    server = get_creative(request)
    context = dict(body.context)
    if body.user_id is not None and "segment" not in context:
        context["segment"] = user_segment(request, body.user_id)
    try:
        choice = server.choose(context, body.candidates, body.position)
    except ConfigError as exc:
        raise HTTPException(422, str(exc)) from exc
    return {
        "action": choice.action,
        "propensity": choice.propensity,
        "impression_id": choice.impression_id,
        "policy": choice.policy,
    }


@router.post("/creative/feedback")
def creative_feedback(request: Request, body: FeedbackIn) -> dict[str, Any]:
    """Append the impression's row with its reward to the log (once) and update a learning policy
    (a policy refusing the reward leaves the row logged and the answer has ``update_error``)."""
    server = get_creative(request)
    try:
        if body.impression_id is not None:
            row = server.feedback(body.impression_id, body.reward)
        else:
            assert body.action is not None and body.propensity is not None
            server.check_candidates([body.action])
            stamp = body.timestamp or datetime.now(UTC)
            choice = Choice(
                impression_id=uuid.uuid4().hex,
                action=body.action,
                propensity=body.propensity,
                policy="external",
                context=dict(body.context or {}),
                timestamp=(stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).isoformat(),
                position=body.position,
            )
            row = server.record(choice, body.reward)
    except UnknownImpressionError as exc:
        raise HTTPException(
            404,
            f"unknown impression {body.impression_id!r}: not chosen by this process, already given "
            f"feedback, or forgotten (the last {MAX_PENDING} wait for feedback)",
        ) from exc
    except ConfigError as exc:
        raise HTTPException(422, str(exc)) from exc
    answer = {"logged": True, "impression_id": row["impression_id"], "action": row["action"]}
    if "update_error" in row:
        answer["update_error"] = row["update_error"]
    return answer
