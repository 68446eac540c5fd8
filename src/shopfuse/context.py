"""What a service is given to work on one store: the store, its model, its config and work folder.

The :class:`~shopfuse.engine.Engine` facade assembles these from config and hands a
:class:`Context` down (``engine.context``); training, adaptation, evaluation and recommendations
take one instead of the facade, so the layers point down and never back at the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shopfuse.config import EngineConfig
    from shopfuse.model.shop_model import ShopModel
    from shopfuse.store.base import VectorStore

__all__ = ["Context"]


@dataclass(frozen=True, slots=True)
class Context:
    """One open store and what was configured with it."""

    store: VectorStore
    model: ShopModel | None
    """The trained model the store was ingested with, if any."""
    config: EngineConfig
    path: Path
    """The local work folder: reports, interaction logs, caches."""
