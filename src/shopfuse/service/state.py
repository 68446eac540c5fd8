"""What one running service holds besides its engine: the writer, photo roots, metrics, recommender."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from shopfuse.engine import Engine
from shopfuse.service.media import ThumbnailCache, stored_image_folders
from shopfuse.service.metrics import ServiceMetrics
from shopfuse.service.replica import StoreFollower, replica_refusal
from shopfuse.service.settings import ServiceSettings
from shopfuse.service.writes import WriteQueue

if TYPE_CHECKING:
    from shopfuse.recommend.engine import Recommendations

__all__ = ["Recommender", "ServiceState", "StoreWriter", "service_state"]

T = TypeVar("T")


class StoreWriter:
    """The engine's writes on one writer thread, compacting the store after enough of them."""

    def __init__(
        self, engine: Engine, max_pending: int, optimize_every: int, settings: ServiceSettings | None = None
    ) -> None:
        self._engine = engine
        self._settings = settings or ServiceSettings()
        self._optimize_every = optimize_every
        self._since_optimize = 0
        self._queue = WriteQueue(max_pending, on_idle=self._optimize_when_due)

    @property
    def pending(self) -> int:
        """Writes queued or running."""
        return self._queue.pending

    async def change_store(self, change: Callable[[], T]) -> T:
        """Run a change of the store on the writer thread; once this returns, every read sees it.

        A read replica refuses (409 naming the writer) before anything runs."""
        self._refuse_on_replica()

        def job() -> T:
            result = change()
            self._since_optimize += 1
            self._engine.store.refresh()  # acknowledged means readable: reads after the answer see it
            return result

        return await self._queue.run(job)

    async def run(self, job: Callable[[], T]) -> T:
        """Run ``job`` on the writer thread, after the writes queued before it (not a store change;
        a read replica refuses it too: it writes into the store folder)."""
        self._refuse_on_replica()
        return await self._queue.run(job)

    def close(self) -> None:
        """Finish the queued writes and stop the writer thread."""
        self._queue.close()

    def _refuse_on_replica(self) -> None:
        refusal = replica_refusal(self._settings)
        if refusal is not None:
            raise refusal

    def _optimize_when_due(self) -> None:
        if self._since_optimize >= self._optimize_every:
            self._since_optimize = 0
            self._engine.store.optimize()
            self._engine.store.refresh()


class Recommender:
    """The engine's recommendations, fitted once per store/log version, not once per request."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()

    def __call__(self) -> Recommendations:
        """The current recommendations, fitting them first if the store or log changed."""
        with self._lock:
            return self._engine.recommendations()


@dataclass(slots=True)
class ServiceState:
    """Everything the routes share, kept on ``app.state.service``."""

    engine: Engine
    settings: ServiceSettings
    media_roots: list[Path]
    """Resolved folders that posted products' media must lie under."""
    image_roots: list[Path]
    """Resolved folders whose photos may be served."""
    writer: StoreWriter
    recommender: Recommender
    metrics: ServiceMetrics = field(default_factory=ServiceMetrics)
    thumbnails: ThumbnailCache = field(default_factory=ThumbnailCache)
    follower: StoreFollower | None = None
    """The thread loading store versions written by another process (``settings.reload_interval``)."""

    def swap_engine(self, engine: Engine) -> None:
        """Answer from ``engine`` from now on (requests already running finish on the old one)."""
        self.recommender = Recommender(engine)
        self.engine = engine


def service_state(engine: Engine, settings: ServiceSettings) -> ServiceState:
    """The shared state of a service over ``engine``; photo roots are fixed now, at start."""
    media_roots = [Path(r).resolve() for r in settings.media_roots]
    image_roots = [
        Path(r).resolve()
        for r in (
            [*media_roots, *stored_image_folders(engine.store)]
            if settings.image_roots is None
            else settings.image_roots
        )
    ]
    state = ServiceState(
        engine=engine,
        settings=settings,
        media_roots=media_roots,
        image_roots=image_roots,
        writer=StoreWriter(engine, settings.max_pending_writes, settings.optimize_every, settings),
        recommender=Recommender(engine),
    )
    if settings.reload_interval > 0:
        state.follower = StoreFollower(lambda: state.engine, state.swap_engine, settings.reload_interval)
        state.follower.start()
    return state
